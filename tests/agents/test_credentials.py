"""The Codex credentials rule, its login-shell confirmation and the fail-fast session start."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from symphony.agents.codex.credentials import (
    CredentialCheck,
    check_credentials,
    config_overrides,
    parse_launch,
)
from symphony.agents.codex.errors import CODEX_NOT_AUTHENTICATED, AgentError
from symphony.agents.codex.linux_sandbox import inspect_sandbox
from symphony.agents.codex.preflight import assess_credentials
from symphony.agents.codex.session import CodexSession
from symphony.agents.tools import ToolRegistry
from symphony.workflow.config import CodexConfig
from tests.agents.conftest import FAKE_CODEX, make_issue, read_log

CODEX = "codex app-server"


def executable(path: Path) -> Path:
    write(path, "#!/bin/sh\nexit 0\n").chmod(0o755)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A clean HOME whose ``bin`` holds a ``codex`` (on PATH in ``env_for``)."""
    path = tmp_path / "home"
    executable(path / "bin" / "codex")
    return path


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{home / 'bin'}:{os.environ['PATH']}", "HOME": str(home), **extra}


def check(command: str, env: dict[str, str], cwd: Path | None = None) -> CredentialCheck:
    return check_credentials(command, env, cwd=cwd, system_config=None)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the rule ---------------------------------------------------------------------------------


def test_nothing_at_all_is_missing_with_advice(home: Path) -> None:
    result = check(CODEX, env_for(home))
    assert result.status == "missing"
    assert result.codex_home == home / ".codex"
    assert result.message == (
        "Codex has no credentials: run `codex login`, or `printenv OPENAI_API_KEY | codex login "
        f"--with-api-key` (CODEX_HOME={home / '.codex'}), as the user that runs symphony"
    )


def test_auth_json_in_the_default_codex_home_is_present(home: Path) -> None:
    write(home / ".codex" / "auth.json", '{"OPENAI_API_KEY": "sk-x"}')
    result = check(CODEX, env_for(home))
    assert result.status == "present" and not result.missing


def test_codex_home_from_the_environment_wins_over_home(home: Path, tmp_path: Path) -> None:
    write(home / ".codex" / "auth.json", "{}")
    elsewhere = tmp_path / "codex-home"
    assert check(CODEX, env_for(home, CODEX_HOME=str(elsewhere))).missing
    write(elsewhere / "auth.json", "{}")
    assert check(CODEX, env_for(home, CODEX_HOME=str(elsewhere))).status == "present"


def test_codex_home_assigned_by_the_command(home: Path, tmp_path: Path) -> None:
    write(tmp_path / "srv" / "auth.json", "{}")
    assert check(f"CODEX_HOME={tmp_path / 'srv'} codex app-server", env_for(home)).status == (
        "present"
    )
    result = check(f"env CODEX_HOME={tmp_path / 'none'} codex app-server 2>>log", env_for(home))
    assert result.missing and result.codex_home == tmp_path / "none"


@pytest.mark.parametrize("key", ["OPENAI_API_KEY", "CODEX_API_KEY"])
def test_api_key_in_the_environment_is_not_enough_for_the_app_server(home: Path, key: str) -> None:
    # codex 0.169 `app-server` ignores both (see test_real_codex_reads_only_stored_credentials).
    result = check(CODEX, env_for(home, **{key: "sk-env"}))
    assert result.missing
    assert f"{key} is set, but `codex app-server` does not read API keys" in result.message
    assert f"printenv {key} | codex login --with-api-key" in result.message


def test_an_agent_identity_token_is_not_second_guessed(home: Path) -> None:
    assert check(CODEX, env_for(home, CODEX_ACCESS_TOKEN="jwt")).status == "unknown"
    assert check(CODEX, env_for(home, CODEX_ACCESS_TOKEN="")).missing


def test_empty_api_key_gets_the_plain_advice(home: Path) -> None:
    assert "is set" not in check(CODEX, env_for(home, OPENAI_API_KEY="")).message


def test_custom_provider_in_config_toml_skips_the_check(home: Path) -> None:
    write(home / ".codex" / "config.toml", 'model_provider = "ollama"\n')
    result = check(CODEX, env_for(home))
    assert result.status == "unknown" and "'ollama'" in result.reason


def test_provider_of_the_selected_profile_skips_the_check(home: Path) -> None:
    write(home / ".codex" / "config.toml", 'profile = "p"\n[profiles.p]\nmodel_provider = "x"\n')
    assert check(CODEX, env_for(home)).status == "unknown"


def test_explicit_openai_provider_is_still_checked(home: Path) -> None:
    write(home / ".codex" / "config.toml", 'model_provider = "openai"\nmodel = "gpt-5"\n')
    assert check(CODEX, env_for(home)).missing


@pytest.mark.parametrize(
    "flags",
    [
        "-c model_provider=fake",
        "--config model_provider=fake",
        "--config=model_provider=fake",
        "-c 'model_provider=\"fake\"'",
        "-cmodel_provider=fake",
        "-c profile=p -c profiles.p.model_provider=fake",
    ],
)
def test_custom_provider_on_the_command_line_skips_the_check(home: Path, flags: str) -> None:
    result = check(f"codex app-server {flags}", env_for(home))
    assert result.status == "unknown", result


def test_openai_on_the_command_line_overrides_a_custom_provider_file(home: Path) -> None:
    write(home / ".codex" / "config.toml", 'model_provider = "fake"\n')
    assert check("codex app-server -c model_provider=openai", env_for(home)).missing


@pytest.mark.parametrize(
    "toml",
    [
        'cli_auth_credentials_store = "keyring"\n',
        'cli_auth_credentials_store = "auto"\n',
        'openai_base_url = "http://127.0.0.1:9/v1"\n',
    ],
)
def test_credentials_or_server_elsewhere_skip_the_check(home: Path, toml: str) -> None:
    write(home / ".codex" / "config.toml", toml)
    assert check(CODEX, env_for(home)).status == "unknown"


def test_project_and_system_layers_count(home: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "repo" / "ws" / "SYM-1"
    workspace.mkdir(parents=True)
    assert check(CODEX, env_for(home), cwd=workspace).missing
    write(tmp_path / "repo" / ".codex" / "config.toml", 'model_provider = "azure"\n')
    assert check(CODEX, env_for(home), cwd=workspace).status == "unknown"
    system = write(tmp_path / "etc" / "config.toml", 'model_provider = "azure"\n')
    verdict = check_credentials(CODEX, env_for(home), system_config=system)
    assert verdict.status == "unknown"


def test_unreadable_config_is_left_to_codex(home: Path) -> None:
    write(home / ".codex" / "config.toml", "model_provider = \n")
    result = check(CODEX, env_for(home))
    assert result.status == "unknown" and "config.toml" in result.reason


@pytest.mark.parametrize(
    "command",
    [
        f"{sys.executable} fake_app_server.py",
        "codex app-server | tee log",
        "cd /srv && codex app-server",
        '"$(which codex)" app-server',
        "`which codex` app-server",
        "/opt/wrapper.sh app-server",
    ],
)
def test_commands_that_are_not_plainly_codex_are_not_inspected(home: Path, command: str) -> None:
    assert check(command, env_for(home)).status == "unknown"


@pytest.mark.parametrize(
    "command",
    [
        "${SYMPHONY_CODEX_BIN:-codex} app-server",
        "$SYMPHONY_CODEX_BIN app-server",
        "exec ~/bin/codex app-server",
        "node /opt/lib/node_modules/@openai/codex/bin/codex.js app-server",
        "npx -y @openai/codex@0.169.0 app-server",
    ],
)
def test_ways_of_starting_codex_are_recognised(home: Path, command: str) -> None:
    env = env_for(home, SYMPHONY_CODEX_BIN=str(home / "bin" / "codex"))
    assert check(command, env).missing


def test_codex_missing_from_path_is_left_to_the_launch(home: Path, tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path / "empty"), "HOME": str(home)}
    result = check(CODEX, env)
    assert result.status == "unknown" and not result.program_found
    result = check(f"{tmp_path / 'nope' / 'codex'} app-server", env)
    assert result.status == "unknown" and not result.program_found


def test_expansion_follows_the_shell() -> None:
    env = {"HOME": "/h", "BIN": "/b/codex", "EMPTY": ""}
    launch = parse_launch("${EMPTY:-$BIN} '$NOPE' \"${BIN}\" ~/x", env)
    assert launch is not None
    assert (launch.program, launch.args) == ("/b/codex", ("$NOPE", "/b/codex", "~/x"))
    launch = parse_launch("env -i CODEX_HOME=~/c codex", env)
    assert launch is not None and launch.env == {"CODEX_HOME": "/h/c"}  # the shell's HOME
    assert parse_launch("${BIN:+x} app-server", env) is None


def test_config_overrides_parse_values_as_toml_like_codex() -> None:
    table = config_overrides(
        ["-c", "a.b=1", "--config", 'c="two"', "-cd=[1, 2]", "--config=e=bare word", "-x", "f=1"]
    )
    assert table == {"a": {"b": 1}, "c": "two", "d": [1, 2], "e": "bare word"}


# -- confirmation through the login shell -------------------------------------------------------
# bash -lc runs /etc/profile, which on Debian resets PATH: these use an absolute codex path.


def absolute(home: Path) -> str:
    return f"{home / 'bin' / 'codex'} app-server"


async def test_login_profile_exporting_codex_home_is_honoured(home: Path, tmp_path: Path) -> None:
    codex_home = tmp_path / "profile-codex-home"
    write(codex_home / "auth.json", "{}")
    write(home / ".bash_profile", f"export CODEX_HOME={codex_home}\n")
    env = env_for(home)
    assert check(absolute(home), env).missing  # what Symphony's own environment says
    result = await assess_credentials(absolute(home), env=env, cwd=tmp_path)
    assert result.status == "present" and result.codex_home == codex_home


async def test_confirmed_missing_keeps_the_advice(home: Path, tmp_path: Path) -> None:
    write(home / ".bash_profile", "export OPENAI_API_KEY=sk-from-profile\n")
    result = await assess_credentials(absolute(home), env=env_for(home), cwd=tmp_path)
    assert result.missing and result.ignored_key == "OPENAI_API_KEY"
    assert "sk-from-profile" not in result.message


async def test_codex_on_the_login_profile_path_is_checked(home: Path, tmp_path: Path) -> None:
    tools = executable(tmp_path / "nvm" / "bin" / "codex").parent
    write(home / ".bash_profile", f"export PATH={tools}:$PATH\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    assert not check(CODEX, env).program_found
    result = await assess_credentials(CODEX, env=env, cwd=tmp_path)
    assert result.missing
    (home / ".bash_profile").unlink()
    result = await assess_credentials(CODEX, env=env, cwd=tmp_path)
    assert result.status == "unknown" and not result.program_found


async def test_stripped_variables_stay_stripped(home: Path, tmp_path: Path) -> None:
    codex_home = tmp_path / "secret-home"
    write(codex_home / "auth.json", "{}")
    env = env_for(home, CODEX_HOME=str(codex_home))
    result = await assess_credentials(
        absolute(home), env=env, cwd=tmp_path, strip_env=frozenset({"CODEX_HOME"})
    )
    assert result.missing and result.codex_home == home / ".codex"


# -- the session start fails fast -------------------------------------------------------------


def fake_codex_named_codex(tmp_path: Path) -> tuple[str, Path]:
    """A ``codex`` on disk that is really tests/support/fake_codex.py (logs what it receives)."""
    log = tmp_path / "fake-codex-log.jsonl"
    scenario = write(tmp_path / "scenario.json", json.dumps({}))
    script = write(
        tmp_path / "bin" / "codex",
        f"#!/bin/sh\nexec {sys.executable} {FAKE_CODEX} {scenario} {log}\n",
    )
    script.chmod(0o755)
    return f"{script} app-server", log


async def test_session_start_without_credentials_fails_before_launching(
    home: Path, tmp_path: Path, workspace: tuple[Path, Path]
) -> None:
    command, launched = fake_codex_named_codex(tmp_path)
    ws, root = workspace
    events: list[object] = []

    async def start() -> CodexSession:
        return await CodexSession.start(
            workspace=ws,
            workspace_root=root,
            codex=CodexConfig(command=command, read_timeout_ms=5_000),
            tools=ToolRegistry.empty(),
            strip_env=frozenset(),
            on_event=events.append,
            issue=make_issue(),
            env=env_for(home),
        )

    with pytest.raises(AgentError) as info:
        await start()
    assert info.value.code == CODEX_NOT_AUTHENTICATED
    assert info.value.message.startswith("Codex has no credentials: run `codex login`")
    assert f"CODEX_HOME={home / '.codex'}" in info.value.message
    assert info.value.details["codex_home"] == str(home / ".codex")
    assert not launched.exists() and events == []

    # Once `codex login` has stored credentials the same start goes through.
    write(home / ".codex" / "auth.json", '{"OPENAI_API_KEY": "sk-x"}')
    session = await start()
    try:
        assert session.thread_id is not None
    finally:
        await session.stop()
    assert [m.get("method") for m in read_log(launched)][:1] == ["initialize"]


async def test_one_login_shell_serves_the_checks_of_many_launches(
    home: Path, tmp_path: Path
) -> None:
    runs = home / "profile-runs"
    write(home / ".bash_profile", f"echo run >> {runs}\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}  # codex only on no PATH: a probe each
    await assess_credentials(CODEX, env=env, cwd=tmp_path)
    for _ in range(3):  # the sandbox lookups of this and later launches reuse that answer
        await inspect_sandbox(CODEX, env=env, cwd=tmp_path / "elsewhere")
    assert runs.read_text().count("run") == 1
    # A credentials verdict is never taken from memory: a fixed profile counts at once.
    await assess_credentials(CODEX, env=env, cwd=tmp_path)
    assert runs.read_text().count("run") == 2
