from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from symphony.tools import ToolContext
from symphony.trackers.local import BoardSettings, BoardStore, LocalAdapter
from symphony.trackers.local.cli import board_main
from symphony.trackers.local.normalize import to_issue
from symphony.trackers.local.records import NewIssue

LOCAL_WORKFLOW = """---
tracker:
  kind: local
{provider}
---
Work on {{{{ issue.identifier }}}}
"""


@pytest.fixture
def settings(tmp_path: Path) -> BoardSettings:
    return BoardSettings(db_path=tmp_path / "board" / "board.sqlite")


@pytest.fixture
def store(settings: BoardSettings) -> Iterator[BoardStore]:
    board = BoardStore(settings)
    yield board
    board.close()


@pytest.fixture
def adapter(settings: BoardSettings) -> Iterator[LocalAdapter]:
    local = LocalAdapter(settings)
    yield local
    local.store.close()


@pytest.fixture
def add(store: BoardStore) -> Callable[..., str]:
    """Create an issue and return its identifier."""

    def create(title: str = "An issue", **fields: object) -> str:
        return store.create(NewIssue(title=title, **fields), actor="test").identifier  # type: ignore[arg-type]

    return create


@pytest.fixture
def context_for(store: BoardStore) -> Callable[[str], ToolContext]:
    def build(ref: str) -> ToolContext:
        return ToolContext(issue=to_issue(store.get(ref), store.settings))

    return build


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def local_workflow(tmp_path: Path) -> Callable[..., Path]:
    def write(provider: str = "", name: str = "WORKFLOW.md", tracker: str = "") -> Path:
        block = "".join(f"  {line}\n" for line in tracker.strip().splitlines())
        if provider.strip():
            block += "  provider:\n" + "".join(
                f"    {line}\n" for line in provider.strip().splitlines()
            )
        path = tmp_path / name
        path.write_text(LOCAL_WORKFLOW.format(provider=block.rstrip("\n")), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli(tmp_path: Path, local_workflow: Callable[..., Path]) -> Callable[..., CliResult]:
    """Run ``symphony board`` against a workflow in tmp_path (written on first use)."""
    workflow = tmp_path / "WORKFLOW.md"

    def run(*argv: str, workflow_arg: bool = True) -> CliResult:
        if not workflow.exists():
            local_workflow()
        out, err = io.StringIO(), io.StringIO()
        args = [*argv, "--workflow", str(workflow)] if workflow_arg else list(argv)
        code = board_main(args, stdout=out, stderr=err)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run
