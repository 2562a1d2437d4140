"""What the adapter contract suite needs from each tracker backend: one ``TrackerHarness``.

A harness owns a test instance of one backend (a SQLite file, a fake server, an in-memory board).
It seeds issues the way that backend stores them, changes them behind the adapter's back, builds
adapters through the tracker registry, and counts provider requests. The contract tests
(test_contract.py) are written against this interface only, so a new adapter joins the suite by
adding one harness to ``HARNESSES`` in harnesses.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import pytest

from symphony.trackers.base import TrackerAdapter


@dataclass(frozen=True, slots=True)
class IssueSpec:
    """One issue to create. Labels are given as a user would type them (any case)."""

    title: str
    state: str
    priority: int | None = None  # 1 (urgent) .. 4 (low); None for no priority
    labels: tuple[str, ...] = ()
    blocked_by: tuple[Seeded, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Seeded:
    """A created issue: the ids the adapter should report for it, and how it was made."""

    id: str
    identifier: str
    spec: IssueSpec


class TrackerHarness(ABC):
    """One backend under test. Instances live for one test; pytest builds them via ``setup``."""

    # The tracker.kind under test; its adapter is built through the registry.
    kind: ClassVar[str]
    # States the backend has: where new work waits, where finished work ends, any others (may be
    # empty when the backend only has two states, like GitHub's open/closed).
    active_state: ClassVar[str] = "Todo"
    terminal_state: ClassVar[str] = "Done"
    other_states: ClassVar[tuple[str, ...]] = ("In Progress", "Human Review", "Backlog")
    # Capabilities that not every provider has; tests needing one are skipped (with the reason).
    supports_priority: ClassVar[bool] = True
    supports_blockers: ClassVar[bool] = True
    # False when the provider matches state names exactly (Linear's `in` filter): the adapter then
    # sends names as configured and the scheduler compares them case-insensitively.
    state_names_ignore_case: ClassVar[bool] = True

    @classmethod
    def name(cls) -> str:
        """The test id; the kind unless one kind has several harnesses."""
        return cls.kind

    @classmethod
    @abstractmethod
    def setup(cls, request: pytest.FixtureRequest) -> TrackerHarness:
        """Build the backend from the adapter's own test fixtures (``request.getfixturevalue``)."""

    @abstractmethod
    def seed(self, spec: IssueSpec) -> Seeded:
        """Create an issue directly in the backend (never through the adapter under test)."""

    @abstractmethod
    def move(self, issue: Seeded, state: str) -> None:
        """Change an issue's state behind the adapter's back, as a person on the board would."""

    @abstractmethod
    def delete(self, issue: Seeded) -> None:
        """Make an issue disappear from the adapter's view (deleted, or moved out of scope)."""

    @abstractmethod
    def adapter(self) -> TrackerAdapter:
        """A new adapter for this backend, created by the kind's registered TrackerProfile.

        The harness closes what it builds when the test ends; tests may close it earlier.
        """

    @abstractmethod
    def provider_requests(self) -> int:
        """How many requests adapters built by this harness have sent to the backend so far."""

    @abstractmethod
    def issues_spanning_pages(self) -> int:
        """A number of issues that takes at least three pages (or batches) to read or refresh.

        A harness may shrink the adapter's page size for the test to keep this small.
        """

    def add_comment(self, issue: Seeded, body: str) -> None:
        """A comment by a person, made directly in the backend. Harnesses whose adapter offers
        ``IssueWrites`` or ``IssueConversation`` implement it."""
        pytest.skip(f"{self.name()} cannot seed comments")

    def comment_bodies(self, issue: Seeded) -> list[str]:
        """Every comment's body as the backend stores it, oldest first."""
        pytest.skip(f"{self.name()} cannot list comments")

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release what ``setup`` and ``adapter`` made that fixtures do not release already."""
