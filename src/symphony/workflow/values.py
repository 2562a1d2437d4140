"""Value rules of the front matter that need no validation library: ``$VAR`` references, paths,
state lists and the ``tracker`` section.

The configuration models (``config.py``) validate with these same functions; commands that read
only the tracker section (``symphony board``) use ``read_tracker_section`` and start without
importing the models' library, which costs more than the rest of such a command.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from symphony.issue import normalize_label
from symphony.workflow.errors import ConfigError

_VAR_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_WHOLE_VAR_REF = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


def var_reference(value: str) -> str | None:
    """The NAME of a value that is exactly ``$NAME`` or ``${NAME}``, else None."""
    match = _WHOLE_VAR_REF.match(value.strip())
    return (match.group(1) or match.group(2)) if match else None


def resolve_secret_value(value: str, environ: Mapping[str, str]) -> str | None:
    """``$VAR`` -> its value; an unset or empty variable means the secret is missing (None)."""
    name = var_reference(value)
    if name is None:
        return value if value.strip() else None
    resolved = environ.get(name, "")
    return resolved if resolved.strip() else None


def resolve_path_value(value: str, base_dir: Path, environ: Mapping[str, str]) -> Path:
    """Expand ``$VAR``/``${VAR}`` then ``~``; relative paths resolve against ``base_dir``."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        resolved = environ.get(name)
        if resolved is None or not resolved.strip():
            raise ValueError(f"refers to ${name}, which is not set in the environment")
        return resolved

    expanded = _VAR_REF.sub(substitute, value.strip())
    path = Path(expanded).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    return Path(os.path.normpath(path))


def state_list(value: Any) -> list[str] | None:
    """A YAML list of state names, trimmed; None stays None (the key takes its default)."""
    if value is None:
        return None
    if isinstance(value, str):
        raise ValueError(
            "must be a YAML list of state names (one per line with '- '), not a single string"
        )
    if not isinstance(value, list):
        raise ValueError("must be a list of state names")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"every state name must be a non-empty string (got {item!r})")
    return [item.strip() for item in value]


def tracker_kind(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string naming a tracker adapter (for example: local)")
    return value.strip() or None


def tracker_provider(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be a map of adapter settings")
    return {str(k): v for k, v in value.items()}


def label_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        raise ValueError("must be a YAML list of label names, not a single string")
    if not isinstance(value, list):
        raise ValueError("must be a list of label names")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"every label must be a string (got {item!r})")
        # A blank label is kept as "" so that it matches no issue (SPEC §5.3.1).
        norm = normalize_label(item)
        if norm not in out:
            out.append(norm)
    return tuple(out)


class TrackerFields(Protocol):
    """What tracker adapters read of the ``tracker`` section (``TrackerSection`` or the model)."""

    @property
    def kind(self) -> str | None: ...

    @property
    def provider(self) -> Mapping[str, Any]: ...

    @property
    def active_states(self) -> tuple[str, ...] | None: ...

    @property
    def terminal_states(self) -> tuple[str, ...] | None: ...


@dataclass(frozen=True, slots=True)
class TrackerSection:
    kind: str | None = None
    provider: dict[str, Any] = field(default_factory=dict)
    required_labels: tuple[str, ...] = ()
    active_states: tuple[str, ...] | None = None
    terminal_states: tuple[str, ...] | None = None


def read_tracker_section(raw: Any, *, source: str) -> TrackerSection:
    """The ``tracker`` section checked by the rules the configuration model applies; raises
    ``ConfigError`` naming ``source`` and every offending ``tracker.<key>``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([("tracker", "must be a map of settings")], source=source)
    problems: list[tuple[str, str]] = []

    def check(key: str, parse: Any) -> Any:
        try:
            return parse(raw.get(key))
        except ValueError as exc:
            problems.append((f"tracker.{key}", str(exc)))
            return None

    kind = check("kind", tracker_kind)
    provider = check("provider", tracker_provider)
    labels = check("required_labels", label_list)
    active = check("active_states", state_list)
    terminal = check("terminal_states", state_list)
    if problems:
        raise ConfigError(problems, source=source)
    return TrackerSection(
        kind=kind,
        provider=provider,
        required_labels=labels,
        active_states=tuple(active) if active is not None else None,
        terminal_states=tuple(terminal) if terminal is not None else None,
    )
