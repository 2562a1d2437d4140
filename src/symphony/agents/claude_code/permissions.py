"""Which Claude Code tool calls Symphony allows, denies or leaves to a human; pure decisions.

Claude Code in print mode never prompts: a call it may not make is denied silently. Symphony
passes ``--permission-prompt-tool stdio`` and answers each ``can_use_tool`` control request here
(docs/agents/claude-code.md, "Permissions"):

- a tool named by ``claude_code.allowed_tools`` (default ``DEFAULT_ALLOWED_TOOLS``) is allowed;
  the file tools (``FILE_TOOLS``) only for paths inside the workspace, a path outside is denied;
- everything else goes to the human channel when the session has one, else it is denied with a
  message the model can read.

Rules with an argument (``Bash(git *)``) and rules for tools other than the file tools are also
handed to claude as ``--allowedTools`` so it does not ask for them at all; the file tools never
are, because claude's own rule would allow them outside the workspace.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from symphony.human import HumanRequest, RequestKind

# Tool name -> the input fields that name a path it reads or writes.
FILE_TOOLS: Final[Mapping[str, tuple[str, ...]]] = {
    "Edit": ("file_path",),
    "MultiEdit": ("file_path",),
    "Write": ("file_path",),
    "NotebookEdit": ("notebook_path",),
    "Read": ("file_path",),
    "Glob": ("path",),
    "Grep": ("path",),
    "LS": ("path",),
}
DEFAULT_ALLOWED_TOOLS: Final[tuple[str, ...]] = (
    "Bash",
    *FILE_TOOLS,
    "TodoWrite",
    "mcp__symphony__*",
)
UNATTENDED_DENIAL: Final = (
    "Symphony runs this agent unattended and allows only the tools in claude_code.allowed_tools "
    "(by default Bash, file tools inside the workspace and the symphony tracker tools); "
    "{tool} is not one of them. Continue without it."
)
OUTSIDE_WORKSPACE: Final = (
    "{tool} on {path} is denied: Symphony allows file tools only inside the workspace {root}."
)


@dataclass(frozen=True, slots=True)
class Allow:
    pass


@dataclass(frozen=True, slots=True)
class Deny:
    message: str


@dataclass(frozen=True, slots=True)
class AskHuman:
    request: HumanRequest


Decision = Allow | Deny | AskHuman


def _bare(rule: str) -> str | None:
    """The tool-name pattern of a rule without an argument (``Bash``, ``mcp__x__*``)."""
    return None if "(" in rule else rule


class PermissionPolicy:
    """The decisions for one session's workspace and settings."""

    def __init__(
        self,
        workspace: Path,
        *,
        allowed_tools: Sequence[str] | None = None,
        disallowed_tools: Sequence[str] = (),
        ask_human: bool = False,
    ) -> None:
        self.workspace = Path(os.path.realpath(workspace))
        self.allowed = tuple(DEFAULT_ALLOWED_TOOLS if allowed_tools is None else allowed_tools)
        self.disallowed = tuple(disallowed_tools)
        self.ask_human = ask_human

    def cli_allowed_tools(self) -> list[str]:
        """The ``--allowedTools`` rules: ours minus the bare file tools (checked here)."""
        return [rule for rule in self.allowed if rule not in FILE_TOOLS]

    def _matches(self, rules: Sequence[str], tool: str) -> bool:
        for rule in rules:
            pattern = _bare(rule)
            if pattern is not None and fnmatch.fnmatchcase(tool, pattern):
                return True
            # `mcp__symphony` names the whole server.
            if pattern is not None and tool.startswith(f"{pattern}__"):
                return True
        return False

    def decide(self, tool: str, tool_input: Mapping[str, Any]) -> Decision:
        if self._matches(self.disallowed, tool):
            return Deny(f"{tool} is disallowed by claude_code.disallowed_tools.")
        if self._matches(self.allowed, tool):
            outside = self.outside_path(tool, tool_input)
            if outside is not None:
                return Deny(OUTSIDE_WORKSPACE.format(tool=tool, path=outside, root=self.workspace))
            return Allow()
        if self.ask_human:
            return AskHuman(human_request(tool, tool_input, self.workspace))
        return Deny(UNATTENDED_DENIAL.format(tool=tool))

    def outside_path(self, tool: str, tool_input: Mapping[str, Any]) -> str | None:
        """The first path of a file tool call that is not inside the workspace, if any."""
        for key in FILE_TOOLS.get(tool, ()):
            value = tool_input.get(key)
            if not isinstance(value, str) or not value:
                continue
            # realpath: a symlink in the workspace must not lead a write outside it.
            target = Path(os.path.realpath(self.workspace / Path(value).expanduser()))
            if not target.is_relative_to(self.workspace):
                return value
        return None


def human_request(tool: str, tool_input: Mapping[str, Any], workspace: Path) -> HumanRequest:
    """``can_use_tool`` for a tool the policy leaves to a human, in neutral terms."""
    kind: RequestKind = "command_approval"
    command: str | None = None
    if tool.startswith("mcp__"):
        kind = "mcp_approval"
    elif tool in FILE_TOOLS:
        kind = "file_change_approval"
    raw = tool_input.get("command")
    if isinstance(raw, str):
        command = raw
    else:
        command = f"{tool} {json.dumps(dict(tool_input), ensure_ascii=False, default=str)}"
    return HumanRequest(
        kind=kind,
        summary=f"Claude Code asks to use {tool}",
        command=command,
        cwd=str(workspace),
        reason=str(tool_input.get("description") or "") or None,
    )
