"""Root containment and the agent-cwd check (SPEC §9.5, §15.2, §17.2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.workspace import (
    WorkspaceError,
    validate_agent_cwd,
    validate_workspace_path,
    workspace_key,
)
from symphony.workspace.fs import ensure_directory, ensure_root
from symphony.workspace.paths import workspace_path_for

_NASTY = st.one_of(
    st.text(),
    st.sampled_from(
        ["../x", "a/../../b", "..", ".", "/etc", "~", "a\x00b", "x" * 1000, "ü/../..."]
    ),
    st.lists(st.sampled_from(["..", "/", ".", "a", "\x00", "é", "\\"]), max_size=40).map("".join),
)


def test_path_is_deterministic_and_under_the_canonical_root(root: Path) -> None:
    root.mkdir()
    first = workspace_path_for(root, "MT/Det")
    assert first == workspace_path_for(root, "MT/Det")
    assert first == root.resolve() / workspace_key("MT/Det")


def test_symlinked_root_is_resolved_first(tmp_path: Path) -> None:
    real = tmp_path / "real-root"
    real.mkdir()
    link = tmp_path / "link-root"
    link.symlink_to(real)
    assert workspace_path_for(link, "MT-1") == real / "MT-1"


def test_symlink_at_workspace_path_pointing_outside_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "MT-1").symlink_to(outside)
    with pytest.raises(WorkspaceError) as err:
        workspace_path_for(root, "MT-1")
    assert err.value.code == "workspace_symlink_escape"
    assert str(outside) in err.value.message


def test_symlink_at_workspace_path_pointing_inside_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "MT-2").mkdir(parents=True)
    (root / "MT-1").symlink_to(root / "MT-2")
    with pytest.raises(WorkspaceError) as err:
        workspace_path_for(root, "MT-1")
    assert err.value.code == "workspace_symlink_escape"


def test_path_outside_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as err:
        validate_workspace_path(tmp_path / "elsewhere", tmp_path / "root")
    assert err.value.code == "workspace_outside_root"


def test_dotdot_path_is_judged_after_normalization(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(WorkspaceError) as err:
        validate_workspace_path(root / ".." / "x", root)
    assert err.value.code == "workspace_outside_root"


def test_root_itself_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(WorkspaceError) as err:
        validate_workspace_path(root / ".", root)
    assert err.value.code == "workspace_equals_root"


def test_symlink_loop_gives_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    with pytest.raises(WorkspaceError) as err:
        validate_workspace_path(root / "a", root)
    assert err.value.code == "workspace_path_invalid"
    assert "Symlink loop" in err.value.message


def test_agent_cwd_must_be_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "root"
    ws = root / "MT-1"
    ws.mkdir(parents=True)
    assert validate_agent_cwd(ws, ws, root) == ws.resolve()
    other = root / "MT-2"
    other.mkdir()
    with pytest.raises(WorkspaceError) as err:
        validate_agent_cwd(other, ws, root)
    assert err.value.code == "invalid_workspace_cwd"
    assert "MT-2" in err.value.message


def test_agent_cwd_outside_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(WorkspaceError) as err:
        validate_agent_cwd(outside, outside, root)
    assert err.value.code == "invalid_workspace_cwd"
    assert "outside the workspace root" in err.value.message


def test_agent_cwd_equal_to_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(WorkspaceError) as err:
        validate_agent_cwd(root, root, root)
    assert err.value.code == "invalid_workspace_cwd"


def test_agent_cwd_through_symlink_escape_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "MT-1").symlink_to(outside)
    with pytest.raises(WorkspaceError) as err:
        validate_agent_cwd(root / "MT-1", root / "MT-1", root)
    assert err.value.code == "invalid_workspace_cwd"
    assert "symlink" in err.value.message


def test_agent_cwd_must_exist(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(WorkspaceError) as err:
        validate_agent_cwd(root / "MT-1", root / "MT-1", root)
    assert err.value.code == "invalid_workspace_cwd"
    assert "does not exist" in err.value.message


def test_agent_cwd_accepts_a_symlinked_root(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "MT-1").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real)
    assert validate_agent_cwd(link / "MT-1", real / "MT-1", link) == real / "MT-1"


@pytest.fixture(scope="module")
def hypo_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hypo")


@settings(max_examples=300, deadline=None)
@given(identifier=_NASTY)
def test_no_identifier_yields_a_path_outside_the_root(hypo_base: Path, identifier: str) -> None:
    root = ensure_root(hypo_base / "root")
    path = workspace_path_for(root, identifier)
    assert path.parent == root
    assert path.name == workspace_key(identifier)
    ensured = ensure_directory(path, root)
    assert ensured.path.parent == root
    assert validate_agent_cwd(ensured.path, ensured.path, root) == ensured.path
    # Nothing was ever created next to the root.
    assert [p.name for p in hypo_base.iterdir()] == ["root"]
