"""A tiny stand-in for ``codex app-server``: JSONL on stdio, a live-looking stream of events.

Usage: ``python fake_app_server.py [--rate N] [--turn-seconds S] [--move-to STATE]
[--fail] [--log PATH] [--locks DIR] [--linger]``.

Answers ``initialize``, ``thread/start``, ``thread/name/set`` and ``turn/start`` like codex 0.169,
then streams ``N`` notifications per second for ``S`` seconds (agent message deltas, absolute
``thread/tokenUsage/updated`` totals, occasional ``account/rateLimits/updated``). With
``--move-to`` the turn ends by calling the dynamic tool ``memory_move`` (the in-memory tracker's
tool) and waiting for the client's answer, like an agent moving its ticket. With ``--fail`` the
turn ends ``failed``. ``--log`` appends every message received (one JSON line each, with this
process's pid). ``--locks`` plays codex's writer lock: a thread is held (``flock`` on
``DIR/<thread id>``) by the process that started or resumed it, and ``thread/resume`` of a thread
another live process holds is refused with "already has an active writer". Exits when stdin
closes or stdout breaks (``--linger``: only 120 s later, like an agent that outlives a killed
service). Stdlib only and started with ``-S`` so hundreds of copies stay cheap.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import selectors
import sys
import time
from pathlib import Path
from typing import Any

LINGER_S = 120.0


class Server:
    def __init__(
        self,
        rate: float,
        turn_seconds: float,
        move_to: str | None,
        *,
        fail: bool = False,
        log: str | None = None,
        locks: str | None = None,
        linger: bool = False,
    ) -> None:
        self.rate = rate
        self.turn_seconds = turn_seconds
        self.move_to = move_to
        self.fail = fail
        self.log = log
        self.locks = locks
        self.linger = linger
        self.held: list[int] = []
        self.thread_id = f"thread-{os.getpid()}"
        self.turns = 0
        self.total = 0
        self.selector = selectors.DefaultSelector()
        self.selector.register(sys.stdin, selectors.EVENT_READ)
        self.buffer = b""

    def write(self, message: dict[str, Any]) -> None:
        try:
            sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            self.gone()

    def gone(self) -> None:
        """The client went away."""
        if self.linger:
            # Like an agent child that outlives its parent: holds its locks until killed.
            time.sleep(LINGER_S)
        os._exit(0)

    def read(self, timeout: float | None) -> dict[str, Any] | None:
        """One message, or None on timeout; exits when stdin closes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not self.selector.select(remaining):
                return None
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                self.gone()
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            return {}
        if not isinstance(message, dict):
            return {}
        if self.log:
            with Path(self.log).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"pid": os.getpid(), **message}) + "\n")
        return message

    def hold(self, thread_id: str) -> bool:
        """Take the thread's writer lock; False when another live process holds it."""
        if not self.locks:
            return True
        fd = os.open(Path(self.locks) / thread_id, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.held.append(fd)  # released when this process dies, like codex's lock
        return True

    def serve(self) -> None:
        while True:
            message = self.read(None)
            if message is None:
                continue
            method, request_id = message.get("method"), message.get("id")
            if request_id is None:
                continue
            if method == "initialize":
                self.write({"id": request_id, "result": {"userAgent": "fake-app-server/0.0"}})
            elif method == "thread/start":
                self.hold(self.thread_id)
                result = {"thread": {"id": self.thread_id, "status": {"type": "idle"}}}
                self.write({"id": request_id, "result": result})
            elif method == "thread/resume":
                wanted = str(message.get("params", {}).get("threadId"))
                if not self.hold(wanted):
                    error = {
                        "code": -32600,
                        "message": f"thread {wanted} already has an active writer",
                    }
                    self.write({"id": request_id, "error": error})
                    continue
                self.thread_id = wanted
                result = {"thread": {"id": self.thread_id, "status": {"type": "idle"}}}
                self.write({"id": request_id, "result": result})
            elif method == "turn/start":
                self.turn(request_id)
            else:
                self.write({"id": request_id, "result": {}})

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.write({"method": method, "params": {"threadId": self.thread_id, **params}})

    def turn(self, request_id: Any) -> None:
        self.turns += 1
        turn_id = f"turn-{self.turns}"
        self.write({"id": request_id, "result": {"turn": {"id": turn_id, "status": "inProgress"}}})
        self.notify("turn/started", {"turn": {"id": turn_id}})
        interval = 1.0 / self.rate if self.rate > 0 else self.turn_seconds
        end = time.monotonic() + self.turn_seconds
        sent = 0
        next_at = time.monotonic()
        while time.monotonic() < end:
            self.read(max(next_at - time.monotonic(), 0.0))  # paces, and notices a closed stdin
            if time.monotonic() < next_at:
                continue
            next_at += interval
            sent += 1
            if sent % 5 == 0:
                self.total += 120
                usage = {
                    "inputTokens": self.total - self.total // 6,
                    "outputTokens": self.total // 6,
                    "totalTokens": self.total,
                }
                self.notify(
                    "thread/tokenUsage/updated",
                    {"turnId": turn_id, "tokenUsage": {"total": usage, "last": usage}},
                )
            elif sent % 10 == 3:
                self.notify(
                    "account/rateLimits/updated",
                    {
                        "rateLimits": {
                            "limitId": "codex",
                            "primary": {"usedPercent": sent % 100, "windowDurationMins": 300},
                        }
                    },
                )
            else:
                self.notify(
                    "item/agentMessage/delta",
                    {"turnId": turn_id, "itemId": "msg-1", "delta": f"working {sent} "},
                )
        if self.move_to:
            self.write(
                {
                    "id": 0,
                    "method": "item/tool/call",
                    "params": {
                        "threadId": self.thread_id,
                        "turnId": turn_id,
                        "callId": "call-1",
                        "tool": "memory_move",
                        "arguments": {"state": self.move_to},
                    },
                }
            )
            while (reply := self.read(10.0)) is not None and reply.get("id") != 0:
                pass
        status, error = (
            ("failed", {"message": "fake turn failure"}) if self.fail else ("completed", None)
        )
        self.notify(
            "turn/completed",
            {"turn": {"id": turn_id, "status": status, "items": [], "error": error}},
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--turn-seconds", type=float, default=0.2)
    parser.add_argument("--move-to", default=None)
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--log", default=None)
    parser.add_argument("--locks", default=None)
    parser.add_argument("--linger", action="store_true")
    args = parser.parse_args()
    Server(
        args.rate,
        args.turn_seconds,
        args.move_to,
        fail=args.fail,
        log=args.log,
        locks=args.locks,
        linger=args.linger,
    ).serve()


if __name__ == "__main__":
    main()
