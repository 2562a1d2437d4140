"""Trackers are found through the ``symphony.trackers`` entry points (symphony.plugins)."""

from __future__ import annotations

import importlib.metadata
import io
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from symphony.plugins import PLUGIN_LOAD_FAILED, PluginError, PluginRegistry, require_attributes
from symphony.service import create_adapter
from symphony.trackers import (
    ENTRY_POINT_GROUP,
    TRACKERS,
    get_profile,
    register_profile,
    supported_kinds,
    unregister_profile,
)
from symphony.trackers.base import UNSUPPORTED_TRACKER_KIND
from symphony.trackers.resolve import resolve_tracker
from symphony.validate import validate_command
from symphony.workflow.store import load_workflow_file
from tests.support.memory_tracker import MemoryAdapter, MemoryProfile

EntryPoint = importlib.metadata.EntryPoint

# What tests.trackers.test_registry:<name> entry points load.
GOOD_PLUGIN = MemoryProfile(kind="good")
NOT_A_PROFILE = object()
WRONG_KIND = MemoryProfile(kind="something-else")

InstallDist = Callable[..., Path]


@pytest.fixture
def install_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallDist]:
    """Install a third-party-style distribution: a module plus a dist-info with entry points.

    It goes on sys.path the way site-packages is, so ``importlib.metadata`` finds it for real.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def install(name: str, entry_points: dict[str, str], module: str, source: str) -> Path:
        dist_info = site / f"{name.replace('-', '_')}-1.2.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.0\n", encoding="utf-8"
        )
        lines = [f"{kind} = {value}" for kind, value in entry_points.items()]
        (dist_info / "entry_points.txt").write_text(
            f"[{ENTRY_POINT_GROUP}]\n" + "\n".join(lines) + "\n", encoding="utf-8"
        )
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        modules.append(module)
        return dist_info

    yield install
    for module in modules:
        sys.modules.pop(module, None)


ACME_SOURCE = """
    from tests.support.memory_tracker import MemoryProfile

    PROFILE = MemoryProfile(kind="acme", default_active_states=("Open",))
"""
BROKEN_SOURCE = """
    import symphony_test_dependency_that_is_not_installed  # noqa: F401

    PROFILE = None
"""


# ---- the built-in trackers ----------------------------------------------------------------


def test_builtin_trackers_are_declared_entry_points() -> None:
    declared = {
        ep.name: ep.value for ep in importlib.metadata.entry_points(group="symphony.trackers")
    }
    assert declared["local"] == "symphony.trackers.local:PROFILE"
    assert declared["linear"] == "symphony.trackers.linear:PROFILE"
    [symphony] = {ep.dist.name for ep in TRACKERS.entry_points()["local"] if ep.dist is not None}
    assert symphony == "symphony-orchestrator"
    assert {"local", "linear"} <= set(supported_kinds())


def test_agent_backends_group_is_declared() -> None:
    # Declared only: loading it is the agent registry's business.
    agents = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="symphony.agents")}
    assert agents["codex"] == "symphony.agents.codex:BACKEND"


def test_listing_kinds_imports_no_adapter() -> None:
    code = (
        "import sys\n"
        "from symphony.trackers import supported_kinds\n"
        "print(','.join(supported_kinds()))\n"
        "print(sorted(m for m in sys.modules if m.startswith('symphony.trackers.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    kinds, imported = result.stdout.splitlines()
    assert {"local", "linear"} <= set(kinds.split(","))
    assert imported == "['symphony.trackers.base']"


def test_declared_profiles_load_on_demand_once() -> None:
    from symphony.trackers.linear import PROFILE as LINEAR
    from symphony.trackers.local import PROFILE as LOCAL

    assert get_profile("local") is LOCAL
    assert get_profile("linear") is LINEAR
    assert get_profile("linear") is LINEAR
    assert get_profile("no-such-tracker") is None


def test_registered_profiles_shadow_and_unregister_restores() -> None:
    from symphony.trackers.local import PROFILE as LOCAL

    fake_local = MemoryProfile(kind="local")
    register_profile(fake_local)
    try:
        assert get_profile("local") is fake_local
    finally:
        unregister_profile("local")
    assert get_profile("local") is LOCAL
    register_profile(MemoryProfile(kind="only-registered"))
    try:
        assert "only-registered" in supported_kinds()
    finally:
        unregister_profile("only-registered")
    assert "only-registered" not in supported_kinds()
    unregister_profile("never-registered")  # no error


# ---- third-party packages -----------------------------------------------------------------


def test_a_third_party_tracker_is_found_and_used(
    install_dist: InstallDist, write_workflow: Callable[..., Path]
) -> None:
    install_dist(
        "acme-symphony-tracker", {"acme": "acme_tracker:PROFILE"}, "acme_tracker", ACME_SOURCE
    )
    assert "acme" in supported_kinds()
    assert "acme_tracker" not in sys.modules  # listed, not imported
    profile = get_profile("acme")
    assert isinstance(profile, MemoryProfile) and profile.kind == "acme"
    assert get_profile("acme") is profile
    # Selecting it in a workflow goes through the same registry, defaults included.
    path = write_workflow("tracker:\n  kind: acme")
    workflow = load_workflow_file(path, environ={}, resolver=resolve_tracker)
    assert list(workflow.config.tracker.active_states or ()) == ["Open"]
    assert isinstance(create_adapter(workflow), MemoryAdapter)


def test_a_broken_tracker_gives_a_clear_error_and_hides_nothing(install_dist: InstallDist) -> None:
    install_dist(
        "acme-broken-tracker", {"broken": "acme_broken:PROFILE"}, "acme_broken", BROKEN_SOURCE
    )
    assert {"broken", "local", "linear"} <= set(supported_kinds())
    with pytest.raises(PluginError) as info:
        get_profile("broken")
    message = info.value.message
    assert info.value.code == UNSUPPORTED_TRACKER_KIND
    assert message.startswith("tracker.kind: tracker kind 'broken' could not be loaded")
    assert "'broken = acme_broken:PROFILE' (group symphony.trackers)" in message
    assert "from package acme-broken-tracker 1.2.0" in message
    assert "ModuleNotFoundError" in message
    assert "symphony_test_dependency_that_is_not_installed" in message
    assert "Reinstall or upgrade that package" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    # Other trackers are unaffected.
    assert get_profile("local") is not None
    assert get_profile("linear") is not None


def test_a_broken_tracker_is_reported_by_validate(
    install_dist: InstallDist, write_workflow: Callable[..., Path]
) -> None:
    install_dist(
        "acme-broken-tracker", {"broken": "acme_broken:PROFILE"}, "acme_broken", BROKEN_SOURCE
    )
    path = write_workflow("tracker:\n  kind: broken")
    out, err = io.StringIO(), io.StringIO()
    assert validate_command(str(path), out=out, err=err) == 1
    assert f"not valid [{UNSUPPORTED_TRACKER_KIND}]" in err.getvalue()
    assert "acme-broken-tracker 1.2.0" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_an_entry_point_that_is_not_a_profile_is_rejected(install_dist: InstallDist) -> None:
    install_dist(
        "acme-odd-tracker",
        {"odd": "acme_odd:PROFILE", "misnamed": "acme_odd:MISNAMED"},
        "acme_odd",
        """
        from tests.support.memory_tracker import MemoryProfile

        PROFILE = object()
        MISNAMED = MemoryProfile(kind="other")
        """,
    )
    with pytest.raises(PluginError) as info:
        get_profile("odd")
    assert "tracker kind 'odd' is not usable" in info.value.message
    assert "has no kind, default_active_states" in info.value.message
    assert "acme-odd-tracker 1.2.0" in info.value.message
    with pytest.raises(PluginError, match="says its kind is 'other', not 'misnamed'"):
        get_profile("misnamed")


def test_a_kind_declared_twice_names_both_packages(install_dist: InstallDist) -> None:
    install_dist("acme-one", {"twice": "acme_one:PROFILE"}, "acme_one", ACME_SOURCE)
    install_dist("acme-two", {"twice": "acme_two:PROFILE"}, "acme_two", ACME_SOURCE)
    assert supported_kinds().count("twice") == 1
    with pytest.raises(PluginError) as info:
        get_profile("twice")
    assert "declared by more than one package" in info.value.message
    assert "acme-one 1.2.0" in info.value.message and "acme-two 1.2.0" in info.value.message
    assert "acme_one" not in sys.modules and "acme_two" not in sys.modules


# ---- the generic registry (shared with agent backends) ------------------------------------


def fake_registry(*entry_points: EntryPoint) -> PluginRegistry[MemoryProfile]:
    def discover(group: str) -> list[EntryPoint]:
        return [ep for ep in entry_points if ep.group == group]

    return PluginRegistry(
        "example.plugins",
        noun="widget",
        setting="widget.kind",
        check=require_attributes("kind", "create"),
        discover=discover,
    )


def ep(name: str, value: str, group: str = "example.plugins") -> EntryPoint:
    return EntryPoint(name=name, value=value, group=group)


def test_registry_loads_fake_entry_points_lazily() -> None:
    registry = fake_registry(
        ep("good", "tests.trackers.test_registry:GOOD_PLUGIN"),
        ep("broken", "tests.trackers.no_such_module:PLUGIN"),
        ep("elsewhere", "tests.trackers.test_registry:GOOD_PLUGIN", group="other.group"),
    )
    assert registry.kinds() == ["broken", "good"]
    assert registry.get("good") is GOOD_PLUGIN
    assert registry.get("elsewhere") is None
    with pytest.raises(PluginError) as info:
        registry.get("broken")
    assert info.value.code == PLUGIN_LOAD_FAILED
    assert info.value.message.startswith("widget.kind: widget kind 'broken' could not be loaded")
    assert "'broken = tests.trackers.no_such_module:PLUGIN' (group example.plugins)" in (
        info.value.message
    )
    assert "choose another widget.kind" in info.value.message
    # A failed load is not remembered as a success, and does not stick to other kinds.
    with pytest.raises(PluginError):
        registry.get("broken")
    assert registry.get("good") is GOOD_PLUGIN


def test_registry_checks_what_it_loaded() -> None:
    registry = fake_registry(
        ep("thing", "tests.trackers.test_registry:NOT_A_PROFILE"),
        ep("wrong", "tests.trackers.test_registry:WRONG_KIND"),
        ep("missing-attr", "tests.trackers.test_registry:NO_SUCH_ATTRIBUTE"),
    )
    with pytest.raises(PluginError, match=r"the loaded object has no kind, create"):
        registry.get("thing")
    with pytest.raises(PluginError, match="kind is 'something-else', not 'wrong'"):
        registry.get("wrong")
    with pytest.raises(PluginError, match="failed with AttributeError"):
        registry.get("missing-attr")


def test_registry_registration_works_without_entry_points() -> None:
    registry = fake_registry(ep("good", "tests.trackers.test_registry:GOOD_PLUGIN"))
    mine = MemoryProfile(kind="mine")
    registry.register("mine", mine)
    assert registry.kinds() == ["good", "mine"]
    assert registry.get("mine") is mine
    registry.unregister("mine")
    assert registry.get("mine") is None


def test_an_empty_group_points_at_stale_package_metadata() -> None:
    registry = fake_registry()
    assert registry.kinds() == []
    with pytest.raises(PluginError) as info:
        registry.get("anything")
    assert "no widget is installed" in info.value.message
    assert "no package declares a 'example.plugins' entry point" in info.value.message
    assert "reinstall" in info.value.message
