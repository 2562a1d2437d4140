"""``tracker.provider`` for ``kind: linear``: parsing, defaults and validation (SPEC §5.3.1, §11.2).

Errors name the exact key (``tracker.provider.project_slug``) and say what to write instead. Secret
values never appear in a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from symphony.trackers.base import MISSING_TRACKER_SECRET, TrackerConfigError
from symphony.trackers.settings_rules import endpoint_url, positive_int_schema, secret_schema
from symphony.workflow.config import TrackerConfig
from symphony.workflow.values import resolve_secret_value, var_reference

KIND = "linear"
DEFAULT_ENDPOINT = "https://api.linear.app/graphql"
DEFAULT_API_KEY_ENV = "LINEAR_API_KEY"
DEFAULT_REQUEST_TIMEOUT_MS = 30_000
DEFAULT_ACTIVE_STATES = ("Todo", "In Progress")
DEFAULT_TERMINAL_STATES = ("Closed", "Cancelled", "Canceled", "Duplicate", "Done")
ASSIGNEE_ME = "me"
KNOWN_KEYS = (
    "endpoint",
    "api_key",
    "project_slug",
    "assignee",
    "request_timeout_ms",
    "webhook_secret",
)
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")

# `tracker.provider` for editors (`symphony schema`); parse_settings decides.
PROVIDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["project_slug"],
    "properties": {
        "project_slug": {"type": "string", "description": "the project's slug in its Linear URL"},
        "api_key": secret_schema("default: $LINEAR_API_KEY"),
        "endpoint": {"type": "string", "default": DEFAULT_ENDPOINT},
        "assignee": {"type": "string", "description": "a Linear user id or `me`"},
        "request_timeout_ms": positive_int_schema(DEFAULT_REQUEST_TIMEOUT_MS),
        "webhook_secret": secret_schema("the Linear webhook's signing secret"),
    },
}


def _key(name: str) -> str:
    return f"tracker.provider.{name}"


@dataclass(frozen=True, slots=True)
class LinearSettings:
    """The effective Linear configuration one adapter instance is bound to."""

    endpoint: str
    api_key: str | None
    # Where the key comes from: the `$VAR` named in api_key, or LINEAR_API_KEY when omitted.
    api_key_env: str | None
    project_slug: str
    assignee: str | None
    request_timeout_s: float
    active_states: tuple[str, ...]
    terminal_states: tuple[str, ...]
    # The signing secret of the Linear webhook (None: webhooks are off), and the `$VAR` it
    # comes from.
    webhook_secret: str | None = None
    webhook_secret_env: str | None = None

    @property
    def secret_environment_names(self) -> frozenset[str]:
        names = {DEFAULT_API_KEY_ENV}
        for name in (self.api_key_env, self.webhook_secret_env):
            if name:
                names.add(name)
        return frozenset(names)

    @property
    def secret_values(self) -> frozenset[str]:
        return frozenset(s for s in (self.api_key, self.webhook_secret) if s)


def parse_settings(
    tracker: TrackerConfig, environ: Mapping[str, str], *, require_secrets: bool = True
) -> LinearSettings:
    """Resolve and validate ``tracker.provider``; raise ``TrackerConfigError`` naming the key.

    Non-secret keys are checked first, so a missing-secret error means everything else is fine.
    """
    provider = tracker.provider
    endpoint = _endpoint(provider.get("endpoint"))
    project_slug = _project_slug(provider.get("project_slug"))
    assignee = _assignee(provider.get("assignee"), environ)
    timeout_ms = _timeout_ms(provider.get("request_timeout_ms"))
    api_key, api_key_env = _api_key(provider, environ)
    if api_key is not None and not _HEADER_SAFE.fullmatch(api_key):
        # httpx would fail deep inside a request; say what is wrong without showing the value.
        source = f"${api_key_env}" if api_key_env else "the value"
        raise TrackerConfigError(
            _key("api_key"),
            f"{source} contains spaces, line breaks or non-ASCII characters; "
            "use the key exactly as Linear shows it",
        )
    if api_key is None and require_secrets:
        raise TrackerConfigError(
            _key("api_key"),
            _missing_key_message(provider, api_key_env),
            category=MISSING_TRACKER_SECRET,
        )
    webhook_secret, webhook_secret_env = _webhook_secret(
        provider.get("webhook_secret"), environ, require_secrets=require_secrets
    )
    return LinearSettings(
        endpoint=endpoint,
        api_key=api_key,
        api_key_env=api_key_env,
        project_slug=project_slug,
        assignee=assignee,
        request_timeout_s=timeout_ms / 1000,
        active_states=tracker.active_states or DEFAULT_ACTIVE_STATES,
        terminal_states=tracker.terminal_states or DEFAULT_TERMINAL_STATES,
        webhook_secret=webhook_secret,
        webhook_secret_env=webhook_secret_env,
    )


def _endpoint(value: Any) -> str:
    return endpoint_url(
        _key("endpoint"),
        value,
        default=DEFAULT_ENDPOINT,
        problem=f"must be the URL of Linear's GraphQL API (default {DEFAULT_ENDPOINT})",
    )


def _project_slug(value: Any) -> str:
    hint = (
        "the slug of the Linear project to work from, as in its URL "
        "(https://linear.app/<team>/project/<slug>); quote it in YAML"
    )
    if value is None:
        raise TrackerConfigError(_key("project_slug"), f"is required: {hint}")
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(_key("project_slug"), f"must be {hint}; got {value!r}")
    return value.strip()


def _assignee(value: Any, environ: Mapping[str, str]) -> str | None:
    if value is None:
        return None
    hint = "a Linear user id or `me` (the owner of the API key)"
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(_key("assignee"), f"must be {hint}; got {value!r}")
    text = value.strip()
    name = var_reference(text)
    if name is not None:
        resolved = environ.get(name, "").strip()
        if not resolved:
            raise TrackerConfigError(
                _key("assignee"),
                f"refers to ${name}, which is not set; export it or remove the key "
                "to work on issues assigned to anyone",
            )
        text = resolved
    return ASSIGNEE_ME if text.lower() == ASSIGNEE_ME else text


def _timeout_ms(value: Any) -> int:
    if value is None:
        return DEFAULT_REQUEST_TIMEOUT_MS
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TrackerConfigError(
            _key("request_timeout_ms"),
            f"must be a positive number of milliseconds "
            f"(default {DEFAULT_REQUEST_TIMEOUT_MS}); got {value!r}",
        )
    return value


def _api_key(
    provider: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The resolved key (None when missing) and the environment name it comes from."""
    raw = provider.get("api_key")
    if raw is None:
        return resolve_secret_value(f"${DEFAULT_API_KEY_ENV}", environ), DEFAULT_API_KEY_ENV
    if not isinstance(raw, str):
        # Never echo the value: it may be a real key YAML parsed as a number.
        raise TrackerConfigError(
            _key("api_key"), "must be a string: a $VAR reference (recommended) or the key itself"
        )
    name = var_reference(raw)
    resolved = resolve_secret_value(raw, environ)
    return (resolved.strip() if resolved else None), name


def _webhook_secret(
    raw: Any, environ: Mapping[str, str], *, require_secrets: bool
) -> tuple[str | None, str | None]:
    """The resolved signing secret (None: webhooks off) and the environment name it comes from.

    Omitting the key turns webhooks off. A `$VAR` that is unset is an error rather than "off":
    an explicit reference is never silently dropped.
    """
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        # Never echo the value: it may be a real secret YAML parsed as something else.
        raise TrackerConfigError(
            _key("webhook_secret"),
            "must be a string: a $VAR reference (recommended) or the signing secret Linear "
            "shows for the webhook",
        )
    name = var_reference(raw)
    resolved = resolve_secret_value(raw, environ)
    secret = resolved.strip() if resolved else None
    if secret is None and require_secrets:
        where = f"refers to ${name}, which is not set or is empty" if name else "is empty"
        raise TrackerConfigError(
            _key("webhook_secret"),
            f"{where}; export the signing secret Linear shows for the webhook, or remove the "
            "key to turn webhooks off",
            category=MISSING_TRACKER_SECRET,
        )
    return secret, name


def _missing_key_message(provider: Mapping[str, Any], env_name: str | None) -> str:
    raw = provider.get("api_key")
    if raw is None:
        return (
            f"no Linear API key: export {DEFAULT_API_KEY_ENV}, or set api_key to a $VAR "
            "that holds the key (create one at https://linear.app/settings/account/security)"
        )
    if env_name:
        return f"refers to ${env_name}, which is not set or is empty; export the Linear API key"
    return "is empty; set it to a $VAR that holds the Linear API key"
