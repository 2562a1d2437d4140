"""The terminal status view: live frames on a TTY, one-line summaries otherwise."""

from __future__ import annotations

import io
import logging

import pytest

from symphony.observability.status_view import StatusView
from symphony.view import SnapshotChanged
from tests.observability.fakes import NOW, FakeView, activity, running_row, snapshot
from tests.support.waiting import wait_until

WAIT_S = 5.0


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_mode_follows_the_stream() -> None:
    assert StatusView(FakeView(), stream=FakeTty()).mode == "live"
    assert StatusView(FakeView(), stream=io.StringIO()).mode == "summary"
    assert StatusView(FakeView(), stream=FakeTty(), mode="off").mode == "off"


async def test_live_view_redraws_on_changes_and_ends_offline() -> None:
    view = FakeView()
    stream = FakeTty()
    status = StatusView(view, stream=stream, refresh_s=30, wall_clock=lambda: NOW)
    await status.start()
    try:
        await wait_until(lambda: "No active agents" in stream.getvalue())
        view.publish(snapshot(running=[running_row("MT-42", last_message="ran: ls (exit 0)")]))
        await wait_until(lambda: "MT-42" in stream.getvalue())
        assert "ran: ls (exit 0)" in stream.getvalue()
        print("a log line", file=status.log_stream, flush=True)
        await wait_until(lambda: "a log line" in stream.getvalue())
    finally:
        await status.stop()
    assert "offline" in stream.getvalue()
    assert view.listeners == []


async def test_live_view_survives_a_failing_snapshot() -> None:
    view = FakeView()
    view.snapshot_error = RuntimeError("orchestrator busy")
    stream = FakeTty()
    status = StatusView(view, stream=stream, refresh_s=30)
    await status.start()
    try:
        await wait_until(lambda: "snapshot unavailable" in stream.getvalue())
        view.snapshot_error = None
        view.publish(snapshot(running=[running_row("MT-7")]))
        await wait_until(lambda: "MT-7" in stream.getvalue())
    finally:
        await status.stop()


async def test_summary_mode_logs_only_when_something_changed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="symphony.status")
    view = FakeView()
    status = StatusView(view, stream=io.StringIO(), wall_clock=lambda: NOW)
    assert status.emit_summary() is True
    assert status.emit_summary() is False  # nothing but the clock moved
    view.state = snapshot(running=[running_row("MT-1")], totals=(1, 2, 3))
    assert status.emit_summary() is True
    lines = [r.getMessage() for r in caplog.records if r.name == "symphony.status"]
    assert len(lines) == 2
    assert lines[1].startswith("status agents=1/10 retrying=0 tokens_in=1 tokens_out=2")


async def test_summary_mode_runs_on_its_own_and_stops(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="symphony.status")
    view = FakeView()
    status = StatusView(view, stream=io.StringIO(), summary_interval_s=30)
    await status.start()
    # The summary reads snapshots: it does not listen, so agent events cost it nothing.
    assert view.listeners == []
    await wait_until(lambda: any(r.name == "symphony.status" for r in caplog.records))
    await status.stop()
    assert status.frames == 1


async def test_summary_survives_a_failing_snapshot(caplog: pytest.LogCaptureFixture) -> None:
    view = FakeView()
    view.snapshot_error = RuntimeError("down")
    status = StatusView(view, stream=io.StringIO())
    assert status.emit_summary() is False
    assert any("status snapshot unavailable" in r.getMessage() for r in caplog.records)


async def test_off_mode_does_nothing() -> None:
    view = FakeView()
    status = StatusView(view, stream=FakeTty(), mode="off")
    await status.start()
    assert view.listeners == []
    await status.stop()


async def test_change_listener_is_cheap_and_never_raises() -> None:
    view = FakeView()
    status = StatusView(view, stream=FakeTty(), refresh_s=30)
    await status.start()
    try:
        listener = view.listeners[0]
        listener(activity("MT-1", event=None))
        listener(activity("MT-1", tokens={}))
        listener(SnapshotChanged(snapshot(rate_limits={"odd": object()})))
        assert view.listeners == [listener]
    finally:
        await status.stop()


async def test_live_view_keeps_the_last_informative_agent_event() -> None:
    view = FakeView(
        snapshot(running=[running_row("MT-8", last_event="notification", last_message=None)])
    )
    stream = FakeTty()
    status = StatusView(view, stream=stream, refresh_s=30, wall_clock=lambda: NOW)
    await status.start()
    try:
        view.agent_event(activity("MT-8", message="ran: ls (exit 0)"))
        view.agent_event(activity("MT-8", message=None))
        await wait_until(lambda: "ran: ls (exit 0)" in stream.getvalue())
    finally:
        await status.stop()
