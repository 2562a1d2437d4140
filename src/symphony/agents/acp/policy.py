"""Who answers ``session/request_permission``: the workflow's policy, a human, or a refusal.

An ACP agent asks before a tool call it may not make on its own, naming the call (its ``kind``:
read, edit, delete, move, search, execute, think, fetch, switch_mode, other; the paths it
touches) and the options it offers (``allow_once``, ``allow_always``, ``reject_once``,
``reject_always``). ``acp.permissions`` maps each kind to ``allow``, ``ask`` or ``reject``
(docs/agents/acp.md): by default reads, edits, searches, commands and thinking are allowed, as
long as every path the call names is inside the workspace; everything else, and any call that
names a path outside, goes to a human (``ask``), and is rejected when the run has no human
channel. Calls of Symphony's own tracker tools (served to this session over MCP) are always
allowed. Pure: paths are resolved by the caller-supplied ``inside`` predicate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from symphony.human import HumanAnswer, HumanRequest, RequestKind
from symphony.text import clip

Verdict = Literal["allow", "ask", "reject"]
_VERDICTS: dict[str, Verdict] = {"allow": "allow", "ask": "ask", "reject": "reject"}

ALLOW_ONCE = "allow_once"
ALLOW_ALWAYS = "allow_always"
REJECT_ONCE = "reject_once"
REJECT_ALWAYS = "reject_always"

# Tool-call kinds whose approval is about a command, or about changing files.
_COMMAND_KINDS = frozenset({"execute"})
_FILE_KINDS = frozenset({"edit", "delete", "move"})
SUMMARY_LIMIT = 300


@dataclass(frozen=True, slots=True)
class PermissionOption:
    """One choice the agent offers: its id (sent back when picked) and its kind."""

    option_id: str
    kind: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class PermissionCall:
    """The tool call a permission request is about, as far as the policy cares."""

    kind: str | None
    title: str | None
    paths: tuple[str, ...] = ()
    command: str | None = None
    # A call of one of Symphony's own tracker tools, through the session's MCP server.
    own_tool: bool = False


@dataclass(frozen=True, slots=True)
class PermissionPolicy:
    """``acp.permissions`` and ``acp.default_permission`` (see the module docstring)."""

    permissions: Mapping[str, str]
    default: str = "ask"

    def verdict(
        self, call: PermissionCall, *, inside: Callable[[str], bool], has_human: bool
    ) -> Verdict:
        """What to do with ``call``: allow or reject it now, or ask the human channel."""
        if call.own_tool:
            return "allow"  # the tools Symphony serves this very session, with its own policy
        answer = self.permissions.get(call.kind or "other", self.default)
        if answer == "allow" and not all(inside(path) for path in call.paths):
            answer = "ask"  # the workspace is the agent's; anything beyond it is a human's call
        if answer == "ask" and not has_human:
            return "reject"
        return _VERDICTS.get(answer, "reject")  # the config allows no other value


def own_tool_call(
    title: str | None, raw_input: Any, *, server: str | None, tools: Iterable[str]
) -> bool:
    """Whether a permission request is about a tool of Symphony's MCP server ``server``.

    ACP names no MCP server in a tool call, so the agent's own spelling is read: the
    ``mcp__<server>__<tool>`` name (Claude Code's convention) in the title or raw input, or a
    raw input whose ``server_name`` is ``server`` and that names one of ``tools`` (codex-acp).
    """
    if server is None:
        return False
    names = list(tools)
    raw_text = json.dumps(raw_input, default=str) if raw_input is not None else ""
    texts = (title or "", raw_text)
    if any(f"mcp__{server}__{tool}" in text for tool in names for text in texts):
        return True
    if isinstance(raw_input, Mapping) and raw_input.get("server_name") == server:
        return any(f'"{tool}"' in raw_text or f'\\"{tool}\\"' in raw_text for tool in names)
    return False


def pick_option(
    options: Sequence[PermissionOption], *, allow: bool, always: bool = False
) -> str | None:
    """The id of the option that allows (or rejects) the call, once unless ``always``; None
    when the agent offered no such option (the request is then answered ``cancelled``)."""
    if allow:
        order = (ALLOW_ALWAYS, ALLOW_ONCE) if always else (ALLOW_ONCE, ALLOW_ALWAYS)
    else:
        order = (REJECT_ONCE, REJECT_ALWAYS)
    for kind in order:
        for option in options:
            if option.kind == kind:
                return option.option_id
    return None


def answered_option(answer: HumanAnswer, options: Sequence[PermissionOption]) -> str | None:
    """The option a human's decision picks (``approve_for_session`` → ``allow_always``)."""
    if answer.approves:
        return pick_option(options, allow=True, always=answer.decision == "approve_for_session")
    return pick_option(options, allow=False)


def human_request(call: PermissionCall, *, cwd: str) -> HumanRequest:
    """The neutral request a human sees for ``call``."""
    kind: RequestKind
    if call.kind in _COMMAND_KINDS:
        kind = "command_approval"
    elif call.kind in _FILE_KINDS:
        kind = "file_change_approval"
    else:
        # The closest neutral kind for any other tool the agent wants to run.
        kind = "mcp_approval"
    title = call.title or call.command or f"a {call.kind or 'tool'} call"
    where = f" ({', '.join(call.paths)})" if call.paths else ""
    return HumanRequest(
        kind=kind,
        summary=clip(f"The agent asks to run {title}{where}", SUMMARY_LIMIT, marker="..."),
        command=call.command,
        cwd=cwd,
        reason=f"tool-call kind {call.kind or 'unknown'} needs approval under acp.permissions",
    )
