"""End to end through GitHub: the real service, the real codex, a schema-checked fake GitHub.

A Todo item on the configured Projects (v2) board gets an agent (played by the fake model) that
writes a file with a shell command, reads its issue and card with the ``github_graphql`` tool
(the example workflow's ``IssueContext``) and moves the card to Human Review with its
``MoveCard`` mutation. Human Review is neither active nor terminal, so the service lets go of
the issue and keeps its workspace; closing the issue then removes the workspace while the
service runs.

The token travels only in the service's environment (as ``GITHUB_TOKEN``): it must not reach a
log file, an agent transcript, the model, a hook or the codex processes' environment.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from symphony.workspace.keys import workspace_key
from tests.e2e.harness import Project, is_idle, local_front_matter, per_issue_responder
from tests.e2e.test_linear import ProcEnv, environ_of, processes_in, removed_line
from tests.support.fake_github import FakeGitHub, load_github_schema, schema_available
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply
from tests.support.waiting import wait_until_sync

pytestmark = pytest.mark.codex

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "github" / "WORKFLOW.md"
PROMPT = "You are working on the GitHub issue {{ issue.identifier }} ({{ issue.id }})."
POLL_MS = 500
IDENTIFIER = "app#1"


def example_document(name: str) -> str:
    """A GraphQL document of the example workflow's prompt, by operation name."""
    for text in re.findall(r"```graphql\n(.*?)```", EXAMPLE.read_text(), flags=re.DOTALL):
        for definition in parse(text).definitions:
            named = isinstance(definition, OperationDefinitionNode) and definition.name
            if named and definition.name.value == name:  # type: ignore[union-attr]
                return str(text)
    raise AssertionError(f"no {name} in {EXAMPLE}")


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    if not schema_available():
        pytest.skip("GitHub's published schema is not available")
    # A fresh random token per test: a leak cannot hide behind a value another test used.
    fake = FakeGitHub(token=f"ghp_{secrets.token_hex(18)}", schema=load_github_schema()).start()
    try:
        yield fake
    finally:
        fake.stop()
    details = [f"{r.operation}: {r.errors}" for r in fake.rejected]
    assert not fake.rejected, f"fake GitHub rejected requests real GitHub would reject: {details}"


def tool_result(request: RecordedRequest) -> dict[str, Any]:
    """The last ``github_graphql`` result codex sent back to the model."""
    for output in reversed(list(request.function_call_outputs().values())):
        try:
            result = json.loads(output)
        except ValueError:
            continue
        if isinstance(result, dict) and "data" in result:
            return result
    raise AssertionError(f"no GraphQL result in {request.function_call_outputs()}")


class Agent:
    def __init__(self, project: Project, issue_id: str) -> None:
        self.workspace = project.root / "workspaces" / workspace_key(IDENTIFIER)
        self.issue_id = issue_id
        self.processes: list[ProcEnv] = []

    def script(self) -> list[Any]:
        def write_proof(request: RecordedRequest) -> Reply:
            # Codex is waiting for this very answer, so its processes are alive right now.
            self.processes = processes_in(self.workspace)
            return Reply.exec_command("printf 'made by the agent' > proof.txt && echo wrote")

        def move_to_review(request: RecordedRequest) -> Reply:
            [item] = tool_result(request)["data"]["node"]["projectItems"]["nodes"]
            field = item["project"]["field"]
            option = next(o["id"] for o in field["options"] if o["name"] == "Human Review")
            variables = {
                "projectId": item["project"]["id"],
                "itemId": item["id"],
                "fieldId": field["id"],
                "optionId": option,
            }
            return Reply.tool_call(
                "github_graphql", {"query": example_document("MoveCard"), "variables": variables}
            )

        return [
            write_proof,
            Reply.tool_call(
                "github_graphql",
                {"query": example_document("IssueContext"), "variables": {"id": self.issue_id}},
            ),
            move_to_review,
            Reply.message(f"{IDENTIFIER} is ready for review."),
        ]


def test_a_board_item_is_moved_to_human_review_with_github_graphql_and_the_token_stays_home(
    project: Project, model: FakeModelServer, github: FakeGitHub
) -> None:
    token = github.token
    assert token is not None
    project.extra_env["GITHUB_TOKEN"] = token
    board = github.add_project("acme", 1)
    issue = github.add_issue("Write the proof", body="proof.txt, please")
    github.add_item(board, issue, status="Todo")
    agent = Agent(project, issue.id)
    model.responder = per_issue_responder({IDENTIFIER: agent.script()})
    removed_log = project.root / "removed.log"
    hook_env = project.root / "hook-env"
    front_matter = local_front_matter(
        codex_bin=project.codex_bin,
        tracker={
            "kind": "github",
            "provider": {
                "endpoint": github.url,
                "repository": github.repo.name_with_owner,
                "project_owner": "acme",
                "project_number": 1,
                "request_timeout_ms": 5000,
            },
            "active_states": ["Todo", "In Progress"],
        },
        polling={"interval_ms": POLL_MS},
        hooks={
            "after_create": f'env > "{hook_env}"',
            "before_remove": f'echo "$SYMPHONY_ISSUE_IDENTIFIER $PWD" >> {removed_log}',
        },
    )
    project.write_workflow(front_matter, PROMPT)

    service = project.start()
    idle = service.wait_until(
        lambda s: is_idle(s) and s["codex_totals"]["total_tokens"] > 0,
        60,
        what="the agent to hand off and the service to go idle",
    )
    assert idle["tracker"]["error"] is None and idle["tracker"]["kind"] == "github"
    assert github.status_of(board, issue) == "Human Review"
    [move] = [r for r in github.requests if r.operation == "MoveCard"]
    assert move.status == 200 and move.headers["authorization"] == f"bearer {token}"
    assert (agent.workspace / "proof.txt").read_text(encoding="utf-8") == "made by the agent"
    detail = service.issue(IDENTIFIER)
    assert detail is not None and detail["status"] == "released", detail
    assert "github_graphql" in model.requests[0].tool_names()

    # The token never left the service: not in codex's environment, a hook's, the model's
    # requests, the logs or the transcripts.
    assert token.encode() in environ_of(service.pid)
    readable = [p for p in agent.processes if p.environ is not None]
    assert any("codex" in p.cmdline for p in readable), agent.processes
    assert not [p.cmdline for p in readable if p.environ and token.encode() in p.environ]
    assert all(b"GITHUB_TOKEN=" not in (p.environ or b"") for p in readable)
    hook_text = hook_env.read_text(encoding="utf-8")
    assert token not in hook_text and "GITHUB_TOKEN=" not in hook_text
    assert all(token not in r.text() for r in model.requests)

    # Closing the issue removes its workspace while the service runs.
    github.close(issue)
    removed = wait_until_sync(
        removed_line(removed_log, agent.workspace),
        "before_remove to run for the closed issue and its workspace to be deleted",
        timeout=20,
    )
    # The hook is told the tracker's identifier, not the workspace key (app_1--<hash>).
    assert removed.split() == [IDENTIFIER, str(agent.workspace.resolve())]
    code, output = service.stop()
    assert code == 0, output
    assert token not in output
    files = [p for p in project.logs_root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.name == "symphony.log" for p in files)
    assert not [str(p) for p in files if token.encode() in p.read_bytes()]
