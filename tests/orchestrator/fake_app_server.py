"""A tiny stand-in for ``codex app-server``: JSONL on stdio, a live-looking stream of events.

Usage: ``python fake_app_server.py [--rate N] [--turn-seconds S] [--move-to STATE]``.

Answers ``initialize``, ``thread/start``, ``thread/name/set`` and ``turn/start`` like codex 0.169,
then streams ``N`` notifications per second for ``S`` seconds (agent message deltas, absolute
``thread/tokenUsage/updated`` totals, occasional ``account/rateLimits/updated``). With
``--move-to`` the turn ends by calling the dynamic tool ``memory_move`` (the in-memory tracker's
tool) and waiting for the client's answer, like an agent moving its ticket. Exits when stdin
closes. Stdlib only and started with ``-S`` so hundreds of copies stay cheap.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import sys
import time
from typing import Any


class Server:
    def __init__(self, rate: float, turn_seconds: float, move_to: str | None) -> None:
        self.rate = rate
        self.turn_seconds = turn_seconds
        self.move_to = move_to
        self.thread_id = f"thread-{os.getpid()}"
        self.turns = 0
        self.total = 0
        self.selector = selectors.DefaultSelector()
        self.selector.register(sys.stdin, selectors.EVENT_READ)
        self.buffer = b""

    def write(self, message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def read(self, timeout: float | None) -> dict[str, Any] | None:
        """One message, or None on timeout; exits when stdin closes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not self.selector.select(remaining):
                return None
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                sys.exit(0)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            return {}
        return message if isinstance(message, dict) else {}

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
        self.notify(
            "turn/completed",
            {"turn": {"id": turn_id, "status": "completed", "items": [], "error": None}},
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--turn-seconds", type=float, default=0.2)
    parser.add_argument("--move-to", default=None)
    args = parser.parse_args()
    Server(args.rate, args.turn_seconds, args.move_to).serve()


if __name__ == "__main__":
    main()
