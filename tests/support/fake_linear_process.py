"""``FakeLinear`` in a process of its own, so a benchmark does not share a GIL with it.

Run ``python -m tests.support.fake_linear_process [--api-key KEY] [--project-slug SLUG]`` from the
repository root. The server is the schema-checked ``FakeLinear`` (unchanged), on 127.0.0.1 and a
free port. The first stdout line is ``{"url": ..., "api_key": ..., "project_slug": ...}``; then
the process reads one JSON command per stdin line and answers each with one JSON line:

    {"cmd": "add", "count": N, "state": "Todo", "title": "..."}  -> {"identifiers": [...]}
    {"cmd": "move", "identifiers": [...], "state": "Done"}         -> {"moved": N}
    {"cmd": "first_seen", "identifiers": [...]}                    -> {"ENG-1": t | null, ...}
    {"cmd": "stats"}                                               -> {"requests": N, ...}

``first_seen`` is, per issue, the ``time.monotonic()`` (CLOCK_MONOTONIC, comparable across
processes on Linux) right after the first response that contained the issue was written to the
socket: for a new issue, the candidate query that made the service aware of it. The process exits
when stdin closes.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from tests.support.fake_linear import DEFAULT_API_KEY, DEFAULT_PROJECT_SLUG, FakeLinear
from tests.support.fake_linear import _Handler as _LinearHandler


class TimedFakeLinear(FakeLinear):
    """Records when each issue first left the server in a response."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first_seen: dict[str, float] = {}
        self._seen_lock = threading.Lock()

    def start(self) -> TimedFakeLinear:
        super().start()
        assert self._served is not None
        # Every request builds its handler from this attribute, so swapping it before the first
        # request is the whole change; FakeLinear itself stays as the tests know it.
        self._served.server.RequestHandlerClass = functools.partial(_TimedHandler, self)
        return self

    def answered(self, payload: Any, at: float) -> None:
        found: list[str] = []
        _identifiers(payload, found)
        if not found:
            return
        with self._seen_lock:
            for identifier in found:
                self.first_seen.setdefault(identifier, at)


class _TimedHandler(_LinearHandler):
    fake: TimedFakeLinear

    def _send(
        self, status: int, payload: Any, content_type: str, headers: Mapping[str, str]
    ) -> None:
        super()._send(status, payload, content_type, headers)
        at = time.monotonic()
        if status == 200 and isinstance(payload, dict):
            self.fake.answered(payload, at)


def _identifiers(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        identifier = value.get("identifier")
        if isinstance(identifier, str):
            out.append(identifier)
        for child in value.values():
            if isinstance(child, dict | list):
                _identifiers(child, out)
    elif isinstance(value, list):
        for child in value:
            _identifiers(child, out)


def _handle(linear: TimedFakeLinear, command: Mapping[str, Any]) -> Any:
    cmd = command.get("cmd")
    if cmd == "add":
        count = int(command.get("count", 1))
        state = str(command.get("state", "Todo"))
        title = str(command.get("title", "Benchmark issue"))
        description = command.get("description")
        issues = [
            linear.add_issue(
                f"{title} {n + 1}",
                state=state,
                description=str(description) if description is not None else None,
            )
            for n in range(count)
        ]
        return {"identifiers": [issue.identifier for issue in issues]}
    if cmd == "move":
        identifiers = [str(i) for i in command.get("identifiers", [])]
        for identifier in identifiers:
            linear.move(identifier, str(command.get("state", "Done")))
        return {"moved": len(identifiers)}
    if cmd == "first_seen":
        with linear._seen_lock:
            return {str(i): linear.first_seen.get(str(i)) for i in command.get("identifiers", [])}
    if cmd == "stats":
        with linear.data.lock:
            return {
                "requests": len(linear.requests),
                "rejected": len(linear.rejected),
                "rejections": [r.errors for r in linear.rejected[:5]],
                "operations": sorted({str(r.operation) for r in linear.requests}),
            }
    return {"error": f"unknown command {cmd!r}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--project-slug", default=DEFAULT_PROJECT_SLUG)
    args = parser.parse_args()
    linear = TimedFakeLinear(api_key=args.api_key, project_slug=args.project_slug)
    # Benchmarks compare with releases whose candidate query scores above Linear's limit; scoring
    # is also the fake's own CPU, which is not what they measure.
    linear.complexity_limit = None
    linear.start()
    try:
        hello = {"url": linear.url, "api_key": args.api_key, "project_slug": args.project_slug}
        print(json.dumps(hello), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                answer = _handle(linear, json.loads(line))
            except Exception as exc:  # the bench reads the error instead of a dead pipe
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)
    finally:
        linear.stop()


if __name__ == "__main__":
    main()
