"""``tracker.provider`` for ``kind: local``: keys, defaults and their validation.

Every problem raises ``TrackerConfigError`` naming the exact key, so ``symphony validate`` and the
reload path show it like a YAML error (SPEC §6.3).
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symphony.issue import normalize_state
from symphony.trackers.base import TrackerConfigError
from symphony.workflow.values import TrackerFields, resolve_path_value

KIND = "local"
DEFAULT_DB_PATH = ".symphony/board.sqlite"
DEFAULT_PREFIX = "SYM"
# The reference workflow's status map, in board order.
DEFAULT_STATES: tuple[str, ...] = (
    "Backlog",
    "Todo",
    "In Progress",
    "Human Review",
    "Rework",
    "Merging",
    "Done",
    "Cancelled",
)
DEFAULT_ACTIVE_STATES: tuple[str, ...] = ("Todo", "In Progress", "Merging", "Rework")
DEFAULT_TERMINAL_STATES: tuple[str, ...] = ("Done", "Cancelled")
PROVIDER_KEYS = ("path", "prefix", "states", "default_state", "url_template", "assignee")
URL_FIELDS = ("identifier", "id", "number")
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,9}$")
_PROVIDER = "tracker.provider"
# `tracker.provider` for editors (`symphony schema`); settings_from_tracker decides.
PROVIDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "default": DEFAULT_DB_PATH},
        "prefix": {"type": "string", "pattern": _PREFIX.pattern, "default": DEFAULT_PREFIX},
        "states": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "default_state": {"type": "string", "default": "Todo"},
        "url_template": {
            "type": "string",
            "description": "e.g. http://host/issues/{identifier}; fields: "
            + ", ".join("{" + f + "}" for f in URL_FIELDS),
        },
        "assignee": {"type": "string"},
    },
}


@dataclass(frozen=True, slots=True)
class BoardSettings:
    """Everything the store, adapter and CLI need to know about one board."""

    db_path: Path
    prefix: str = DEFAULT_PREFIX
    states: tuple[str, ...] = DEFAULT_STATES
    default_state: str = "Todo"
    active_states: tuple[str, ...] = DEFAULT_ACTIVE_STATES
    terminal_states: tuple[str, ...] = DEFAULT_TERMINAL_STATES
    url_template: str | None = None
    assignee: str | None = None

    def canonical_state(self, name: str) -> str | None:
        """The board's spelling of ``name`` (matched trimmed and case-insensitively), or None."""
        wanted = normalize_state(name)
        return next((s for s in self.states if normalize_state(s) == wanted), None)

    def is_active(self, state: str) -> bool:
        return normalize_state(state) in {normalize_state(s) for s in self.active_states}

    def is_terminal(self, state: str) -> bool:
        return normalize_state(state) in {normalize_state(s) for s in self.terminal_states}

    def follow_up_state(self) -> str | None:
        """Where agent-created issues land by default: Backlog, else the first idle state."""
        backlog = self.canonical_state("Backlog")
        if backlog is not None:
            return backlog
        return next(
            (s for s in self.states if not self.is_active(s) and not self.is_terminal(s)), None
        )

    def url_for(self, *, identifier: str, id: str, number: int) -> str | None:
        if self.url_template is None:
            return None
        return self.url_template.format(identifier=identifier, id=id, number=number)

    def to_meta(self) -> dict[str, Any]:
        """What the database remembers, so ``symphony board --db`` works without the workflow."""
        return {
            "prefix": self.prefix,
            "states": list(self.states),
            "default_state": self.default_state,
            "active_states": list(self.active_states),
            "terminal_states": list(self.terminal_states),
            "url_template": self.url_template,
            "assignee": self.assignee,
        }

    @classmethod
    def from_meta(cls, db_path: Path, meta: Mapping[str, Any] | None) -> BoardSettings:
        """Settings a board last ran with; anything unusable falls back to the defaults."""
        if not meta:
            return cls(db_path=db_path)
        fallback = cls(db_path=db_path)
        try:
            return parse_settings(
                {k: meta.get(k) for k in PROVIDER_KEYS if k != "path"},
                db_path=db_path,
                active_states=_tuple_or(meta.get("active_states"), fallback.active_states),
                terminal_states=_tuple_or(meta.get("terminal_states"), fallback.terminal_states),
            )
        except TrackerConfigError:
            return fallback


def _tuple_or(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(value)
    return default


def settings_from_tracker(
    tracker: TrackerFields, *, workflow_dir: Path, environ: Mapping[str, str]
) -> BoardSettings:
    provider = tracker.provider
    unknown = [k for k in provider if k not in PROVIDER_KEYS]
    if unknown:
        key = unknown[0]
        match = difflib.get_close_matches(key, PROVIDER_KEYS, n=1, cutoff=0.6)
        hint = f"did you mean {match[0]!r}? " if match else ""
        raise TrackerConfigError(
            f"{_PROVIDER}.{key}",
            f"unknown key for the local board; {hint}known keys: {', '.join(PROVIDER_KEYS)}",
        )
    db_path = _db_path(provider.get("path"), workflow_dir, environ)
    return parse_settings(
        provider,
        db_path=db_path,
        active_states=tracker.active_states or DEFAULT_ACTIVE_STATES,
        terminal_states=tracker.terminal_states or DEFAULT_TERMINAL_STATES,
    )


def parse_settings(
    provider: Mapping[str, Any],
    *,
    db_path: Path,
    active_states: Sequence[str],
    terminal_states: Sequence[str],
) -> BoardSettings:
    prefix = _prefix(provider.get("prefix"))
    states = _states(provider.get("states"))
    probe = BoardSettings(db_path=db_path, states=states)
    for key, names in (("active_states", active_states), ("terminal_states", terminal_states)):
        for name in names:
            if probe.canonical_state(name) is None:
                raise TrackerConfigError(
                    f"tracker.{key}",
                    f"{name!r} is not a state of the local board (board states: "
                    f"{', '.join(states)}); add it to {_PROVIDER}.states or remove it here",
                )
    overlap = {normalize_state(s) for s in active_states} & {
        normalize_state(s) for s in terminal_states
    }
    if overlap:
        raise TrackerConfigError(
            "tracker.terminal_states",
            f"{sorted(overlap)[0]!r} is listed as both active and terminal; pick one",
        )
    default_state = _default_state(provider.get("default_state"), probe)
    return BoardSettings(
        db_path=db_path,
        prefix=prefix,
        states=states,
        default_state=default_state,
        active_states=tuple(active_states),
        terminal_states=tuple(terminal_states),
        url_template=_url_template(provider.get("url_template")),
        assignee=_assignee(provider.get("assignee")),
    )


def _db_path(value: Any, workflow_dir: Path, environ: Mapping[str, str]) -> Path:
    if value is None:
        return workflow_dir / DEFAULT_DB_PATH
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(
            f"{_PROVIDER}.path",
            f"must be a non-empty path to the board's SQLite file (default {DEFAULT_DB_PATH}, "
            "relative to the workflow's directory)",
        )
    try:
        return resolve_path_value(value, workflow_dir, environ)
    except ValueError as exc:
        raise TrackerConfigError(f"{_PROVIDER}.path", str(exc)) from None


def _prefix(value: Any) -> str:
    if value is None:
        return DEFAULT_PREFIX
    if not isinstance(value, str) or not _PREFIX.match(value.strip()):
        raise TrackerConfigError(
            f"{_PROVIDER}.prefix",
            f"must be 1-10 letters or digits starting with a letter, like SYM (got {value!r})",
        )
    return value.strip()


def _states(value: Any) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_STATES
    key = f"{_PROVIDER}.states"
    if not isinstance(value, list) or not value:
        raise TrackerConfigError(key, "must be a non-empty YAML list of state names, in order")
    seen: dict[str, str] = {}
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise TrackerConfigError(key, f"every state must be a non-empty string (got {item!r})")
        norm = normalize_state(item)
        if norm in seen:
            raise TrackerConfigError(
                key, f"{item!r} repeats {seen[norm]!r} (states compare ignoring case)"
            )
        seen[norm] = item.strip()
    return tuple(seen.values())


def _default_state(value: Any, probe: BoardSettings) -> str:
    if value is None:
        return probe.canonical_state("Todo") or probe.states[0]
    key = f"{_PROVIDER}.default_state"
    if not isinstance(value, str) or probe.canonical_state(value) is None:
        raise TrackerConfigError(
            key, f"{value!r} is not a board state (board states: {', '.join(probe.states)})"
        )
    return probe.canonical_state(value) or value


def _url_template(value: Any) -> str | None:
    if value is None:
        return None
    key = f"{_PROVIDER}.url_template"
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(key, "must be a string such as http://host/issues/{identifier}")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError as exc:
        raise TrackerConfigError(key, f"is not a valid template: {exc}") from None
    for name in fields:
        if name not in URL_FIELDS:
            allowed = ", ".join("{" + f + "}" for f in URL_FIELDS)
            raise TrackerConfigError(key, f"unknown placeholder {{{name}}}; use {allowed}")
    return value.strip()


def _assignee(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(
            f"{_PROVIDER}.assignee",
            "must be a non-empty string; only issues assigned to it are dispatched",
        )
    return value.strip()
