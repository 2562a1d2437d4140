"""Tracker secrets stay in the service: stripped from children, redacted from logs (SPEC §15.3)."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from symphony.logs import KeyValueFormatter
from symphony.process import child_environment, spawn_login_shell, terminate_group
from tests.support.fake_linear import Failure, FakeLinear
from tests.trackers.linear.conftest import MakeAdapter

SECRET = "lin_api_childENVsecret0123456789abcdef"


async def test_secret_names_cover_the_default_and_the_var(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(api_key="$MY_LINEAR_KEY", environ={"MY_LINEAR_KEY": SECRET})
    assert adapter.secret_environment_names() == frozenset({"LINEAR_API_KEY", "MY_LINEAR_KEY"})
    assert adapter.secret_values() == frozenset({SECRET})
    fallback = make_adapter(api_key=None, environ={"LINEAR_API_KEY": SECRET})
    assert fallback.secret_environment_names() == frozenset({"LINEAR_API_KEY"})


async def test_secret_is_absent_from_the_child_environment(
    make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    adapter = make_adapter(api_key="$MY_LINEAR_KEY", environ={"MY_LINEAR_KEY": SECRET})
    home = tmp_path / "home"
    home.mkdir()
    # A login profile that exports the secrets again must not bring them back.
    (home / ".bash_profile").write_text(
        f"export LINEAR_API_KEY={SECRET}\nexport MY_LINEAR_KEY={SECRET}\nexport PROFILE_RAN=1\n"
    )
    names = adapter.secret_environment_names()
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LINEAR_API_KEY": SECRET,
        "MY_LINEAR_KEY": SECRET,
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
    assert "PROFILE_RAN=1" in text  # the login profile did run
    assert "KEEP_ME=kept" in text
    assert SECRET not in text
    assert "LINEAR_API_KEY=" not in text
    assert "MY_LINEAR_KEY=" not in text


async def test_key_is_redacted_from_adapter_logs(
    linear: FakeLinear, make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    assert linear.api_key
    caplog.set_level(logging.DEBUG, logger="symphony.trackers.linear")
    linear.inject(Failure.http_status(500, {"errors": [{"message": f"echo {linear.api_key}"}]}))
    adapter = make_adapter()
    with pytest.raises(Exception, match="HTTP 500"):
        await adapter.fetch_issues_by_states(["Todo"])
    formatter = KeyValueFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("status=500" in line for line in lines)
    assert all(linear.api_key not in line for line in lines)
