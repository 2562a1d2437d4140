"""Configuration layer: WORKFLOW.md loading, typed config, strict prompt template, live reload."""
