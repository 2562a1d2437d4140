"""Getting a repository to its first agent: ``symphony init``, ``doctor`` and ``schema``."""
