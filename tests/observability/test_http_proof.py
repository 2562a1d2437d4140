"""The proof of work in the API: ``proof`` in the issue detail, ``/diff`` (docs/review.md)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.observability.conftest import RunningServer
from tests.observability.fakes import detail_for, running_row
from tests.observability.test_http_api import envelope

PROOF: dict[str, Any] = {
    "base": "a" * 40,
    "head": "b" * 40,
    "commits": [{"sha": "b" * 40, "subject": "Fix it"}],
    "files": [{"path": "app.py", "added": 3, "removed": 1, "uncommitted": False}],
    "final_message": "Done.",
    "commands": [{"command": "pytest -q", "exit_code": 0, "duration_ms": 900}],
    "verify": {"exit_code": 0, "passed": True, "duration_ms": 1200, "output_tail": "ok"},
    "tokens": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
    "cost_usd": None,
    "duration_ms": 60_000,
    "turns": 2,
    "attempts": 1,
    "created_at": "2026-03-01T12:00:00.000Z",
    "issue_id": "id-7",
    "issue_identifier": "MT-7",
}
DIFF = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1,3 @@\n-x\n+y\n+ü\n"


async def test_a_known_issue_carries_its_proof_or_null(server: RunningServer) -> None:
    server.view.details["MT-7"] = detail_for(running_row("MT-7"))
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/api/v1/MT-7")).json()["proof"] is None
        server.view.proofs["MT-7"] = PROOF
        body = (await client.get("/api/v1/MT-7")).json()
    assert body["status"] == "running" and body["proof"] == PROOF


async def test_an_issue_waiting_for_review_is_found_by_its_stored_proof(
    server: RunningServer,
) -> None:
    server.view.proofs["MT-7"] = PROOF
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/api/v1/MT-7")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["issue_identifier"], body["issue_id"], body["status"]) == (
        "MT-7",
        "id-7",
        "handed_off",
    )
    assert body["running"] is None and body["history"] == [] and body["proof"] == PROOF


async def test_the_diff_is_served_as_text(server: RunningServer) -> None:
    server.view.proofs["MT-7"] = PROOF
    server.view.diffs["MT-7"] = DIFF
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/api/v1/MT-7/diff")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/x-diff; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.text == DIFF


async def test_no_proof_is_404_no_proof(server: RunningServer) -> None:
    server.view.details["MT-7"] = detail_for(running_row("MT-7"))
    async with httpx.AsyncClient(base_url=server.url) as client:
        envelope(await client.get("/api/v1/MT-7/diff"), 404, "no_proof")
        envelope(await client.get("/api/v1/NOPE-1/diff"), 404, "no_proof")
        envelope(await client.get("/api/v1/state/diff"), 404, "not_found")


async def test_a_failing_proof_read_is_503(server: RunningServer) -> None:
    async def broken(identifier: str) -> Any:
        raise RuntimeError("disk gone")

    server.view.proof = broken  # type: ignore[method-assign]
    server.view.proof_diff = broken  # type: ignore[method-assign]
    async with httpx.AsyncClient(base_url=server.url) as client:
        envelope(await client.get("/api/v1/MT-7"), 503, "proof_unavailable")
        envelope(await client.get("/api/v1/MT-7/diff"), 503, "proof_unavailable")
