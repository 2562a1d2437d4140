"""What ``symphony validate`` checks before Claude Code agents can run (docs/agents/claude-code.md).

The binary (found through a login shell, as the session launches it, with its version), the
sandbox's helper programs when the sandbox is on, and a credential: ``ANTHROPIC_API_KEY`` (or
``ANTHROPIC_AUTH_TOKEN``/``CLAUDE_CODE_OAUTH_TOKEN``) in the environment the agent gets, or a login
in ``$CLAUDE_CONFIG_DIR`` (default ``~/.claude``). Warnings, never exceptions.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path

from symphony.agents.claude_code.launch import TESTED_VERSION, missing_sandbox_tools
from symphony.process import child_environment, reap_group, spawn_login_shell, terminate_group
from symphony.workflow.config import ClaudeCodeConfig

CREDENTIAL_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
_VERSION = re.compile(r"(\d+\.\d+\.\d+)")


def has_credentials(env: Mapping[str, str]) -> bool:
    if any(env.get(name) for name in CREDENTIAL_ENV):
        return True
    config_dir = env.get("CLAUDE_CONFIG_DIR")
    if config_dir:
        root = Path(config_dir)
    elif env.get("HOME"):
        root = Path(env["HOME"]) / ".claude"
    else:
        return False
    return (root / ".credentials.json").is_file()


async def claude_version(
    command: str, *, env: Mapping[str, str], cwd: Path, strip_env: frozenset[str], timeout_s: float
) -> tuple[str | None, str]:
    """``(version, problem)``: what ``<command> --version`` printed, or why it did not run."""
    try:
        process = await spawn_login_shell(f"{command} --version", cwd=cwd, env=env, strip=strip_env)
    except OSError as exc:
        return None, f"could not run bash: {exc}"
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    except TimeoutError:
        return None, f"`{command} --version` did not finish within {timeout_s:g} s"
    finally:
        if process.returncode is None:
            await terminate_group(process)
        else:
            reap_group(process.pid)
    text = out.decode("utf-8", "replace")
    if process.returncode != 0:
        tail = (err.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
        return None, f"`{command} --version` failed (exit {process.returncode}): {tail[:200]}"
    found = _VERSION.search(text)
    return (found.group(1) if found else text.strip()[:40]), ""


async def preflight_warnings(
    config: ClaudeCodeConfig,
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str],
    timeout_s: float,
) -> list[str]:
    child = child_environment(strip_env, base=env)
    warnings: list[str] = []
    version, problem = await claude_version(
        config.command, env=child, cwd=cwd, strip_env=strip_env, timeout_s=timeout_s
    )
    if version is None:
        warnings.append(
            f"claude_code.command {config.command!r} does not run ({problem}); install Claude "
            f"Code (npm install @anthropic-ai/claude-code@{TESTED_VERSION}) or fix "
            "claude_code.command (until then every agent attempt fails: claude_not_found)"
        )
    elif version != TESTED_VERSION:
        warnings.append(
            f"claude_code.command runs Claude Code {version}; Symphony is tested with "
            f"{TESTED_VERSION} (its stream-json protocol changes between versions)"
        )
    if config.sandbox:
        missing = missing_sandbox_tools(child)
        if missing:
            warnings.append(
                f"Claude Code's sandbox needs {' and '.join(missing)}, not found on PATH; "
                "install them (Debian: apt-get install bubblewrap socat) or set "
                "claude_code.sandbox: false (until then every agent attempt fails: "
                "claude_sandbox_unavailable)"
            )
    if not has_credentials(child):
        warnings.append(
            "no Claude Code credentials: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN, "
            "CLAUDE_CODE_OAUTH_TOKEN) for the service, or log in with `claude` so that "
            "$CLAUDE_CONFIG_DIR (default ~/.claude) holds .credentials.json"
        )
    return warnings
