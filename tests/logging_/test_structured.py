"""structlog call sites, the two line formats, redaction in both, per-issue context binding."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from symphony.issue import Issue
from symphony.logs import (
    REDACTED,
    configure_logging,
    current_log_format,
    get_logger,
    issue_context,
    register_secrets,
    set_log_format,
)
from symphony.orchestrator import workers
from symphony.orchestrator.worker import AttemptResult
from symphony.service import apply_log_settings
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from tests.support.memory_tracker import MemoryProfile

SECRET = "lin_live_0123456789abcdef"


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    assert lines, "nothing was logged"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_structlog_call_renders_one_logfmt_line() -> None:
    console = io.StringIO()
    configure_logging(logs_root=None, console=console)
    get_logger("symphony.orchestrator").info(
        "dispatching issue", issue_id="id-1", issue_identifier="SYM-1", attempt=None, n=3
    )
    [line] = console.getvalue().splitlines()
    assert line.startswith("ts=")
    assert line.endswith(
        " level=info logger=symphony.orchestrator dispatching issue "
        "issue_id=id-1 issue_identifier=SYM-1 attempt=null n=3"
    )


def test_json_lines_have_core_keys_and_every_field(tmp_path: Path) -> None:
    console = io.StringIO()
    setup = configure_logging(logs_root=tmp_path, console=console, log_format="json")
    log = get_logger("symphony.workspace")
    log.info("workspace created", workspace=tmp_path / "ws", reused=False, count=2, note=None)
    log.warning("collision", level="mine", message="also mine")
    logging.getLogger("symphony.service").info("plain %s words", "stdlib")
    first, collision, plain = json_lines(console.getvalue())
    assert first["ts"].endswith("Z") and first["level"] == "info"
    assert first["logger"] == "symphony.workspace" and first["message"] == "workspace created"
    assert first["workspace"] == str(tmp_path / "ws")
    assert (first["reused"], first["count"], first["note"]) == (False, 2, None)
    assert collision["level"] == "warning" and collision["level_"] == "mine"
    assert collision["message"] == "collision" and collision["message_"] == "also mine"
    assert plain["message"] == "plain stdlib words"
    assert setup.log_file is not None
    assert json_lines(setup.log_file.read_text()) == [first, collision, plain]


def test_json_exception_is_one_field_of_one_line() -> None:
    console = io.StringIO()
    configure_logging(logs_root=None, console=console, log_format="json")
    try:
        raise RuntimeError("it broke")
    except RuntimeError:
        get_logger("symphony.x").exception("unexpected", step="dispatch")
    [line] = json_lines(console.getvalue())
    assert line["level"] == "error" and line["step"] == "dispatch"
    assert "Traceback" in line["exception"] and "RuntimeError: it broke" in line["exception"]


@pytest.mark.parametrize("log_format", ["logfmt", "json"])
def test_secrets_are_redacted_from_message_fields_and_exceptions(
    tmp_path: Path, log_format: Any
) -> None:
    console = io.StringIO()
    setup = configure_logging(logs_root=tmp_path, console=console, log_format=log_format)
    register_secrets([SECRET])
    log = get_logger("symphony.trackers.linear")
    log.error(f"request failed with {SECRET}", header=f"Authorization: {SECRET}")
    log.error("nested", payload={"headers": {"authorization": SECRET}, "list": [SECRET, 1]})
    log.info("quoted", body=f'say "{SECRET}"\n')  # escaping must not hide it from the redactor
    log.info("token shapes", key="lin_api_" + "A" * 40, bearer="Bearer " + "c" * 30)
    logging.getLogger("symphony.x").warning("plain stdlib %s", SECRET)
    try:
        raise RuntimeError(f"token {SECRET} rejected")
    except RuntimeError:
        log.exception("unexpected")
    assert setup.log_file is not None
    for text in (console.getvalue(), setup.log_file.read_text()):
        assert SECRET not in text
        assert "A" * 40 not in text and "c" * 30 not in text
        assert text.count(REDACTED) >= 8
        if log_format == "json":
            lines = json_lines(text)
            assert lines[1]["payload"] == {
                "headers": {"authorization": REDACTED},
                "list": [REDACTED, 1],
            }
            assert lines[3]["bearer"] == f"Bearer {REDACTED}"


def test_issue_context_binds_every_line_of_a_worker_like_task(tmp_path: Path) -> None:
    console = io.StringIO()
    setup = configure_logging(logs_root=tmp_path, console=console, log_format="json")
    log = get_logger("symphony.orchestrator.worker")

    def hook_step() -> None:
        get_logger("symphony.workspace").info("hook finished", hook="before_run")

    def tracker_call_in_thread() -> None:
        get_logger("symphony.trackers.local").info("board read", count=3)

    async def session_reader() -> None:
        get_logger("symphony.agents.codex").info("agent event", session_id="s-1")
        logging.getLogger("symphony.agents.codex").info("plain stdlib %s", "turn_completed")

    async def attempt() -> None:
        log.info("worker attempt starting", attempt=1)
        hook_step()
        await asyncio.to_thread(tracker_call_in_thread)
        await asyncio.create_task(session_reader())

    async def main() -> None:
        with issue_context("id-7", "SYM-7"):
            worker = asyncio.create_task(attempt())
        await worker
        log.info("outside any issue")

    asyncio.run(main())
    assert setup.log_file is not None
    lines = json_lines(setup.log_file.read_text())
    assert [line["message"] for line in lines] == [
        "worker attempt starting",
        "hook finished",
        "board read",
        "agent event",
        "plain stdlib turn_completed",
        "outside any issue",
    ]
    for line in lines[:-1]:
        assert (line["issue_id"], line["issue_identifier"]) == ("id-7", "SYM-7"), line
    assert lines[3]["session_id"] == "s-1"
    assert "issue_id" not in lines[-1]


def test_context_fields_lead_in_logfmt_and_the_call_wins() -> None:
    console = io.StringIO()
    configure_logging(logs_root=None, console=console)
    with issue_context("id-1", "SYM-1"):
        get_logger("symphony.workspace").info("hook started", hook="after_create")
        get_logger("symphony.workspace").info("explicit", issue_identifier="OTHER-2")
        get_logger("symphony.x").info("again", issue_id="id-1", tool="t")
    started, explicit, again = console.getvalue().splitlines()
    assert started.endswith("hook started issue_id=id-1 issue_identifier=SYM-1 hook=after_create")
    assert explicit.endswith("explicit issue_id=id-1 issue_identifier=OTHER-2")
    assert again.endswith("again issue_identifier=SYM-1 issue_id=id-1 tool=t")  # no duplicates


async def test_worker_pool_binds_the_issue_for_the_whole_attempt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    setup = configure_logging(logs_root=tmp_path, console=None, log_format="json")

    async def fake_attempt(spec: Any, services: Any) -> AttemptResult:
        async def session() -> None:
            get_logger("symphony.agents.codex").info("turn completed", turn=1)

        get_logger("symphony.orchestrator.worker").info("worker attempt starting")
        await asyncio.create_task(session())
        return AttemptResult(True)

    monkeypatch.setattr(workers, "run_attempt", fake_attempt)
    exited: list[Any] = []
    pool = workers.WorkerPool(report=exited.append, grace_s=lambda: 5.0)
    issue = Issue(id="id-3", identifier="SYM-3", title="t", state="Todo", dispatchable=True)
    spec = SimpleNamespace(issue=issue, run_id=1, run_key=issue.id)
    pool.start(spec, SimpleNamespace())  # type: ignore[arg-type]
    get_logger("symphony.orchestrator").info("tick")  # the caller stays unbound
    await pool.drain()
    assert exited
    assert setup.log_file is not None
    lines = {line["message"]: line for line in json_lines(setup.log_file.read_text())}
    for message in ("worker attempt starting", "turn completed"):
        assert lines[message]["issue_id"] == "id-3"
        assert lines[message]["issue_identifier"] == "SYM-3"
    assert "issue_id" not in lines["tick"]


def test_caplog_sees_message_and_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="symphony.trackers.local")
    with issue_context("id-1", "SYM-1"):
        get_logger("symphony.trackers.local").info("board read", count=1)
    [record] = caplog.records
    assert record.getMessage() == "board read issue_id=id-1 issue_identifier=SYM-1 count=1"
    assert "board read issue_id=id-1" in caplog.text


def test_debug_lines_are_filtered_by_the_stdlib_level() -> None:
    console = io.StringIO()
    configure_logging(logs_root=None, console=console, console_level=logging.INFO)
    get_logger("symphony.x").debug("hidden", n=1)
    get_logger("symphony.x").info("shown %s", "too")
    assert "hidden" not in console.getvalue() and "shown too" in console.getvalue()


def test_format_switch_applies_to_installed_and_later_sinks(tmp_path: Path) -> None:
    console = io.StringIO()
    configure_logging(logs_root=None, console=console)
    get_logger("symphony.x").info("before")
    set_log_format("json")
    get_logger("symphony.x").info("after", n=1)
    assert current_log_format() == "json"
    before, after = console.getvalue().splitlines()
    assert before.startswith("ts=") and json.loads(after)["n"] == 1
    # A later reinstall (the live status view does one) keeps the chosen format.
    again = io.StringIO()
    configure_logging(logs_root=None, console=again)
    get_logger("symphony.x").info("still json")
    assert json.loads(again.getvalue())["message"] == "still json"
    with pytest.raises(ValueError, match=r"logs\.format must be one of logfmt, json"):
        set_log_format("xml")  # type: ignore[arg-type]


def test_failing_sink_warning_is_json_too(tmp_path: Path) -> None:
    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError(28, "No space left on device")

    setup = configure_logging(logs_root=tmp_path, console=Broken(), log_format="json")
    get_logger("symphony.service").info("first line")
    assert setup.log_file is not None
    failed, first = json_lines(setup.log_file.read_text())
    assert failed["message"] == "log sink failed" and failed["sink"] == "console"
    assert "No space left on device" in failed["error"]
    assert first["message"] == "first line"


def test_logs_format_follows_workflow_reloads(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow("tracker:\n  kind: memory\nlogs:\n  format: json")
    store = WorkflowStore.open(path, environ={}, resolver=resolve_tracker)
    console = io.StringIO()
    configure_logging(logs_root=None, console=console)
    apply_log_settings(store.current)  # what the service does at startup, and on every reload
    store.subscribe(apply_log_settings)
    get_logger("symphony.x").info("json line")
    path.write_text("---\ntracker:\n  kind: memory\nlogs:\n  format: logfmt\n---\nnew body\n")
    assert store.check(force=True)
    get_logger("symphony.x").info("logfmt line")
    first, reloaded, last = console.getvalue().splitlines()
    assert json.loads(first)["message"] == "json line"
    assert json.loads(reloaded)["message"] == "workflow reloaded"
    assert json.loads(reloaded)["version"] == 2
    assert last.startswith("ts=") and " logfmt line" in last
