"""The model endpoints a sandboxed agent may reach by default (docs/sandbox.md, "Network").

Read from the same places the agent reads them: its base-URL variables and, for codex, the
``config.toml`` of its CODEX_HOME (``model_providers.*.base_url``, ``openai_base_url``,
``chatgpt_base_url``). The public API hosts are always allowed; anything else is
``sandbox.allowed_hosts``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from symphony.agents.codex.credentials import codex_home as default_codex_home
from symphony.workflow.config import host_port

OPENAI_HOSTS: Final = ("api.openai.com:443", "chatgpt.com:443", "auth.openai.com:443")
ANTHROPIC_HOSTS: Final = ("api.anthropic.com:443",)
OPENAI_URL_VARS: Final = ("OPENAI_BASE_URL",)
ANTHROPIC_URL_VARS: Final = ("ANTHROPIC_BASE_URL",)


def endpoint(url: str) -> str | None:
    """``host:port`` of a URL (or of ``host[:port]``); None when it is neither."""
    try:
        return host_port(url)
    except ValueError:
        return None


def _from(values: Iterable[Any]) -> list[str]:
    found = [endpoint(v) for v in values if isinstance(v, str) and v.strip()]
    return [e for e in found if e is not None]


def codex_endpoints(env: Mapping[str, str], codex_home: Path | None) -> list[str]:
    """OpenAI's hosts, ``OPENAI_BASE_URL`` and the base URLs in codex's ``config.toml``."""
    urls: list[Any] = [env.get(name) for name in OPENAI_URL_VARS]
    home = codex_home or default_codex_home(env) or Path.home() / ".codex"
    try:
        config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    urls += [config.get("openai_base_url"), config.get("chatgpt_base_url")]
    providers = config.get("model_providers")
    if isinstance(providers, dict):
        urls += [p.get("base_url") for p in providers.values() if isinstance(p, dict)]
    return [*OPENAI_HOSTS, *_from(urls)]


def claude_endpoints(env: Mapping[str, str]) -> list[str]:
    """Anthropic's API host and ``ANTHROPIC_BASE_URL``."""
    return [*ANTHROPIC_HOSTS, *_from(env.get(name) for name in ANTHROPIC_URL_VARS)]


def url_endpoints(urls: Iterable[str]) -> list[str]:
    """``host:port`` of each URL that has one (e.g. Symphony's MCP tool endpoint)."""
    return _from(urls)


def agent_url_endpoints(env: Mapping[str, str]) -> list[str]:
    """``OPENAI_BASE_URL`` and ``ANTHROPIC_BASE_URL`` when set (for agents of unknown make)."""
    return _from(env.get(name) for name in (*OPENAI_URL_VARS, *ANTHROPIC_URL_VARS))
