"""The state's running rows, encoded by orjson from the view row, are exactly the JSON of
``running_row_json`` plus ``summary``: the API's shape must not depend on the fast path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.observability.http.presenter import row_summary, running_row_encoded
from symphony.view import RunningRow, Tokens
from symphony.view_json import running_row_json

_TEXT = st.text(max_size=30)  # any code point, quotes, escapes and controls included
_ZONES = st.sampled_from([UTC, None, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))])


@st.composite
def _instants(draw: st.DrawFn) -> datetime:
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(0, 10**9)),
        microseconds=draw(st.sampled_from([0, 1, 999_999, draw(st.integers(0, 999_999))])),
    )
    zone = draw(_ZONES)
    return moment.replace(tzinfo=None) if zone is None else moment.astimezone(zone)


_ROWS = st.builds(
    RunningRow,
    issue_id=_TEXT,
    issue_identifier=_TEXT,
    issue_url=st.none() | _TEXT,
    title=_TEXT,
    state=_TEXT,
    session_id=st.none() | _TEXT,
    thread_id=st.none() | _TEXT,
    turn_count=st.integers(0, 10**6),
    pid=st.none() | _TEXT,
    attempt=st.none() | st.integers(0, 100),
    last_event=st.none() | st.sampled_from(["notification", "turn_completed", "odd_event"]),
    last_message=st.none() | _TEXT,
    started_at=_instants(),
    last_event_at=st.none() | _instants(),
    workspace_path=st.none() | _TEXT,
    tokens=st.builds(Tokens, st.integers(0, 2**53), st.integers(0, 2**53), st.integers(0, 2**53)),
    pending_request_count=st.integers(0, 50),
    agent_kind=st.none() | st.sampled_from(["codex", "claude_code", "acp"]),
    model=st.none() | _TEXT,
    cost_usd=st.none()
    | st.floats(0, 10**6, allow_nan=False)
    | st.floats(0, 10**6, allow_nan=False).map(lambda c: round(c, 6)),
    worker_host=st.none() | _TEXT,
    candidate=st.none() | _TEXT,
)


@settings(max_examples=400, deadline=None)
@given(_ROWS)
def test_an_encoded_row_is_the_rows_json_plus_its_summary(row: RunningRow) -> None:
    encoded = orjson.dumps({"running": [running_row_encoded(row)]})
    expected = {"running": [{**running_row_json(row), "summary": row_summary(row)}]}
    assert encoded == orjson.dumps(expected)


def test_a_plain_utc_row_takes_the_encoded_path() -> None:
    # The property above holds for the fallback too; this one pins that the fast path is used.
    moment = datetime(2026, 12, 4, 7, 0, 1, 250_000, tzinfo=UTC)
    row = RunningRow(
        "id-1", "MT-1", None, "Title", "Todo", None, None, 1, None, None,
        "notification", "hello", moment, moment, None, Tokens(1, 2, 3), cost_usd=0.125,
    )  # fmt: skip
    assert isinstance(running_row_encoded(row), orjson.Fragment)
