"""The backends the adapter contract suite runs against: one ``TrackerHarness`` per tracker.

Each harness reuses its adapter's own test fixtures (tests/trackers/<kind>/conftest.py, the root
conftest's in-memory tracker) and only adds the seeding the contract needs. To put a new adapter
under the contract, write a harness here and add it to ``HARNESSES``.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from symphony.issue import BlockerRef, Issue, normalize_labels, normalize_state
from symphony.trackers import get_profile
from symphony.trackers.base import TrackerAdapter
from symphony.trackers.github import queries as github_queries
from symphony.trackers.linear import queries
from symphony.trackers.local import BoardStore, LocalAdapter
from symphony.trackers.local import store as local_store_module
from symphony.trackers.local.records import NewIssue
from symphony.workflow.config import TrackerConfig
from tests.support.fake_github import FakeGitHub
from tests.support.fake_github_data import IssueRecord
from tests.support.fake_linear import FakeLinear
from tests.support.memory_tracker import MemoryProfile
from tests.trackers.contract.harness import IssueSpec, Seeded, TrackerHarness
from tests.trackers.github.conftest import MakeAdapter as MakeGitHubAdapter
from tests.trackers.linear.conftest import MakeAdapter


def _create(kind: str, provider: dict[str, Any], workflow_dir: Path) -> TrackerAdapter:
    """Build an adapter the way the service does: the registry's profile for ``kind``."""
    profile = get_profile(kind)
    assert profile is not None, f"no tracker profile registered for kind {kind!r}"
    config = TrackerConfig(kind=kind, provider=provider)
    return profile.create(config, workflow_dir=workflow_dir, environ={})


class LocalHarness(TrackerHarness):
    """The SQLite board (tests/trackers/local/conftest.py ``store``)."""

    kind = "local"

    def __init__(self, store: BoardStore, monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
        self.store = store
        self.monkeypatch = monkeypatch
        self.workdir = workdir
        self.requests = 0
        self.adapters: list[LocalAdapter] = []

    @classmethod
    def setup(cls, request: pytest.FixtureRequest) -> LocalHarness:
        return cls(
            request.getfixturevalue("store"),
            request.getfixturevalue("monkeypatch"),
            request.getfixturevalue("tmp_path"),
        )

    def seed(self, spec: IssueSpec) -> Seeded:
        new = NewIssue(
            title=spec.title,
            state=spec.state,
            priority=spec.priority,
            labels=spec.labels,
            description=spec.description,
            blocked_by=tuple(b.identifier for b in spec.blocked_by),
        )
        record = self.store.create(new, actor="contract")
        return Seeded(record.id, record.identifier, spec)

    def move(self, issue: Seeded, state: str) -> None:
        self.store.move(issue.identifier, state, actor="contract")

    def delete(self, issue: Seeded) -> None:
        self.store.delete(issue.identifier)

    def add_comment(self, issue: Seeded, body: str) -> None:
        self.store.comment(issue.identifier, body, author="reviewer")

    def comment_bodies(self, issue: Seeded) -> list[str]:
        return [c.body for c in self.store.detail(issue.identifier).comments]

    def adapter(self) -> TrackerAdapter:
        adapter = _create("local", {"path": str(self.store.settings.db_path)}, self.workdir)
        assert isinstance(adapter, LocalAdapter)
        run = adapter.store.db.run

        def counted(fn: Any, *, write: bool) -> Any:
            self.requests += 1
            return run(fn, write=write)

        self.monkeypatch.setattr(adapter.store.db, "run", counted)
        self.adapters.append(adapter)
        return adapter

    def provider_requests(self) -> int:
        return self.requests

    def issues_spanning_pages(self) -> int:
        self.monkeypatch.setattr(local_store_module, "_CHUNK", 3)
        return 8

    def close(self) -> None:
        for adapter in self.adapters:
            adapter.store.close()


class LinearHarness(TrackerHarness):
    """The fake Linear server (tests/trackers/linear/conftest.py ``linear``, ``make_adapter``).

    Every request is validated against Linear's published schema; the ``linear`` fixture fails
    the test if the adapter sent one real Linear would reject.
    """

    kind = "linear"
    # Linear's `in` filter is case-sensitive; docs/trackers/linear.md documents the choice.
    state_names_ignore_case = False

    def __init__(self, linear: FakeLinear, make_adapter: MakeAdapter) -> None:
        self.linear = linear
        self.make_adapter = make_adapter
        self.reviewer = linear.add_user("Rita Reviewer")

    @classmethod
    def setup(cls, request: pytest.FixtureRequest) -> LinearHarness:
        return cls(request.getfixturevalue("linear"), request.getfixturevalue("make_adapter"))

    def seed(self, spec: IssueSpec) -> Seeded:
        record = self.linear.add_issue(
            spec.title,
            state=spec.state,
            priority=spec.priority or 0,  # Linear's "no priority" is 0
            labels=spec.labels,
            description=spec.description,
        )
        for blocker in spec.blocked_by:
            self.linear.add_blocker(record, blocker.id)
        return Seeded(record.id, record.identifier, spec)

    def move(self, issue: Seeded, state: str) -> None:
        self.linear.move(issue.id, state)

    def delete(self, issue: Seeded) -> None:
        self.linear.remove_issue(issue.id)

    def add_comment(self, issue: Seeded, body: str) -> None:
        self.linear.add_comment(issue.id, body, user=self.reviewer)

    def comment_bodies(self, issue: Seeded) -> list[str]:
        return [c.body for c in self.linear.comments_on(issue.id)]

    def adapter(self) -> TrackerAdapter:
        # make_adapter builds through the kind's profile and closes what it built.
        assert get_profile("linear") is not None
        return self.make_adapter()

    def provider_requests(self) -> int:
        return len(self.linear.requests)

    def issues_spanning_pages(self) -> int:
        return queries.PAGE_SIZE * 2 + 7


class GitHubBoardHarness(TrackerHarness):
    """The fake GitHub (tests/trackers/github/conftest.py), states on a Projects (v2) board.

    Every request is validated against GitHub's published schema; the ``github`` fixture fails
    the test if the adapter sent one real GitHub would refuse.
    """

    kind = "github"
    # GitHub's public schema has no "blocked by" relation (docs/trackers/github.md).
    supports_blockers = False
    priorities = ("Urgent", "High", "Medium", "Low")

    def __init__(
        self,
        github: FakeGitHub,
        make_adapter: MakeGitHubAdapter,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.github = github
        self.make_adapter = make_adapter
        self.monkeypatch = monkeypatch
        self.records: dict[str, IssueRecord] = {}
        self.board = github.add_project(
            github.repo.owner,
            1,
            statuses=(self.active_state, *self.other_states, self.terminal_state),
            priority=self.priorities,
        )

    @classmethod
    def name(cls) -> str:
        return "github-board"

    @classmethod
    def setup(cls, request: pytest.FixtureRequest) -> TrackerHarness:
        return cls(
            request.getfixturevalue("github"),
            request.getfixturevalue("make_github_adapter"),
            request.getfixturevalue("monkeypatch"),
        )

    def seed(self, spec: IssueSpec) -> Seeded:
        record = self.github.add_issue(spec.title, body=spec.description or "", labels=spec.labels)
        priority = self.priorities[spec.priority - 1] if spec.priority else None
        self.github.add_item(self.board, record, status=spec.state, priority=priority)
        self.records[record.id] = record
        return Seeded(record.id, f"app#{record.number}", spec)

    def move(self, issue: Seeded, state: str) -> None:
        self.github.set_status(self.board, self.records[issue.id], state)

    def delete(self, issue: Seeded) -> None:
        self.github.remove_issue(self.records[issue.id])

    def add_comment(self, issue: Seeded, body: str) -> None:
        self.github.add_comment(self.records[issue.id], body)

    def comment_bodies(self, issue: Seeded) -> list[str]:
        return [c.body for c in self.github.comments_on(self.records[issue.id])]

    def adapter(self) -> TrackerAdapter:
        assert get_profile("github") is not None
        return self.make_adapter(board=True, priority_field="Priority")

    def provider_requests(self) -> int:
        return len(self.github.requests)

    def issues_spanning_pages(self) -> int:
        self.monkeypatch.setattr(github_queries, "PAGE_SIZE", 3)
        return 8


class GitHubLabelsHarness(GitHubBoardHarness):
    """The fake GitHub, states from ``status: X`` labels (no board configured)."""

    supports_priority = False

    def __init__(
        self,
        github: FakeGitHub,
        make_adapter: MakeGitHubAdapter,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        super().__init__(github, make_adapter, monkeypatch)
        for state in (self.active_state, *self.other_states, self.terminal_state):
            if state != "Backlog":
                github.add_label(f"status: {state}")

    @classmethod
    def name(cls) -> str:
        return "github-labels"

    def seed(self, spec: IssueSpec) -> Seeded:
        labels = (*spec.labels, *self._state_labels(spec.state))
        record = self.github.add_issue(spec.title, body=spec.description or "", labels=labels)
        self.records[record.id] = record
        return Seeded(record.id, f"app#{record.number}", spec)

    def move(self, issue: Seeded, state: str) -> None:
        record = self.records[issue.id]
        kept = [n for n in self.github.label_names(record) if not n.startswith("status: ")]
        self.github.set_labels(record, [*kept, *self._state_labels(state)])

    def adapter(self) -> TrackerAdapter:
        return self.make_adapter()

    @staticmethod
    def _state_labels(state: str) -> list[str]:
        return [] if state == "Backlog" else [f"status: {state}"]


class MemoryHarness(TrackerHarness):
    """The in-memory tracker other layers' tests use (tests/support/memory_tracker.py).

    Its board stores ``Issue`` snapshots verbatim, so this harness plays the provider: it
    normalizes labels and timestamps and works out ``dispatchable`` from blockers itself. What
    the contract checks here is that the double behaves like a real adapter for its callers.
    """

    kind = "memory"

    def __init__(self, profile: MemoryProfile) -> None:
        self.profile = profile
        self.numbers = itertools.count(1)
        self.clock = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    @classmethod
    def setup(cls, request: pytest.FixtureRequest) -> MemoryHarness:
        return cls(request.getfixturevalue("memory_tracker"))

    def _now(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def _snapshot(self, issue: Issue) -> Issue:
        """``issue`` with its blockers' current states and the dispatch gate they imply."""
        board = self.profile.board.issues
        blockers = tuple(
            replace(b, state=board[b.id].state if b.id in board else None) for b in issue.blocked_by
        )
        terminal = {normalize_state(s) for s in self.profile.default_terminal_states or ()}
        gated = issue.normalized_state == normalize_state(self.active_state)
        open_blocker = any(
            b.state is None or normalize_state(b.state) not in terminal for b in blockers
        )
        return replace(issue, blocked_by=blockers, dispatchable=not (gated and open_blocker))

    def seed(self, spec: IssueSpec) -> Seeded:
        number = next(self.numbers)
        now = self._now()
        issue = Issue(
            id=f"memory-{number}",
            identifier=f"MEM-{number}",
            title=spec.title,
            state=spec.state,
            dispatchable=True,
            description=spec.description,
            priority=spec.priority,
            labels=normalize_labels(spec.labels),
            blocked_by=tuple(BlockerRef(b.id, b.identifier) for b in spec.blocked_by),
            created_at=now,
            updated_at=now,
        )
        self.profile.board.put(self._snapshot(issue))
        return Seeded(issue.id, issue.identifier, spec)

    def move(self, issue: Seeded, state: str) -> None:
        board = self.profile.board
        board.put(replace(board.issues[issue.id], state=state, updated_at=self._now()))
        for other in list(board.issues.values()):
            board.put(self._snapshot(other))

    def delete(self, issue: Seeded) -> None:
        del self.profile.board.issues[issue.id]

    def add_comment(self, issue: Seeded, body: str) -> None:
        self.profile.board.comments.append((issue.identifier, body))

    def comment_bodies(self, issue: Seeded) -> list[str]:
        return [body for on, body in self.profile.board.comments if on == issue.identifier]

    def adapter(self) -> TrackerAdapter:
        return _create("memory", {}, Path())

    def provider_requests(self) -> int:
        return len(self.profile.board.calls)

    def issues_spanning_pages(self) -> int:
        return 5  # no pages: any handful will do


class TwoStateMemoryHarness(MemoryHarness):
    """The memory tracker posing as a provider with the fewest features the contract allows:
    two states (like GitHub's open/closed), no priorities, no blockers. Keeps the suite honest
    about what it demands of such a provider."""

    active_state = "open"
    terminal_state = "closed"
    other_states = ()
    supports_priority = False
    supports_blockers = False

    @classmethod
    def name(cls) -> str:
        return "memory-two-state"

    @classmethod
    def setup(cls, request: pytest.FixtureRequest) -> MemoryHarness:
        harness = super().setup(request)
        harness.profile.board.states = (cls.active_state, cls.terminal_state)
        return harness


HARNESSES: list[type[TrackerHarness]] = [
    LocalHarness,
    LinearHarness,
    GitHubBoardHarness,
    GitHubLabelsHarness,
    MemoryHarness,
    TwoStateMemoryHarness,
]
