"""The real ``symphony`` command with a state store it cannot use: one clear error naming the file
and what to do, exit code 1, never a traceback; ``symphony --reset-storage`` moves the store
aside and the next start works (docs/storage.md)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import CommandResult, Project, local_front_matter
from tests.support.read_only import read_only_directory

STORE = Path(".symphony") / "state.sqlite"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    proj = Project(tmp_path / "project", model_base_url="http://127.0.0.1:9/v1")
    proj.write_workflow(local_front_matter(), "Work on {{ issue.identifier }}")
    try:
        yield proj
    finally:
        proj.close()


def start_once(project: Project) -> CommandResult:
    """``symphony WORKFLOW.md`` expected to refuse to start (it would run until stopped)."""
    return project.run(str(project.workflow), "--port", "0", "--logs-root", str(project.logs_root))


def corrupt(path: Path) -> None:
    path.write_bytes(b"not a database at all\n" * 200)


def newer(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()


def assert_one_clear_error(result: CommandResult, code: str, *needles: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert f"symphony: cannot start [{code}]" in output, output
    for needle in needles:
        assert needle in output, output


@pytest.mark.parametrize(
    ("damage", "code", "hint"),
    [
        (corrupt, "storage_corrupt", "symphony --reset-storage"),
        (newer, "storage_newer_schema", "schema version 999"),
    ],
    ids=["corrupt", "newer-schema"],
)
def test_an_unusable_store_stops_the_start_with_one_clear_error_and_reset_recovers(
    project: Project, damage: Callable[[Path], None], code: str, hint: str
) -> None:
    path = project.root / STORE
    path.parent.mkdir(parents=True)
    damage(path)
    assert_one_clear_error(start_once(project), code, str(path), hint)

    reset = project.run("--reset-storage", str(project.workflow))
    assert reset.returncode == 0, reset.stderr
    [backup] = path.parent.glob("state.sqlite.*.bak")
    assert str(backup) in reset.stderr and not path.exists()
    with project.start() as service:
        assert service.state()["counts"]["running"] == 0
        code_, output = service.stop()
    assert code_ == 0, output


def test_a_store_another_service_uses_is_refused(project: Project) -> None:
    with project.start() as service:
        path = project.root / STORE
        assert_one_clear_error(start_once(project), "storage_locked", str(path), "storage.path")
        refused = project.run("--reset-storage", str(project.workflow))
        assert refused.returncode == 1 and "storage_locked" in refused.stderr, refused.stderr
        assert service.alive()
        code, output = service.stop()
    assert code == 0, output


def test_a_store_in_a_read_only_directory_is_refused(project: Project) -> None:
    directory = (project.root / STORE).parent
    directory.mkdir()
    with read_only_directory(directory):
        result = start_once(project)
    assert_one_clear_error(result, "storage_read_only", str(project.root / STORE), "writable")
