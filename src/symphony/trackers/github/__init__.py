"""GitHub as a tracker (docs/trackers/github.md)."""
