from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from symphony.issue import normalize_state
from symphony.orchestrator.scheduling import scheduler_config
from symphony.pricing import DEFAULT_PRICES, Price
from symphony.workflow.config import LoadedConfig, build_config, resolve_secret_value
from symphony.workflow.errors import ConfigError


def build(raw: dict[str, Any], tmp_path: Path, env: dict[str, str] | None = None) -> LoadedConfig:
    return build_config(raw, workflow_dir=tmp_path, environ=env or {})


def problems(
    raw: dict[str, Any], tmp_path: Path, env: dict[str, str] | None = None
) -> dict[str, str]:
    with pytest.raises(ConfigError) as err:
        build(raw, tmp_path, env)
    assert err.value.code == "invalid_workflow_config"
    return dict(err.value.problems)


def test_defaults_apply_when_optional_values_missing(tmp_path: Path) -> None:
    cfg = build({}, tmp_path).config
    assert cfg.tracker.kind is None
    assert cfg.tracker.provider == {}
    assert cfg.tracker.required_labels == ()
    assert cfg.tracker.active_states is None and cfg.tracker.terminal_states is None
    assert cfg.polling.interval_ms == 30_000
    assert cfg.workspace.root == Path(tempfile.gettempdir()) / "symphony_workspaces"
    assert cfg.hooks.after_create is None and cfg.hooks.before_remove is None
    assert cfg.hooks.timeout_ms == 60_000
    assert cfg.agent.max_concurrent_agents == 10
    assert cfg.agent.max_turns == 20
    assert cfg.agent.max_retry_backoff_ms == 300_000
    assert cfg.agent.max_concurrent_agents_by_state == {}
    assert cfg.codex.command == "codex app-server"
    assert cfg.codex.approval_policy == "never"
    assert cfg.codex.thread_sandbox == "workspace-write"
    assert cfg.codex.turn_sandbox_policy is None
    assert cfg.codex.workspace_git_writable is True
    assert cfg.codex.turn_timeout_ms == 3_600_000
    assert cfg.codex.read_timeout_ms == 5_000
    assert cfg.codex.stall_timeout_ms == 300_000
    assert cfg.server.port is None and cfg.server.host == "127.0.0.1"


def test_null_keys_take_defaults(tmp_path: Path) -> None:
    cfg = build({"polling": {"interval_ms": None}, "agent": None}, tmp_path).config
    assert cfg.polling.interval_ms == 30_000
    assert cfg.agent.max_turns == 20


def test_provider_keys_preserved_verbatim(tmp_path: Path) -> None:
    provider = {"project_slug": "abc", "api_key": "$LINEAR_API_KEY", "future": {"x": [1, 2]}}
    cfg = build({"tracker": {"kind": "linear", "provider": provider}}, tmp_path).config
    assert cfg.tracker.provider == provider
    assert cfg.tracker.kind == "linear"


def test_codex_command_preserved_as_shell_string(tmp_path: Path) -> None:
    command = "codex --config 'model=\"x\"' app-server ~/not-expanded $NOT_EXPANDED"
    assert build({"codex": {"command": command}}, tmp_path).config.codex.command == command


def test_codex_policies_pass_through(tmp_path: Path) -> None:
    codex = {
        "approval_policy": {"granular": {"sandbox_approval": True, "rules": False}},
        "thread_sandbox": "danger-full-access",
        "turn_sandbox_policy": {"type": "workspaceWrite", "networkAccess": True},
        "workspace_git_writable": False,
    }
    cfg = build({"codex": codex}, tmp_path).config.codex
    assert cfg.workspace_git_writable is False
    assert cfg.approval_policy == codex["approval_policy"]
    assert cfg.thread_sandbox == "danger-full-access"
    assert cfg.turn_sandbox_policy == codex["turn_sandbox_policy"]


def test_tilde_expands_in_workspace_root(tmp_path: Path) -> None:
    root = build({"workspace": {"root": "~/ws"}}, tmp_path).config.workspace.root
    assert root == Path.home() / "ws"


def test_relative_root_resolves_against_workflow_dir(tmp_path: Path) -> None:
    root = build({"workspace": {"root": "work/../spaces"}}, tmp_path).config.workspace.root
    assert root == tmp_path / "spaces"


def test_var_in_path_resolves(tmp_path: Path) -> None:
    env = {"WS_ROOT": str(tmp_path / "from-env")}
    root = build({"workspace": {"root": "$WS_ROOT"}}, tmp_path, env).config.workspace.root
    assert root == tmp_path / "from-env"
    nested = build({"workspace": {"root": "${WS_ROOT}/sub"}}, tmp_path, env).config.workspace.root
    assert nested == tmp_path / "from-env" / "sub"


def test_unset_var_in_path_names_key_and_variable(tmp_path: Path) -> None:
    found = problems({"workspace": {"root": "$NOPE_ROOT"}}, tmp_path)
    assert "NOPE_ROOT" in found["workspace.root"]


def test_storage_path_defaults_beside_the_workflow_and_resolves_like_other_paths(
    tmp_path: Path,
) -> None:
    assert build({}, tmp_path).config.storage.path == tmp_path / ".symphony" / "state.sqlite"
    assert build({"storage": {"path": None}}, tmp_path).config.storage.path == (
        tmp_path / ".symphony" / "state.sqlite"
    )
    env = {"STATE_DIR": str(tmp_path / "state")}
    path = build({"storage": {"path": "$STATE_DIR/s.db"}}, tmp_path, env).config.storage.path
    assert path == tmp_path / "state" / "s.db"
    assert build({"storage": {"path": "~/s.db"}}, tmp_path).config.storage.path == (
        Path.home() / "s.db"
    )
    assert build({"storage": {"path": "db/s.db"}}, tmp_path).config.storage.path == (
        tmp_path / "db" / "s.db"
    )
    assert (
        "STATE_NOPE" in problems({"storage": {"path": "$STATE_NOPE/x"}}, tmp_path)["storage.path"]
    )
    assert "non-empty path" in problems({"storage": {"path": " "}}, tmp_path)["storage.path"]


def test_secret_var_resolution_and_empty_means_missing() -> None:
    assert resolve_secret_value("$TOKEN", {"TOKEN": "abc"}) == "abc"
    assert resolve_secret_value("$TOKEN", {"TOKEN": ""}) is None
    assert resolve_secret_value("$TOKEN", {}) is None
    assert resolve_secret_value("literal", {}) == "literal"
    # The legacy `env:NAME` form is a literal, never resolved.
    assert resolve_secret_value("env:TOKEN", {"TOKEN": "abc"}) == "env:TOKEN"


def test_server_token_from_env_is_registered_as_secret(tmp_path: Path) -> None:
    loaded = build(
        {"server": {"access_token": "$API_TOKEN"}}, tmp_path, {"API_TOKEN": "tok-123456"}
    )
    assert loaded.config.server.access_token == "tok-123456"
    assert "tok-123456" in loaded.secret_values
    assert "API_TOKEN" in loaded.secret_env_names


def test_per_state_limits_normalized_and_invalid_ignored(tmp_path: Path) -> None:
    loaded = build(
        {
            "agent": {
                "max_concurrent_agents": 4,
                "max_concurrent_agents_by_state": {
                    "  In Progress ": 2,
                    "Todo": 1,
                    "Rework": 0,
                    "Merging": "three",
                    "Review": -1,
                    "Done": True,
                    "": 3,
                },
            }
        },
        tmp_path,
    )
    agent = loaded.config.agent
    assert agent.max_concurrent_agents_by_state == {"in progress": 2, "todo": 1}
    limits = scheduler_config(loaded.config)
    assert limits.state_limit(normalize_state("IN PROGRESS")) == 2
    assert limits.state_limit(normalize_state("merging")) == 4  # falls back to the global limit
    ignored = [w for w in loaded.warnings if "max_concurrent_agents_by_state" in w]
    assert len(ignored) == 5


def test_required_labels_normalized(tmp_path: Path) -> None:
    cfg = build({"tracker": {"required_labels": [" Bug ", "bug", "Backend"]}}, tmp_path).config
    assert cfg.tracker.required_labels == ("bug", "backend")


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"polling": {"interval_ms": "5s"}}, "polling.interval_ms", "'5s'"),
        ({"polling": {"interval_ms": 0}}, "polling.interval_ms", "greater than 0"),
        ({"agent": {"max_turns": -1}}, "agent.max_turns", "greater than 0"),
        ({"agent": {"max_concurrent_agents": True}}, "agent.max_concurrent_agents", "true/false"),
        ({"agent": {"max_retry_backoff_ms": 1.5}}, "agent.max_retry_backoff_ms", "integer"),
        ({"hooks": {"timeout_ms": "never"}}, "hooks.timeout_ms", "'never'"),
        ({"hooks": {"after_create": ["git clone"]}}, "hooks.after_create", "shell script"),
        ({"codex": {"command": "   "}}, "codex.command", "non-empty"),
        ({"codex": {"read_timeout_ms": 0}}, "codex.read_timeout_ms", "greater than 0"),
        ({"codex": {"turn_sandbox_policy": "workspaceWrite"}}, "codex.turn_sandbox_policy", "map"),
        ({"codex": {"workspace_git_writable": "no"}}, "codex.workspace_git_writable", "boolean"),
        ({"tracker": {"active_states": "Todo, In Progress"}}, "tracker.active_states", "list"),
        ({"tracker": {"kind": 3}}, "tracker.kind", "string"),
        ({"server": {"port": -1}}, "server.port", "greater than or equal to 0"),
        ({"polling": "fast"}, "polling", "map"),
    ],
)
def test_invalid_values_name_key_and_value(
    tmp_path: Path, raw: dict[str, Any], key: str, fragment: str
) -> None:
    found = problems(raw, tmp_path)
    assert key in found, found
    assert fragment in found[key]


def test_every_bad_key_is_reported_at_once(tmp_path: Path) -> None:
    found = problems({"polling": {"interval_ms": -5}, "agent": {"max_turns": "x"}}, tmp_path)
    assert set(found) == {"polling.interval_ms", "agent.max_turns"}


def test_secret_values_never_echoed_in_errors(tmp_path: Path) -> None:
    found = problems({"server": {"access_token": 123456789}}, tmp_path)
    assert "123456789" not in found["server.access_token"]


def test_unknown_keys_ignored_with_typo_hints(tmp_path: Path) -> None:
    loaded = build(
        {
            "agent": {"max_concurent_agents": 3},
            "polling": {"interval": 10},
            "trackr": {"kind": "x"},
            "my_extension": {"anything": 1},
        },
        tmp_path,
    )
    assert loaded.config.agent.max_concurrent_agents == 10
    text = "\n".join(loaded.warnings)
    assert "agent.max_concurent_agents" in text and "'max_concurrent_agents'" in text
    assert "polling.interval" in text
    assert "trackr" in text and "'tracker'" in text
    assert "my_extension" not in text  # extensions may own other top-level keys


def test_worker_section_defaults_to_local_runs(tmp_path: Path) -> None:
    worker = build({}, tmp_path).config.worker
    assert worker.ssh_hosts == ()
    assert worker.max_concurrent_agents_per_host is None
    assert worker.host_cooldown_ms == 60_000
    assert build({"worker": None}, tmp_path).warnings == ()


def test_worker_hosts_keep_their_entries_and_the_raw_workspace_root(tmp_path: Path) -> None:
    loaded = build(
        {
            "worker": {
                "ssh_hosts": ["build-1", "ci@build-2:2222", "[::1]:2200"],
                "max_concurrent_agents_per_host": 2,
                "host_cooldown_ms": 5000,
            },
            "workspace": {"root": "~/workspaces"},
        },
        tmp_path,
    )
    worker = loaded.config.worker
    assert worker.ssh_hosts == ("build-1", "ci@build-2:2222", "[::1]:2200")
    assert worker.max_concurrent_agents_per_host == 2
    assert worker.host_cooldown_ms == 5000
    assert worker.remote_root == "~/workspaces"
    assert loaded.warnings == ()


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (["bad host"], "invalid host name"),
        (["h:0"], "invalid port"),
        (["::1"], "bare IPv6"),
        (["a", "a"], "listed twice"),
        ([3], "must be a string"),
    ],
)
def test_invalid_worker_hosts_name_the_key(tmp_path: Path, value: Any, needle: str) -> None:
    found = problems({"worker": {"ssh_hosts": value}}, tmp_path)
    assert list(found) == ["worker.ssh_hosts"]
    assert needle in found["worker.ssh_hosts"]


def test_worker_per_host_cap_must_be_positive(tmp_path: Path) -> None:
    found = problems({"worker": {"max_concurrent_agents_per_host": 0}}, tmp_path)
    assert list(found) == ["worker.max_concurrent_agents_per_host"]


@pytest.mark.parametrize("kind", ["claude_code", "acp"])
def test_agents_other_than_codex_are_refused_on_worker_hosts(tmp_path: Path, kind: str) -> None:
    front: dict[str, Any] = {"worker": {"ssh_hosts": ["build-1"]}, "agent": {"kind": kind}}
    if kind == "acp":
        front["acp"] = {"command": "codex-acp"}
    found = problems(front, tmp_path)
    assert list(found) == ["agent.kind"]
    assert "worker.ssh_hosts" in found["agent.kind"]


def test_logs_format_defaults_to_logfmt_and_accepts_json(tmp_path: Path) -> None:
    assert build({}, tmp_path).config.logs.format == "logfmt"
    assert build({"logs": None}, tmp_path).config.logs.format == "logfmt"
    assert build({"logs": {"format": "json"}}, tmp_path).config.logs.format == "json"
    assert build({"logs": {"format": " JSON "}}, tmp_path).config.logs.format == "json"


@pytest.mark.parametrize("value", ["xml", "", 3, ["json"]])
def test_invalid_logs_format_names_the_key_and_the_choices(tmp_path: Path, value: Any) -> None:
    found = problems({"logs": {"format": value}}, tmp_path)
    assert list(found) == ["logs.format"]
    assert found["logs.format"].startswith("must be logfmt or json (got ")


def test_logs_typos_and_a_logging_section_are_pointed_out(tmp_path: Path) -> None:
    loaded = build({"logs": {"fromat": "json"}}, tmp_path)
    assert loaded.config.logs.format == "logfmt"
    assert any("logs.fromat" in w and "'format'" in w for w in loaded.warnings)
    (warning,) = build({"logging": {"format": "json"}}, tmp_path).warnings
    assert warning.startswith("logging: ignored") and "logs.format" in warning
    assert build({"logging": {"level": "debug"}}, tmp_path).warnings == ()


def test_review_defaults_and_matching(tmp_path: Path) -> None:
    review = build({}, tmp_path).config.review
    assert review.states == ("Human Review",)
    assert (review.approve_state, review.rework_state) == ("Merging", "Rework")
    assert review.in_review(" human REVIEW ") and not review.in_review("Human Reviewed")
    custom = build(
        {
            "review": {
                "states": [" QA ", "Review"],
                "approve_state": " Ship ",
                "rework_state": "Redo",
            }
        },
        tmp_path,
    ).config.review
    assert custom.states == ("QA", "Review") and custom.in_review("qa")
    assert (custom.approve_state, custom.rework_state) == ("Ship", "Redo")


def test_reset_states_default_to_none_and_match_like_state_names(tmp_path: Path) -> None:
    assert build({}, tmp_path).config.workspace.reset_states == ()
    unset = build({"workspace": {"reset_states": None}}, tmp_path).config.workspace
    assert unset.reset_states == ()
    workspace = build({"workspace": {"reset_states": [" Rework "]}}, tmp_path).config.workspace
    assert workspace.reset_states == ("Rework",)
    assert workspace.resets_in("rework") and not workspace.resets_in("Human Review")
    found = problems({"workspace": {"reset_states": "Rework"}}, tmp_path)
    assert "list" in found["workspace.reset_states"]


def test_bad_review_settings_name_the_key(tmp_path: Path) -> None:
    found = problems(
        {"review": {"states": "Human Review", "approve_state": " ", "rework_state": 3}}, tmp_path
    )
    assert set(found) == {"review.states", "review.approve_state", "review.rework_state"}
    assert "list" in found["review.states"]
    assert "review.states" in problems({"review": {"states": []}}, tmp_path)


def test_claude_code_defaults_and_values(tmp_path: Path) -> None:
    cfg = build({}, tmp_path).config.claude_code
    assert (cfg.command, cfg.model, cfg.permission_mode) == ("claude", None, "default")
    assert cfg.allowed_tools is None and cfg.disallowed_tools == [] and cfg.extra_args == []
    assert (cfg.turn_timeout_ms, cfg.read_timeout_ms, cfg.stall_timeout_ms) == (
        3_600_000,
        5_000,
        300_000,
    )
    assert cfg.sandbox is True and cfg.sandbox_allowed_domains == []
    raw = {
        "agent": {"kind": "claude_code"},
        "claude_code": {
            "command": "npx claude --debug",
            "model": "sonnet",
            "permission_mode": "acceptEdits",
            "allowed_tools": "Bash(git *)",
            "disallowed_tools": ["WebFetch"],
            "extra_args": ["--max-budget-usd", "5"],
            "stall_timeout_ms": 0,
            "sandbox": False,
            "sandbox_allowed_domains": ["pypi.org"],
        },
    }
    loaded = build(raw, tmp_path).config
    cfg = loaded.claude_code
    assert cfg.command == "npx claude --debug" and cfg.allowed_tools == ["Bash(git *)"]
    assert cfg.sandbox is False and cfg.sandbox_allowed_domains == ["pypi.org"]
    # The selected backend's stall timeout is the one the scheduler uses.
    assert scheduler_config(loaded).stall_timeout_ms == 0
    assert scheduler_config(loaded).agent_kind == "claude_code"


def test_claude_code_bad_values_name_the_key(tmp_path: Path) -> None:
    found = problems(
        {
            "claude_code": {
                "command": " ",
                "permission_mode": "bypassPermissions",
                "allowed_tools": [1],
                "sandbox": "yes",
                "turn_timeout_ms": 0,
                "extra_args": "--x",
            }
        },
        tmp_path,
    )
    assert set(found) >= {
        "claude_code.command",
        "claude_code.permission_mode",
        "claude_code.allowed_tools",
        "claude_code.sandbox",
        "claude_code.turn_timeout_ms",
        "claude_code.extra_args",
    }
    assert "bypassPermissions is not supported" in found["claude_code.permission_mode"]
    skipping = problems(
        {"claude_code": {"extra_args": ["--dangerously-skip-permissions"]}}, tmp_path
    )
    assert "--dangerously-skip-permissions is not supported" in skipping["claude_code.extra_args"]


def test_prices_extend_and_override_the_default_table(tmp_path: Path) -> None:
    raw = {
        "agent": {
            "prices": {
                "claude-opus-5-5": {"input": 5, "cached_input": 0.5, "output": 25},
                "my-model": {"input": 1.5, "output": 6},
            }
        }
    }
    prices = scheduler_config(build(raw, tmp_path).config).prices
    assert prices["claude-opus-5-5"] == Price(5.0, 0.5, 25.0)
    assert prices["my-model"] == Price(1.5, 1.5, 6.0)  # unset cached_input: the input price
    assert prices["gpt-6.1-sol"] == DEFAULT_PRICES["gpt-6.1-sol"]  # the rest stay
    assert scheduler_config(build({}, tmp_path).config).prices == DEFAULT_PRICES


def test_bad_prices_name_the_model_and_the_field(tmp_path: Path) -> None:
    found = problems(
        {
            "agent": {
                "prices": {
                    "a": {"input": -1, "output": 2},
                    "b": {"input": 1},
                    "c": {"input": 1, "output": 2, "cache": 3},
                    "d": {"input": True, "output": 1},
                }
            }
        },
        tmp_path,
    )
    assert set(found) == {
        "agent.prices.a.input",
        "agent.prices.b.output",
        "agent.prices.c.cache",
        "agent.prices.d.input",
    }
    assert "agent.prices" in problems({"agent": {"prices": "cheap"}}, tmp_path)


def test_cost_budgets_are_positive_dollar_amounts(tmp_path: Path) -> None:
    loaded = build({"agent": {"max_cost_usd_per_issue": 2.5}}, tmp_path)
    assert scheduler_config(loaded.config).hold_limits["agent.max_cost_usd_per_issue"] == 2.5
    assert (
        scheduler_config(build({}, tmp_path).config).hold_limits["agent.max_cost_usd_per_issue"]
        is None
    )
    for bad in (0, -1, True, "lots"):
        found = problems({"agent": {"max_cost_usd_per_issue": bad}}, tmp_path)
        assert set(found) == {"agent.max_cost_usd_per_issue"}


def test_best_of_defaults_to_one_candidate_without_variants_or_judge(tmp_path: Path) -> None:
    loaded = build({}, tmp_path)
    agent = loaded.config.agent
    assert (agent.best_of, agent.variants, agent.judge) == (1, (), False)
    assert agent.candidate_max_retries == 2
    assert loaded.for_candidate(3) is loaded.config


def test_variants_lay_their_overrides_over_the_sections_in_turn(tmp_path: Path) -> None:
    loaded = build(
        {
            "codex": {"command": "codex app-server", "turn_timeout_ms": 1000},
            "agent": {
                "best_of": 3,
                "judge": True,
                "max_turns": 7,
                "variants": [
                    {"codex": {"command": "codex -m other app-server"}},
                    {"agent": {"kind": "claude_code", "max_turns": 2}},
                ],
            },
        },
        tmp_path,
    )
    first, second, third = (loaded.for_candidate(i) for i in range(3))
    assert first.codex.command == "codex -m other app-server" and first.agent.max_turns == 7
    assert first.codex.turn_timeout_ms == 1000
    assert second.agent.kind == "claude_code" and second.agent.max_turns == 2
    assert second.codex.command == "codex app-server"
    assert third == first
    assert loaded.config.codex.command == "codex app-server"
    assert not any("best_of" in w for w in loaded.warnings)


@pytest.mark.parametrize(
    ("agent", "key", "says"),
    [
        ({"best_of": 0}, "agent.best_of", "greater than or equal to 1"),
        ({"best_of": 27}, "agent.best_of", "less than or equal to 26"),
        ({"best_of": True}, "agent.best_of", "not true/false"),
        ({"judge": "yes"}, "agent.judge", "boolean"),
        ({"candidate_max_retries": -1}, "agent.candidate_max_retries", "greater than or equal"),
        ({"candidate_max_retries": 21}, "agent.candidate_max_retries", "less than or equal to 20"),
        ({"candidate_max_retries": "two"}, "agent.candidate_max_retries", "integer"),
        (
            {"variants": [{"agent": {"candidate_max_retries": 5}}]},
            "agent.variants",
            "agent.candidate_max_retries is the same for every candidate",
        ),
        ({"variants": {"codex": {}}}, "agent.variants", "must be a list of overrides"),
        ({"variants": ["x"]}, "agent.variants", "entry 0 must be a map"),
        ({"variants": [{"hooks": {}}]}, "agent.variants", "'hooks' cannot vary"),
        ({"variants": [{"codex": "m"}]}, "agent.variants", "codex must be a map"),
        ({"variants": [{"agent": {"best_of": 2}}]}, "agent.variants", "agent.best_of is the same"),
        (
            {"variants": [{"codex": {}}, {"agent": {"max_turns": 0}}]},
            "agent.variants[1].agent.max_turns",
            "greater than 0",
        ),
        (
            {"variants": [{"agent": {"kind": "acp"}}]},
            "agent.variants[0].agent.kind",
            "acp.command",
        ),
    ],
)
def test_bad_best_of_settings_name_the_key(
    tmp_path: Path, agent: dict[str, Any], key: str, says: str
) -> None:
    found = problems({"agent": agent}, tmp_path)
    assert key in found and says in found[key], found


def test_the_bwrap_sandbox_is_refused_on_worker_hosts(tmp_path: Path) -> None:
    raw = {"worker": {"ssh_hosts": ["worker-a"]}, "sandbox": {"kind": "bwrap"}}
    with pytest.raises(ConfigError) as caught:
        build_config(raw, workflow_dir=tmp_path, environ={})
    assert "sandbox.kind: bwrap does not run on worker.ssh_hosts yet" in str(caught.value)
    ok = build_config({**raw, "sandbox": {"kind": "none"}}, workflow_dir=tmp_path, environ={})
    assert ok.config.worker.ssh_hosts == ("worker-a",)


def test_worker_remote_root_is_not_a_setting(tmp_path: Path) -> None:
    raw = {"workspace": {"root": "~/ws"}, "worker": {"ssh_hosts": ["a"], "remote_root": "/x"}}
    loaded = build_config(raw, workflow_dir=tmp_path, environ={})
    assert loaded.config.worker.remote_root == "~/ws"
    assert "worker.remote_root: ignored; hosts use workspace.root as written" in loaded.warnings
