"""The local board routes over real HTTP on 127.0.0.1, on a real SQLite board."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from symphony.trackers.base import TRACKER_REQUEST, TrackerError
from symphony.trackers.local.store import BoardStore
from tests.observability.board_support import add, local_view
from tests.observability.conftest import RunningServer, start_server
from tests.observability.test_http_api import envelope

TOKEN = "s3cret-token"


@pytest.fixture
async def board(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, BoardStore]]:
    view, store = local_view(tmp_path)
    async with start_server(view) as running:
        yield running, store


async def call(server: RunningServer, method: str, path: str, body: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as client:
        if body is None:
            return await client.request(method, path)
        return await client.request(method, path, json=body)


async def test_the_board_lists_states_in_order_and_cards(
    board: tuple[RunningServer, BoardStore],
) -> None:
    server, store = board
    first = add(store, "Blocker", "In Progress")
    second = add(store, "Blocked", labels=("Docs",), priority=1, blocked_by=(first,))
    add(store, "Finished", "Done")
    response = await call(server, "GET", "/api/v1/board")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["states"] == list(store.settings.states)
    assert body["default_state"] == "Todo"
    assert body["terminal_states"] == ["Done", "Cancelled"]
    assert body["counts"]["Todo"] == 1 and body["counts"]["Done"] == 1
    assert body["counts"]["Backlog"] == 0
    cards = {card["identifier"]: card for card in body["issues"]}
    assert set(cards) == {first, second, "SYM-3"}
    blocked = cards[second]
    assert blocked["blocked"] is True
    assert blocked["blocked_by"] == [{"identifier": first, "state": "In Progress"}]
    assert (blocked["title"], blocked["priority"], blocked["labels"]) == ("Blocked", 1, ["docs"])
    assert set(blocked) == {
        "id", "identifier", "title", "description", "priority", "state", "labels",
        "blocked_by", "blocked", "url", "created_at", "updated_at",
    }  # fmt: skip
    assert cards[first]["blocked"] is False


async def test_a_blocker_that_is_done_does_not_block(
    board: tuple[RunningServer, BoardStore],
) -> None:
    server, store = board
    done = add(store, "Old", "Done")
    add(store, "New", blocked_by=(done,))
    body = (await call(server, "GET", "/api/v1/board")).json()
    card = next(c for c in body["issues"] if c["title"] == "New")
    assert card["blocked"] is False and card["blocked_by"] == []


async def test_create_is_201_in_the_default_state_and_refreshes(
    board: tuple[RunningServer, BoardStore],
) -> None:
    server, store = board
    body = {"title": "  Write   docs ", "description": "All of them", "priority": 2,
            "labels": ["Docs", " release "]}  # fmt: skip
    response = await call(server, "POST", "/api/v1/board/issues", body)
    assert response.status_code == 201, response.text
    issue = response.json()["issue"]
    assert (issue["identifier"], issue["state"], issue["title"]) == ("SYM-1", "Todo", "Write docs")
    assert issue["labels"] == ["docs", "release"] and issue["priority"] == 2
    record = store.get("SYM-1")
    assert record.description == "All of them" and record.created_by == "dashboard"
    assert server.view.refreshes == 1
    # A state may be given, and labels as one comma-separated string.
    other = await call(
        server, "POST", "/api/v1/board/issues", {"title": "x", "state": "backlog", "labels": "a,b"}
    )
    assert other.status_code == 201
    assert other.json()["issue"]["state"] == "Backlog"
    assert other.json()["issue"]["labels"] == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"title": "  "}, '"title" must be non-empty text'),
        ({}, '"title" must be non-empty text'),
        ([], "must be a JSON object"),
        ({"title": "x", "priority": 9}, "priority must be 1 (urgent)"),
        ({"title": "x", "priority": "high"}, '"priority" must be'),
        ({"title": "x", "labels": [1]}, '"labels" must be a list of strings'),
        ({"title": "x", "state": "Nowhere"}, "valid states: Backlog, Todo"),
        ({"title": "x", "assignee": "me"}, "unknown key(s) assignee"),
    ],
)
async def test_bad_new_issues_are_400_and_create_nothing(
    board: tuple[RunningServer, BoardStore], body: Any, words: str
) -> None:
    server, store = board
    reply = envelope(await call(server, "POST", "/api/v1/board/issues", body), 400, "invalid_issue")
    assert words in reply["error"]["message"]
    assert store.list_issues(include_terminal=True) == []
    assert server.view.refreshes == 0


async def test_a_body_that_is_not_json_is_400(board: tuple[RunningServer, BoardStore]) -> None:
    server, _store = board
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/api/v1/board/issues", content=b"title=x")
    envelope(response, 400, "invalid_issue")


async def test_move_names_the_states_when_the_state_is_unknown(
    board: tuple[RunningServer, BoardStore],
) -> None:
    server, store = board
    identifier = add(store, "Card")
    moved = await call(
        server, "POST", f"/api/v1/board/issues/{identifier}/move", {"state": "in progress"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["issue"]["state"] == "In Progress"
    assert moved.json()["previous_state"] == "Todo"
    assert store.get(identifier).state == "In Progress"
    assert server.view.refreshes == 1
    path = f"/api/v1/board/issues/{identifier}/move"
    unknown = envelope(await call(server, "POST", path, {"state": "Shipped"}), 400, "invalid_move")
    assert "'Shipped'" in unknown["error"]["message"]
    assert ", ".join(store.settings.states) in unknown["error"]["message"]
    envelope(await call(server, "POST", path, {"state": ""}), 400, "invalid_move")
    envelope(await call(server, "POST", path, {"to": "Done"}), 400, "invalid_move")
    assert store.get(identifier).state == "In Progress" and server.view.refreshes == 1


async def test_comments_are_201_and_need_text(board: tuple[RunningServer, BoardStore]) -> None:
    server, store = board
    identifier = add(store, "Card")
    path = f"/api/v1/board/issues/{identifier.lower()}/comments"
    response = await call(server, "POST", path, {"body": "  Use the new API.  "})
    assert response.status_code == 201, response.text
    reply = response.json()
    assert reply["issue_identifier"] == identifier
    assert reply["comment"]["body"] == "Use the new API."
    assert reply["comment"]["author"] == "dashboard"
    assert [c.body for c in store.detail(identifier).comments] == ["Use the new API."]
    for body in ({"body": " "}, {"text": "x"}, {"body": 3}):
        envelope(await call(server, "POST", path, body), 400, "invalid_comment")
    assert len(store.detail(identifier).comments) == 1


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/api/v1/board/issues/SYM-404/move", {"state": "Done"}, "invalid_move"),
        ("/api/v1/board/issues/SYM-404/comments", {"body": "hi"}, "invalid_comment"),
    ],
)
async def test_an_unknown_issue_is_404(
    board: tuple[RunningServer, BoardStore], path: str, body: Any, code: str
) -> None:
    server, _store = board
    reply = envelope(await call(server, "POST", path, body), 404, "issue_not_found")
    assert "SYM-404" in reply["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/board", None),
        ("POST", "/api/v1/board/issues", {"title": "x"}),
        ("POST", "/api/v1/board/issues/MT-1/move", {"state": "Done"}),
        ("POST", "/api/v1/board/issues/MT-1/comments", {"body": "x"}),
    ],
)
async def test_another_tracker_is_501(
    server: RunningServer, method: str, path: str, body: Any
) -> None:
    reply = envelope(await call(server, method, path, body), 501, "board_not_supported")
    assert "tracker.kind: local" in reply["error"]["message"]
    assert "memory" in reply["error"]["message"]


async def test_board_failures_are_502(
    board: tuple[RunningServer, BoardStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, store = board

    def busy(**_: Any) -> None:
        raise TrackerError(TRACKER_REQUEST, "the board database is locked")

    monkeypatch.setattr(store, "list_issues", busy)
    reply = envelope(await call(server, "GET", "/api/v1/board"), 502, "tracker_error")
    assert "locked" in reply["error"]["message"]


async def test_board_names_are_not_issue_identifiers(server: RunningServer) -> None:
    for name in ("board", "review"):
        response = await call(server, "POST", f"/api/v1/{name}")
        envelope(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"]


async def test_board_writes_follow_the_access_rules(tmp_path: Path) -> None:
    view, store = local_view(tmp_path)
    async with start_server(view, access_token=TOKEN) as guarded:
        host = guarded.url.removeprefix("http://").rstrip("/")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        body = {"title": "x"}
        async with httpx.AsyncClient(base_url=guarded.url) as client:
            anonymous = await client.post("/api/v1/board/issues", json=body)
            foreign = await client.post(
                "/api/v1/board/issues", json=body, headers={**auth, "Origin": "http://evil.example"}
            )
            allowed = await client.post(
                "/api/v1/board/issues", json=body, headers={**auth, "Origin": f"http://{host}"}
            )
    envelope(anonymous, 401, "unauthorized")
    envelope(foreign, 403, "cross_origin")
    assert allowed.status_code == 201, allowed.text
    assert [r.title for r in store.list_issues(include_terminal=True)] == ["x"]
