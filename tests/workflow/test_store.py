from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import Workflow, WorkflowStore
from tests.support.memory_tracker import MemoryProfile

GOOD = """
tracker:
  kind: memory
polling:
  interval_ms: 1000
"""


def open_store(path: Path) -> WorkflowStore:
    return WorkflowStore.open(path, environ={}, resolver=resolve_tracker)


def rewrite(path: Path, text: str) -> None:
    # A different size guarantees the stat key changes even on coarse-mtime filesystems.
    path.write_text(text, encoding="utf-8")


def test_change_is_detected_and_reapplied(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD, body="v1 {{ issue.identifier }}")
    store = open_store(path)
    seen: list[Workflow] = []
    store.subscribe(seen.append)
    assert store.current.config.polling.interval_ms == 1000
    assert store.check() is False  # nothing changed

    rewrite(path, "---\n" + GOOD.replace("1000", "2500") + "---\nv2 prompt {{ issue.title }}\n")
    assert store.check() is True
    assert store.current.config.polling.interval_ms == 2500
    assert store.current.template.source == "v2 prompt {{ issue.title }}"
    assert store.current.version == 2
    assert [w.version for w in seen] == [2]
    assert store.error is None


def test_invalid_reload_keeps_last_known_good_then_clears(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD)
    store = open_store(path)
    good = store.current

    rewrite(path, "---\ntracker: [broken\n---\nbody\n")
    assert store.check() is False
    assert store.current is good
    assert store.error is not None
    assert store.error.error.code == "workflow_parse_error"
    assert str(path) in store.error.error.message

    rewrite(path, "---\n" + GOOD + "polling:\n  interval_ms: nope\n---\nbody\n")
    store.check()
    assert store.current is good
    assert store.error is not None and "polling.interval_ms" in store.error.error.message

    rewrite(path, "---\n" + GOOD.replace("1000", "3000") + "---\nfixed\n")
    assert store.check() is True
    assert store.error is None
    assert store.current.config.polling.interval_ms == 3000


def test_unsupported_tracker_on_reload_is_rejected(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD)
    store = open_store(path)
    rewrite(path, "---\ntracker:\n  kind: jira-cloud-x\n---\nbody\n")
    store.check()
    assert store.current.config.tracker.kind == "memory"
    assert store.error is not None
    assert store.error.error.code == "unsupported_tracker_kind"
    assert "jira-cloud-x" in store.error.error.message


def test_reverting_a_bad_edit_clears_the_error(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD, body="same")
    original = path.read_text()
    store = open_store(path)
    rewrite(path, "---\n- not a map\n---\n")
    store.check()
    assert store.error is not None
    rewrite(path, original)
    assert store.check() is False
    assert store.error is None
    assert store.current.version == 1


def test_deleted_file_is_an_error_not_a_crash(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD)
    store = open_store(path)
    path.unlink()
    assert store.check() is False
    assert store.error is not None and store.error.error.code == "missing_workflow_file"
    assert store.current.config.tracker.kind == "memory"


def test_tracker_defaults_fill_states(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    store = open_store(write_workflow(GOOD))
    assert store.current.config.tracker.active_states == ("Todo", "In Progress")
    assert store.current.config.tracker.terminal_states == ("Done", "Cancelled")


def test_adapter_rejection_names_provider_key(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    from symphony.workflow.errors import ConfigError

    path = write_workflow("tracker:\n  kind: memory\n  provider:\n    fail: bad project")
    with pytest.raises(ConfigError) as err:
        open_store(path)
    assert "tracker.provider.fail" in err.value.message


async def test_watcher_picks_up_edit_without_polling(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD)
    store = open_store(path)
    applied = asyncio.Event()
    store.subscribe(lambda _wf: applied.set())
    stop = asyncio.Event()
    task = asyncio.create_task(store.watch(stop))
    try:
        # The watcher needs a moment to register; keep editing until it reports (bounded).
        for n in range(50):
            rewrite(path, "---\n" + GOOD.replace("1000", str(4000 + n)) + "---\nbody\n")
            try:
                await asyncio.wait_for(applied.wait(), timeout=0.5)
                break
            except TimeoutError:
                continue
        assert applied.is_set()
        assert store.current.config.polling.interval_ms >= 4000
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
