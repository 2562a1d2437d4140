"""Optional extras stay unloaded: the service's memory budget (issue #14) depends on it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from symphony import lean_import


def test_without_hides_a_module_only_while_active(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lean_probe_module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with lean_import.without("lean_probe_module"), pytest.raises(ImportError):
        importlib.import_module("lean_probe_module")
    assert "lean_probe_module" not in sys.modules
    assert importlib.import_module("lean_probe_module").VALUE == 1
    with lean_import.without("lean_probe_module"):  # already loaded: left alone
        assert importlib.import_module("lean_probe_module").VALUE == 1
    del sys.modules["lean_probe_module"]


def test_a_headless_service_loads_no_terminal_or_highlighting_library() -> None:
    code = (
        "import sys, symphony.cli, symphony.service, symphony.logs\n"
        # The HTTP trackers' client: httpx would load both for its own command line.
        "import symphony.trackers.linear.adapter, symphony.trackers.github.adapter\n"
        "symphony.logs.get_logger('probe').info('hello')\n"
        "print(sorted(m for m in ('rich', 'pygments', 'greenlet') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
