"""What ``symphony validate`` checks before Claude Code agents can run (docs/agents/claude-code.md).

The binary (found through a login shell, as the session launches it, with its version), the
sandbox's helper programs when the sandbox is on, and a credential: ``ANTHROPIC_API_KEY`` (or
``ANTHROPIC_AUTH_TOKEN``/``CLAUDE_CODE_OAUTH_TOKEN``) in the environment the agent gets, or a login
in ``$CLAUDE_CONFIG_DIR`` (default ``~/.claude``). Warnings, never exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from symphony.agents.claude_code.launch import TESTED_VERSION, missing_sandbox_tools
from symphony.agents.versions import command_version
from symphony.checks import Check
from symphony.process import child_environment
from symphony.workflow.config import ClaudeCodeConfig

CREDENTIAL_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")


def claude_config_dir(env: Mapping[str, str]) -> Path | None:
    """Where claude keeps its state: ``$CLAUDE_CONFIG_DIR``, else ``$HOME/.claude``."""
    configured = env.get("CLAUDE_CONFIG_DIR")
    if configured:
        return Path(configured)
    home = env.get("HOME")
    return Path(home) / ".claude" if home else None


def has_credentials(env: Mapping[str, str]) -> bool:
    if any(env.get(name) for name in CREDENTIAL_ENV):
        return True
    root = claude_config_dir(env)
    if root is None:
        return False
    return (root / ".credentials.json").is_file()


async def preflight_warnings(
    config: ClaudeCodeConfig,
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str],
    timeout_s: float,
) -> list[str]:
    checks = await claude_checks(config, env=env, cwd=cwd, strip_env=strip_env, timeout_s=timeout_s)
    return [f"{c.detail}; {c.fix}" for c in checks if c.status != "ok"]


async def claude_checks(
    config: ClaudeCodeConfig,
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str],
    timeout_s: float,
) -> list[Check]:
    """The binary and its version, the sandbox's programs, the credentials (``doctor``)."""
    child = child_environment(strip_env, base=env)
    checks: list[Check] = []
    version, problem = await command_version(
        config.command, env=child, cwd=cwd, strip_env=strip_env, timeout_s=timeout_s
    )
    if version is None:
        checks.append(
            Check.fail(
                "claude binary",
                f"claude_code.command {config.command!r} does not run ({problem})",
                f"install Claude Code (npm install @anthropic-ai/claude-code@{TESTED_VERSION}) "
                "or fix claude_code.command (until then every agent attempt fails: "
                "claude_not_found)",
            )
        )
    elif version != TESTED_VERSION:
        checks.append(
            Check.warn(
                "claude binary",
                f"claude_code.command runs Claude Code {version}; Symphony is tested with "
                f"{TESTED_VERSION} (its stream-json protocol changes between versions)",
                f"npm install @anthropic-ai/claude-code@{TESTED_VERSION}",
            )
        )
    else:
        checks.append(Check.ok("claude binary", f"Claude Code {version} (tested)"))
    if config.sandbox:
        missing = missing_sandbox_tools(child)
        if missing:
            checks.append(
                Check.fail(
                    "claude sandbox",
                    f"Claude Code's sandbox needs {' and '.join(missing)}, not found on PATH",
                    "install them (Debian: apt-get install bubblewrap socat) or set "
                    "claude_code.sandbox: false (until then every agent attempt fails: "
                    "claude_sandbox_unavailable)",
                )
            )
        else:
            checks.append(Check.ok("claude sandbox", "bwrap and socat found"))
    if has_credentials(child):
        checks.append(Check.ok("claude credentials", "found"))
    else:
        checks.append(
            Check.fail(
                "claude credentials",
                "no Claude Code credentials",
                "set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN, CLAUDE_CODE_OAUTH_TOKEN) for "
                "the service, or log in with `claude` so that $CLAUDE_CONFIG_DIR (default "
                "~/.claude) holds .credentials.json",
            )
        )
    return checks
