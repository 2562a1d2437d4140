"""tracker.provider validation for kind: local, profile defaults, and the example workflow."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from symphony.trackers import get_profile
from symphony.trackers.base import TrackerAdapter, TrackerConfigError
from symphony.trackers.local import PROFILE, LocalAdapter
from symphony.trackers.local.locate import settings_for_workflow
from symphony.trackers.local.settings import DEFAULT_STATES, BoardSettings
from symphony.trackers.resolve import resolve_tracker
from symphony.validate import validate_command
from symphony.workflow.config import TrackerConfig
from symphony.workflow.errors import ConfigError
from symphony.workflow.store import load_workflow_file
from symphony.workflow.values import read_tracker_section

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "local" / "WORKFLOW.md"


def tracker(**fields: object) -> TrackerConfig:
    return TrackerConfig.model_validate({"kind": "local", **fields})


def validate(tmp_path: Path, fields: dict[str, object]) -> None:
    PROFILE.validate(tracker(**fields), workflow_dir=tmp_path, environ={})


def test_registry_loads_the_local_profile() -> None:
    profile = get_profile("local")
    assert profile is PROFILE
    assert profile.default_active_states == ("Todo", "In Progress", "Merging", "Rework")
    assert profile.default_terminal_states == ("Done", "Cancelled")


def test_create_builds_an_adapter_with_defaults_and_no_side_effects(tmp_path: Path) -> None:
    adapter = PROFILE.create(tracker(), workflow_dir=tmp_path, environ={})
    assert isinstance(adapter, LocalAdapter)
    assert isinstance(adapter, TrackerAdapter)
    assert adapter.settings.db_path == tmp_path / ".symphony" / "board.sqlite"
    assert adapter.settings.states == DEFAULT_STATES
    assert adapter.settings.prefix == "SYM"
    assert adapter.secret_environment_names() == frozenset()
    assert adapter.secret_values() == frozenset()
    # Construction and validation never create the board; the first read does.
    assert not (tmp_path / ".symphony").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("boards/main.sqlite", "boards/main.sqlite"),
        ("../elsewhere/b.sqlite", "../elsewhere/b.sqlite"),
        ("$BOARD_DIR/b.sqlite", "from-env/b.sqlite"),
    ],
)
def test_path_resolves_relative_to_the_workflow_dir(
    tmp_path: Path, value: str, expected: str
) -> None:
    env = {"BOARD_DIR": str(tmp_path / "from-env")}
    adapter = PROFILE.create(
        tracker(provider={"path": value}), workflow_dir=tmp_path / "wf", environ=env
    )
    base = tmp_path if expected.startswith("from-env") else tmp_path / "wf"
    assert adapter.settings.db_path == (base / expected).resolve()


def test_path_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    adapter = PROFILE.create(
        tracker(provider={"path": "~/b.sqlite"}), workflow_dir=tmp_path, environ={}
    )
    assert adapter.settings.db_path == tmp_path / "home" / "b.sqlite"


@pytest.mark.parametrize(
    ("fields", "key", "fragment"),
    [
        ({"provider": {"prefx": "A"}}, "tracker.provider.prefx", "did you mean 'prefix'"),
        ({"provider": {"path": ""}}, "tracker.provider.path", "non-empty path"),
        ({"provider": {"path": 3}}, "tracker.provider.path", "non-empty path"),
        ({"provider": {"path": "$NOPE/x"}}, "tracker.provider.path", "$NOPE"),
        ({"provider": {"prefix": "1AB"}}, "tracker.provider.prefix", "starting with a letter"),
        ({"provider": {"prefix": "A-B"}}, "tracker.provider.prefix", "letters or digits"),
        ({"provider": {"states": "Todo"}}, "tracker.provider.states", "YAML list"),
        ({"provider": {"states": []}}, "tracker.provider.states", "non-empty"),
        ({"provider": {"states": ["Todo", " "]}}, "tracker.provider.states", "non-empty string"),
        ({"provider": {"states": ["Todo", "todo"]}}, "tracker.provider.states", "repeats"),
        ({"provider": {"default_state": "Doing"}}, "tracker.provider.default_state", "Doing"),
        (
            {"provider": {"url_template": "http://x/{slug}"}},
            "tracker.provider.url_template",
            "{slug}",
        ),
        ({"provider": {"url_template": "http://x/{"}}, "tracker.provider.url_template", "valid"),
        ({"provider": {"assignee": ""}}, "tracker.provider.assignee", "non-empty"),
        ({"active_states": ["Todo", "Doing"]}, "tracker.active_states", "'Doing' is not a state"),
        ({"terminal_states": ["Closed"]}, "tracker.terminal_states", "'Closed' is not a state"),
        (
            {"active_states": ["Todo"], "terminal_states": ["todo", "Done"]},
            "tracker.terminal_states",
            "both active and terminal",
        ),
    ],
)
def test_bad_provider_values_name_the_key(
    tmp_path: Path, fields: dict[str, object], key: str, fragment: str
) -> None:
    with pytest.raises(TrackerConfigError) as info:
        validate(tmp_path, fields)
    assert info.value.key == key
    assert fragment in info.value.message


def test_custom_states_prefix_and_url(tmp_path: Path) -> None:
    adapter = PROFILE.create(
        tracker(
            provider={
                "prefix": "WEB",
                "states": ["Open", "Doing", "Review", "Closed"],
                "default_state": "open",
                "url_template": "http://127.0.0.1:4000/issues/{identifier}?n={number}",
            },
            active_states=["Doing"],
            terminal_states=["Closed"],
        ),
        workflow_dir=tmp_path,
        environ={},
    )
    s = adapter.settings
    assert s.prefix == "WEB"
    assert s.default_state == "Open"
    assert s.follow_up_state() == "Open"
    assert s.url_for(identifier="WEB-1", id="x", number=1) == (
        "http://127.0.0.1:4000/issues/WEB-1?n=1"
    )


def test_default_state_falls_back_to_the_first_state_without_todo(tmp_path: Path) -> None:
    adapter = PROFILE.create(
        tracker(
            provider={"states": ["Open", "Closed"]},
            active_states=["Open"],
            terminal_states=["Closed"],
        ),
        workflow_dir=tmp_path,
        environ={},
    )
    assert adapter.settings.default_state == "Open"
    assert adapter.settings.follow_up_state() is None


def test_meta_round_trip_and_garbage_fallback(tmp_path: Path) -> None:
    s = BoardSettings(
        db_path=tmp_path / "b.sqlite",
        prefix="ABC",
        states=("A", "B"),
        default_state="A",
        active_states=("A",),
        terminal_states=("B",),
    )
    assert BoardSettings.from_meta(s.db_path, s.to_meta()) == s
    assert BoardSettings.from_meta(s.db_path, {"states": "nope"}) == BoardSettings(
        db_path=s.db_path
    )
    assert BoardSettings.from_meta(s.db_path, None) == BoardSettings(db_path=s.db_path)


def test_workflow_load_applies_defaults_and_rejects_bad_provider(
    write_workflow: Callable[..., Path],
) -> None:
    path = write_workflow("tracker:\n  kind: local\n")
    workflow = load_workflow_file(path, environ={}, resolver=resolve_tracker)
    assert workflow.config.tracker.active_states == ("Todo", "In Progress", "Merging", "Rework")
    assert workflow.config.tracker.terminal_states == ("Done", "Cancelled")

    bad = write_workflow("tracker:\n  kind: local\n  provider:\n    prefix: 9\n", name="bad.md")
    with pytest.raises(ConfigError) as info:
        load_workflow_file(bad, environ={}, resolver=resolve_tracker)
    assert "tracker.provider.prefix" in info.value.message
    assert str(bad) in info.value.message


def test_example_workflow_validates() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = validate_command(str(EXAMPLE), out=out, err=err)
    assert code == 0, err.getvalue()
    assert "tracker          local" in out.getvalue()
    workflow = load_workflow_file(EXAMPLE, environ={}, resolver=resolve_tracker)
    config = workflow.config
    assert config.server.port == 4000
    assert config.codex.command == "${SYMPHONY_CODEX_BIN:-codex} app-server"
    assert config.workspace.root == EXAMPLE.parent / ".symphony" / "workspaces"
    assert config.hooks.after_create is not None and "git init" in config.hooks.after_create
    for tool in ("board_move_issue", "board_upsert_workpad", "Human Review"):
        assert tool in workflow.definition.prompt_template


def test_the_board_reads_its_tracker_section_by_the_model_rules(
    write_workflow: Callable[..., Path],
) -> None:
    # `symphony board` checks the section without the configuration models; the service's
    # model must agree with it, key by key.
    path = write_workflow(
        "tracker:\n  kind: ' local '\n  active_states: [' Todo ']\n"
        "  required_labels: [' Bot ', bot]\n  provider:\n    prefix: ABC\n"
    )
    settings = settings_for_workflow(path)
    assert settings.prefix == "ABC" and settings.active_states == ("Todo",)
    model = load_workflow_file(path, environ={}, resolver=resolve_tracker).config.tracker
    section = read_tracker_section(
        {
            "kind": " local ",
            "active_states": [" Todo "],
            "required_labels": [" Bot ", "bot"],
            "provider": {"prefix": "ABC"},
        },
        source="x",
    )
    assert (section.kind, section.active_states, section.required_labels) == (
        model.kind,
        model.active_states,
        model.required_labels,
    )

    bad = write_workflow(
        "tracker:\n  kind: 3\n  active_states: Todo\n  provider: [1]\n", name="bad.md"
    )
    with pytest.raises(ConfigError) as info:
        settings_for_workflow(bad)
    message = info.value.message
    assert str(bad) in message
    for key in ("tracker.kind", "tracker.active_states", "tracker.provider"):
        assert key in message
    with pytest.raises(ConfigError) as info:
        read_tracker_section(["local"], source="flow.md")
    assert "tracker" in info.value.message and "flow.md" in info.value.message
