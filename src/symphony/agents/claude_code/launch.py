"""The ``claude`` command line of a worker session, and what must exist before it runs.

Posture (docs/agents/claude-code.md): stream-json both ways in print mode, permission questions
asked of Symphony over stdio, only Symphony's MCP server (``--strict-mcp-config``: a repository's
``.mcp.json`` would otherwise start its servers unasked), settings only from the user scope and
Symphony's own (a repository's ``.claude/settings.json`` could add hooks that run outside the
sandbox), and Claude Code's sandbox with ``failIfUnavailable`` (on Linux it silently runs
commands unsandboxed when ``bwrap`` or ``socat`` is missing).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from symphony.workflow.config import ClaudeCodeConfig

TESTED_VERSION: Final = "2.1.328"
SANDBOX_TOOLS: Final = ("bwrap", "socat")


def sandbox_settings(config: ClaudeCodeConfig, *, nested: bool = False) -> dict[str, Any]:
    """The ``--settings`` JSON: Claude Code's sandbox for Bash, or nothing when switched off.

    Writes are limited to the working directory by the sandbox itself; the network is off
    unless ``sandbox_allowed_domains`` names hosts. ``allowUnsandboxedCommands: false`` keeps the
    model from asking to run one command outside the sandbox. ``nested``: claude runs inside
    Symphony's bwrap sandbox, whose /proc has read-only overmounts a nested bwrap cannot mount a
    new proc over; ``enableWeakerNestedSandbox`` reuses that /proc, which is private already.
    """
    if not config.sandbox:
        return {}
    sandbox: dict[str, Any] = {
        "enabled": True,
        "failIfUnavailable": True,
        "allowUnsandboxedCommands": False,
    }
    if nested:
        sandbox["enableWeakerNestedSandbox"] = True
    if config.sandbox_allowed_domains:
        sandbox["network"] = {"allowedDomains": list(config.sandbox_allowed_domains)}
    return {"sandbox": sandbox}


# What Claude Code's sandbox (2.1.328) masks with /dev/null when it is missing from the working
# directory: inside the sandbox these show up as untracked character devices, and `git add -A`
# fails on them ("can only add regular files").
SANDBOX_MASKS: Final = (
    ".bash_profile",
    ".bashrc",
    ".gitconfig",
    ".gitmodules",
    ".idea",
    ".mcp.json",
    ".profile",
    ".ripgreprc",
    ".vscode",
    ".zprofile",
    ".zshrc",
    ".claude/agents",
    ".claude/commands",
    ".claude/hooks",
    ".claude/launch.json",
    ".claude/loop.md",
    ".claude/output-styles",
    ".claude/routines",
    ".claude/scheduled_tasks.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/skills",
    ".claude/workflows",
    ".claude/.cc-writes",
)
_EXCLUDE_HEADER: Final = "# Claude Code sandbox masks (added by Symphony)"


def exclude_sandbox_masks(workspace: Path) -> list[str]:
    """Keep git from seeing the sandbox's masks: anchored ``.git/info/exclude`` patterns for
    each masked path the workspace does not have (existing files are not masked). Does nothing
    outside a plain git repository or when the block is there already. Returns the patterns."""
    git = workspace / ".git"
    if not git.is_dir():
        return []
    exclude = git / "info" / "exclude"
    try:
        current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    except OSError:
        return []
    if _EXCLUDE_HEADER in current:
        return []
    patterns = [f"/{name}" for name in SANDBOX_MASKS if not (workspace / name).exists()]
    if not patterns:
        return []
    block = "\n".join([_EXCLUDE_HEADER, *patterns]) + "\n"
    separator = "" if not current or current.endswith("\n") else "\n"
    try:
        exclude.parent.mkdir(exist_ok=True)
        exclude.write_text(current + separator + block, encoding="utf-8")
    except OSError:
        return []
    return patterns


def missing_sandbox_tools(env: Mapping[str, str]) -> list[str]:
    """The sandbox's helper programs not found on ``env``'s PATH."""
    path = env.get("PATH", os.defpath)
    return [tool for tool in SANDBOX_TOOLS if shutil.which(tool, path=path) is None]


def cli_args(
    config: ClaudeCodeConfig,
    *,
    allowed_tools: Sequence[str],
    mcp_config: Path,
    settings: Path | None,
    resume: str | None,
) -> list[str]:
    args = [
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-prompt-tool",
        "stdio",
        "--strict-mcp-config",
        "--mcp-config",
        str(mcp_config),
        "--setting-sources",
        "user",
        "--permission-mode",
        config.permission_mode,
    ]
    if allowed_tools:
        args += ["--allowedTools", *allowed_tools]
    if config.disallowed_tools:
        args += ["--disallowedTools", *config.disallowed_tools]
    if config.model:
        args += ["--model", config.model]
    if settings is not None:
        args += ["--settings", str(settings)]
    if resume:
        args += ["--resume", resume]
    return args + list(config.extra_args)


def shell_command(command: str, args: Sequence[str]) -> str:
    """``claude.command`` (shell text, as written) followed by the quoted arguments."""
    return f"{command} {shlex.join(args)}"


ENV_FILE_VAR: Final = "CLAUDE_ENV_FILE"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def write_env_file(directory: Path, strip: frozenset[str], env: Mapping[str, str]) -> Path:
    """The script claude's Bash tool sources before every command (``CLAUDE_ENV_FILE``): it
    runs after the user's shell profile, which may export a tracker secret again, and unsets
    ``strip``. A ``CLAUDE_ENV_FILE`` the operator set is sourced first."""
    lines = []
    previous = env.get(ENV_FILE_VAR)
    if previous:
        lines.append(f"[ -f {shlex.quote(previous)} ] && . {shlex.quote(previous)}")
    names = sorted(name for name in strip if _ENV_NAME.match(name))
    if names:
        lines.append(f"unset {' '.join(names)}")
    path = directory / "env.sh"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    return path


def write_private_json(directory: Path, name: str, data: Mapping[str, Any]) -> Path:
    """A file only this user can read: the MCP config holds the session's bearer secret, which
    the command line (readable by every user in /proc) must not."""
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    return path
