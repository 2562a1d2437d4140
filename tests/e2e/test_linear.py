"""End to end through Linear: the real service, the real codex, a schema-checked fake Linear.

Two Todo issues sit in the configured project. Both are dispatched; each agent (played by the
fake model) writes a file in its own workspace with a shell command, looks up its team's states
with the ``linear_graphql`` tool and moves its issue to Human Review with an ``issueUpdate``
mutation. Human Review is neither active nor terminal, so the service lets go of both and keeps
their workspaces. A third Todo issue is blocked by a Backlog issue: it is never dispatched, and
the API lists it as blocked with the reason (docs/orchestrator.md, "Blocked issues").

A human then moves SYM-1 to Done while the service keeps running: the service still watches
released issues (docs/orchestrator.md, "Released issues", beyond SPEC §8.5), so within a few
polls ``before_remove`` runs and that workspace goes, while SYM-2's stays. SYM-2 is closed while
the service is stopped; nothing watches it then, and the next start's sweep removes it
(SPEC §8.6).

The API key travels only in the service's environment: it must not reach a log file, an agent
transcript, the model, a hook or the codex processes' environment.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema

from tests.e2e.harness import (
    Project,
    ServiceProcess,
    is_idle,
    issue_identifier_in,
    local_front_matter,
    per_issue_responder,
    running_row,
)
from tests.support.fake_linear import FakeLinear
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply
from tests.support.waiting import wait_until_sync

pytestmark = pytest.mark.codex

PROMPT = "You are working on the Linear issue {{ issue.identifier }}: {{ issue.title }}."
POLL_MS = 500
IDENTIFIERS = ("SYM-1", "SYM-2")
KEY_ENV = "LINEAR_API_KEY"

TEAM_STATES = """
query TeamStates($id: String!) {
  issue(id: $id) { team { states { nodes { id name type } } } }
}
"""
MOVE = """
mutation MoveIssue($id: String!, $stateId: String!) {
  issueUpdate(id: $id, input: {stateId: $stateId}) { success issue { identifier state { name } } }
}
"""


@pytest.fixture
def linear(linear_schema: GraphQLSchema) -> Iterator[FakeLinear]:
    # A fresh random key per test: a leak cannot hide behind a value some other test used.
    fake = FakeLinear(api_key=f"lin_api_{secrets.token_hex(20)}", schema=linear_schema).start()
    try:
        yield fake
    finally:
        fake.stop()
    details = [f"{r.operation}: {r.errors}" for r in fake.rejected]
    assert not fake.rejected, f"fake Linear rejected requests real Linear would reject: {details}"


# -- processes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcEnv:
    pid: int
    cmdline: str
    environ: bytes | None  # None when the kernel would not let us read it


def processes_in(directory: Path) -> list[ProcEnv]:
    """Live processes whose working directory is ``directory`` (codex runs in the workspace)."""
    target = directory.resolve()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cwd").readlink() != target:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile, or not ours to inspect
        try:
            environ: bytes | None = (entry / "environ").read_bytes()
        except OSError:
            environ = None
        found.append(ProcEnv(int(entry.name), cmdline.strip(), environ))
    return found


def environ_of(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


# -- the agents ---------------------------------------------------------------------------------


def state_id_from_outputs(request: RecordedRequest, name: str) -> str:
    """The id of state ``name`` in the TeamStates tool result codex sent back to the model."""
    for output in request.function_call_outputs().values():
        try:
            result = json.loads(output)
        except ValueError:
            continue
        found = _find_state(result, name)
        if found is not None:
            return found
    raise AssertionError(f"no {name!r} state in tool outputs: {request.function_call_outputs()}")


def _find_state(value: Any, name: str) -> str | None:
    if isinstance(value, Mapping):
        if value.get("name") == name and isinstance(value.get("id"), str):
            return str(value["id"])
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        found = _find_state(child, name)
        if found is not None:
            return found
    return None


class Agents:
    """The fake model's per-issue scripts, plus what it saw of the codex processes."""

    def __init__(self, project: Project, key: str) -> None:
        self.project = project
        self.key = key.encode()
        self.codex_processes: dict[str, list[ProcEnv]] = {}

    def script(self, identifier: str) -> list[Any]:
        def write_proof(request: RecordedRequest) -> Reply:
            # Codex is waiting for this very answer, so its processes are alive right now.
            workspace = self.project.root / "workspaces" / identifier
            self.codex_processes[identifier] = processes_in(workspace)
            return Reply.exec_command(f"printf 'made by {identifier}' > proof.txt && echo wrote")

        def move_to_review(request: RecordedRequest) -> Reply:
            state_id = state_id_from_outputs(request, "Human Review")
            return Reply.tool_call(
                "linear_graphql",
                {"query": MOVE, "variables": {"id": identifier, "stateId": state_id}},
            )

        return [
            write_proof,
            Reply.tool_call(
                "linear_graphql", {"query": TEAM_STATES, "variables": {"id": identifier}}
            ),
            move_to_review,
            Reply.message(f"{identifier} is ready for review."),
        ]


def linear_front_matter(project: Project, linear: FakeLinear, removed_log: Path) -> dict[str, Any]:
    hook_env = project.root / "hook-env"
    return local_front_matter(
        codex_bin=project.codex_bin,
        tracker={
            "kind": "linear",
            "provider": {
                "endpoint": linear.url,
                "project_slug": linear.project_slug,
                "api_key": f"${KEY_ENV}",
                "request_timeout_ms": 5000,
            },
            "active_states": ["Todo", "In Progress"],
            "terminal_states": ["Done", "Canceled"],
        },
        polling={"interval_ms": POLL_MS},
        hooks={
            "after_create": f'mkdir -p {hook_env} && env > "{hook_env}/$SYMPHONY_ISSUE_IDENTIFIER"',
            "before_remove": f'echo "$SYMPHONY_ISSUE_IDENTIFIER $PWD" >> {removed_log}',
        },
    )


def test_two_linear_agents_hand_off_to_human_review_and_the_key_stays_host_side(
    project: Project, model: FakeModelServer, linear: FakeLinear
) -> None:
    key = linear.api_key
    assert key is not None
    project.extra_env[KEY_ENV] = key
    agents = Agents(project, key)
    model.responder = per_issue_responder({i: agents.script(i) for i in IDENTIFIERS})
    removed_log = project.root / "removed.log"
    project.write_workflow(linear_front_matter(project, linear, removed_log), PROMPT)
    first = linear.add_issue("Write the first proof", description="proof.txt, please")
    second = linear.add_issue("Write the second proof")
    other = linear.add_issue("Not ours", project="another-project")
    assert (first.identifier, second.identifier) == IDENTIFIERS
    design = linear.add_issue("Design the schema", state="Backlog")
    held = linear.add_issue("Build on the schema")
    linear.add_blocker(held, design)

    service = project.start()
    busy = service.wait_until(
        lambda s: running_row(s, "SYM-1") and running_row(s, "SYM-2"),
        30,
        what="both Linear issues to be running",
    )
    assert busy["counts"]["running"] == 2
    assert busy["tracker"]["kind"] == "linear"

    idle = service.wait_until(
        lambda s: is_idle(s) and s["codex_totals"]["total_tokens"] > 0,
        60,
        what="both agents to hand off and the service to go idle",
    )
    totals = idle["codex_totals"]
    assert totals["input_tokens"] > 0 and totals["output_tokens"] > 0
    assert idle["tracker"]["error"] is None

    # Each agent moved its own issue through the tool, with the service's key.
    assert [linear.state_of(i) for i in IDENTIFIERS] == ["Human Review", "Human Review"]
    assert linear.state_of(other) == "Todo"
    moves = [r for r in linear.requests if r.operation == "MoveIssue"]
    assert sorted(r.variables["id"] for r in moves) == sorted(IDENTIFIERS)
    assert all(r.headers["authorization"] == key and r.status == 200 for r in moves)
    workspaces = project.root / "workspaces"
    for identifier in IDENTIFIERS:
        proof = workspaces / identifier / "proof.txt"
        assert proof.read_text(encoding="utf-8") == f"made by {identifier}"
        detail = service.issue(identifier)
        assert detail is not None and detail["status"] == "released", detail
        requests = [r for r in model.requests if issue_identifier_in(r, IDENTIFIERS) == identifier]
        assert "linear_graphql" in requests[0].tool_names()
        # The model hears the mutation's result unless reconciliation stopped the agent first
        # (the issue left the active states while codex was sending it back).
        for request in requests:
            for output in request.function_call_outputs().values():
                if "issueUpdate" in output:
                    assert '"Human Review"' in output and '"success": true' in output
    assert service.issue(other.identifier) is None  # outside the project: never seen
    assert not removed_log.exists()
    _assert_blocked_and_never_dispatched(service, model, project, held.identifier)

    _assert_key_never_left_the_service(project, model, agents, service.pid, key)

    # A human finishes SYM-1 while the service keeps running.
    requests_before = len(model.requests)
    linear.move(first, "Done")
    removed = wait_until_sync(
        removed_line(removed_log, workspaces / "SYM-1"),
        "before_remove to run for SYM-1 and its workspace to be deleted, service running",
        timeout=20,  # normally one or two polls (POLL_MS); the bound only guards a loaded machine
    )
    assert removed.split() == ["SYM-1", str((workspaces / "SYM-1").resolve())]
    assert service.alive()

    # Over the next polls nothing happens to SYM-2: not removed, not dispatched again.
    quiet = service.wait_until(more_polls(3), 20, what="three more candidate polls")
    assert is_idle(quiet) and quiet["tracker"]["error"] is None
    assert len(model.requests) == requests_before
    assert removed_log.read_text(encoding="utf-8") == removed
    assert (workspaces / "SYM-2" / "proof.txt").read_text(encoding="utf-8") == "made by SYM-2"
    for identifier in IDENTIFIERS:
        detail = service.issue(identifier)
        assert detail is not None and detail["status"] == "released", detail

    code, output = service.stop()
    assert code == 0, output
    assert key not in output

    # SYM-2 is closed while no service runs, so nothing watches it: the next start sweeps it.
    linear.move(second, "Done")
    restarted = project.start()
    restarted.wait_for_output("symphony started")
    swept = wait_until_sync(
        removed_line(removed_log, workspaces / "SYM-2", after=removed),
        "the startup sweep to run before_remove for SYM-2 and delete its workspace",
        timeout=20,
    )
    assert swept.split() == ["SYM-2", str((workspaces / "SYM-2").resolve())]
    polled = restarted.wait_until(more_polls(1), 20, what="a candidate poll")
    assert is_idle(polled) and polled["tracker"]["error"] is None
    assert [r["issue_identifier"] for r in polled["blocked"]] == [held.identifier]
    assert len(model.requests) == requests_before  # nothing is dispatched again
    code, output = restarted.stop()
    assert code == 0, output
    assert key not in output
    _assert_key_not_in_files(project.logs_root, key)


def removed_line(log: Path, workspace: Path, *, after: str = "") -> Callable[[], str | None]:
    """The ``before_remove`` line written after ``after``, once ``workspace`` is also gone."""

    def check() -> str | None:
        # The hook writes its line before the directory is deleted: wait for both.
        if workspace.exists() or not log.exists():
            return None
        text = log.read_text(encoding="utf-8")
        assert text.startswith(after), text
        return text[len(after) :] or None

    return check


def more_polls(count: int) -> Callable[[dict[str, Any]], bool]:
    """A ``wait_until`` predicate: true once ``count`` distinct candidate polls were seen."""
    polls: set[str] = set()

    def seen(snapshot: dict[str, Any]) -> bool:
        last = snapshot["tracker"]["last_poll_at"]
        if last is not None:
            polls.add(last)
        return len(polls) >= count

    return seen


def _assert_blocked_and_never_dispatched(
    service: ServiceProcess, model: FakeModelServer, project: Project, identifier: str
) -> None:
    state = service.state()
    rows = [r for r in state["blocked"] if r["issue_identifier"] == identifier]
    assert rows, state["blocked"]
    assert rows[0]["state"] == "Todo"
    assert rows[0]["reason"] == "not dispatchable: blocked by SYM-4 (Backlog)"
    assert rows[0]["blocked_by"] == [{"identifier": "SYM-4", "state": "Backlog"}]
    assert state["counts"]["blocked"] == 1
    detail = service.issue(identifier)
    assert detail is not None and detail["status"] == "blocked", detail
    assert detail["blocked"]["reason"] == rows[0]["reason"]
    assert all(issue_identifier_in(r, [identifier]) is None for r in model.requests)
    log = (project.logs_root / "symphony.log").read_text(encoding="utf-8")
    lines = [
        line
        for line in log.splitlines()
        if "issue blocked, not dispatching" in line and f"issue_identifier={identifier}" in line
    ]
    assert len(lines) == 1, lines  # once, not once per poll


def _assert_key_never_left_the_service(
    project: Project, model: FakeModelServer, agents: Agents, service_pid: int, key: str
) -> None:
    # The check reads real environments: the service itself does hold the key.
    assert key.encode() in environ_of(service_pid)
    for identifier in IDENTIFIERS:
        seen = agents.codex_processes.get(identifier)
        assert seen, f"no process ran in {identifier}'s workspace while its agent was asked"
        readable = [p for p in seen if p.environ is not None]
        assert any("codex" in p.cmdline for p in readable), seen
        leaks = [p.cmdline for p in readable if p.environ is not None and agents.key in p.environ]
        assert not leaks, f"the Linear key is in the environment of {leaks}"
        assert all(b"CODEX_HOME=" in (p.environ or b"") for p in readable)
        hook_env = (project.root / "hook-env" / identifier).read_text(encoding="utf-8")
        assert "SYMPHONY_HOOK=after_create" in hook_env
        assert key not in hook_env and f"{KEY_ENV}=" not in hook_env
    assert all(key not in r.text() for r in model.requests)
    _assert_key_not_in_files(project.logs_root, key)
    transcripts = {p.parent.name for p in (project.logs_root / "agents").rglob("*attempt-*.log")}
    assert transcripts == set(IDENTIFIERS)


def _assert_key_not_in_files(root: Path, key: str) -> None:
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.name == "symphony.log" for p in files), files
    leaked = [str(p) for p in files if key.encode() in p.read_bytes()]
    assert not leaked, f"the Linear key was written to {leaked}"
