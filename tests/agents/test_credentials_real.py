"""The credentials rule against the REAL codex (pinned 0.169.0): what the app-server itself sees.

``account/read`` is the app-server's own view of its credentials (``account`` is null without
any) and ``requiresOpenaiAuth`` says whether the active provider needs them. Offline: nothing
here sends a model request. HOME and CODEX_HOME are clean temporary directories.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from symphony.agents.codex.credentials import check_credentials
from symphony.process import terminate_group
from tests.support.fake_model import write_codex_home

REPO = Path(__file__).resolve().parents[2]
CODEX_BIN = Path(
    os.environ.get("SYMPHONY_CODEX_BIN") or REPO / ".tools/codex/node_modules/.bin/codex"
)
OFFLINE = [f"--disable={name}" for name in ("plugins", "remote_plugin", "apps", "tool_suggest")]

pytestmark = [
    pytest.mark.codex,
    pytest.mark.skipif(
        not CODEX_BIN.exists(), reason=f"real codex binary not found at {CODEX_BIN}"
    ),
]


async def account_read(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        str(CODEX_BIN),
        "app-server",
        *OFFLINE,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdin is not None and process.stdout is not None
    stdout = process.stdout

    async def call(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert process.stdin is not None
        message = {"id": request_id, "method": method, "params": params}
        process.stdin.write((json.dumps(message) + "\n").encode())
        while True:
            line = await asyncio.wait_for(stdout.readline(), timeout=20)
            assert line, "codex app-server exited"
            reply = json.loads(line)
            if reply.get("id") == request_id and "method" not in reply:
                assert "result" in reply, reply
                return reply["result"]  # type: ignore[no-any-return]

    try:
        info = {"name": "symphony-test", "version": "0"}
        await call(1, "initialize", {"clientInfo": info, "capabilities": {}})
        return await call(2, "account/read", {"refreshToken": False})
    finally:
        await terminate_group(process)


@pytest.mark.parametrize(
    ("setup", "has_account", "requires_auth", "verdict"),
    [
        ("nothing", False, True, "missing"),
        ("OPENAI_API_KEY", False, True, "missing"),
        ("CODEX_API_KEY", False, True, "missing"),
        ("auth.json", True, True, "present"),
        ("custom provider", False, False, "unknown"),
    ],
)
async def test_real_codex_reads_only_stored_credentials(
    tmp_path: Path, setup: str, has_account: bool, requires_auth: bool, verdict: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
    if setup.endswith("_API_KEY"):
        env[setup] = "sk-test-from-environment"
    elif setup == "auth.json":
        (home / ".codex").mkdir()
        (home / ".codex" / "auth.json").write_text('{"OPENAI_API_KEY": "sk-test-stored"}')
    elif setup == "custom provider":
        codex_home = write_codex_home(tmp_path / "codex-home", base_url="http://127.0.0.1:9/v1")
        env["CODEX_HOME"] = str(codex_home)

    result = await account_read(env, tmp_path)

    assert (result["account"] is not None) is has_account, result
    assert result["requiresOpenaiAuth"] is requires_auth, result
    command = f"{CODEX_BIN} app-server"
    assert check_credentials(command, env, cwd=tmp_path, system_config=None).status == verdict
