"""JSON API over real HTTP on 127.0.0.1 (SPEC §13.7.2, §17.6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from symphony.view import LogFile, TimelineEvent
from symphony.view_json import running_row_json
from tests.observability.conftest import RunningServer
from tests.observability.fakes import detail_for, retry_row, running_row, snapshot, state_json


def envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


async def test_state_returns_the_runtime_snapshot_plus_summaries(server: RunningServer) -> None:
    row = running_row("MT-1", last_event="notification", last_message="ran: make test (exit 0)")
    server.view.state = snapshot(running=[row], retrying=[retry_row("MT-2")], totals=(5, 6, 11))
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/api/v1/state")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    expected = state_json(server.view.state)
    # Every field of the runtime passes through unchanged; we only add ``summary``.
    assert {k: v for k, v in body.items() if k != "running"} == {
        k: v for k, v in expected.items() if k != "running"
    }
    assert body["running"][0] == {**running_row_json(row), "summary": "ran: make test (exit 0)"}
    assert body["counts"] == {"running": 1, "retrying": 1, "blocked": 0, "held": 0}
    assert body["codex_totals"]["total_tokens"] == 11


async def test_snapshot_failure_is_503_and_the_server_keeps_serving(
    server: RunningServer,
) -> None:
    server.view.snapshot_error = RuntimeError("orchestrator busy")
    async with httpx.AsyncClient(base_url=server.url) as client:
        envelope(await client.get("/api/v1/state"), 503, "snapshot_unavailable")
        server.view.snapshot_error = None
        assert (await client.get("/api/v1/state")).status_code == 200


async def test_a_bug_of_ours_is_a_500_envelope_and_the_server_keeps_serving(
    server: RunningServer,
) -> None:
    server.view.state = ["not", "a", "snapshot"]  # type: ignore[assignment]
    async with httpx.AsyncClient(base_url=server.url) as client:
        body = envelope(await client.get("/api/v1/state"), 500, "internal_error")
        assert "Traceback" not in body["error"]["message"]
        server.view.state = snapshot()
        assert (await client.get("/api/v1/state")).status_code == 200


async def test_issue_detail_and_humanized_recent_events(server: RunningServer) -> None:
    row = running_row("MT-649")
    events = [
        TimelineEvent(
            at=datetime(2026, 2, 24, 20, 14, 59, tzinfo=UTC),
            event="notification",
            message="$ pytest -q → exit 0",
        )
    ]
    server.view.details["MT-649"] = detail_for(row, events=events)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/api/v1/MT-649")
    assert response.status_code == 200
    body = response.json()
    assert body["issue_identifier"] == "MT-649"
    assert body["status"] == "running"
    assert body["workspace"] == {"path": "/tmp/symphony_workspaces/MT-649"}
    assert body["recent_events"][0]["summary"] == "$ pytest -q → exit 0"
    assert body["recent_events"][0]["message"] == events[0].message


async def test_unknown_issue_is_404_issue_not_found(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        body = envelope(await client.get("/api/v1/NOPE-1"), 404, "issue_not_found")
    assert "NOPE-1" in body["error"]["message"]


async def test_issue_detail_failure_is_503(server: RunningServer) -> None:
    server.view.detail_error = RuntimeError("boom")
    async with httpx.AsyncClient(base_url=server.url) as client:
        envelope(await client.get("/api/v1/MT-1"), 503, "snapshot_unavailable")


@pytest.mark.parametrize("body", [None, b"{}", b"a=1"])
async def test_refresh_is_202_and_coalesced(server: RunningServer, body: bytes | None) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        first = await client.post("/api/v1/refresh", content=body)
        second = await client.post("/api/v1/refresh", content=body)
    assert first.status_code == 202
    assert first.json() == {
        "queued": True,
        "coalesced": False,
        "requested_at": "2026-02-24T20:15:30.000Z",
        "operations": ["poll", "reconcile"],
    }
    assert second.status_code == 202 and second.json()["coalesced"] is True
    assert server.view.refreshes == 2


async def test_refresh_failure_is_503(server: RunningServer) -> None:
    server.view.refresh_error = RuntimeError("stopped")
    async with httpx.AsyncClient(base_url=server.url) as client:
        envelope(await client.post("/api/v1/refresh"), 503, "orchestrator_unavailable")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/v1/refresh", "POST"),
        ("POST", "/api/v1/state", "GET"),
        ("DELETE", "/api/v1/state", "GET"),
        ("POST", "/api/v1/MT-1", "GET"),
        ("PUT", "/", "GET"),
        ("POST", "/api/v1/events", "GET"),
    ],
)
async def test_wrong_method_is_405(
    server: RunningServer, method: str, path: str, allow: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.request(method, path)
    envelope(response, 405, "method_not_allowed")
    assert allow in response.headers["allow"]


@pytest.mark.parametrize(
    "path", ["/nope", "/api/v2/state", "/api/v1/MT-1/extra", "/assets/missing.js", "/api"]
)
async def test_unknown_route_is_404_not_found(server: RunningServer, path: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        envelope(await client.get(path), 404, "not_found")


async def test_dashboard_and_assets_are_served_with_a_strict_policy(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = await client.get("/")
        script = await client.get("/assets/dashboard.js")
        style = await client.get("/assets/dashboard.css")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/assets/dashboard.js">' in page.text
    assert "<main" in page.text and "<header" in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "EventSource" in script.text
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    async with httpx.AsyncClient(base_url=server.url) as client:
        for module in ("model.js", "dom.js", "detail.js"):
            response = await client.get(f"/assets/{module}")
            assert response.status_code == 200
            assert "javascript" in response.headers["content-type"]  # required for ES modules
            assert f'from "./{module}"' in script.text


async def test_log_files_listed_for_an_issue_can_be_read(
    server: RunningServer, tmp_path: Path
) -> None:
    log_file = tmp_path / "latest.log"
    log_file.write_text("2026-02-24T20:15:30.000Z recv   {}\n", encoding="utf-8")
    detail = replace(
        detail_for(running_row("MT-7")),
        logs=(
            LogFile(label="latest", path=str(log_file)),
            LogFile(label="gone", path=str(tmp_path / "missing.log")),
        ),
    )
    server.view.details["MT-7"] = detail
    async with httpx.AsyncClient(base_url=server.url) as client:
        listed = (await client.get("/api/v1/MT-7")).json()["logs"]["codex_session_logs"]
        assert [e["url"] for e in listed] == ["/api/v1/MT-7/logs/0", "/api/v1/MT-7/logs/1"]
        content = await client.get(listed[0]["url"])
        assert content.status_code == 200
        assert content.text == log_file.read_text(encoding="utf-8")
        envelope(await client.get(listed[1]["url"]), 404, "log_not_found")
        envelope(await client.get("/api/v1/MT-7/logs/9"), 404, "log_not_found")
        envelope(await client.get("/api/v1/NOPE/logs/0"), 404, "issue_not_found")
