"""Symphony: turns an issue tracker into autonomous coding-agent runs."""

__version__ = "0.1.0"
