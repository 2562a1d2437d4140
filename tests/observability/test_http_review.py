"""Review decisions over real HTTP on 127.0.0.1 (docs/review.md), through the real decision
logic to a memory board."""

from __future__ import annotations

import httpx
import pytest

from symphony.issue import Issue
from symphony.trackers.base import TRACKER_REQUEST, TrackerError
from symphony.workflow.config import ReviewConfig
from tests.observability.conftest import RunningServer, start_server
from tests.observability.fakes import FakeView, detail_for, running_row
from tests.observability.test_http_api import envelope

TOKEN = "s3cret-token"


def waiting(view: FakeView, identifier: str = "MT-1", state: str = "Human Review") -> Issue:
    return view.board.put(
        Issue(
            id=f"id-{identifier}", identifier=identifier, title="t", state=state, dispatchable=True
        )
    )


async def post(server: RunningServer, body: object, identifier: str = "MT-1") -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await client.post(f"/api/v1/{identifier}/review", json=body)


async def test_rework_posts_the_comment_then_moves_the_issue(server: RunningServer) -> None:
    waiting(server.view)
    response = await post(server, {"decision": "rework", "comment": " Use tabs. "})
    assert response.status_code == 202, response.text
    assert response.json() == {
        "issue_identifier": "MT-1",
        "decision": "rework",
        "state": "Rework",
        "comment_posted": True,
    }
    assert server.view.board.comments == [("MT-1", "Use tabs.")]
    assert server.view.board.issues["id-MT-1"].state == "Rework"
    assert server.view.refreshes == 1


async def test_the_comment_is_on_the_board_before_the_move(server: RunningServer) -> None:
    waiting(server.view)
    board = server.view.board
    original_move = board.move

    def move(issue_id: str, state: str) -> Issue:
        assert board.comments == [("MT-1", "again")], "moved before the comment was posted"
        return original_move(issue_id, state)

    board.move = move  # type: ignore[method-assign]
    response = await post(server, {"decision": "rework", "comment": "again"})
    assert response.status_code == 202, response.text


async def test_approve_moves_to_the_approve_state_with_an_optional_comment(
    server: RunningServer,
) -> None:
    waiting(server.view, "MT-1")
    waiting(server.view, "MT-2", state="human review")
    plain = await post(server, {"decision": "approve"}, "MT-1")
    commented = await post(server, {"decision": "approve", "comment": "ship it"}, "MT-2")
    assert plain.status_code == 202 and commented.status_code == 202
    assert plain.json()["state"] == "Merging" and plain.json()["comment_posted"] is False
    assert commented.json()["comment_posted"] is True
    assert server.view.board.comments == [("MT-2", "ship it")]
    assert {i.state for i in server.view.board.issues.values()} == {"Merging"}


async def test_configured_states_are_used(server: RunningServer) -> None:
    server.view.review_config = ReviewConfig.model_validate(
        {"states": ["In Progress"], "approve_state": "done", "rework_state": "todo"}
    )
    waiting(server.view, state="In Progress")
    response = await post(server, {"decision": "approve"})
    assert response.json()["state"] == "Done"  # as the tracker spells it


async def test_rework_without_a_comment_is_400_and_changes_nothing(
    server: RunningServer,
) -> None:
    waiting(server.view)
    for body in ({"decision": "rework"}, {"decision": "rework", "comment": "  "}):
        envelope(await post(server, body), 400, "comment_required")
    assert server.view.board.issues["id-MT-1"].state == "Human Review"
    assert server.view.board.comments == [] and server.view.refreshes == 0


@pytest.mark.parametrize(
    "content",
    [b"nope", b"[]", b"{}", b'{"decision": "merge"}', b'{"decision": "approve", "comment": 3}'],
)
async def test_a_bad_body_is_400(server: RunningServer, content: bytes) -> None:
    waiting(server.view)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/api/v1/MT-1/review", content=content)
    envelope(response, 400, "invalid_review")
    assert server.view.reviews == []


async def test_an_unknown_issue_is_404(server: RunningServer) -> None:
    waiting(server.view, "MT-1")
    envelope(await post(server, {"decision": "approve"}, "MT-9"), 404, "issue_not_found")


async def test_an_issue_the_runtime_knows_is_read_by_id(server: RunningServer) -> None:
    server.view.details["MT-1"] = detail_for(running_row("MT-1"))
    waiting(server.view, state="In Progress")
    body = envelope(await post(server, {"decision": "approve"}), 409, "not_in_review")
    assert "'In Progress'" in body["error"]["message"]
    assert ("ids", ("id-MT-1",)) in server.view.board.calls
    # Gone from the tracker since the last poll.
    del server.view.board.issues["id-MT-1"]
    envelope(await post(server, {"decision": "approve"}), 404, "issue_not_found")


async def test_the_state_is_read_now_not_from_the_last_poll(server: RunningServer) -> None:
    server.view.details["MT-1"] = detail_for(running_row("MT-1", state="Human Review"))
    waiting(server.view, state="Done")
    body = envelope(
        await post(server, {"decision": "rework", "comment": "x"}), 409, "not_in_review"
    )
    assert "'Done'" in body["error"]["message"]
    assert server.view.board.comments == []


async def test_a_tracker_without_writes_is_501(server: RunningServer) -> None:
    class ReadOnly:
        kind = "readonly"

    server.view.tracker = ReadOnly()  # type: ignore[assignment]
    body = envelope(await post(server, {"decision": "approve"}), 501, "review_not_supported")
    assert "readonly" in body["error"]["message"]


async def test_tracker_failures_are_502_with_the_message(server: RunningServer) -> None:
    waiting(server.view)
    server.view.board.fail_next = [TrackerError(TRACKER_REQUEST, "board is down")]
    body = envelope(await post(server, {"decision": "approve"}), 502, "tracker_error")
    assert "board is down" in body["error"]["message"]


async def test_a_failed_move_after_the_comment_says_the_comment_was_posted(
    server: RunningServer,
) -> None:
    waiting(server.view)
    server.view.board.states = ("Human Review", "Merging")  # no Rework on this board
    body = envelope(
        await post(server, {"decision": "rework", "comment": "fix"}), 502, "tracker_error"
    )
    message = body["error"]["message"]
    assert "review.rework_state" in message and "comment was posted" in message
    assert server.view.board.comments == [("MT-1", "fix")]
    assert server.view.refreshes == 0


async def test_review_follows_the_access_rules() -> None:
    async with start_server(FakeView(), access_token=TOKEN) as guarded:
        waiting(guarded.view)
        host = guarded.url.removeprefix("http://").rstrip("/")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        body = {"decision": "approve"}
        async with httpx.AsyncClient(base_url=guarded.url) as client:
            anonymous = await client.post("/api/v1/MT-1/review", json=body)
            foreign = await client.post(
                "/api/v1/MT-1/review", json=body, headers={**auth, "Origin": "http://evil.example"}
            )
            allowed = await client.post(
                "/api/v1/MT-1/review", json=body, headers={**auth, "Origin": f"http://{host}"}
            )
    envelope(anonymous, 401, "unauthorized")
    envelope(foreign, 403, "cross_origin")
    assert allowed.status_code == 202, allowed.text
    assert guarded.view.reviews == [("MT-1", guarded.view.reviews[0][1])]


def test_a_candidate_goes_with_an_approve_and_is_a_name() -> None:
    from symphony.review import InvalidReview, parse_review

    assert parse_review({"decision": "approve", "candidate": " B "}).candidate == "b"
    assert parse_review({"decision": "approve"}).candidate is None
    with pytest.raises(InvalidReview, match="approve"):
        parse_review({"decision": "rework", "comment": "x", "candidate": "a"})
    with pytest.raises(InvalidReview, match="candidate name"):
        parse_review({"decision": "approve", "candidate": "b1"})
