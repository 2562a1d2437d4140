"""The shared wait helpers: bounded, returning the awaited value, naming what was awaited."""

from __future__ import annotations

import pytest

from tests.support.waiting import (
    WaitTimedOut,
    advancing,
    describe,
    wait_until,
    wait_until_sync,
)


async def test_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "ready"])
    assert await wait_until(lambda: next(values)) == "ready"


async def test_timeout_names_the_condition_by_its_source() -> None:
    flags = {"done": False}
    with pytest.raises(WaitTimedOut, match=r"waiting for flags\['done'\]"):
        await wait_until(lambda: flags["done"], timeout=0.02)


def test_sync_timeout_names_what_was_awaited() -> None:
    with pytest.raises(WaitTimedOut, match=r"timed out after 0\.02 s waiting for the moon"):
        wait_until_sync(lambda: False, "the moon", timeout=0.02, interval=0.005)


async def test_advancing_steps_only_while_the_condition_fails() -> None:
    steps: list[int] = []
    with advancing(lambda: steps.append(len(steps))):
        await wait_until(lambda: len(steps) >= 3)
        await wait_until(lambda: True)
    assert steps == [0, 1, 2]
    await wait_until(lambda: True)  # uninstalled: nothing steps any more
    assert steps == [0, 1, 2]


def test_describe_falls_back_to_a_function_name() -> None:
    def ready() -> bool:
        return True

    assert describe(ready).endswith("ready")
