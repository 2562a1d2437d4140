"""Which agent backend runs: ``agent.kind`` -> an ``AgentBackend`` (docs/extending/agents.md).

Backends are found through the ``symphony.agents`` entry-point group (the name is the kind, the
value an ``AgentBackend`` instance; ``symphony.plugins`` does the discovery, as for trackers), so
a separately installed package can add one. Tests add fakes with ``register_backend``.

``resolve_agent`` is the load-time check: it runs inside every workflow load and reload, so an
unknown kind is a config error like a YAML error (the last good workflow stays in effect).
"""

from __future__ import annotations

from collections.abc import Mapping

from symphony.agents.base import AgentBackend
from symphony.errors import SymphonyError
from symphony.plugins import (
    PluginContractError,
    PluginError,
    PluginRegistry,
    require_attributes,
)
from symphony.workflow.config import LoadedConfig
from symphony.workflow.errors import ConfigError
from symphony.workflow.loader import WorkflowDefinition

ENTRY_POINT_GROUP = "symphony.agents"
UNSUPPORTED_AGENT_KIND = "unsupported_agent_kind"
BACKEND_LOAD_ERROR = "agent_backend_load_error"

_has_backend_attributes = require_attributes("kind", "start_session", "continuation_prompt")


def _check_backend(kind: str, plugin: object) -> None:
    _has_backend_attributes(kind, plugin)
    if not isinstance(plugin, AgentBackend):
        raise PluginContractError(f"the loaded {type(plugin).__name__} is not an AgentBackend")


BACKENDS: PluginRegistry[AgentBackend] = PluginRegistry(
    ENTRY_POINT_GROUP,
    noun="agent backend",
    setting="agent.kind",
    check=_check_backend,
    error_code=BACKEND_LOAD_ERROR,
)


def register_backend(backend: AgentBackend) -> None:
    """Add or replace a backend under ``backend.kind`` (tests use it for fakes)."""
    BACKENDS.register(backend.kind, backend)


def unregister_backend(kind: str) -> None:
    BACKENDS.unregister(kind)


def installed_kinds() -> list[str]:
    """Every kind that can be selected; listing imports no backend."""
    return BACKENDS.kinds()


def get_backend(kind: str) -> AgentBackend | None:
    """The backend for ``kind``, None when none is installed.

    Raises ``PluginError`` (code ``agent_backend_load_error``) when a package declares ``kind``
    but its backend cannot be imported or is not an ``AgentBackend``; the message names it.
    """
    return BACKENDS.get(kind)


def require_backend(kind: str) -> AgentBackend:
    """``get_backend`` for a kind that was validated at load; raises ``SymphonyError`` if gone."""
    backend = get_backend(kind)
    if backend is None:
        raise SymphonyError(_unknown(kind), code=UNSUPPORTED_AGENT_KIND)
    return backend


def _unknown(kind: str) -> str:
    installed = ", ".join(installed_kinds()) or "none"
    return (
        f"unknown agent kind {kind!r} (installed: {installed}); use one of those or install "
        "the package that provides it"
    )


def resolve_agent(
    loaded: LoadedConfig, definition: WorkflowDefinition, environ: Mapping[str, str]
) -> LoadedConfig:
    """Workflow resolver step: ``agent.kind`` names an installed backend that loads, and so
    does each best-of variant's (``agent.variants[i].agent.kind``, docs/best-of.md): a candidate
    whose backend is missing would otherwise fail only once it is dispatched."""
    _check_kind(loaded.config.agent.kind, "agent.kind", str(definition.path))
    for n, variant in enumerate(loaded.config.agent.variants):
        agent = variant.get("agent")
        if isinstance(agent, Mapping) and "kind" in agent:
            key = f"agent.variants[{n}].agent.kind"
            _check_kind(loaded.variant_configs[n].agent.kind, key, str(definition.path))
    return loaded


def _check_kind(kind: str, key: str, source: str) -> None:
    try:
        backend = get_backend(kind)
    except PluginError as exc:
        message = exc.message.removeprefix("agent.kind: ")
        error = ConfigError([(key, message)], source=source)
        error.code = exc.code
        raise error from exc
    if backend is None:
        error = ConfigError([(key, _unknown(kind))], source=source)
        error.code = UNSUPPORTED_AGENT_KIND
        raise error
