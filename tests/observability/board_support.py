"""A ``FakeView`` on a real local board (SQLite in a temporary directory) and sample proofs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from symphony.core.candidates import CandidateSet, candidate_key
from symphony.trackers.local.adapter import LocalAdapter
from symphony.trackers.local.records import NewIssue
from symphony.trackers.local.settings import BoardSettings
from symphony.trackers.local.store import BoardStore
from symphony.workspace.base import write_base
from symphony.workspace.keys import workspace_key
from tests.observability.fakes import FakeView
from tests.support.git import git as _git

DIFF = """\
diff --git a/src/greet.py b/src/greet.py
index 1111111..2222222 100644
--- a/src/greet.py
+++ b/src/greet.py
@@ -1,3 +1,4 @@
 def greet(name):
-    return "hi " + name
+    \"\"\"Say hello.\"\"\"
+    return f"hello {name}"
 # the end
diff --git a/notes/<b>.md b/notes/<b>.md
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/notes/<b>.md
@@ -0,0 +1 @@
+<script>alert("not markup")</script>
"""


def proof(*, passed: bool | None = True, message: str = "Greets with hello now.") -> dict[str, Any]:
    """A proof in the shape ``RuntimeView.proof`` returns (docs/review.md)."""
    verify = (
        None
        if passed is None
        else {
            "exit_code": 0 if passed else 1,
            "passed": passed,
            "duration_ms": 2300,
            "output_tail": "3 passed" if passed else "FAILED tests/test_greet.py::test_hello",
        }
    )
    return {
        "base": "a" * 40,
        "head": "b" * 40,
        "commits": [{"sha": "b" * 40, "subject": "Greet with hello"}],
        "files": [
            {"path": "src/greet.py", "added": 2, "removed": 1, "uncommitted": False},
            {"path": "notes/<b>.md", "added": 1, "removed": 0, "uncommitted": True},
        ],
        "final_message": message,
        "commands": [{"command": "pytest -q", "exit_code": 0, "duration_ms": 1800}],
        "verify": verify,
        "tokens": {"input_tokens": 12_000, "output_tokens": 800, "total_tokens": 12_800},
        "cost_usd": 0.42,
        "duration_ms": 95_000,
        "turns": 3,
        "attempts": 1,
        "created_at": "2026-02-24T20:15:30Z",
    }


def local_view(tmp_path: Path) -> tuple[FakeView, BoardStore]:
    """A fake runtime whose tracker is the local board (default states, prefix SYM)."""
    view = FakeView()
    adapter = LocalAdapter(BoardSettings(db_path=tmp_path / "board.sqlite"))
    view.tracker = adapter
    view.state = replace(view.state, tracker=replace(view.state.tracker, kind="local"))
    return view, adapter.store


def add(store: BoardStore, title: str, state: str = "Todo", **fields: Any) -> str:
    return store.create(NewIssue(title=title, state=state, **fields), actor="test").identifier


def candidate_workspaces(
    root: Path, identifier: str, work: dict[str, dict[str, str]]
) -> CandidateSet:
    """A judged best-of set of ``identifier`` whose candidates (``work``'s keys, in order) each
    have a real git workspace under ``root`` with a recorded base (a commit of ``README.md``)
    and then the files of ``work[name]`` written: committed for ``a``, left uncommitted (and
    untracked) for the others."""
    found = CandidateSet.start(f"id-{identifier}", identifier, len(work))
    for name, files in work.items():
        key = workspace_key(candidate_key(identifier, name))
        path = root / key
        path.mkdir(parents=True)
        _git(path, "init", "-q", "-b", "main")
        (path / "README.md").write_text("# app\n")
        _git(path, "add", "README.md")
        _git(path, "commit", "-q", "-m", "base")
        write_base(root, key, _git(path, "rev-parse", "HEAD"))
        for relative, text in files.items():
            (path / relative).parent.mkdir(parents=True, exist_ok=True)
            (path / relative).write_text(text)
        if name == "a":
            _git(path, "add", "-A")
            _git(path, "commit", "-q", "-m", f"candidate {name}")
        found = found.with_candidate(
            name,
            status="handed_off",
            workspace_path=str(path),
            files=tuple(files),
            summary=f"Candidate {name} did it.",
        )
    return replace(found, judged=True, judge_note="no judge (agent.judge is off)")
