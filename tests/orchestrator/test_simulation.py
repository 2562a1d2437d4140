"""Thousands of issues through the real core with random board edits, agent failures, stalls,
tracker outages and config reloads; invariants are checked after every single event."""

from __future__ import annotations

import pytest

from .simulation import World

HOUR_MS = 3_600_000


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_world_keeps_every_invariant_and_settles(seed: int) -> None:
    world = World(seed, n_issues=2_000)
    world.start()
    chaos_ms = 2 * HOUR_MS
    world.schedule_chaos(chaos_ms)
    world.run_until(chaos_ms, max_steps=400_000)
    stats = world.stats
    # The chaos really exercised the interesting paths.
    assert stats.dispatches > 100 and stats.stops > 10 and stats.cleanups > 0
    assert stats.parked_cleanups > 0  # released issues later closed on the board
    assert stats.tracker_errors > 0 and stats.config_changes > 5 and stats.retries_fired > 50
    assert stats.most_blocked > 0  # undispatchable or unlabelled active issues were listed

    world.calm_down()
    # Eligible issues not already being worked on must each get a worker.
    waiting = {i for i, issue in world.board.items() if world.eligible(issue)}
    waiting -= set(world.state.running)
    world.dispatched.clear()
    settled = False
    for _hour in range(48):
        world.run_until(world.now + HOUR_MS, max_steps=400_000)
        if (
            not world.state.running
            and not world.state.retry_attempts
            and not any(world.eligible(i) for i in world.board.values())
        ):
            settled = True
            break
    assert settled, f"world did not settle: {world.summary()}"
    # Every issue that stayed active was dispatched; every claim was released; no retry lost.
    assert waiting <= world.dispatched
    # Terminal issues that ever had a worker lost their workspace while the service ran,
    # including those released earlier with their workspace kept and closed afterwards.
    assert world.terminal_workspaces_left() == set(), "terminal issues kept their workspaces"


@pytest.mark.parametrize("seed", [5, 6])
def test_change_notices_keep_every_invariant(seed: int) -> None:
    """The same chaos with half the board edits announced by a change notice (a webhook), some
    late: targeted refreshes race the polls, retries and each other."""
    world = World(seed, n_issues=1_000, notices=True)
    world.start()
    world.schedule_chaos(HOUR_MS)
    world.run_until(HOUR_MS, max_steps=200_000)
    stats = world.stats
    assert stats.change_reads > 100  # the targeted path really ran
    assert stats.dispatches > 50 and stats.stops > 5 and stats.tracker_errors > 0


@pytest.mark.parametrize("seed", [7, 8])
def test_restarts_at_random_moments_keep_every_invariant_and_lose_nothing(seed: int) -> None:
    """The same chaos while the service is stopped or killed and started again every ten
    minutes or so: never two agents on one issue, no retry lost or fired early, interrupted
    runs continue with their attempt and thread, totals go on; afterwards the world settles."""
    world = World(seed, n_issues=500)
    world.start()
    chaos_ms = 2 * HOUR_MS
    world.schedule_chaos(chaos_ms)
    world.schedule_restarts(chaos_ms, mean_ms=10 * 60_000)
    world.run_until(chaos_ms, max_steps=400_000)
    stats = world.stats
    assert stats.restarts > 5 and stats.crashes > 1 and stats.restarts > stats.crashes
    assert stats.resumed > 0 and stats.retries_restored > 0
    assert stats.dispatches > 100 and stats.retries_fired > 20

    world.calm_down()
    world.dispatched.clear()
    settled = False
    for _hour in range(48):
        world.run_until(world.now + HOUR_MS, max_steps=400_000)
        if (
            not world.state.running
            and not world.state.retry_attempts
            and not any(world.eligible(i) for i in world.board.values())
        ):
            settled = True
            break
    assert settled, f"world did not settle: {world.summary()}"
    # Released issues are watched in memory only: one more start sweeps those closed since.
    world.restart(crash=False)
    world.run_until(world.now + HOUR_MS, max_steps=400_000)
    assert world.terminal_workspaces_left() == set(), "terminal issues kept their workspaces"
