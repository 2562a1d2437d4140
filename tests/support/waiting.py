"""Waiting in tests until a condition holds: bounded, polling, and saying what was awaited.

``wait_until`` (on the running event loop) and ``wait_until_sync`` (blocking, for tests that
drive a subprocess or a server thread) call ``condition`` until it returns something truthy and
return that value. After ``timeout`` seconds they fail the test with ``WaitTimedOut`` (an
``AssertionError``) naming what was awaited: ``what`` when given, else the condition's source.

A test whose code under test runs on a fake loop clock (``tests.support.loop_clock``) installs
that clock with ``advancing(clock.jump)``: then, each time the condition still fails after a
poll interval, ``wait_until`` moves the clock to its next timer. Timers fire in order and only
while someone waits for their effect, so a 1 s retry or a poll interval costs no wall time.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 5.0
ASYNC_INTERVAL_S = 0.005
SYNC_INTERVAL_S = 0.05

_advancers: list[Callable[[], object]] = []


class WaitTimedOut(AssertionError):
    """The awaited condition did not hold in time (a wrapper may add what it last saw)."""


@contextlib.contextmanager
def advancing(step: Callable[[], object]) -> Iterator[None]:
    """While inside, ``wait_until`` calls ``step`` whenever a poll interval passed in vain."""
    _advancers.append(step)
    try:
        yield
    finally:
        _advancers.remove(step)


async def wait_until(
    condition: Callable[[], T | None],
    what: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    interval: float = ASYNC_INTERVAL_S,
) -> T:
    """Poll ``condition`` on the running loop until it is truthy; return its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    polled = False
    while True:
        value = condition()
        if value:
            return value
        if loop.time() >= deadline:
            raise WaitTimedOut(_timed_out(condition, what, timeout))
        if polled:
            for step in list(_advancers):
                step()
        await asyncio.sleep(interval)
        polled = True


def wait_until_sync(
    condition: Callable[[], T | None],
    what: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    interval: float = SYNC_INTERVAL_S,
) -> T:
    """Poll ``condition`` (blocking this thread) until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimedOut(_timed_out(condition, what, timeout))
        time.sleep(interval)


def _timed_out(condition: Callable[[], object], what: str | None, timeout: float) -> str:
    return f"timed out after {timeout:g} s waiting for {what or describe(condition)}"


def describe(condition: Callable[[], object]) -> str:
    """A lambda's body as written (``x.ready == 1``); a function's name; else its repr."""
    code = getattr(condition, "__code__", None)
    if code is None or code.co_name != "<lambda>":
        return getattr(condition, "__qualname__", None) or repr(condition)
    try:
        source = textwrap.dedent(inspect.getsource(condition))
    except (OSError, TypeError):
        return f"a condition at {code.co_filename}:{code.co_firstlineno}"
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return " ".join(source.split())
    bodies = [node.body for node in ast.walk(tree) if isinstance(node, ast.Lambda)]
    return ast.unparse(bodies[0]) if len(bodies) == 1 else " ".join(source.split())
