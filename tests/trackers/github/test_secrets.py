"""The token stays in the service: stripped from children (with GITHUB_TOKEN and GH_TOKEN, which
tools such as ``gh`` read), redacted from logs and errors."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from symphony.logs import KeyValueFormatter
from symphony.process import child_environment, spawn_login_shell, terminate_group
from symphony.trackers.base import TrackerError
from tests.support.fake_github import Failure, FakeGitHub
from tests.trackers.github.conftest import MakeAdapter

SECRET = "ghp_childENVsecret0123456789abcdefABCD"


async def test_secret_names_cover_the_usual_variables_and_the_var(
    make_github_adapter: MakeAdapter,
) -> None:
    adapter = make_github_adapter(api_key="$MY_GH", environ={"MY_GH": SECRET})
    names = adapter.secret_environment_names()
    assert names == frozenset({"GITHUB_TOKEN", "GH_TOKEN", "MY_GH"})
    assert adapter.secret_values() == frozenset({SECRET})


async def test_the_token_is_absent_from_the_child_environment(
    make_github_adapter: MakeAdapter, tmp_path: Path
) -> None:
    adapter = make_github_adapter(api_key="$MY_GH", environ={"MY_GH": SECRET})
    home = tmp_path / "home"
    home.mkdir()
    # A login profile that exports the token again must not bring it back.
    (home / ".bash_profile").write_text(
        f"export GITHUB_TOKEN={SECRET}\nexport GH_TOKEN={SECRET}\nexport PROFILE_RAN=1\n"
    )
    names = adapter.secret_environment_names()
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GITHUB_TOKEN": SECRET,
        "GH_TOKEN": SECRET,
        "MY_GH": SECRET,
        "KEEP_ME": "kept",
    }
    process = await spawn_login_shell(
        "env", cwd=tmp_path, env=child_environment(names, base=base), strip=names
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    except TimeoutError:
        await terminate_group(process)
        pytest.fail("env did not finish within 20 s")
    text = stdout.decode()
    assert process.returncode == 0
    assert "PROFILE_RAN=1" in text and "KEEP_ME=kept" in text
    assert SECRET not in text
    for name in ("GITHUB_TOKEN=", "GH_TOKEN=", "MY_GH="):
        assert name not in text


async def test_the_token_is_redacted_from_logs_and_errors(
    github: FakeGitHub, make_github_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    assert github.token
    caplog.set_level(logging.DEBUG, logger="symphony.trackers.github")
    github.inject(Failure.http_status(500, {"message": f"echo {github.token}"}))
    adapter = make_github_adapter()
    with pytest.raises(TrackerError, match="HTTP 500") as info:
        await adapter.fetch_issues_by_states(["Todo"])
    assert github.token not in info.value.message and "[REDACTED]" in info.value.message
    formatter = KeyValueFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("status=500" in line for line in lines)
    assert all(github.token not in line for line in lines)
