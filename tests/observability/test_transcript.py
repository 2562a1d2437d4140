"""Per-issue agent transcripts under ``<logs_root>/agents/<workspace_key>/``."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symphony.agents.transcript import Transcript
from symphony.logs import issue_context, register_secrets
from symphony.observability.transcript import LATEST, AgentLogs, FileTranscript
from symphony.timefmt import EpochStamps, format_timestamp
from tests.support.waiting import wait_until

START = datetime(2026, 2, 24, 20, 15, 30, tzinfo=UTC)
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (send  |recv  |stderr|note  ) .*$")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logs(tmp_path: Path, clock: Clock) -> AgentLogs:
    return AgentLogs(tmp_path / "logs", clock=clock)


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_one_file_per_attempt_with_raw_lines_and_a_latest_link(
    logs: AgentLogs, clock: Clock, tmp_path: Path
) -> None:
    transcript = logs.open("MT-649", 2, issue_id="abc")
    as_protocol: Transcript = transcript  # the Codex client's protocol (checked by mypy in src)
    assert as_protocol is transcript
    transcript.write("send", '{"id":1,"method":"initialize"}')
    transcript.write("recv", '{"id":1,"result":{}}\n')
    transcript.write("stderr", "WARN something odd")
    transcript.close()
    transcript.write("recv", "after close is ignored")

    assert transcript.path == tmp_path / "logs/agents/MT-649/20260224T201530Z-attempt-2.log"
    content = lines(transcript.path)
    assert all(LINE.match(line) for line in content), content
    assert "issue_identifier=MT-649 issue_id=abc attempt=2" in content[0]
    # Fixed layout: 24-character timestamp, stream padded to 6, then the line verbatim.
    assert [(line[25:31].strip(), line[32:]) for line in content[1:]] == [
        ("send", '{"id":1,"method":"initialize"}'),
        ("recv", '{"id":1,"result":{}}'),
        ("stderr", "WARN something odd"),
    ]
    latest = transcript.path.parent / LATEST
    assert latest.read_text(encoding="utf-8") == transcript.path.read_text(encoding="utf-8")

    clock.advance(60)
    second = logs.open("MT-649", 3)
    second.write("recv", "next attempt")
    second.close()
    assert latest.resolve() == second.path.resolve()
    assert logs.paths("MT-649") == (
        ("latest", str(latest)),
        ("retry 3 (2026-02-24 20:16:30Z)", str(second.path)),
        ("retry 2 (2026-02-24 20:15:30Z)", str(transcript.path)),
    )


def test_first_run_has_no_attempt_number(logs: AgentLogs) -> None:
    transcript = logs.open("MT-1", None)
    transcript.close()
    assert transcript.path is not None
    assert transcript.path.name == "20260224T201530Z-attempt-0.log"
    assert logs.paths("MT-1")[1] == ("first run (2026-02-24 20:15:30Z)", str(transcript.path))


def test_directory_uses_the_workspace_key(logs: AgentLogs) -> None:
    transcript = logs.open("../etc/passwd", 1)
    transcript.close()
    assert transcript.path is not None
    assert transcript.path.parent.parent == logs.root
    assert transcript.path.parent.name == ".._etc_passwd--7fef78f53440346c"
    assert logs.paths("unknown-issue") == ()


def test_secrets_are_redacted(logs: AgentLogs) -> None:
    register_secrets(["lin_api_abcdefghijklmnop1234"])
    transcript = logs.open("MT-1", 1)
    transcript.write("send", '{"token":"lin_api_abcdefghijklmnop1234"}')
    transcript.write("stderr", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz")
    transcript.close()
    assert transcript.path is not None
    text = transcript.path.read_text(encoding="utf-8")
    assert "lin_api_abcdefghijklmnop1234" not in text
    assert "abcdefghijklmnopqrstuvwxyz" not in text
    assert text.count("[REDACTED]") == 2


def test_size_cap_drops_the_rest_and_says_so(tmp_path: Path) -> None:
    logs = AgentLogs(tmp_path, max_bytes=2_000)
    transcript = logs.open("MT-1", 1)
    for index in range(100):
        transcript.write("recv", f"line {index} " + "x" * 40)
    transcript.close()
    assert transcript.path is not None
    size = transcript.path.stat().st_size
    assert size < 2_000 + 300  # the cap plus the two notes
    content = lines(transcript.path)
    assert "transcript size limit reached" in content[-2]
    dropped = int(re.search(r"note   (\d+) line\(s\) dropped", content[-1]).group(1))  # type: ignore[union-attr]
    kept = sum(1 for line in content if " recv " in line)
    assert kept + dropped == 100 and dropped > 0


def test_very_long_lines_are_shortened(tmp_path: Path) -> None:
    transcript = AgentLogs(tmp_path).open("MT-1", 1)
    transcript.write("recv", "y" * 100_000)
    transcript.close()
    assert transcript.path is not None
    line = lines(transcript.path)[1]
    assert line.endswith("more characters]") and len(line) < 70_000


def test_old_attempts_are_pruned(tmp_path: Path, clock: Clock) -> None:
    logs = AgentLogs(tmp_path, keep=3, clock=clock)
    paths = []
    for attempt in range(1, 6):
        transcript = logs.open("MT-1", attempt)
        transcript.close()
        paths.append(transcript.path)
        clock.advance(1)
    remaining = sorted(p.name for p in logs.directory("MT-1").iterdir())
    assert remaining == sorted([LATEST, *(p.name for p in paths[-3:] if p)])


def test_same_second_attempts_get_distinct_files(logs: AgentLogs) -> None:
    first = logs.open("MT-1", 1)
    second = logs.open("MT-1", 1)
    assert first.path != second.path
    first.close()
    second.close()


def test_unwritable_logs_root_yields_an_inactive_transcript(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with issue_context("abc", "MT-1"):  # the worker's attempt, which opens transcripts
        transcript = AgentLogs(blocker).open("MT-1", 1, issue_id="abc")
    assert not transcript.active
    transcript.write("recv", "dropped quietly")
    transcript.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "agent transcript unavailable" in w and "issue_identifier=MT-1" in w for w in warnings
    )


class _FailingHandle:
    def __init__(self) -> None:
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_failing_disk_disables_the_transcript_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handle = _FailingHandle()
    transcript = FileTranscript(handle, tmp_path / "x.log")  # type: ignore[arg-type]
    for _ in range(5):
        transcript.write("recv", "data")  # never raises into the agent session
    transcript.close()
    assert handle.writes == 1
    assert not transcript.active
    warnings = [r for r in caplog.records if "agent transcript disabled" in r.getMessage()]
    assert len(warnings) == 1
    assert "No space left on device" in warnings[0].getMessage()


@pytest.fixture(autouse=True)
def _no_leftover_secrets() -> Iterator[None]:
    yield
    from symphony.logs import REDACTOR

    REDACTOR.clear()


async def test_lines_are_flushed_in_batches_shortly_after_they_are_written(tmp_path: Path) -> None:
    transcript = AgentLogs(tmp_path).open("MT-7", None)
    assert transcript.path is not None
    header = transcript.path.read_text(encoding="utf-8")
    for n in range(50):
        transcript.write("recv", f'{{"n":{n}}}')
    # Still buffered: one write per line is what batching avoids.
    assert transcript.path.read_text(encoding="utf-8") == header
    await wait_until(lambda: '{"n":49}' in transcript.path.read_text(encoding="utf-8"))
    assert len(lines(transcript.path)) == 51
    transcript.write("recv", "last")
    transcript.close()  # close writes what is still buffered
    assert lines(transcript.path)[-1].endswith("recv   last")


@given(
    st.integers(min_value=0, max_value=4_102_444_799_999),
    st.integers(min_value=100, max_value=900),
)
def test_cached_stamps_match_the_one_formatter(millis: int, micros: int) -> None:
    # Away from millisecond edges, where float rounding may tip either way.
    epoch_s = millis / 1000 + micros / 1_000_000
    stamps = EpochStamps()
    stamps.format(epoch_s - 1)  # a prefix cached for the second before
    stamps.format(epoch_s - 0.001)  # and the text for the millisecond before
    moment = datetime.fromtimestamp(millis // 1000, UTC) + timedelta(milliseconds=millis % 1000)
    expected = format_timestamp(moment, timespec="milliseconds")
    assert stamps.format(epoch_s) == expected
    assert stamps.format(epoch_s + 0.00005) == expected  # the same millisecond, from the cache


async def test_a_batch_is_redacted_line_by_line_when_any_line_holds_a_secret(
    tmp_path: Path,
) -> None:
    register_secrets(["s3cr3t-value-42"])
    transcript = AgentLogs(tmp_path).open("MT-8", None)
    assert transcript.path is not None
    transcript.write("recv", '{"n":1}')
    transcript.write("stderr", "Authorization: Bearer")  # the token shape ends at the newline
    transcript.write("recv", '{"n":2,"key":"s3cr3t-value-42"}')
    transcript.write("recv", "abcdefghijklmnopqrstuvwxyz")
    transcript.flush()  # what the loop's timer does
    content = lines(transcript.path)
    assert "s3cr3t-value-42" not in transcript.path.read_text(encoding="utf-8")
    assert [line[32:] for line in content[1:]] == [
        '{"n":1}',
        "Authorization: Bearer",
        '{"n":2,"key":"[REDACTED]"}',
        "abcdefghijklmnopqrstuvwxyz",
    ]
    transcript.close()


def test_a_secret_across_the_cut_of_a_long_line_is_hidden(tmp_path: Path) -> None:
    secret = "lin_api_" + "q" * 40
    transcript = AgentLogs(tmp_path, max_bytes=10_000_000).open("MT-9", 1)
    transcript._max_line = 100
    transcript.write("recv", "x" * 80 + f" {secret} " + "y" * 50)
    transcript.close()
    assert transcript.path is not None
    text = transcript.path.read_text(encoding="utf-8")
    assert "lin_api_" not in text and "qqqq" not in text
    assert "[REDACTED]" in text
