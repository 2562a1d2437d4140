"""A best-of candidate's diff in the API, read from its real git workspace when asked:
``/api/v1/<identifier>/candidates/<name>/diff`` and the Review view's highlighted
``/api/v1/review/<identifier>/candidates/<name>/diff`` (docs/best-of.md)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import httpx

from symphony.orchestrator.candidate_diffs import read_candidate_diff
from tests.observability.board_support import candidate_workspaces
from tests.observability.conftest import RunningServer
from tests.observability.test_http_api import envelope

WORK = {
    "a": {"src/retry.py": "def retry(call):\n    return call()\n"},
    "b": {"src/race.py": "import threading\nLOCK = threading.Lock()\n", "notes.md": "Fixed.\n"},
}


def two_candidates(server: RunningServer, tmp_path: Path) -> Path:
    root = tmp_path / "workspaces"
    server.view.workspace_root = root
    server.view.candidate_sets["SYM-1"] = candidate_workspaces(root, "SYM-1", WORK)
    return root


async def test_each_candidate_diff_is_read_from_its_own_workspace(
    server: RunningServer, tmp_path: Path
) -> None:
    two_candidates(server, tmp_path)
    async with httpx.AsyncClient(base_url=server.url) as client:
        a = await client.get("/api/v1/SYM-1/candidates/a/diff")
        b = await client.get("/api/v1/SYM-1/candidates/b/diff")
    assert a.status_code == 200 and b.status_code == 200
    assert a.headers["content-type"] == "text/x-diff; charset=utf-8"
    assert a.headers["cache-control"] == "no-store"
    # a committed its file, b left its files untracked: both are measured from the base.
    assert "+++ b/src/retry.py" in a.text and "race.py" not in a.text
    assert "+++ b/src/race.py" in b.text and "+++ b/notes.md" in b.text
    assert "retry.py" not in b.text and "README" not in a.text + b.text


async def test_the_review_view_gets_each_candidate_diff_split_and_highlighted(
    server: RunningServer, tmp_path: Path
) -> None:
    two_candidates(server, tmp_path)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/api/v1/review/SYM-1/candidates/b/diff")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["issue_identifier"], body["candidate"], body["note"]) == ("SYM-1", "b", None)
    assert body["truncated"] is False
    assert len(body["base"]) == 40 and body["head"] == body["base"]
    files = {f["path"]: f for f in body["files"]}
    assert set(files) == {"src/race.py", "notes.md"}
    race = files["src/race.py"]
    assert (race["status"], race["added"], race["removed"]) == ("added", 2, 0)
    assert ["kn", "import"] in race["lines"][1]["tokens"]


async def test_an_unknown_candidate_or_issue_is_404_naming_it(
    server: RunningServer, tmp_path: Path
) -> None:
    two_candidates(server, tmp_path)
    async with httpx.AsyncClient(base_url=server.url) as client:
        for route in ("/api/v1/SYM-1/candidates/z/diff", "/api/v1/review/SYM-1/candidates/z/diff"):
            body = envelope(await client.get(route), 404, "no_such_candidate")
            assert body["error"]["message"] == "SYM-1 has no candidate 'z' (it has a, b)"
        body = envelope(
            await client.get("/api/v1/SYM-9/candidates/a/diff"), 404, "no_such_candidate"
        )
        assert body["error"]["message"] == "SYM-9 has no best-of candidates"
        envelope(await client.get("/api/v1/state/candidates/a/diff"), 404, "not_found")


async def test_a_removed_workspace_is_404_and_never_created_again(
    server: RunningServer, tmp_path: Path
) -> None:
    root = two_candidates(server, tmp_path)
    shutil.rmtree(root / "SYM-1.a")
    found = server.view.candidate_sets["SYM-1"]
    server.view.candidate_sets["SYM-1"] = found.pick("b")
    async with httpx.AsyncClient(base_url=server.url) as client:
        a = envelope(await client.get("/api/v1/SYM-1/candidates/a/diff"), 404, "no_workspace")
        review = await client.get("/api/v1/review/SYM-1/candidates/a/diff")
        b = await client.get("/api/v1/SYM-1/candidates/b/diff")
    assert a["error"]["message"] == (
        f"the workspace of candidate a of SYM-1 ({root / 'SYM-1.a'}) is gone: another "
        "candidate was chosen and this one was removed"
    )
    envelope(review, 404, "no_workspace")
    assert not (root / "SYM-1.a").exists()
    assert b.status_code == 200 and "race.py" in b.text


async def test_a_workspace_without_git_has_an_empty_diff_and_says_why(
    server: RunningServer, tmp_path: Path
) -> None:
    root = two_candidates(server, tmp_path)
    shutil.rmtree(root / "SYM-1.b" / ".git")
    async with httpx.AsyncClient(base_url=server.url) as client:
        plain = await client.get("/api/v1/SYM-1/candidates/b/diff")
        body = (await client.get("/api/v1/review/SYM-1/candidates/b/diff")).json()
    assert plain.status_code == 200 and plain.text == ""
    assert body["files"] == [] and body["note"] == (
        "No diff: the workspace is not a git repository."
    )


async def test_a_long_diff_is_cut_and_says_so(server: RunningServer, tmp_path: Path) -> None:
    root = tmp_path / "workspaces"
    server.view.workspace_root = root
    long = "".join(f"line {n}\n" for n in range(2_500))
    server.view.candidate_sets["SYM-1"] = candidate_workspaces(
        root, "SYM-1", {"a": {"big.txt": long}}
    )
    async with httpx.AsyncClient(base_url=server.url) as client:
        body = (await client.get("/api/v1/review/SYM-1/candidates/a/diff")).json()
    assert body["truncated"] is True
    (big,) = body["files"]
    assert big["truncated"] is True and big["added"] == 2_500 and len(big["lines"]) == 2_000

    # Past the proof's size limit the diff itself is cut, with a marker line.
    cut = await read_candidate_diff(
        server.view.candidate_sets["SYM-1"], "SYM-1", "a", root=root, max_diff_bytes=1_000
    )
    assert cut.status == "ok" and cut.truncated
    assert cut.diff.endswith("\n[diff truncated at 1000 bytes]\n")


async def test_a_candidate_that_never_started_has_no_workspace(
    server: RunningServer, tmp_path: Path
) -> None:
    root = two_candidates(server, tmp_path)
    found = server.view.candidate_sets["SYM-1"]
    server.view.candidate_sets["SYM-1"] = replace(
        found,
        candidates=(
            *found.candidates,
            replace(found.candidates[0], name="c", index=2, workspace_path=None, status="failed"),
        ),
    )
    async with httpx.AsyncClient(base_url=server.url) as client:
        body = envelope(await client.get("/api/v1/SYM-1/candidates/c/diff"), 404, "no_workspace")
    assert str(root / "SYM-1.c") in body["error"]["message"]
