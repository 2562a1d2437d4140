from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from symphony.agents.codex.actions import Action, Emit, Resolved, RunTool, Send, TurnEnded
from symphony.agents.codex.policy import SessionPolicy, default_turn_sandbox_policy
from symphony.agents.codex.protocol import CodexProtocol
from symphony.agents.events import AgentEvent
from symphony.issue import Issue
from symphony.workflow.config import CodexConfig

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
WORKSPACE = Path("/srv/ws/SYM-1")
FAKE_CODEX = Path(__file__).resolve().parents[1] / "support" / "fake_codex.py"


def make_issue(**overrides: Any) -> Issue:
    fields: dict[str, Any] = {
        "id": "issue-1",
        "identifier": "SYM-1",
        "title": "Make a file",
        "state": "Todo",
        "dispatchable": True,
    }
    fields.update(overrides)
    return Issue(**fields)


def make_policy(approval: Any = "never") -> SessionPolicy:
    return SessionPolicy(
        approval_policy=approval,
        thread_sandbox="workspace-write",
        turn_sandbox_policy=default_turn_sandbox_policy(WORKSPACE),
    )


def sends(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.message for a in actions if isinstance(a, Send)]


def emitted(actions: list[Action]) -> list[AgentEvent]:
    return [a.event for a in actions if isinstance(a, Emit)]


def names(actions: list[Action]) -> list[str]:
    return [e.event for e in emitted(actions)]


def only(actions: list[Action], kind: type[Any]) -> Any:
    found = [a for a in actions if isinstance(a, kind)]
    assert len(found) == 1, f"expected one {kind.__name__} in {actions!r}"
    return found[0]


class Driver:
    """Drives a CodexProtocol through the handshake with scripted server answers."""

    def __init__(self, approval: Any = "never", tools: tuple[str, ...] = ()) -> None:
        self.protocol = CodexProtocol(make_policy(approval), tool_names=tools, pid=4242)

    def feed(self, message: dict[str, Any] | str) -> list[Action]:
        line = message if isinstance(message, str) else json.dumps(message)
        return self.protocol.receive_line(line, NOW)

    def handshake(self, thread_id: str = "thr-1") -> None:
        rid, _ = self.protocol.initialize()
        only(self.feed({"id": rid, "result": {"userAgent": "x"}}), Resolved)
        rid, _ = self.protocol.start_thread(WORKSPACE, [])
        resolved = only(self.feed({"id": rid, "result": {"thread": {"id": thread_id}}}), Resolved)
        assert resolved.error is None

    def start_turn(self, turn_id: str = "turn-1", text: str = "do it") -> list[Action]:
        rid, _ = self.protocol.start_turn(text, WORKSPACE)
        return self.feed({"id": rid, "result": {"turn": {"id": turn_id, "status": "inProgress"}}})

    def complete(
        self, turn_id: str = "turn-1", status: str = "completed", **turn: Any
    ) -> list[Action]:
        params = {
            "threadId": self.protocol.thread_id,
            "turn": {"id": turn_id, "status": status, **turn},
        }
        return self.feed({"method": "turn/completed", "params": params, "emittedAtMs": 1})


@pytest.fixture
def driver() -> Driver:
    d = Driver()
    d.handshake()
    return d


def ended(actions: list[Action]) -> TurnEnded:
    return only(actions, TurnEnded)  # type: ignore[no-any-return]


def tool_run(actions: list[Action]) -> RunTool:
    return only(actions, RunTool)  # type: ignore[no-any-return]


# -- fake app-server subprocess ---------------------------------------------------------------


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """A child environment with a clean temporary HOME (no slow login profile)."""
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "workspaces"
    ws = root / "SYM-1"
    ws.mkdir(parents=True)
    return ws, root


FakeCodexFactory = Callable[..., tuple[CodexConfig, Path]]


@pytest.fixture
def fake_codex(tmp_path: Path) -> FakeCodexFactory:
    """Write a scenario for tests/support/fake_codex.py; returns (CodexConfig, log path)."""

    def make(scenario: dict[str, Any] | None = None, **config: Any) -> tuple[CodexConfig, Path]:
        scenario_path = tmp_path / "scenario.json"
        log_path = tmp_path / "fake-codex-log.jsonl"
        scenario_path.write_text(json.dumps(scenario or {}), encoding="utf-8")
        command = f"{sys.executable} {FAKE_CODEX} {scenario_path} {log_path}"
        return CodexConfig(command=command, **config), log_path

    return make


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
