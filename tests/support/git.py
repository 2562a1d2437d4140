"""Git in tests: a fixed identity (the machine may have none) and a bounded wait."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = ("-c", "user.name=t", "-c", "user.email=t@example.com")


def git(cwd: Path, *args: str) -> str:
    """``git <args>`` in ``cwd``; its stdout, stripped. Raises when git fails."""
    done = subprocess.run(
        ["git", *IDENTITY, *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.strip()
