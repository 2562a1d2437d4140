"""``symphony requests | answer | steer`` against a real API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from symphony.cli import main
from symphony.human import HumanAnswer, HumanRequest, Question, SteerDelivery
from symphony.issue import Issue
from symphony.operator_cli import run
from tests.observability.conftest import RunningServer, start_server
from tests.observability.fakes import FakeView, detail_for, running_row
from tests.support.waiting import wait_until

ISSUE = Issue(id="id-SYM-1", identifier="SYM-1", title="t", state="Todo", dispatchable=True)
COMMAND = HumanRequest(
    kind="command_approval", summary="run make deploy", command="make deploy", cwd="/ws/SYM-1"
)
QUESTION = HumanRequest(
    kind="question",
    summary="Which color?",
    questions=(
        Question(id="color", question="Which color?", options=("Red", "Blue")),
        Question(id="size", question="How big?"),
    ),
)
TOKEN = "cli-token"


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with start_server(FakeView(), keepalive_s=0.5) as running:
        yield running


async def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    command, *rest = args
    # The CLI blocks on its HTTP call; the server runs on this test's loop.
    code = await asyncio.to_thread(run, command, rest, out=out, err=err, environ=env or {})
    return code, out.getvalue(), err.getvalue()


async def park(view: FakeView, request: HumanRequest) -> tuple[asyncio.Task[Any], str]:
    task = asyncio.create_task(view.desk.open_run(ISSUE, 1, None).ask(request))
    pending = await wait_until(lambda: view.desk.pending(identifier="SYM-1"))
    return task, pending[-1].id


async def test_requests_lists_what_agents_wait_for(server: RunningServer) -> None:
    code, out, _ = await cli("requests", "--url", server.url)
    assert (code, out) == (0, "no pending requests\n")
    task, request_id = await park(server.view, COMMAND)
    code, out, _ = await cli("requests", "--url", server.url)
    task.cancel()
    assert code == 0
    assert f"SYM-1  {request_id}  command_approval" in out
    assert "command: make deploy" in out
    assert f"symphony answer SYM-1 {request_id} --approve" in out


@pytest.mark.parametrize(
    ("flag", "decision"),
    [
        ("--approve", "approve"),
        ("--approve-for-session", "approve_for_session"),
        ("--deny", "deny"),
    ],
)
async def test_answer_an_approval(server: RunningServer, flag: str, decision: Any) -> None:
    task, request_id = await park(server.view, COMMAND)
    code, out, err = await cli("answer", "SYM-1", request_id, flag, "--url", server.url)
    assert (code, err) == (0, "")
    assert "answered" in out
    assert await task == HumanAnswer(decision=decision)


async def test_answer_questions_and_the_api_errors(server: RunningServer) -> None:
    task, request_id = await park(server.view, QUESTION)
    base = ("answer", "SYM-1", request_id)
    code, _, err = await cli(*base, "--answer", "color=Red", "--url", server.url)
    assert code == 1 and "invalid_answer" in err and "size" in err
    code, _, err = await cli(*base, "--answer", "nonsense", "--url", server.url)
    assert code == 1 and "ID=TEXT" in err
    code, _, _ = await cli(
        *base, "--answer", "color=Red", "--answer", "size=Big=huge", "--url", server.url
    )
    assert code == 0
    assert await task == HumanAnswer(answers={"color": "Red", "size": "Big=huge"})
    code, _, err = await cli(*base, "--deny", "--url", server.url)
    assert code == 1 and "request_already_answered" in err
    code, _, err = await cli("answer", "SYM-1", "nope", "--deny", "--url", server.url)
    assert code == 1 and "request_not_found" in err


class Session:
    async def steer(self, message: str) -> SteerDelivery:
        return "next_turn"


async def test_steer(server: RunningServer) -> None:
    code, _, err = await cli("steer", "SYM-1", "-m", "use tabs", "--url", server.url)
    assert code == 1 and "not_running" in err
    server.view.desk.open_run(ISSUE, 1, None)
    server.view.desk.attach_session("id-SYM-1", 1, Session())  # type: ignore[arg-type]
    code, out, _ = await cli("steer", "SYM-1", "-m", "use tabs", "--url", server.url)
    assert (code, out) == (0, "steered SYM-1 (next turn)\n")


async def test_url_and_token_come_from_the_workflow(tmp_path: Path) -> None:
    async with start_server(FakeView(), access_token=TOKEN) as guarded:
        port = guarded.url.rstrip("/").rsplit(":", 1)[1]
        workflow = tmp_path / "WORKFLOW.md"
        workflow.write_text(
            f"---\nserver:\n  port: {port}\n  access_token: $CLI_TOKEN\n---\nprompt\n"
        )
        env = {"CLI_TOKEN": TOKEN}
        code, out, err = await cli("requests", "--workflow", str(workflow), env=env)
        assert (code, out, err) == (0, "no pending requests\n", "")
        code, _, err = await cli("requests", "--workflow", str(workflow), env={})
        assert code == 1 and "unauthorized" in err and "--token" in err
        code, _, _ = await cli("requests", "--url", guarded.url, "--token", TOKEN)
        assert code == 0


async def test_clear_errors_without_a_service(tmp_path: Path) -> None:
    code, _, err = await cli("requests", "--url", "http://127.0.0.1:9")
    assert code == 1 and "not reachable at http://127.0.0.1:9" in err
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text("---\ntracker:\n  kind: local\n---\nprompt\n")
    code, _, err = await cli("requests", "--workflow", str(workflow))
    assert code == 1 and "server.port" in err and "--url" in err
    code, _, err = await cli("requests", "--workflow", str(tmp_path / "missing.md"))
    assert code == 1 and "--url" in err


def test_the_subcommands_are_wired_and_check_their_usage() -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as usage:
        run("answer", ["SYM-1", "abc"], err=err)
    assert usage.value.code == 2
    assert main(["steer", "SYM-1"]) == 2
    assert main(["requests", "--url", "http://127.0.0.1:9"]) == 1


def in_review(view: FakeView, identifier: str) -> None:
    view.board.put(
        Issue(
            id=f"id-{identifier}",
            identifier=identifier,
            title="t",
            state="Human Review",
            dispatchable=True,
        )
    )


async def test_review_approves_and_reworks(server: RunningServer) -> None:
    in_review(server.view, "SYM-1")
    in_review(server.view, "SYM-2")
    code, out, err = await cli("review", "SYM-1", "--approve", "--url", server.url)
    assert (code, out, err) == (0, "SYM-1 moved to Merging\n", "")
    code, out, _ = await cli(
        "review", "SYM-2", "--rework", "-m", "split the PR", "--url", server.url
    )
    assert (code, out) == (0, "SYM-2 moved to Rework, comment posted\n")
    assert server.view.board.comments == [("SYM-2", "split the PR")]
    # The runtime knows SYM-2, so the tracker is asked for its state by id.
    server.view.details["SYM-2"] = detail_for(running_row("SYM-2"))
    code, _, err = await cli("review", "SYM-2", "--approve", "--url", server.url)
    assert code == 1 and "HTTP 409 not_in_review" in err and "'Rework'" in err
    assert err.startswith("symphony review: ")
    code, _, err = await cli("review", "SYM-9", "--approve", "-m", "ok", "--url", server.url)
    assert code == 1 and "HTTP 404 issue_not_found" in err


async def test_review_uses_the_workflow_token(tmp_path: Path) -> None:
    async with start_server(FakeView(), access_token=TOKEN) as guarded:
        in_review(guarded.view, "SYM-1")
        code, _, err = await cli("review", "SYM-1", "--approve", "--url", guarded.url)
        assert code == 1 and "unauthorized" in err and "--token" in err
        port = guarded.url.rstrip("/").rsplit(":", 1)[1]
        workflow = tmp_path / "WORKFLOW.md"
        workflow.write_text(f"---\nserver:\n  port: {port}\n  access_token: {TOKEN}\n---\np\n")
        code, out, err = await cli("review", "SYM-1", "--approve", "--workflow", str(workflow))
        assert (code, out, err) == (0, "SYM-1 moved to Merging\n", "")


def test_review_checks_its_usage() -> None:
    for argv in (
        ["SYM-1"],
        ["SYM-1", "--approve", "--rework"],
        ["SYM-1", "--rework"],
        ["SYM-1", "--rework", "-m", "x", "--candidate", "a"],
    ):
        with pytest.raises(SystemExit) as usage:
            run("review", argv, err=io.StringIO())
        assert usage.value.code == 2
    assert main(["review", "SYM-1", "--rework", "-m", " "]) == 2
    assert main(["review", "SYM-1", "--approve", "--url", "http://127.0.0.1:9"]) == 1


async def test_review_approves_a_best_of_candidate(server: RunningServer) -> None:
    in_review(server.view, "SYM-1")
    code, out, err = await cli(
        "review", "SYM-1", "--approve", "--candidate", "b", "--url", server.url
    )
    assert (code, out, err) == (0, "SYM-1 moved to Merging\n", "")
    ((identifier, decision),) = server.view.reviews
    assert identifier == "SYM-1" and decision.candidate == "b"
