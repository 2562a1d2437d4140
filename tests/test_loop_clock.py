"""The fake loop clock the runtime tests schedule with."""

from __future__ import annotations

import asyncio

from tests.support.loop_clock import FakeLoopClock


async def test_timers_run_in_due_order_only_when_time_moves() -> None:
    clock = FakeLoopClock(start=10.0)
    fired: list[str] = []
    clock.call_later(2.0, fired.append, "late")
    clock.call_later(1.0, fired.append, "early")
    cancelled = clock.call_later(1.5, fired.append, "cancelled")
    cancelled.cancel()
    assert clock.pending() == [1.0, 2.0] and fired == []
    clock.advance(1.5)
    assert fired == ["early"] and clock.time() == 11.5
    assert clock.jump() and fired == ["early", "late"] and clock.time() == 12.0
    assert not clock.jump() and clock.time() == 12.0


async def test_a_timer_set_by_a_timer_runs_if_it_falls_due_within_the_advance() -> None:
    clock = FakeLoopClock()
    fired: list[float] = []

    def tick() -> None:
        fired.append(clock.time())
        if len(fired) < 5:
            clock.call_later(0.25, tick)

    clock.call_later(0.25, tick)
    clock.advance(1.0)
    assert fired == [1000.25, 1000.5, 1000.75, 1001.0]


async def test_a_timer_due_now_goes_to_the_event_loop() -> None:
    clock = FakeLoopClock()
    ran = asyncio.Event()
    clock.call_later(0, ran.set)
    assert clock.pending() == []
    await asyncio.wait_for(ran.wait(), timeout=1)
    assert clock.time() == 1000.0


async def test_no_jump_while_a_hold_holds() -> None:
    clock = FakeLoopClock(start=0.0)
    fired: list[str] = []
    clock.call_later(3600.0, fired.append, "hour")
    busy = [True]
    clock.holds.append(lambda: busy[0])
    assert not clock.jump() and fired == [] and clock.time() == 0.0
    busy[0] = False
    assert clock.jump() and fired == ["hour"] and clock.time() == 3600.0
