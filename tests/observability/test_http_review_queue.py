"""``GET /api/v1/review`` and ``GET /api/v1/review/<identifier>/diff`` over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import pytest

from symphony.issue import Issue
from symphony.orchestrator.board import review_queue
from symphony.trackers.base import TRACKER_REQUEST, TrackerError
from symphony.workflow.config import ReviewConfig
from tests.observability.board_support import DIFF, proof
from tests.observability.conftest import RunningServer
from tests.observability.test_http_api import envelope


def waiting(
    server: RunningServer, identifier: str, state: str = "Human Review", **kw: object
) -> None:
    server.view.board.put(
        Issue(
            id=f"id-{identifier}",
            identifier=identifier,
            title=f"Title of {identifier}",
            state=state,
            dispatchable=True,
            **kw,  # type: ignore[arg-type]
        )
    )


async def get(server: RunningServer, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await client.get(path)


async def test_the_queue_lists_issues_in_review_states_with_their_proof(
    server: RunningServer,
) -> None:
    waiting(server, "MT-2", url="https://tracker.example/MT-2", labels=("ui",),
            updated_at=datetime(2026, 2, 2, tzinfo=UTC))  # fmt: skip
    waiting(server, "MT-1", updated_at=datetime(2026, 2, 1, tzinfo=UTC))
    waiting(server, "MT-3", state="In Progress")
    server.view.proofs["MT-2"] = proof()
    run = {"attempt": None, "outcome": "succeeded", "turns": 2}
    server.view.runs["MT-2"] = [run]
    response = await get(server, "/api/v1/review")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    issues = response.json()["issues"]
    assert [i["issue_identifier"] for i in issues] == ["MT-1", "MT-2"]  # oldest change first
    assert issues[0]["proof"] is None
    assert issues[1] == {
        "issue_id": "id-MT-2",
        "issue_identifier": "MT-2",
        "title": "Title of MT-2",
        "state": "Human Review",
        "url": "https://tracker.example/MT-2",
        "labels": ["ui"],
        "updated_at": "2026-02-02T00:00:00Z",
        "proof": proof(),
        "runs": [run],
        "candidates": [],
    }


async def test_the_queue_follows_the_configured_states(server: RunningServer) -> None:
    server.view.review_config = ReviewConfig.model_validate({"states": ["QA", "Review"]})
    waiting(server, "MT-1", state="qa")
    waiting(server, "MT-2", state="Human Review")
    body = (await get(server, "/api/v1/review")).json()
    assert [i["issue_identifier"] for i in body["issues"]] == ["MT-1"]


async def test_an_empty_queue(server: RunningServer) -> None:
    assert (await get(server, "/api/v1/review")).json() == {"issues": []}


async def test_a_tracker_failure_is_502(server: RunningServer) -> None:
    server.view.board.fail_next = [TrackerError(TRACKER_REQUEST, "board is down")]
    body = envelope(await get(server, "/api/v1/review"), 502, "tracker_error")
    assert "board is down" in body["error"]["message"]


async def test_a_tracker_that_hangs_fails_the_read_at_the_timeout() -> None:
    class Hanging:
        kind = "hanging"

        async def fetch_issues_by_states(self, states: Sequence[str]) -> list[Issue]:
            await asyncio.Event().wait()
            return []

    async def no_proof(identifier: str) -> None:
        return None

    with pytest.raises(TrackerError) as caught:
        await review_queue(Hanging(), ReviewConfig(), no_proof, timeout_s=0.01)  # type: ignore[arg-type]
    assert caught.value.category == "tracker_timeout" and "0.01s" in caught.value.message


async def test_the_diff_is_split_per_file_and_highlighted(server: RunningServer) -> None:
    server.view.diffs["MT-1"] = DIFF
    response = await get(server, "/api/v1/review/MT-1/diff")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["issue_identifier"] == "MT-1" and body["truncated"] is False
    assert [f["path"] for f in body["files"]] == ["src/greet.py", "notes/<b>.md"]
    python, notes = body["files"]
    assert (python["added"], python["removed"], python["language"]) == (2, 1, "Python")
    assert ["k", "def"] in python["lines"][1]["tokens"]
    assert notes["status"] == "added"
    # Data, not markup: the browser inserts each token as text.
    assert notes["lines"][1]["tokens"] == [["", '<script>alert("not markup")</script>']]


async def test_no_proof_is_404(server: RunningServer) -> None:
    body = envelope(await get(server, "/api/v1/review/MT-9/diff"), 404, "no_proof")
    assert "MT-9" in body["error"]["message"]
