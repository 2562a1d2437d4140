"""``tracker.provider`` for ``kind: github``: parsing, defaults and validation (SPEC §5.3.1, §11.2).

Errors name the exact key (``tracker.provider.repository``) and say what to write instead. Secret
values never appear in a message. docs/trackers/github.md documents every key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symphony.issue import normalize_state
from symphony.trackers.base import MISSING_TRACKER_SECRET, TrackerConfigError
from symphony.trackers.github.app_auth import load_private_key
from symphony.trackers.settings_rules import endpoint_url, positive_int_schema, secret_schema
from symphony.workflow.config import TrackerConfig
from symphony.workflow.values import resolve_path_value, resolve_secret_value, var_reference

KIND = "github"
DEFAULT_ENDPOINT = "https://api.github.com/graphql"
# Looked up in this order when api_key is omitted; both are removed from every child's
# environment whatever the configuration says (the `gh` CLI reads either).
TOKEN_ENV_NAMES = ("GITHUB_TOKEN", "GH_TOKEN")
DEFAULT_REQUEST_TIMEOUT_MS = 30_000
DEFAULT_STATUS_FIELD = "Status"
DEFAULT_LABEL_PREFIX = "status: "
CLOSED_STATE = "Closed"
NO_STATUS_STATE = "No Status"
BACKLOG_STATE = "Backlog"
DEFAULT_ACTIVE_STATES = ("Todo", "In Progress")
DEFAULT_TERMINAL_STATES = ("Done", CLOSED_STATE)
KNOWN_KEYS = (
    "repository",
    "project_owner",
    "project_number",
    "status_field",
    "priority_field",
    "state_label_prefix",
    "endpoint",
    "api_key",
    "request_timeout_ms",
    "app_id",
    "private_key_path",
    "installation_id",
    "webhook_secret",
)
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_APP_KEYS = ("app_id", "private_key_path", "installation_id")
_ID_OR_VAR = {"type": ["integer", "string"], "description": "a number or a $VAR that holds one"}
# `tracker.provider` for editors (`symphony schema`); parse_settings decides.
PROVIDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["repository"],
    "properties": {
        "repository": {"type": "string", "description": "owner/name of the issues' repository"},
        "project_owner": {"type": "string", "description": "login owning the Projects board"},
        "project_number": {"type": "integer", "exclusiveMinimum": 0},
        "status_field": {"type": "string", "default": DEFAULT_STATUS_FIELD},
        "priority_field": {"type": "string"},
        "state_label_prefix": {"type": "string", "default": DEFAULT_LABEL_PREFIX},
        "endpoint": {"type": "string", "default": DEFAULT_ENDPOINT},
        "api_key": secret_schema("default: $GITHUB_TOKEN or $GH_TOKEN"),
        "request_timeout_ms": positive_int_schema(DEFAULT_REQUEST_TIMEOUT_MS),
        "app_id": _ID_OR_VAR,
        "private_key_path": {"type": "string"},
        "installation_id": _ID_OR_VAR,
        "webhook_secret": secret_schema("the GitHub webhook's secret"),
    },
}


def _key(name: str) -> str:
    return f"tracker.provider.{name}"


@dataclass(frozen=True, slots=True)
class GitHubApp:
    """GitHub App credentials (``app_id``, ``private_key_path``, ``installation_id``)."""

    app_id: int
    private_key_path: Path
    installation_id: int
    # The PEM text, once read; None while the file is missing (a request then fails as a
    # missing secret). Never in a repr.
    private_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    """The effective GitHub configuration one adapter instance is bound to."""

    endpoint: str
    api_key: str | None
    # Where the token comes from: the `$VAR` named in api_key, or the first of TOKEN_ENV_NAMES.
    api_key_env: str | None
    owner: str
    repo: str
    project_owner: str | None
    project_number: int | None
    status_field: str
    priority_field: str | None
    state_label_prefix: str
    request_timeout_s: float
    active_states: tuple[str, ...]
    terminal_states: tuple[str, ...]
    app: GitHubApp | None = None
    webhook_secret: str | None = None
    webhook_secret_env: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def uses_project(self) -> bool:
        return self.project_owner is not None and self.project_number is not None

    @property
    def secret_environment_names(self) -> frozenset[str]:
        names = set(TOKEN_ENV_NAMES)
        for name in (self.api_key_env, self.webhook_secret_env):
            if name:
                names.add(name)
        return frozenset(names)

    @property
    def uses_app(self) -> bool:
        return self.api_key is None and self.app is not None

    @property
    def secret_values(self) -> frozenset[str]:
        key = self.app.private_key if self.app is not None else None
        return frozenset(s for s in (self.api_key, self.webhook_secret, key) if s)


def parse_settings(
    tracker: TrackerConfig,
    environ: Mapping[str, str],
    *,
    workflow_dir: Path | None = None,
    require_secrets: bool = True,
) -> GitHubSettings:
    """Resolve and validate ``tracker.provider``; raise ``TrackerConfigError`` naming the key.

    Non-secret keys are checked first, so a missing-secret error means everything else is fine.
    """
    provider = tracker.provider
    endpoint = _endpoint(provider.get("endpoint"))
    owner, repo = _repository(provider.get("repository"))
    project_owner, project_number = _project(provider)
    status_field = _field_name(provider.get("status_field"), "status_field", DEFAULT_STATUS_FIELD)
    priority_field = _optional_field_name(provider.get("priority_field"))
    prefix = _label_prefix(provider.get("state_label_prefix"))
    timeout_ms = _timeout_ms(provider.get("request_timeout_ms"))
    app = _app(provider, environ, workflow_dir or Path.cwd(), require_secrets=require_secrets)
    api_key, api_key_env = _api_key(provider, environ)
    if app is not None:
        if provider.get("api_key") is not None:
            raise TrackerConfigError(
                _key("api_key"),
                "is set together with app_id, private_key_path and installation_id; keep "
                "either the token or the GitHub App, not both",
            )
        # An exported GITHUB_TOKEN does not override the App the workflow names.
        api_key, api_key_env = None, None
    if api_key is not None and not _HEADER_SAFE.fullmatch(api_key):
        # httpx would fail deep inside a request; say what is wrong without showing the value.
        source = f"${api_key_env}" if api_key_env else "the value"
        raise TrackerConfigError(
            _key("api_key"),
            f"{source} contains spaces, line breaks or non-ASCII characters; "
            "use the token exactly as GitHub shows it",
        )
    if api_key is None and app is None and require_secrets:
        raise TrackerConfigError(
            _key("api_key"),
            _missing_key_message(provider, api_key_env),
            category=MISSING_TRACKER_SECRET,
        )
    webhook_secret, webhook_secret_env = _webhook_secret(
        provider.get("webhook_secret"), environ, require_secrets=require_secrets
    )
    terminal = tracker.terminal_states or DEFAULT_TERMINAL_STATES
    if normalize_state(CLOSED_STATE) not in {normalize_state(s) for s in terminal}:
        # A closed issue is finished whatever its board says: Closed is always terminal.
        terminal = (*terminal, CLOSED_STATE)
    return GitHubSettings(
        endpoint=endpoint,
        api_key=api_key,
        api_key_env=api_key_env,
        owner=owner,
        repo=repo,
        project_owner=project_owner,
        project_number=project_number,
        status_field=status_field,
        priority_field=priority_field,
        state_label_prefix=prefix,
        request_timeout_s=timeout_ms / 1000,
        active_states=tracker.active_states or DEFAULT_ACTIVE_STATES,
        terminal_states=terminal,
        app=app,
        webhook_secret=webhook_secret,
        webhook_secret_env=webhook_secret_env,
    )


def _endpoint(value: Any) -> str:
    return endpoint_url(
        _key("endpoint"),
        value,
        default=DEFAULT_ENDPOINT,
        problem=(
            f"must be the URL of GitHub's GraphQL API (default {DEFAULT_ENDPOINT}; GitHub "
            "Enterprise Server: https://<host>/api/graphql)"
        ),
    )


def _repository(value: Any) -> tuple[str, str]:
    hint = "the repository whose issues Symphony works on, as owner/name (e.g. acme/app)"
    if value is None:
        raise TrackerConfigError(_key("repository"), f"is required: {hint}")
    if not isinstance(value, str):
        raise TrackerConfigError(_key("repository"), f"must be {hint}; got {value!r}")
    owner, slash, name = value.strip().partition("/")
    if not slash or not _LOGIN.match(owner) or not _REPO_NAME.match(name) or name in (".", ".."):
        raise TrackerConfigError(_key("repository"), f"must be {hint}; got {value!r}")
    return owner, name


def _project(provider: Mapping[str, Any]) -> tuple[str | None, int | None]:
    owner, number = provider.get("project_owner"), provider.get("project_number")
    if owner is None and number is None:
        return None, None
    if owner is None:
        raise TrackerConfigError(
            _key("project_owner"),
            "is required with project_number: the organization or user login that owns the "
            "board (as in https://github.com/orgs/<owner>/projects/<number>)",
        )
    if number is None:
        raise TrackerConfigError(
            _key("project_number"),
            "is required with project_owner: the board's number, as in its URL "
            "(https://github.com/orgs/<owner>/projects/<number>)",
        )
    if not isinstance(owner, str) or not _LOGIN.match(owner.strip()):
        raise TrackerConfigError(
            _key("project_owner"),
            f"must be an organization or user login (letters, digits, '-'); got {owner!r}",
        )
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise TrackerConfigError(
            _key("project_number"),
            f"must be a positive whole number (the board's number in its URL); got {number!r}",
        )
    return owner.strip(), number


def _field_name(value: Any, key: str, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(
            _key(key),
            f"must be the name of a field of the board (default {default!r}); got {value!r}",
        )
    return value.strip()


def _optional_field_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(
            _key("priority_field"),
            "must be the name of a number or single-select field of the board, or be omitted; "
            f"got {value!r}",
        )
    return value.strip()


def _label_prefix(value: Any) -> str:
    if value is None:
        return DEFAULT_LABEL_PREFIX
    # Not trimmed: the space in the default `status: ` is part of every label name.
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(
            _key("state_label_prefix"),
            f"must be the text state labels start with (default {DEFAULT_LABEL_PREFIX!r}, "
            f"so `status: Todo` means Todo); got {value!r}",
        )
    return value


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


def _app(
    provider: Mapping[str, Any],
    environ: Mapping[str, str],
    workflow_dir: Path,
    *,
    require_secrets: bool,
) -> GitHubApp | None:
    present = [k for k in _APP_KEYS if provider.get(k) is not None]
    if not present:
        return None
    missing = [k for k in _APP_KEYS if k not in present]
    if missing:
        raise TrackerConfigError(
            _key(missing[0]),
            f"is required with {', '.join(present)}: a GitHub App needs app_id, "
            "private_key_path and installation_id together",
        )
    ids = {k: _positive_id(provider[k], k, environ) for k in ("app_id", "installation_id")}
    raw_path = provider["private_key_path"]
    if not isinstance(raw_path, str) or not raw_path.strip():
        raise TrackerConfigError(
            _key("private_key_path"),
            f"must be the path of the App's private key (.pem); got {raw_path!r}",
        )
    path = resolve_path_value(raw_path.strip(), workflow_dir, environ)
    if not path.is_file():
        if require_secrets:
            raise TrackerConfigError(
                _key("private_key_path"),
                f"{path} is not a file; download the App's private key (.pem) from its settings",
                category=MISSING_TRACKER_SECRET,
            )
        return GitHubApp(ids["app_id"], path, ids["installation_id"])
    return GitHubApp(ids["app_id"], path, ids["installation_id"], load_private_key(path))


def _positive_id(value: Any, key: str, environ: Mapping[str, str]) -> int:
    number: Any = value
    if isinstance(value, str):
        name = var_reference(value)
        text = (environ.get(name, "") if name else value).strip()
        number = int(text) if text.isdigit() else text
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise TrackerConfigError(
            _key(key), f"must be a positive whole number (or a $VAR that holds one); got {value!r}"
        )
    return number


def _api_key(
    provider: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The resolved token (None when missing) and the environment name it comes from."""
    raw = provider.get("api_key")
    if raw is None:
        for name in TOKEN_ENV_NAMES:
            resolved = resolve_secret_value(f"${name}", environ)
            if resolved:
                return resolved.strip(), name
        return None, TOKEN_ENV_NAMES[0]
    if not isinstance(raw, str):
        # Never echo the value: it may be a real token YAML parsed as something else.
        raise TrackerConfigError(
            _key("api_key"), "must be a string: a $VAR reference (recommended) or the token itself"
        )
    value = resolve_secret_value(raw, environ)
    return (value.strip() if value else None), var_reference(raw)


def _webhook_secret(
    raw: Any, environ: Mapping[str, str], *, require_secrets: bool
) -> tuple[str | None, str | None]:
    """The resolved webhook secret (None: not configured) and the environment name it comes
    from. A `$VAR` that is unset is an error: an explicit reference is never silently dropped."""
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        raise TrackerConfigError(
            _key("webhook_secret"),
            "must be a string: a $VAR reference (recommended) or the webhook's secret",
        )
    name = var_reference(raw)
    resolved = resolve_secret_value(raw, environ)
    secret = resolved.strip() if resolved else None
    if secret is None and require_secrets:
        where = f"refers to ${name}, which is not set or is empty" if name else "is empty"
        raise TrackerConfigError(
            _key("webhook_secret"),
            f"{where}; export the secret set on the GitHub webhook, or remove the key",
            category=MISSING_TRACKER_SECRET,
        )
    return secret, name


def _missing_key_message(provider: Mapping[str, Any], env_name: str | None) -> str:
    if provider.get("api_key") is None:
        return (
            "no GitHub token: export GITHUB_TOKEN (or GH_TOKEN), or set api_key to a $VAR that "
            "holds a token with the repo and project scopes "
            "(https://github.com/settings/tokens)"
        )
    if env_name:
        return f"refers to ${env_name}, which is not set or is empty; export the GitHub token"
    return "is empty; set it to a $VAR that holds the GitHub token"
