"""Human requests and steering over real HTTP on 127.0.0.1 (docs/human-requests.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from symphony.human import HumanAnswer, HumanRequest, Question, SteerDelivery
from symphony.issue import Issue
from tests.observability.conftest import RunningServer, start_server
from tests.observability.fakes import FakeView, detail_for, running_row
from tests.observability.test_http_api import envelope
from tests.support.waiting import wait_until

ISSUE = Issue(id="id-MT-1", identifier="MT-1", title="t", state="Todo", dispatchable=True)
COMMAND = HumanRequest(
    kind="command_approval",
    summary="run touch a.txt",
    command="touch a.txt",
    cwd="/ws/MT-1",
    reason="needs to write",
)
QUESTION = HumanRequest(
    kind="question",
    summary="Which color?",
    questions=(Question(id="color", question="Which color?", options=("Red", "Blue")),),
)
TOKEN = "s3cret-token"


async def park(view: FakeView, request: HumanRequest = COMMAND) -> tuple[asyncio.Task[Any], str]:
    channel = view.desk.open_run(ISSUE, 7, 1)
    task = asyncio.create_task(channel.ask(request))
    pending = await wait_until(lambda: view.desk.pending(identifier="MT-1"))
    return task, pending[-1].id


async def test_pending_requests_are_listed_and_in_the_issue_detail(server: RunningServer) -> None:
    server.view.details["MT-1"] = detail_for(running_row("MT-1"))
    task, request_id = await park(server.view)
    async with httpx.AsyncClient(base_url=server.url) as client:
        listed = (await client.get("/api/v1/requests")).json()["requests"]
        detail = (await client.get("/api/v1/MT-1")).json()
    task.cancel()
    (row,) = listed
    assert detail["pending_requests"] == listed
    assert {k: row[k] for k in ("id", "kind", "summary", "command", "cwd", "reason")} == {
        "id": request_id,
        "kind": "command_approval",
        "summary": "run touch a.txt",
        "command": "touch a.txt",
        "cwd": "/ws/MT-1",
        "reason": "needs to write",
    }
    assert row["questions"] == [] and row["status"] == "pending"
    assert row["created_at"].endswith("Z")


async def test_an_approval_is_answered_with_202_then_409(server: RunningServer) -> None:
    task, request_id = await park(server.view)
    path = f"/api/v1/MT-1/requests/{request_id}"
    async with httpx.AsyncClient(base_url=server.url) as client:
        first = await client.post(path, json={"decision": "approve_for_session"})
        again = await client.post(path, json={"decision": "deny"})
    assert first.status_code == 202, first.text
    assert first.json()["request"]["status"] == "answered"
    assert first.json()["request"]["decision"] == "approve_for_session"
    assert await task == HumanAnswer(decision="approve_for_session")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "request_already_answered"
    assert again.json()["status"] == "answered"


async def test_a_question_is_answered_by_question_id(server: RunningServer) -> None:
    task, request_id = await park(server.view, QUESTION)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            f"/api/v1/MT-1/requests/{request_id}", json={"answers": {"color": "Blue"}}
        )
    assert response.status_code == 202
    assert await task == HumanAnswer(answers={"color": "Blue"})


async def test_a_secret_answer_is_never_shown(server: RunningServer) -> None:
    secret = HumanRequest(
        kind="question",
        summary="Token?",
        questions=(Question(id="token", question="Token?", secret=True),),
    )
    task, request_id = await park(server.view, secret)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            f"/api/v1/MT-1/requests/{request_id}", json={"answers": {"token": "hunter2"}}
        )
    assert response.status_code == 202
    assert response.json()["request"]["answers"] == {"token": "(secret)"}
    assert "hunter2" not in response.text
    assert await task == HumanAnswer(answers={"token": "hunter2"})


async def test_unknown_requests_are_404(server: RunningServer) -> None:
    task, request_id = await park(server.view)
    async with httpx.AsyncClient(base_url=server.url) as client:
        unknown = await client.post("/api/v1/MT-1/requests/nope", json={"decision": "deny"})
        wrong_issue = await client.post(
            f"/api/v1/MT-2/requests/{request_id}", json={"decision": "deny"}
        )
    task.cancel()
    envelope(unknown, 404, "request_not_found")
    envelope(wrong_issue, 404, "request_not_found")


@pytest.mark.parametrize(
    "content", [b"not json", b'{"decision": "maybe"}', b'{"answers": {"x": "y"}}', b"[]"]
)
async def test_bad_answers_are_400_and_leave_the_request_pending(
    server: RunningServer, content: bytes
) -> None:
    task, request_id = await park(server.view)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(f"/api/v1/MT-1/requests/{request_id}", content=content)
    envelope(response, 400, "invalid_answer")
    assert server.view.desk.get(request_id).status == "pending"  # type: ignore[union-attr]
    task.cancel()


class Session:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def steer(self, message: str) -> SteerDelivery:
        self.messages.append(message)
        return "running_turn"


async def test_steer_is_202_for_a_running_agent_else_409(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        idle = await client.post("/api/v1/MT-1/steer", json={"message": "hello"})
        server.view.desk.open_run(ISSUE, 7, 1)
        session = Session()
        server.view.desk.attach_session("id-MT-1", 7, session)  # type: ignore[arg-type]
        steered = await client.post("/api/v1/MT-1/steer", json={"message": " use tabs "})
    envelope(idle, 409, "not_running")
    assert steered.status_code == 202, steered.text
    assert steered.json()["delivery"] == "running_turn"
    assert session.messages == ["use tabs"]


@pytest.mark.parametrize(
    "content", [b"nope", b"{}", b'{"message": ""}', b'{"message": 3}', b'"text"']
)
async def test_a_bad_steer_body_is_400(server: RunningServer, content: bytes) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/api/v1/MT-1/steer", content=content)
    envelope(response, 400, "invalid_steer")


async def test_answers_and_steers_follow_the_access_rules() -> None:
    async with start_server(FakeView(), access_token=TOKEN) as guarded:
        task, request_id = await park(guarded.view)
        path = f"/api/v1/MT-1/requests/{request_id}"
        host = guarded.url.removeprefix("http://").rstrip("/")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=guarded.url) as client:
            anonymous = await client.post(path, json={"decision": "deny"})
            steer = await client.post("/api/v1/MT-1/steer", json={"message": "x"})
            listed = await client.get("/api/v1/requests")
            foreign = await client.post(
                path, json={"decision": "deny"}, headers={**auth, "Origin": "http://evil.example"}
            )
            allowed = await client.post(
                path, json={"decision": "deny"}, headers={**auth, "Origin": f"http://{host}"}
            )
    for denied in (anonymous, steer, listed):
        envelope(denied, 401, "unauthorized")
    envelope(foreign, 403, "cross_origin")
    assert allowed.status_code == 202
    assert await task == HumanAnswer(decision="deny")


async def test_get_on_the_requests_list_is_not_an_issue(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/api/v1/requests")
    assert response.status_code == 405
