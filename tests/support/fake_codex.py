"""A scriptable stand-in for ``codex app-server`` (JSONL on stdio), for fast session tests.

Run as ``python fake_codex.py SCENARIO.json LOG.jsonl``. Every line the client sends is appended
to LOG (decoded JSON, or ``{"_raw": line}``). SCENARIO maps a request method to a list of
*reactions*, one per occurrence (the last one repeats); a reaction is a list of steps:

    {"respond": {...}}          answer the request with this result
    {"error": {...}}            answer with a JSON-RPC error
    {"default": true}           answer the way a healthy codex would (see DEFAULTS)
    {"send": {...}}             write a message ("$THREAD" / "$TURN" are substituted)
    {"raw": "text"}             write a raw stdout line (malformed protocol)
    {"big": N}                  write one notification line of about N bytes
    {"stderr": "text"}          write a diagnostics line to stderr
    {"sleep": seconds}          stay silent (to test timeouts); still exits when stdin closes
    {"exit": code}              exit immediately
    {"wait_reply": true}        read until a client response arrives (it is logged)
    {"complete": "completed"|"failed"|"interrupted", "error": {...}, "turn_id": "..."}
                                send turn/completed for the current turn
    {"env": true}               log this process's environment as {"_env": {...}}

Methods without an entry get the default reaction: answer, and for turn/start also complete.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from pathlib import Path
from typing import Any

THREAD_ID = "thread-fake"


class FakeCodex:
    def __init__(self, scenario: dict[str, Any], log_path: Path) -> None:
        self.scenario = scenario
        self.log_path = log_path
        self.counts: dict[str, int] = {}
        self.turns = 0
        self.turn_id = ""
        # Requests read while sleeping or waiting for a reply, handled afterwards in order.
        self.backlog: list[dict[str, Any]] = []

    def log(self, entry: dict[str, Any]) -> None:
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    def write(self, message: Any) -> None:
        text = json.dumps(message).replace("$THREAD", THREAD_ID).replace("$TURN", self.turn_id)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def read(self) -> dict[str, Any] | None:
        line = sys.stdin.readline()
        if not line:
            return None
        try:
            message = json.loads(line)
        except ValueError:
            message = {"_raw": line}
        self.log(message)
        return message if isinstance(message, dict) else {"_raw": line}

    def default(self, method: str, request_id: Any) -> None:
        if method == "initialize":
            self.write({"id": request_id, "result": {"userAgent": "fake-codex/0.0"}})
        elif method == "thread/start":
            self.write({"id": request_id, "result": {"thread": {"id": THREAD_ID}}})
        elif method == "turn/start":
            self.write({"id": request_id, "result": {"turn": {"id": self.turn_id}}})
            self.complete("completed", None, None)
        else:
            self.write({"id": request_id, "result": {}})

    def complete(self, status: str, error: Any, turn_id: str | None) -> None:
        turn = {"id": turn_id or self.turn_id, "status": status, "items": [], "error": error}
        self.write({"method": "turn/completed", "params": {"threadId": THREAD_ID, "turn": turn}})

    def react(self, method: str, request_id: Any) -> None:
        reactions = self.scenario.get(method)
        index = self.counts.get(method, 0)
        self.counts[method] = index + 1
        if not reactions:
            if request_id is not None:
                self.default(method, request_id)
            return
        for step in reactions[min(index, len(reactions) - 1)]:
            self.step(step, method, request_id)

    def step(self, step: dict[str, Any], method: str, request_id: Any) -> None:
        if "respond" in step:
            self.write({"id": request_id, "result": step["respond"]})
        elif "error" in step and "complete" not in step:
            self.write({"id": request_id, "error": step["error"]})
        elif "default" in step:
            self.default(method, request_id)
        elif "send" in step:
            self.write(step["send"])
        elif "raw" in step:
            sys.stdout.write(step["raw"] + "\n")
            sys.stdout.flush()
        elif "big" in step:
            pad = "x" * int(step["big"])
            self.write({"method": "item/agentMessage/delta", "params": {"delta": pad}})
        elif "stderr" in step:
            sys.stderr.write(step["stderr"] + "\n")
            sys.stderr.flush()
        elif "sleep" in step:
            self.sleep(float(step["sleep"]))
        elif "exit" in step:
            sys.stdout.flush()
            os._exit(int(step["exit"]))
        elif "wait_reply" in step:
            while True:
                message = self.read()
                if message is None:
                    os._exit(0)
                if "method" not in message:
                    break
                self.backlog.append(message)
        elif "complete" in step:
            self.complete(step["complete"], step.get("error"), step.get("turn_id"))
        elif "env" in step:
            self.log({"_env": dict(os.environ)})

    def sleep(self, seconds: float) -> None:
        """Stay silent for ``seconds``, but exit like codex as soon as stdin closes."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([sys.stdin], [], [], remaining)
            if not readable:
                continue
            message = self.read()
            if message is None:
                os._exit(0)
            if "method" in message:
                self.backlog.append(message)

    def run(self) -> None:
        while True:
            message = self.backlog.pop(0) if self.backlog else self.read()
            if message is None:
                return
            method = message.get("method")
            if not isinstance(method, str):
                continue
            if method == "turn/start":
                self.turns += 1
                self.turn_id = f"turn-{self.turns}"
            self.react(method, message.get("id"))


def main() -> None:
    scenario = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    FakeCodex(scenario, Path(sys.argv[2])).run()


if __name__ == "__main__":
    main()
