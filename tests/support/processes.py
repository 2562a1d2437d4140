"""Process checks shared by tests that start, stop and kill child processes."""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (killed, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def marked(prefix: str) -> list[int]:
    """Live processes whose argv[0] starts with ``prefix`` (set with ``exec -a``)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if argv0.decode(errors="replace").startswith(prefix) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found
