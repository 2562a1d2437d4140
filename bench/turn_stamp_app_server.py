"""A stand-in for ``codex app-server`` that stamps the moment each ``turn/start`` arrives.

Usage: ``python -S turn_stamp_app_server.py STAMPS``. Answers ``initialize``, ``thread/start``
and every other request like codex 0.169 (an empty result), and on ``turn/start`` appends one
line ``<workspace directory name> <time.monotonic()>`` to the file ``STAMPS`` (opened in append
mode, one ``write`` per line, so concurrent copies do not interleave). ``time.monotonic()`` is
``CLOCK_MONOTONIC`` on Linux: comparable with any other process's reading on this machine. The
stamp is taken as soon as the request's line is read, before it is parsed. The turn then stays
open (no events) until stdin closes, so the agent keeps its slot and is not dispatched again.
Stdlib only and started with ``-S`` so that launching it costs as little as possible.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    stamps = Path(sys.argv[1])
    workspace = Path.cwd().name
    thread_id = f"thread-{os.getpid()}"
    for line in sys.stdin.buffer:
        received = time.monotonic()
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict) or message.get("id") is None:
            continue
        method, request_id = message.get("method"), message["id"]
        if method == "turn/start":
            with stamps.open("a", encoding="utf-8") as out:
                out.write(f"{workspace} {received:.6f}\n")
            result: dict[str, object] = {"turn": {"id": "turn-1", "status": "inProgress"}}
        elif method == "thread/start":
            result = {"thread": {"id": thread_id, "status": {"type": "idle"}}}
        elif method == "initialize":
            result = {"userAgent": "turn-stamp-app-server/0.0"}
        else:
            result = {}
        sys.stdout.write(json.dumps({"id": request_id, "result": result}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
