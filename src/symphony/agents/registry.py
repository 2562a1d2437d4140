"""Which agent backend runs: ``agent.kind`` -> an ``AgentBackend`` (docs/extending/agents.md).

Backends are found through the ``symphony.agents`` entry-point group (the name is the kind, the
value an ``AgentBackend`` instance), so a separately installed package can add one. Codex is
built in: it is found even when the installed package metadata predates the entry point (an
editable checkout that was not reinstalled). Tests add fakes with ``register_backend``.

``resolve_agent`` is the load-time check: it runs inside every workflow load and reload, so an
unknown kind is a config error like a YAML error (the last good workflow stays in effect).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points

from symphony.agents.base import AgentBackend
from symphony.errors import SymphonyError
from symphony.workflow.config import LoadedConfig
from symphony.workflow.errors import ConfigError
from symphony.workflow.loader import WorkflowDefinition

ENTRY_POINT_GROUP = "symphony.agents"
UNSUPPORTED_AGENT_KIND = "unsupported_agent_kind"
# Shipped with Symphony: module:attribute, used when no entry point of that name is installed.
_BUILTIN: dict[str, str] = {"codex": "symphony.agents.codex:BACKEND"}
_registered: dict[str, AgentBackend] = {}
_loaded: dict[str, AgentBackend] = {}


class BackendLoadError(SymphonyError):
    code = "agent_backend_load_error"


def register_backend(backend: AgentBackend) -> None:
    """Add or replace a backend under ``backend.kind`` (tests use it for fakes)."""
    _registered[backend.kind] = backend


def unregister_backend(kind: str) -> None:
    _registered.pop(kind, None)


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)  # the first distribution wins, like pip's order
    return found


def installed_kinds() -> list[str]:
    """Every kind that can be selected; listing imports no backend."""
    return sorted(set(_registered) | set(_entry_points()) | set(_BUILTIN))


def get_backend(kind: str) -> AgentBackend | None:
    """The backend for ``kind``, None when none is installed.

    Raises ``BackendLoadError`` when one is installed but cannot be imported or is not an
    ``AgentBackend`` for that kind.
    """
    if kind in _registered:
        return _registered[kind]
    if kind in _loaded:
        return _loaded[kind]
    entry = _entry_points().get(kind)
    target = entry.value if entry is not None else _BUILTIN.get(kind)
    if target is None:
        return None
    try:
        backend = entry.load() if entry is not None else _load(target)
    except Exception as exc:
        raise BackendLoadError(
            f"the agent backend {kind!r} ({target}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(backend, AgentBackend) or getattr(backend, "kind", None) != kind:
        raise BackendLoadError(
            f"the agent backend {kind!r} ({target}) is not an AgentBackend of kind {kind!r}"
        )
    _loaded[kind] = backend
    return backend


def _load(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def require_backend(kind: str) -> AgentBackend:
    """``get_backend`` for a kind that was validated at load; raises ``SymphonyError`` if gone."""
    backend = get_backend(kind)
    if backend is None:
        raise SymphonyError(_unknown(kind), code=UNSUPPORTED_AGENT_KIND)
    return backend


def _unknown(kind: str) -> str:
    installed = ", ".join(installed_kinds()) or "none"
    return f"unknown agent kind {kind!r} (installed: {installed})"


def resolve_agent(
    loaded: LoadedConfig, definition: WorkflowDefinition, environ: Mapping[str, str]
) -> LoadedConfig:
    """Workflow resolver step: ``agent.kind`` names an installed backend that loads."""
    kind = loaded.config.agent.kind
    try:
        backend = get_backend(kind)
    except BackendLoadError as exc:
        error = ConfigError([("agent.kind", exc.message)], source=str(definition.path))
        error.code = exc.code
        raise error from exc
    if backend is None:
        error = ConfigError([("agent.kind", _unknown(kind))], source=str(definition.path))
        error.code = UNSUPPORTED_AGENT_KIND
        raise error
    return loaded
