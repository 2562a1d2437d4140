"""Symphony's own comments on Linear issues (``IssueComments``), against the fake Linear."""

from __future__ import annotations

import pytest

from symphony.trackers.base import IssueComments, TrackerError
from tests.support.fake_linear import FakeLinear
from tests.trackers.linear.conftest import MakeAdapter


async def test_symphony_comments_on_a_linear_issue(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Waiting for a human")
    adapter = make_adapter()
    assert isinstance(adapter, IssueComments)
    await adapter.post_comment(issue.id, issue.identifier, "The agent waits for you.")
    (comment,) = linear.comments_on(issue)
    assert comment.body == "The agent waits for you."
    with pytest.raises(TrackerError):
        await adapter.post_comment("no-such-issue", "SYM-404", "hello")
