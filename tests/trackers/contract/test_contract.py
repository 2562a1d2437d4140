"""The tracker adapter contract (SPEC §11, symphony.trackers.base) run against every backend.

Each test gets a ``harness`` (harness.py) for one tracker and uses only its interface, so the same
assertions hold for the local board, Linear (via the schema-checking fake) and the in-memory test
tracker. Behaviour that is one adapter's own (request shapes, paging variables, error mapping)
stays in that adapter's tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

import pytest

from symphony.agents.codex.tools import dynamic_tool, tool_call_result
from symphony.issue import BlockerRef, Issue
from symphony.tools import ToolContext, ToolResult
from symphony.trackers import get_profile
from symphony.trackers.base import (
    MAX_PROMPT_COMMENTS,
    TRACKER_ISSUE_NOT_FOUND,
    TRACKER_UNKNOWN_STATE,
    ConversationReads,
    IssueConversation,
    IssueSummaries,
    IssueWrites,
    TrackerAdapter,
    TrackerError,
    UnknownState,
    has_marker,
    own_comment_marker,
    with_marker,
)
from tests.trackers.contract.harness import IssueSpec, Seeded, TrackerHarness

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def seed(
    harness: TrackerHarness,
    title: str,
    state: str | None = None,
    *,
    priority: int | None = None,
    labels: tuple[str, ...] = (),
    blocked_by: tuple[Seeded, ...] = (),
    description: str | None = None,
) -> Seeded:
    """Create an issue (in the harness's active state unless told otherwise)."""
    spec = IssueSpec(
        title=title,
        state=state or harness.active_state,
        priority=priority,
        labels=labels,
        blocked_by=blocked_by,
        description=description,
    )
    return harness.seed(spec)


def ids(issues: list[Issue]) -> list[str]:
    return [issue.id for issue in issues]


def aware(value: datetime | None) -> bool:
    return value is not None and value.utcoffset() is not None


async def test_profile_is_registered_and_creates_the_adapter(harness: TrackerHarness) -> None:
    profile = get_profile(harness.kind)
    assert profile is not None and profile.kind == harness.kind
    for defaults in (profile.default_active_states, profile.default_terminal_states):
        assert defaults is None or (
            isinstance(defaults, tuple) and all(isinstance(s, str) and s for s in defaults)
        )
    adapter = harness.adapter()
    assert isinstance(adapter, TrackerAdapter)
    assert adapter.kind == harness.kind


async def test_empty_requests_return_nothing_without_a_provider_request(
    harness: TrackerHarness,
) -> None:
    seed(harness, "Present")
    adapter = harness.adapter()
    before = harness.provider_requests()
    assert await adapter.fetch_issues_by_states([]) == []
    assert await adapter.fetch_issues_by_ids([]) == []
    assert harness.provider_requests() == before
    # The counter does see real reads, so the check above is not vacuous.
    assert len(await adapter.fetch_issues_by_states([harness.active_state])) == 1
    assert harness.provider_requests() > before


async def test_state_reads_return_only_the_requested_states(harness: TrackerHarness) -> None:
    states = (harness.active_state, *harness.other_states, harness.terminal_state)
    seeded = {state: seed(harness, f"In {state}", state) for state in states}
    adapter = harness.adapter()
    for state in states:
        issues = await adapter.fetch_issues_by_states([state])
        assert ids(issues) == [seeded[state].id], state
        assert issues[0].state == state
    both = await adapter.fetch_issues_by_states(
        [harness.active_state, harness.terminal_state, harness.active_state]
    )
    assert sorted(ids(both)) == sorted(
        [seeded[harness.active_state].id, seeded[harness.terminal_state].id]
    )
    finished = await adapter.fetch_issues_by_states([harness.terminal_state, "No Such State"])
    assert ids(finished) == [seeded[harness.terminal_state].id]
    assert await adapter.fetch_issues_by_states(["No Such State"]) == []


async def test_state_names_compare_case_insensitively(harness: TrackerHarness) -> None:
    if not harness.state_names_ignore_case:
        pytest.skip(f"{harness.name()} matches state names as the provider spells them")
    active = harness.active_state
    other = (*harness.other_states, harness.terminal_state)[0]
    states = (active, *harness.other_states, harness.terminal_state)
    seeded = {state: seed(harness, f"In {state}", state).id for state in states}
    adapter = harness.adapter()
    issues = await adapter.fetch_issues_by_states([f" {active.lower()}", other.upper(), active])
    assert sorted(ids(issues)) == sorted([seeded[active], seeded[other]])
    assert {i.state for i in issues} == {active, other}  # the provider's spelling is kept


async def test_issues_are_normalized(harness: TrackerHarness) -> None:
    full = seed(
        harness,
        "Normalize me",
        priority=2 if harness.supports_priority else None,
        labels=("Bug", "Frontend", " BUG", "frontend"),
        description="Body",
    )
    bare = seed(harness, "Bare")
    issues = {
        i.id: i for i in await harness.adapter().fetch_issues_by_states([harness.active_state])
    }
    assert set(issues) == {full.id, bare.id}
    issue = issues[full.id]
    assert issue.identifier == full.identifier and issue.identifier
    assert issue.id and issue.identifier != issues[bare.id].identifier
    assert (issue.title, issue.state, issue.description) == (
        "Normalize me",
        harness.active_state,
        "Body",
    )
    if harness.supports_priority:
        assert issue.priority == 2 and type(issue.priority) is int
    assert issues[bare.id].priority is None
    assert issue.labels == ("bug", "frontend")
    assert issues[bare.id].labels == ()
    assert issue.blocked_by == ()
    assert issue.dispatchable is True  # nothing blocks it and no routing is configured
    assert aware(issue.created_at) and aware(issue.updated_at)
    assert issue.created_at is not None and issue.updated_at is not None
    assert issue.updated_at >= issue.created_at
    assert issue.url is None or (isinstance(issue.url, str) and issue.url)
    for optional in (issue.branch_name, issue.assignee_id):
        assert optional is None or isinstance(optional, str)
    assert issue.native_ref is None or isinstance(issue.native_ref, Mapping)
    as_dict = json.loads(json.dumps(issue.to_dict()))
    assert as_dict["labels"] == ["bug", "frontend"]
    assert str(as_dict["created_at"]).endswith("Z")


async def test_blockers_are_reported_and_gate_new_work(harness: TrackerHarness) -> None:
    if not harness.supports_blockers:
        pytest.skip(f"{harness.name()} has no blocker relations")
    open_state = harness.other_states[0] if harness.other_states else harness.active_state
    open_blocker = seed(harness, "Open blocker", open_state)
    done_blocker = seed(harness, "Done blocker", harness.terminal_state)
    blocked = seed(harness, "Blocked", blocked_by=(open_blocker,))
    clear = seed(harness, "Blocked only by finished work", blocked_by=(done_blocker,))
    adapter = harness.adapter()
    issues = {i.id: i for i in await adapter.fetch_issues_by_states([harness.active_state])}
    # Candidate reads include undispatchable issues: the scheduler makes the final call.
    assert set(issues) == {blocked.id, clear.id}
    assert issues[blocked.id].blocked_by == (
        BlockerRef(open_blocker.id, open_blocker.identifier, open_state),
    )
    assert issues[blocked.id].dispatchable is False
    assert [b.state for b in issues[clear.id].blocked_by] == [harness.terminal_state]
    assert issues[clear.id].dispatchable is True

    harness.move(open_blocker, harness.terminal_state)
    [now] = await adapter.fetch_issues_by_ids([blocked.id])
    assert now.dispatchable is True
    assert [b.state for b in now.blocked_by] == [harness.terminal_state]


async def test_summaries_where_offered_are_the_full_read_less_three_fields(
    harness: TrackerHarness,
) -> None:
    adapter = harness.adapter()
    if not isinstance(adapter, IssueSummaries):
        pytest.skip(f"{harness.name()} offers no summaries")
    done = seed(harness, "Done blocker", harness.terminal_state)
    seed(
        harness,
        "Everything",
        priority=2 if harness.supports_priority else None,
        labels=("Bug", "UI"),
        blocked_by=(done,) if harness.supports_blockers else (),
        description="Body",
    )
    seed(harness, "Bare")
    before = harness.provider_requests()
    assert await adapter.fetch_issue_summaries_by_states([]) == []
    assert harness.provider_requests() == before
    states = [harness.active_state, harness.terminal_state]
    full = {i.id: i for i in await adapter.fetch_issues_by_states(states)}
    summaries = await adapter.fetch_issue_summaries_by_states(states)
    assert sorted(ids(summaries)) == sorted(full)
    for summary in summaries:
        whole = full[summary.id]
        # Only what no scheduling decision reads may be missing.
        assert summary == replace(
            whole,
            description=summary.description,
            branch_name=summary.branch_name,
            updated_at=summary.updated_at,
        )
        assert summary.description in (None, whole.description)
        assert not whole.summary
        if summary.summary:
            continue  # the worker reads it again, whole
        # Returned whole (a page the adapter read whole): the worker uses it as is.
        assert summary == whole


async def test_id_refresh_returns_current_snapshots(harness: TrackerHarness) -> None:
    issue = seed(harness, "Will move")
    adapter = harness.adapter()
    [before] = await adapter.fetch_issues_by_ids([issue.id])
    moved_to = (*harness.other_states, harness.terminal_state)[0]
    harness.move(issue, moved_to)
    [after] = await adapter.fetch_issues_by_ids([issue.id])
    assert (before.state, after.state) == (harness.active_state, moved_to)
    assert before.identifier == after.identifier
    assert after.updated_at is not None and before.updated_at is not None
    assert after.updated_at >= before.updated_at


async def test_id_refresh_omits_unknown_and_vanished_ids(harness: TrackerHarness) -> None:
    kept, gone = seed(harness, "Kept"), seed(harness, "Gone")
    adapter = harness.adapter()
    harness.delete(gone)
    issues = await adapter.fetch_issues_by_ids([gone.id, "no-such-id", kept.id, kept.id])
    assert ids(issues) == [kept.id]  # no duplicates either
    assert await adapter.fetch_issues_by_ids(["no-such-id"]) == []


async def test_reads_of_many_issues_cross_pages(harness: TrackerHarness) -> None:
    count = harness.issues_spanning_pages()
    created = [seed(harness, f"Issue {n}").id for n in range(count)]
    adapter = harness.adapter()
    by_state = await adapter.fetch_issues_by_states([harness.active_state])
    assert sorted(ids(by_state)) == sorted(created)
    by_id = await adapter.fetch_issues_by_ids(list(reversed(created)))
    assert sorted(ids(by_id)) == sorted(created)


async def test_secrets_are_sets_of_strings(harness: TrackerHarness) -> None:
    adapter = harness.adapter()
    names, values = adapter.secret_environment_names(), adapter.secret_values()
    assert isinstance(names, frozenset) and isinstance(values, frozenset)
    assert all(isinstance(name, str) and ENV_NAME.match(name) for name in names)
    # Logs redact every value wherever it appears: an empty one would redact everything.
    assert all(isinstance(value, str) and value for value in values)


async def test_agent_tool_specs_are_well_formed(harness: TrackerHarness) -> None:
    adapter = harness.adapter()
    specs = adapter.agent_tool_specs()
    names = [spec.name for spec in specs]
    assert len(set(names)) == len(names), names
    assert [s.name for s in adapter.agent_tool_specs()] == names  # stable for a session
    for spec in specs:
        assert TOOL_NAME.match(spec.name), spec.name
        assert isinstance(spec.description, str) and spec.description.strip()
        schema = json.loads(json.dumps(spec.input_schema))
        assert schema["type"] == "object", spec.name
        properties = schema.get("properties", {})
        assert isinstance(properties, dict)
        assert all(isinstance(p, dict) for p in properties.values()), spec.name
        required = schema.get("required", [])
        assert isinstance(required, list) and set(required) <= set(properties), spec.name
        assert isinstance(schema.get("additionalProperties", True), bool | dict)
        # Serialisable through a backend wire format (Codex dynamic tools).
        described = json.loads(json.dumps(dynamic_tool(spec)))
        assert (described["name"], described["inputSchema"]) == (spec.name, schema)


async def test_unknown_tool_is_a_failed_result_not_an_exception(harness: TrackerHarness) -> None:
    seed(harness, "Current issue")
    adapter = harness.adapter()
    [current] = await adapter.fetch_issues_by_states([harness.active_state])
    before = harness.provider_requests()
    result = await adapter.execute_agent_tool(
        "symphony_contract_no_such_tool", {"query": "x"}, ToolContext(issue=current)
    )
    assert isinstance(result, ToolResult) and result.success is False
    error = result.output["error"]
    assert "Unsupported dynamic tool" in error["message"]
    assert error["supportedTools"] == [s.name for s in adapter.agent_tool_specs()]
    json.dumps(tool_call_result(result))
    assert harness.provider_requests() == before


async def test_aclose_is_idempotent(harness: TrackerHarness) -> None:
    seed(harness, "Read once")
    used, unused = harness.adapter(), harness.adapter()
    assert len(await used.fetch_issues_by_states([harness.active_state])) == 1
    for adapter in (used, unused):
        await adapter.aclose()
        await adapter.aclose()


# -- the review loop's writes (IssueWrites) and the prompt's comments (IssueConversation) -----


def writer(harness: TrackerHarness) -> IssueWrites:
    adapter = harness.adapter()
    if not isinstance(adapter, IssueWrites):
        pytest.skip(f"{harness.name()} offers no writes")
    return adapter


async def test_move_issue_moves_and_names_the_state_as_the_tracker_spells_it(
    harness: TrackerHarness,
) -> None:
    adapter = writer(harness)
    issue = seed(harness, "Ready for review")
    target = harness.other_states[-1] if harness.other_states else harness.terminal_state
    assert await adapter.move_issue(issue.id, issue.identifier, f"  {target.upper()} ") == target
    [moved] = await adapter.fetch_issues_by_ids([issue.id])
    assert moved.state == target
    # Already there: nothing to do, and no error.
    assert await adapter.move_issue(issue.id, issue.identifier, target) == target
    [still] = await adapter.fetch_issues_by_ids([issue.id])
    assert still.state == target


async def test_move_to_an_unknown_state_names_it_and_the_states_there_are(
    harness: TrackerHarness,
) -> None:
    adapter = writer(harness)
    issue = seed(harness, "Stays put")
    with pytest.raises(UnknownState) as info:
        await adapter.move_issue(issue.id, issue.identifier, "Limbo")
    error = info.value
    assert error.code == TRACKER_UNKNOWN_STATE
    assert error.state == "Limbo"
    assert {harness.active_state, harness.terminal_state} <= set(error.available)
    assert issue.identifier in error.message and "'Limbo'" in error.message
    assert harness.terminal_state in error.message
    [same] = await adapter.fetch_issues_by_ids([issue.id])
    assert same.state == harness.active_state


async def test_writes_to_an_unknown_issue_say_it_is_not_found(harness: TrackerHarness) -> None:
    adapter = writer(harness)
    seed(harness, "Someone else")
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(TrackerError) as moved:
        await adapter.move_issue(missing, "SYM-404", harness.terminal_state)
    with pytest.raises(TrackerError) as commented:
        await adapter.upsert_own_comment(missing, "SYM-404", "proof", "body")
    for error in (moved.value, commented.value):
        assert error.code == TRACKER_ISSUE_NOT_FOUND
        assert "SYM-404" in error.message


async def test_own_comment_is_created_once_then_updated_in_place(harness: TrackerHarness) -> None:
    adapter = writer(harness)
    issue = seed(harness, "Handed off twice")
    harness.add_comment(issue, "Looks close; please check the empty case.")
    assert await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "## Proof 1")
    assert not await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "## Proof 2")
    # Another kind of own comment is a comment of its own.
    assert await adapter.upsert_own_comment(issue.id, issue.identifier, "notes", "Notes")
    bodies = harness.comment_bodies(issue)
    assert bodies == [
        "Looks close; please check the empty case.",
        "<!-- symphony:proof -->\n## Proof 2",
        "<!-- symphony:notes -->\nNotes",
    ]
    assert all(has_marker("proof", b) == (i == 1) for i, b in enumerate(bodies))


async def test_a_marker_quoted_below_the_first_line_is_not_an_own_comment(
    harness: TrackerHarness,
) -> None:
    adapter = writer(harness)
    issue = seed(harness, "Quoted marker")
    quoted = f"Someone pasted this:\n{own_comment_marker('proof')}\nold proof"
    harness.add_comment(issue, quoted)
    assert await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "Fresh")
    assert harness.comment_bodies(issue) == [quoted, with_marker("proof", "Fresh")]


async def test_post_comment_adds_a_comment_each_time(harness: TrackerHarness) -> None:
    adapter = writer(harness)
    issue = seed(harness, "Two notes")
    await adapter.post_comment(issue.id, issue.identifier, "one")
    await adapter.post_comment(issue.id, issue.identifier, "one")
    assert harness.comment_bodies(issue) == ["one", "one"]


@pytest.mark.parametrize("key", ["", "Proof", "a b", "x-->", "k" * 65])
def test_own_comment_keys_that_make_no_marker_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="own comment key"):
        own_comment_marker(key)


async def test_issue_comments_come_oldest_first_at_most_fifty(harness: TrackerHarness) -> None:
    adapter = harness.adapter()
    if not isinstance(adapter, IssueConversation):
        pytest.skip(f"{harness.name()} offers no comments for the prompt")
    quiet, busy = seed(harness, "No comments"), seed(harness, "A long thread")
    assert await adapter.fetch_issue_comments(quiet.id, quiet.identifier) == []
    for n in range(MAX_PROMPT_COMMENTS + 2):
        harness.add_comment(busy, f"comment {n}")
    comments = await adapter.fetch_issue_comments(busy.id, busy.identifier)
    assert len(comments) == MAX_PROMPT_COMMENTS
    numbers = [int(c.body.split()[1]) for c in comments]
    assert numbers == sorted(numbers)
    assert all(c.author and aware(c.created_at) for c in comments)
    times = [c.created_at for c in comments if c.created_at is not None]
    assert times == sorted(times)
    # The read by id stays cheap: comments are the prompt's, not every refresh's.
    [whole] = await adapter.fetch_issues_by_ids([busy.id])
    assert whole.comments == ()


async def test_issues_read_with_comments_are_the_issues_by_id_and_their_comments(
    harness: TrackerHarness,
) -> None:
    adapter = harness.adapter()
    if not isinstance(adapter, ConversationReads) or not isinstance(adapter, IssueConversation):
        pytest.skip(f"{harness.name()} reads no issues with their comments")
    quiet, busy = seed(harness, "No comments"), seed(harness, "A long thread")
    for n in range(MAX_PROMPT_COMMENTS + 2):
        harness.add_comment(busy, f"comment {n}")
    ids = [busy.id, "no-such-issue", quiet.id, busy.id]
    together = await adapter.fetch_issues_with_comments(ids)
    assert together == await adapter.fetch_issues_by_ids(ids)
    assert [i.id for i in together] == [busy.id, quiet.id]
    for issue in together:
        assert list(issue.comments) == await adapter.fetch_issue_comments(
            issue.id, issue.identifier
        )
    assert len(together[0].comments) == MAX_PROMPT_COMMENTS and together[1].comments == ()
