"""``agent.kind`` -> backend: entry-point discovery, the load-time check, ``symphony validate``."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest

from symphony.agents import registry
from symphony.agents.acp import BACKEND as ACP
from symphony.agents.base import AgentBackend, AgentSession
from symphony.agents.codex import BACKEND as CODEX
from symphony.agents.continuation import continuation_guidance
from symphony.agents.registry import (
    ENTRY_POINT_GROUP,
    UNSUPPORTED_AGENT_KIND,
    get_backend,
    installed_kinds,
    register_backend,
    require_backend,
    unregister_backend,
)
from symphony.errors import SymphonyError
from symphony.service import resolve_workflow, select_backend
from symphony.validate import validate_command
from symphony.workflow.errors import ConfigError
from symphony.workflow.store import Workflow, load_workflow_file
from tests.agents.conftest import make_issue
from tests.support.memory_tracker import MemoryProfile

WriteWorkflow = Callable[..., Path]
TRACKER = "tracker:\n  kind: memory\n"


class StubBackend(AgentBackend):
    kind = "stub"

    async def start_session(self, **_: object) -> AgentSession:  # type: ignore[override]
        raise NotImplementedError


@pytest.fixture
def stub() -> Iterator[StubBackend]:
    backend = StubBackend()
    register_backend(backend)
    yield backend
    unregister_backend(backend.kind)


def load(path: Path) -> Workflow:
    return load_workflow_file(path, environ={}, resolver=resolve_workflow)


def test_codex_is_the_default_and_comes_from_the_entry_point(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow
) -> None:
    workflow = load(write_workflow(TRACKER))
    assert workflow.config.agent.kind == "codex"
    assert select_backend(workflow) is CODEX
    named = {e.name: e.value for e in entry_points(group=ENTRY_POINT_GROUP)}
    assert named["codex"] == "symphony.agents.codex:BACKEND"
    assert "codex" in installed_kinds()


def test_an_unknown_kind_is_a_config_error_naming_the_key_value_and_installed_kinds(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow
) -> None:
    path = write_workflow(TRACKER + "agent:\n  kind: claude-code\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.code == UNSUPPORTED_AGENT_KIND
    installed = ", ".join(installed_kinds())
    assert "claude_code" in installed and "codex" in installed
    assert info.value.problems == [
        (
            "agent.kind",
            f"unknown agent kind 'claude-code' (installed: {installed}); use one of those or "
            "install the package that provides it",
        )
    ]
    assert str(path) in info.value.message


def test_a_variants_unknown_kind_is_named_by_its_entry(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow
) -> None:
    path = write_workflow(
        TRACKER + "agent:\n  best_of: 2\n  variants:\n    - codex: {command: codex app-server}\n"
        "    - agent: {kind: aider}\n"
    )
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.code == UNSUPPORTED_AGENT_KIND
    assert [key for key, _ in info.value.problems] == ["agent.variants[1].agent.kind"]
    message = info.value.problems[0][1]
    assert "unknown agent kind 'aider'" in message and "install the package" in message
    assert "codex" in message  # the installed kinds, to choose from


def test_a_variants_installed_kind_loads(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow, stub: StubBackend
) -> None:
    variants = "agent:\n  best_of: 2\n  variants:\n    - agent: {kind: stub}\n"
    path = write_workflow(TRACKER + variants)
    workflow = load(path)
    assert workflow.loaded.for_candidate(0).agent.kind == "stub"


def test_kind_must_be_a_non_empty_string(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow
) -> None:
    with pytest.raises(ConfigError) as info:
        load(write_workflow(TRACKER + "agent:\n  kind: 5\n"))
    assert info.value.problems[0][0] == "agent.kind"
    assert "agent backend" in info.value.problems[0][1]


def test_a_registered_backend_is_selectable_and_listed(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow, stub: StubBackend
) -> None:
    workflow = load(write_workflow(TRACKER + "agent:\n  kind: stub\n"))
    assert select_backend(workflow) is stub
    kinds = installed_kinds()
    assert kinds == sorted(kinds) and {"claude_code", "codex", "stub"} <= set(kinds)
    unregister_backend("stub")
    assert get_backend("stub") is None
    with pytest.raises(SymphonyError) as info:
        require_backend("stub")
    assert info.value.code == UNSUPPORTED_AGENT_KIND


def test_a_plugin_that_is_not_a_backend_is_refused(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = [
        EntryPoint("broken", "symphony.usage:TokenUsage", ENTRY_POINT_GROUP),
        EntryPoint("missing", "symphony.no_such_module:BACKEND", ENTRY_POINT_GROUP),
        *entry_points(group=ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(registry.BACKENDS, "_discover", lambda _group: declared)
    with pytest.raises(ConfigError) as info:
        load(write_workflow(TRACKER + "agent:\n  kind: broken\n"))
    assert info.value.code == "agent_backend_load_error"
    assert "agent backend kind 'broken' is not usable" in info.value.message
    with pytest.raises(ConfigError) as info:
        load(write_workflow(TRACKER + "agent:\n  kind: missing\n"))
    assert "failed with ModuleNotFoundError" in info.value.message


def test_validate_reports_an_unknown_kind(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow
) -> None:
    path = write_workflow(TRACKER + "agent:\n  kind: aider\n")
    out, err = io.StringIO(), io.StringIO()
    assert validate_command(str(path), out=out, err=err) == 1
    assert f"✗ {path}: not valid [{UNSUPPORTED_AGENT_KIND}]" in err.getvalue()
    installed = ", ".join(installed_kinds())
    assert f"agent.kind: unknown agent kind 'aider' (installed: {installed}); use" in err.getvalue()
    assert out.getvalue() == ""


def test_validate_names_the_backend_and_runs_its_preflight(
    memory_tracker: MemoryProfile,
    write_workflow: WriteWorkflow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A `codex` that exists and a clean HOME: the codex preflight finds no credentials.
    home = tmp_path / "home"
    codex = home / "bin" / "codex"
    codex.parent.mkdir(parents=True)
    codex.write_text("#!/bin/sh\nexit 0\n")
    codex.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CODEX_HOME", raising=False)
    path = write_workflow(TRACKER + f"codex:\n  command: {codex} app-server\n")
    out, err = io.StringIO(), io.StringIO()
    assert validate_command(str(path), out=out, err=err) == 0, err.getvalue()
    assert f"agent            codex: {codex} app-server" in out.getvalue()
    assert "Codex has no credentials" in out.getvalue()
    assert "codex_not_authenticated" in out.getvalue()


async def test_the_default_backend_hooks() -> None:
    issue = make_issue()
    assert CODEX.kind == "codex"
    assert CODEX.continuation_prompt(2, 5, issue) == continuation_guidance(
        2, 5, issue_identifier="SYM-1"
    )
    assert await StubBackend().preflight(None, env={}) == ()  # type: ignore[arg-type]
    assert StubBackend().describe(None) == "stub"  # type: ignore[arg-type]


def test_acp_comes_from_the_entry_point_and_needs_its_command(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow
) -> None:
    named = {e.name: e.value for e in entry_points(group=ENTRY_POINT_GROUP)}
    assert named["acp"] == "symphony.agents.acp:BACKEND"
    with pytest.raises(ConfigError) as info:
        load(write_workflow(TRACKER + "agent:\n  kind: acp\n"))
    (problem,) = info.value.problems
    assert problem[0] == "acp.command" and "required when agent.kind is acp" in problem[1]
    workflow = load(write_workflow(TRACKER + "agent:\n  kind: acp\nacp:\n  command: codex-acp\n"))
    assert select_backend(workflow) is ACP
    assert ACP.describe(workflow) == "acp: codex-acp"


def test_validate_names_the_acp_agent_and_reports_a_missing_one(
    memory_tracker: MemoryProfile, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    agent = tmp_path / "bin" / "my-acp-agent"
    agent.parent.mkdir()
    agent.write_text("#!/bin/sh\nexit 0\n")
    agent.chmod(0o755)
    for command, warned in (
        (f"{agent} --acp", False),
        (f"FOO=1 exec {tmp_path}/bin/missing-agent", True),
        ("no-such-acp-agent-xyz --stdio", True),
    ):
        path = write_workflow(TRACKER + f"agent:\n  kind: acp\nacp:\n  command: {command}\n")
        out, err = io.StringIO(), io.StringIO()
        assert validate_command(str(path), out=out, err=err) == 0, err.getvalue()
        assert f"agent            acp: {command}" in out.getvalue()
        assert ("acp_agent_not_found" in out.getvalue()) is warned, out.getvalue()
