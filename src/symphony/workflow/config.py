"""Typed service config from WORKFLOW.md front matter (SPEC §5.3, §6.1, §6.4).

Environment variables never override YAML globally: ``$VAR`` is resolved only where a value
explicitly references it (paths here; secrets in the adapter that owns them). ``~`` expands only in
path values. Unknown keys are ignored, but ones that look like typos of known keys produce warnings.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from symphony.core.candidates import MAX_BEST_OF, MAX_CANDIDATE_RETRIES
from symphony.issue import normalize_state
from symphony.logformat import DEFAULT_LOG_FORMAT, LOG_FORMATS, LogFormat
from symphony.ssh import parse_target
from symphony.text import clip
from symphony.workflow.errors import ConfigError
from symphony.workflow.values import (
    label_list,
    resolve_path_value,
    resolve_secret_value,
    state_list,
    tracker_kind,
    tracker_provider,
    var_reference,
)

DEFAULT_AGENT_KIND = "codex"
DEFAULT_CODEX_COMMAND = "codex app-server"
CODEX_HOME_INHERIT = "inherit"
CODEX_HOME_ISOLATED = "isolated"
DEFAULT_APPROVAL_POLICY = "never"
DEFAULT_THREAD_SANDBOX = "workspace-write"
SECRETISH_KEY = re.compile(r"(token|secret|password|api_?key|authorization)", re.IGNORECASE)


def _reject_bool(value: Any) -> Any:
    # YAML `yes`/`true` would otherwise silently become 1.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


StrictishInt = Annotated[int, BeforeValidator(_reject_bool)]
PositiveInt = Annotated[StrictishInt, Field(gt=0)]
NonNegativeInt = Annotated[StrictishInt, Field(ge=0)]


class _Section(BaseModel):
    # defer_build: a section's validator is built when first used, so `symphony board` (which
    # reads only the tracker section) starts without building the whole configuration's.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


def _state_list_or_empty(value: Any) -> Any:
    return () if value is None else state_list(value)


class TrackerConfig(_Section):
    kind: str | None = None
    # Adapter-owned; preserved verbatim including unknown keys (SPEC §5.3.1).
    provider: dict[str, Any] = Field(default_factory=dict)
    required_labels: tuple[str, ...] = ()
    active_states: Annotated[tuple[str, ...] | None, BeforeValidator(state_list)] = None
    terminal_states: Annotated[tuple[str, ...] | None, BeforeValidator(state_list)] = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return tracker_kind(value)

    @field_validator("provider", mode="before")
    @classmethod
    def _provider(cls, value: Any) -> Any:
        return tracker_provider(value)

    @field_validator("required_labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        return label_list(value)


class PollingConfig(_Section):
    interval_ms: PositiveInt = 30_000


class WorkspaceConfig(_Section):
    root: Path
    # Rework from scratch (docs/review.md): an issue that was handed off and is dispatched in
    # one of these states gets a new workspace and a new thread, once per entry into the state.
    reset_states: Annotated[tuple[str, ...], BeforeValidator(_state_list_or_empty)] = ()

    def resets_in(self, state: str) -> bool:
        return normalize_state(state) in {normalize_state(s) for s in self.reset_states}

    @field_validator("root", mode="before")
    @classmethod
    def _root(cls, value: Any, info: ValidationInfo) -> Any:
        ctx = info.context or {}
        if value is None:
            return default_workspace_root()
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty path string")
        return resolve_path_value(value, ctx["workflow_dir"], ctx["environ"])


class HooksConfig(_Section):
    after_create: str | None = None
    before_run: str | None = None
    after_run: str | None = None
    before_remove: str | None = None
    # Run by Symphony in the workspace when a run hands its issue off (docs/review.md).
    verify: str | None = None
    timeout_ms: PositiveInt = 60_000

    @field_validator(
        "after_create", "before_run", "after_run", "before_remove", "verify", mode="before"
    )
    @classmethod
    def _script(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be a shell script string (use `|` for multiple lines)")
        return value if value.strip() else None


def _by_state(value: Any, info: ValidationInfo) -> dict[str, int]:
    """Normalize keys; ignore (with a warning) invalid entries, as SPEC §5.3.5 says."""
    warnings: list[str] = (info.context or {}).setdefault("warnings", [])
    if value is None:
        return {}
    if not isinstance(value, dict):
        warnings.append(
            "agent.max_concurrent_agents_by_state: ignored, it must be a map of state -> limit"
        )
        return {}
    out: dict[str, int] = {}
    for key, limit in value.items():
        where = f"agent.max_concurrent_agents_by_state.{key}"
        if not isinstance(key, str) or not key.strip():
            warnings.append(f"{where}: ignored, state names must be non-empty strings")
            continue
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            warnings.append(
                f"{where}: ignored, the limit must be a positive integer (got {limit!r})"
            )
            continue
        out[normalize_state(key)] = limit
    return out


DEFAULT_WRAP_UP_PROMPT = (
    "This issue is close to its budget: wrap up now. Commit what is done, update the workpad "
    "with where things stand, and either hand the issue off for review or report the blocker "
    "on the issue. Do not start new work."
)


NonNegativeFloat = Annotated[float, BeforeValidator(_reject_bool), Field(ge=0.0)]
PositiveFloat = Annotated[float, BeforeValidator(_reject_bool), Field(gt=0.0)]


class ModelPrice(_Section):
    """One model's row of ``agent.prices``: USD per million tokens (docs/pricing.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    input: NonNegativeFloat
    output: NonNegativeFloat
    # Unset: cached input tokens cost as much as the others.
    cached_input: NonNegativeFloat | None = None


class AgentConfig(_Section):
    # Which agent backend runs; whether one is installed is checked when the workflow is
    # resolved (symphony.agents.registry.resolve_agent), since this layer cannot know.
    kind: str = DEFAULT_AGENT_KIND
    max_concurrent_agents: PositiveInt = 10
    max_turns: PositiveInt = 20
    max_retry_backoff_ms: PositiveInt = 300_000
    max_concurrent_agents_by_state: dict[str, int] = Field(default_factory=dict)
    # How long a request parked for a human waits before it is declined (docs/human-requests.md).
    human_timeout_ms: PositiveInt = 3_600_000
    notify_tracker_on_request: StrictBool = False
    # An agent whose turns change nothing is stopped and its issue held (docs/holds.md); 0: off.
    max_unproductive_turns: NonNegativeInt = 3
    # One comment on an issue when Symphony holds it.
    comment_on_hold: StrictBool = True
    # Per-issue budgets over all of an issue's runs (docs/holds.md); unset: no limit.
    max_tokens_per_issue: PositiveInt | None = None
    max_runtime_ms_per_issue: PositiveInt | None = None
    max_cost_usd_per_issue: PositiveFloat | None = None
    # Fleet-wide USD per UTC day; when reached no new dispatch until the next day.
    max_cost_usd_per_day: PositiveFloat | None = None
    # Model name -> price, laid over symphony.pricing.DEFAULT_PRICES (docs/pricing.md).
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    # At this fraction of a budget the next continuation turn is `wrap_up_prompt`.
    wrap_up_at: float = Field(default=0.8, gt=0.0, le=1.0)
    wrap_up_prompt: str = DEFAULT_WRAP_UP_PROMPT
    # Best of K (docs/best-of.md): candidates per issue (a best-of:K label overrides it), the
    # partial overrides of agent/codex/claude_code they use in turn, and the judging turn.
    best_of: Annotated[StrictishInt, Field(ge=1, le=MAX_BEST_OF)] = 1
    variants: tuple[dict[str, Any], ...] = ()
    judge: StrictBool = False
    # How often a best-of candidate whose run failed runs again before it is marked failed.
    candidate_max_retries: Annotated[StrictishInt, Field(ge=0, le=MAX_CANDIDATE_RETRIES)] = 2

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a string naming an agent backend (for example: codex)")
        return value.strip()

    @field_validator("variants", mode="before")
    @classmethod
    def _variants(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise ValueError(
                "must be a list of overrides, each a map with agent:, codex: or claude_code:"
            )
        for n, variant in enumerate(value):
            if not isinstance(variant, dict) or not variant:
                raise ValueError(
                    f"entry {n} must be a map with agent:, codex: or claude_code: "
                    f"(got {clip(repr(variant), 60, marker='...')})"
                )
            for section, override in variant.items():
                if section not in VARIANT_SECTIONS:
                    raise ValueError(
                        f"entry {n}: {section!r} cannot vary between candidates; only "
                        f"{', '.join(VARIANT_SECTIONS)} can"
                    )
                if not isinstance(override, dict):
                    raise ValueError(f"entry {n}: {section} must be a map of settings")
                fixed = sorted(set(override) & _PER_ISSUE_AGENT_KEYS) if section == "agent" else []
                if fixed:
                    raise ValueError(
                        f"entry {n}: agent.{fixed[0]} is the same for every candidate of an "
                        "issue; set it in the agent section"
                    )
        return tuple(value)

    @field_validator("max_concurrent_agents_by_state", mode="before")
    @classmethod
    def _states(cls, value: Any, info: ValidationInfo) -> dict[str, int]:
        return _by_state(value, info)


# What a variant may override, and the agent keys that describe the whole best-of run (so no
# single candidate can change them).
VARIANT_SECTIONS = ("agent", "codex", "claude_code")
_PER_ISSUE_AGENT_KEYS = frozenset(
    {
        "best_of",
        "variants",
        "judge",
        "candidate_max_retries",
        "max_concurrent_agents",
        "max_concurrent_agents_by_state",
    }
)


class CodexConfig(_Section):
    # Kept verbatim: it is a shell command, so no `~`/`$VAR` rewriting (SPEC §6.1).
    command: str = DEFAULT_CODEX_COMMAND
    # Codex-owned values pass through unchanged (SPEC §5.3.6); see docs/codex.md for defaults.
    approval_policy: str | dict[str, Any] = DEFAULT_APPROVAL_POLICY
    thread_sandbox: str = DEFAULT_THREAD_SANDBOX
    turn_sandbox_policy: dict[str, Any] | None = None
    # Codex keeps a writable root's `.git` read-only and takes only absolute writable roots, so a
    # workflow cannot name the per-issue `<workspace>/.git` itself: Symphony adds it when asked.
    workspace_git_writable: StrictBool = True
    turn_timeout_ms: PositiveInt = 3_600_000
    read_timeout_ms: PositiveInt = 5_000
    stall_timeout_ms: StrictishInt = 300_000
    # Which CODEX_HOME agents get (docs/codex.md, "Codex home"): the operator's (`inherit`), one
    # Symphony keeps next to its state with only `mcp_servers` configured (`isolated`), or a path.
    home: str | Path = CODEX_HOME_INHERIT
    # Codex `[mcp_servers.<name>]` tables, written into the isolated home's config.toml.
    mcp_servers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # How MCP tool-call approvals are answered; unset: as approval_policy implies (docs/codex.md).
    mcp_approval: Literal["approve", "deny", "ask"] | None = None

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty shell command (default: codex app-server)")
        return value

    @field_validator("home", mode="before")
    @classmethod
    def _home(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return CODEX_HOME_INHERIT
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be inherit, isolated or a directory path")
        if value.strip() in (CODEX_HOME_INHERIT, CODEX_HOME_ISOLATED):
            return value.strip()
        ctx = info.context or {}
        if "workflow_dir" not in ctx:  # built in code, not from a WORKFLOW.md
            return Path(value).expanduser()
        return resolve_path_value(value, ctx["workflow_dir"], ctx["environ"])

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _mcp_servers(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must be a map of server name -> codex mcp_servers table")
        for name, table in value.items():
            if not isinstance(table, dict) or not ("command" in table or "url" in table):
                raise ValueError(
                    f"server {name!r} must be a map with `command` (stdio) or `url` (HTTP), as "
                    "in codex's config.toml"
                )
        return {str(k): v for k, v in value.items()}

    @model_validator(mode="after")
    def _servers_need_isolated_home(self) -> CodexConfig:
        if self.mcp_servers and self.home != CODEX_HOME_ISOLATED:
            raise ValueError(
                "codex.mcp_servers is written into the isolated home: set codex.home: isolated "
                "(or configure the servers in your own CODEX_HOME's config.toml)"
            )
        return self

    @field_validator("approval_policy", mode="before")
    @classmethod
    def _policy(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        if not isinstance(value, str):
            raise ValueError("must be a Codex AskForApproval value (a string or a map)")
        return value

    @field_validator("turn_sandbox_policy", mode="before")
    @classmethod
    def _turn_policy(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise ValueError(
                "must be a Codex SandboxPolicy map (for example {type: workspaceWrite})"
            )
        return value


# ACP tool-call kinds (`ToolKind` in the protocol schema) and the permission policy's answers.
ACP_TOOL_KINDS = frozenset(
    {
        "read",
        "edit",
        "delete",
        "move",
        "search",
        "execute",
        "think",
        "fetch",
        "switch_mode",
        "other",
    }
)
ACP_PERMISSION_ANSWERS = frozenset({"allow", "ask", "reject"})
DEFAULT_ACP_PERMISSIONS: dict[str, str] = {
    "read": "allow",
    "edit": "allow",
    "search": "allow",
    "execute": "allow",
    "think": "allow",
}


class AcpConfig(_Section):
    """``acp:`` settings of the generic Agent Client Protocol backend (docs/agents/acp.md)."""

    # Required when agent.kind is acp (checked in build_config, which knows the kind).
    command: str | None = None
    turn_timeout_ms: PositiveInt = 3_600_000
    read_timeout_ms: PositiveInt = 30_000
    stall_timeout_ms: StrictishInt = 300_000
    # Answer per tool-call kind to `session/request_permission`; kinds not listed use
    # `default_permission`. `ask` parks the request for a human (reject without a channel).
    permissions: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ACP_PERMISSIONS))
    default_permission: str = "ask"
    # Extra environment for the agent process (after the tracker secrets were stripped).
    env: dict[str, str] = Field(default_factory=dict)
    # Largest output a client terminal keeps when the agent sets no `outputByteLimit`.
    terminal_output_limit_bytes: PositiveInt = 1_048_576

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError("must be a non-empty shell command that starts the ACP agent")
        return value

    @field_validator("permissions", mode="before")
    @classmethod
    def _permissions(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must be a map of tool-call kind to allow, ask or reject")
        out = dict(DEFAULT_ACP_PERMISSIONS)
        for kind, answer in value.items():
            if str(kind) not in ACP_TOOL_KINDS:
                raise ValueError(
                    f"unknown tool-call kind {kind!r} (one of: {', '.join(sorted(ACP_TOOL_KINDS))})"
                )
            out[str(kind)] = _permission_answer(answer)
        return out

    @field_validator("default_permission", mode="before")
    @classmethod
    def _default(cls, value: Any) -> Any:
        return _permission_answer(value)

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must be a map of environment variable names to strings")
        return {str(k): str(v) for k, v in value.items()}


def _permission_answer(value: Any) -> str:
    if not isinstance(value, str) or value not in ACP_PERMISSION_ANSWERS:
        raise ValueError("must be one of allow, ask, reject")
    return value


DEFAULT_CLAUDE_CODE_COMMAND = "claude"
CLAUDE_PERMISSION_MODES = ("default", "acceptEdits", "plan", "dontAsk", "manual", "auto")
CLAUDE_PERMISSION_SKIPPING_ARGS = frozenset(
    {"--dangerously-skip-permissions", "--allow-dangerously-skip-permissions"}
)


def _tool_rules(value: Any) -> Any:
    # A YAML string is one rule; `Bash(git *)` has a space, so never split on whitespace.
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("must be a list of Claude Code permission rules, e.g. [Bash, Read]")
    return [v.strip() for v in value]


ToolRules = Annotated[
    list[str], BeforeValidator(_tool_rules, json_schema_input_type=str | list[str])
]


class ClaudeCodeConfig(_Section):
    """``claude_code:``, read when ``agent.kind: claude_code`` (docs/agents/claude-code.md)."""

    # Kept verbatim: it is a shell command, run as ``bash -lc`` like codex.command.
    command: str = DEFAULT_CLAUDE_CODE_COMMAND
    model: str | None = None
    permission_mode: str = "default"
    # None: Symphony's own rule (Bash, file tools inside the workspace, mcp__symphony__*).
    allowed_tools: ToolRules | None = None
    disallowed_tools: ToolRules = Field(default_factory=list)
    extra_args: list[str] = Field(default_factory=list)
    turn_timeout_ms: PositiveInt = 3_600_000
    read_timeout_ms: PositiveInt = 5_000
    stall_timeout_ms: StrictishInt = 300_000
    sandbox: StrictBool = True
    # Hosts sandboxed commands may reach; empty keeps the network off.
    sandbox_allowed_domains: list[str] = Field(default_factory=list)

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty shell command (default: claude)")
        return value

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError("must be a Claude model name or alias (e.g. sonnet), or omitted")
        return value

    @field_validator("permission_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        if value == "bypassPermissions":
            raise ValueError(
                "bypassPermissions is not supported: it skips Symphony's permission answers "
                "(and claude refuses it as root); use allowed_tools instead"
            )
        if value not in CLAUDE_PERMISSION_MODES:
            raise ValueError(f"must be one of {', '.join(CLAUDE_PERMISSION_MODES)}")
        return value

    @field_validator("extra_args", "sandbox_allowed_domains", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError("must be a list of non-empty strings")
        return value

    @field_validator("extra_args")
    @classmethod
    def _no_permission_skipping(cls, value: list[str]) -> list[str]:
        skipping = [a for a in value if a.split("=", 1)[0] in CLAUDE_PERMISSION_SKIPPING_ARGS]
        if skipping:
            raise ValueError(
                f"{', '.join(skipping)} is not supported: Symphony answers claude's permission "
                "questions itself (use allowed_tools)"
            )
        return value


SANDBOX_KINDS: tuple[str, ...] = ("none", "bwrap")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?$")


def host_port(entry: Any) -> str:
    """``host`` or ``host:port`` (``[v6]:port``); a bare host means port 443."""
    if not isinstance(entry, str) or not entry.strip():
        raise ValueError("entries must be non-empty host or host:port strings")
    text = entry.strip()
    default_port = 443
    if "://" in text:
        scheme, text = text.split("://", 1)
        text = text.split("/", 1)[0]
        default_port = 80 if scheme.lower() == "http" else 443
    match = _HOST.match(text)
    if match is None or (match.group(2) is not None and not 0 < int(match.group(2)) < 65536):
        raise ValueError(f"{entry!r} is not host or host:port (e.g. api.example.com:443)")
    return f"{match.group(1).lower()}:{match.group(2) or default_port}"


class SandboxConfig(_Section):
    """``sandbox:``: the namespace every agent process runs in (docs/sandbox.md)."""

    kind: Literal["none", "bwrap"] = "none"
    # Off: the agent reaches only its model endpoint, Symphony's tools and `allowed_hosts`.
    network: StrictBool = False
    # Writable besides the workspace and the backend's own state (resolved like other paths).
    writable: tuple[Path, ...] = ()
    # `host:port` endpoints the agent may reach with the network off, besides the defaults.
    allowed_hosts: tuple[str, ...] = ()
    # Shell command that is bubblewrap (a path, or a name looked up on PATH).
    bwrap: str = "bwrap"

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        if value not in SANDBOX_KINDS:
            raise ValueError(f"must be one of {', '.join(SANDBOX_KINDS)}")
        return value

    @field_validator("writable", mode="before")
    @classmethod
    def _writable(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str | Path):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, Path) or (isinstance(v, str) and v.strip()) for v in value
        ):
            raise ValueError("must be a list of directory paths")
        ctx = info.context or {}
        if "workflow_dir" not in ctx:  # built in code, not from a WORKFLOW.md
            return tuple(Path(v).expanduser() for v in value)
        return tuple(resolve_path_value(str(v), ctx["workflow_dir"], ctx["environ"]) for v in value)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list of host:port strings")
        return tuple(host_port(v) for v in value)

    @field_validator("bwrap", mode="before")
    @classmethod
    def _bwrap(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be the bwrap program (a name on PATH or a path)")
        return value.strip()


class ServerConfig(_Section):
    port: NonNegativeInt | None = None
    host: str = "127.0.0.1"
    access_token: str | None = None

    @field_validator("access_token", mode="before")
    @classmethod
    def _token(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be a string or a $VAR reference")
        ctx = info.context or {}
        resolved = resolve_secret_value(value, ctx.get("environ", os.environ))
        if resolved is not None:
            ctx.setdefault("secret_values", []).append(resolved)
            var = var_reference(value)
            if var:
                ctx.setdefault("secret_env_names", []).append(var)
        return resolved


class LogsConfig(_Section):
    # Applied at startup and on every reload (docs/logging.md).
    format: LogFormat = DEFAULT_LOG_FORMAT

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        allowed = " or ".join(LOG_FORMATS)
        if not isinstance(value, str):
            raise ValueError(f"must be {allowed}")
        norm = value.strip().lower()
        if norm not in LOG_FORMATS:
            raise ValueError(f"must be {allowed}")
        return norm


DEFAULT_STORAGE_PATH = ".symphony/state.sqlite"


class StorageConfig(_Section):
    """Where durable state lives (docs/storage.md); read at startup, a reload does not move it."""

    path: Path

    @field_validator("path", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Any:
        ctx = info.context or {}
        if value is None:
            value = DEFAULT_STORAGE_PATH
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty path string")
        return resolve_path_value(value, ctx["workflow_dir"], ctx["environ"])


def _required_state(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty state name")
    return value.strip()


RequiredState = Annotated[str, BeforeValidator(_required_state)]


class ReviewConfig(_Section):
    """The human's review decision (docs/review.md); names match like every state name."""

    # Where issues wait for a human decision; a decision is refused for an issue elsewhere.
    states: Annotated[tuple[str, ...], BeforeValidator(state_list)] = ("Human Review",)
    approve_state: RequiredState = "Merging"
    rework_state: RequiredState = "Rework"
    # Failed hooks.verify runs that send the issue back to the agent before it reaches review.
    max_verify_retries: NonNegativeInt = 2
    # Post the proof of work on the issue as one comment, updated by later hand-offs.
    post_proof: StrictBool = True

    @field_validator("states")
    @classmethod
    def _states(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one state where issues wait for a review")
        return value

    def in_review(self, state: str) -> bool:
        return normalize_state(state) in {normalize_state(s) for s in self.states}


class WorkerConfig(_Section):
    """SSH worker hosts (docs/workers.md): agents run on these hosts instead of this machine."""

    # Entries as written (``host``, ``host:port``, ``user@host:port``, ``[v6]:port``); each is the
    # ``worker_host`` of the runs placed on it.
    ssh_hosts: tuple[str, ...] = ()
    # Agents at once on one host; unset: no per-host limit (agent.max_concurrent_agents holds).
    max_concurrent_agents_per_host: PositiveInt | None = None
    # How long a host that failed (unreachable, dropped connection) gets no new work.
    host_cooldown_ms: PositiveInt = 60_000
    # ``workspace.root`` as written, for the hosts' shells to expand (``~`` is the remote home);
    # filled from the workspace section, never read from this one.
    remote_root: SkipJsonSchema[str] = Field(default="", exclude=True)

    @field_validator("ssh_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list of hosts (host, host:port, user@host:port)")
        seen: set[str] = set()
        for entry in value:
            if not isinstance(entry, str):
                raise ValueError(f"every entry must be a string (got {entry!r})")
            parse_target(entry)
            if entry in seen:
                raise ValueError(f"{entry!r} is listed twice")
            seen.add(entry)
        return tuple(value)


class ServiceConfig(_Section):
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    polling: PollingConfig = Field(default_factory=PollingConfig)
    workspace: WorkspaceConfig = Field(
        default_factory=lambda: WorkspaceConfig(root=default_workspace_root())
    )
    hooks: HooksConfig = Field(default_factory=HooksConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    codex: CodexConfig = Field(default_factory=CodexConfig)
    acp: AcpConfig = Field(default_factory=AcpConfig)
    claude_code: ClaudeCodeConfig = Field(default_factory=ClaudeCodeConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    logs: LogsConfig = Field(default_factory=LogsConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    storage: StorageConfig = Field(
        default_factory=lambda: StorageConfig(path=Path(DEFAULT_STORAGE_PATH))
    )
    worker: WorkerConfig = Field(default_factory=WorkerConfig)


class LoadedConfig(BaseModel):
    """The typed config plus what building it found worth telling the operator."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

    config: ServiceConfig
    warnings: tuple[str, ...] = ()
    # Secret values and env names seen while resolving config, for log redaction and stripping.
    secret_values: tuple[str, ...] = ()
    secret_env_names: tuple[str, ...] = ()
    # ``config`` with each of agent.variants laid over it, in order (docs/best-of.md).
    variant_configs: tuple[ServiceConfig, ...] = ()

    def for_candidate(self, index: int) -> ServiceConfig:
        """The configuration candidate ``index`` runs with: the variants in turn, else
        ``config``. Only the sections a variant may change are taken from it, so what a
        resolver settled afterwards (the tracker's defaults) holds for every candidate."""
        if not self.variant_configs:
            return self.config
        variant = self.variant_configs[index % len(self.variant_configs)]
        return self.config.model_copy(
            update={section: getattr(variant, section) for section in VARIANT_SECTIONS}
        )


SECTIONS: dict[str, type[_Section]] = {
    "tracker": TrackerConfig,
    "polling": PollingConfig,
    "workspace": WorkspaceConfig,
    "hooks": HooksConfig,
    "agent": AgentConfig,
    "codex": CodexConfig,
    "acp": AcpConfig,
    "claude_code": ClaudeCodeConfig,
    "sandbox": SandboxConfig,
    "server": ServerConfig,
    "logs": LogsConfig,
    "review": ReviewConfig,
    "storage": StorageConfig,
    "worker": WorkerConfig,
}
# Extensions a later version or a sibling tool may own; never warn about them.
EXTENSION_SECTIONS: dict[str, str] = {
    "observability": "owned by other tools; ignored",
    "logging": "ignored; log settings live under logs:",
}
_KNOWN_TOP_LEVEL = set(SECTIONS) | set(EXTENSION_SECTIONS)


def build_config(
    raw: Mapping[str, Any],
    *,
    workflow_dir: Path,
    environ: Mapping[str, str] | None = None,
    source: str = "WORKFLOW.md",
) -> LoadedConfig:
    """Apply defaults, resolve references, validate. Raises ConfigError naming every bad key."""
    env = os.environ if environ is None else environ
    problems: list[tuple[str, str]] = []
    warnings: list[str] = []
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SECTIONS:
            if key == "logging" and isinstance(value, dict) and "format" in value:
                # Close enough to `logs:` that the operator surely meant it.
                warnings.append("logging: ignored; log settings live under logs: (logs.format)")
            elif key not in _KNOWN_TOP_LEVEL:
                hint = _did_you_mean(key, _KNOWN_TOP_LEVEL)
                if hint:
                    warnings.append(f"{key}: unknown top-level key ignored{hint}")
            continue
        if value is None:
            continue
        if not isinstance(value, dict):
            problems.append((key, f"must be a map of settings (got {_show(key, value)})"))
            continue
        # Null keys take their default, like an absent key.
        section = {str(k): v for k, v in value.items() if v is not None}
        fields = SECTIONS[key].model_fields
        if key == "worker" and "remote_root" in section:
            # A field filled from workspace.root, not a setting (WorkerConfig.remote_root).
            del section["remote_root"]
            warnings.append("worker.remote_root: ignored; hosts use workspace.root as written")
        for sub in section:
            if sub not in fields:
                warnings.append(f"{key}.{sub}: unknown key ignored{_did_you_mean(sub, fields)}")
        cleaned[key] = section
    if problems:
        raise ConfigError(problems, source=source)

    context: dict[str, Any] = {"workflow_dir": workflow_dir, "environ": env, "warnings": warnings}
    if "workspace" not in cleaned or "root" not in cleaned["workspace"]:
        cleaned.setdefault("workspace", {})["root"] = None
    if "storage" not in cleaned or "path" not in cleaned["storage"]:
        # The default is relative to the workflow file, so it is resolved like a set value.
        cleaned.setdefault("storage", {})["path"] = None
    try:
        config = ServiceConfig.model_validate(cleaned, context=context)
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc, cleaned), source=source) from None
    if config.worker.ssh_hosts and config.agent.kind != "codex":
        # Their tracker tools (an MCP endpoint) and ACP's file reads live on this machine.
        raise ConfigError(
            [
                (
                    "agent.kind",
                    f"{config.agent.kind} cannot run on worker.ssh_hosts: only codex runs on SSH "
                    "worker hosts (docs/workers.md); use agent.kind: codex or remove "
                    "worker.ssh_hosts",
                )
            ],
            source=source,
        )
    if config.worker.ssh_hosts and config.sandbox.kind != "none":
        # The sandbox's network bridges and proxy are sockets of this process (docs/sandbox.md).
        raise ConfigError(
            [
                (
                    "sandbox.kind",
                    f"{config.sandbox.kind} does not run on worker.ssh_hosts yet: its network "
                    "bridges live in this process, not on the hosts (docs/sandbox.md); use "
                    "sandbox.kind: none with worker hosts (codex sandboxes its commands itself) "
                    "or remove worker.ssh_hosts",
                )
            ],
            source=source,
        )
    raw_root = (
        raw.get("workspace", {}).get("root") if isinstance(raw.get("workspace"), dict) else None
    )
    remote_root = (
        raw_root.strip()
        if isinstance(raw_root, str) and raw_root.strip()
        else str(config.workspace.root)
    )
    config = config.model_copy(
        update={"worker": config.worker.model_copy(update={"remote_root": remote_root})}
    )
    if config.agent.kind == "acp" and config.acp.command is None:
        raise ConfigError(
            [
                (
                    "acp.command",
                    "required when agent.kind is acp: the shell command that starts the ACP "
                    "agent (for example: codex-acp)",
                )
            ],
            source=source,
        )
    variant_configs = _variant_configs(config, cleaned, context, source)
    return LoadedConfig(
        config=config,
        variant_configs=variant_configs,
        warnings=tuple(context["warnings"]),
        secret_values=tuple(context.get("secret_values", ())),
        secret_env_names=tuple(context.get("secret_env_names", ())),
    )


def _variant_configs(
    config: ServiceConfig, cleaned: Mapping[str, Any], context: dict[str, Any], source: str
) -> tuple[ServiceConfig, ...]:
    """Each variant laid over the sections it names (key by key, one level deep), validated
    like the configuration itself, so a bad override is named where it is written."""
    built: list[ServiceConfig] = []
    for n, variant in enumerate(config.agent.variants):
        merged = dict(cleaned)
        for section, override in variant.items():
            laid = {str(k): v for k, v in override.items() if v is not None}
            merged[section] = {**cleaned.get(section, {}), **laid}
        # The base already warned about what the variants share (no variant section holds a
        # secret: those live in server: and the tracker's settings).
        own: dict[str, Any] = {**context, "warnings": []}
        try:
            built.append(ServiceConfig.model_validate(merged, context=own))
        except ValidationError as exc:
            problems = [
                (f"agent.variants[{n}].{key}", message)
                for key, message in _problems_from(exc, merged)
            ]
            raise ConfigError(problems, source=source) from None
        if built[-1].agent.kind == "acp" and built[-1].acp.command is None:
            raise ConfigError(
                [(f"agent.variants[{n}].agent.kind", "acp needs acp.command set")],
                source=source,
            )
    return tuple(built)


def _problems_from(exc: ValidationError, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        path = ".".join(loc) or "(front matter)"
        msg = str(err["msg"])
        msg = msg.removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        if "input" in err and err["type"] != "missing":
            msg += f" (got {_show(loc[-1] if loc else '', err['input'])})"
        out.append((path, msg))
    return out


def _show(key: str, value: Any) -> str:
    if SECRETISH_KEY.search(key):
        return "<redacted>"
    text = repr(value)
    return clip(text, 80, marker="...")


def _did_you_mean(word: str, choices: Any) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f"; did you mean {match[0]!r}?" if match else ""


def default_workspace_root() -> Path:
    return Path(tempfile.gettempdir()) / "symphony_workspaces"
