"""The scheduling core imports alone: no IO library, no config, no runtime."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = ("liquid", "pydantic", "httpx", "starlette", "uvicorn", "rich", "watchfiles", "asyncio")

_PROBE = textwrap.dedent(
    """
    import sys

    BLOCKED = set(sys.argv[1].split(","))

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked import of {name}")
            return None

    sys.meta_path.insert(0, Blocker())
    import symphony.core
    from symphony.core import OrchestratorState, SchedulerConfig, decide
    from symphony.core.events import Started

    state, effects = decide(OrchestratorState(SchedulerConfig()), Started(), 0.0)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print("effects:", [type(e).__name__ for e in effects])
    print("loaded:", loaded)
    """
)


def test_core_imports_and_decides_with_io_libraries_blocked() -> None:
    # A fresh interpreter: this test process has long since imported all of them.
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(BLOCKED)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "effects: ['FetchTerminalIssues']" in done.stdout
    assert "loaded: []" in done.stdout


def test_the_probe_does_block_an_impure_import() -> None:
    probe = _PROBE.replace("import symphony.core\n", "import symphony.core\nimport pydantic\n")
    done = subprocess.run(
        [sys.executable, "-c", probe, ",".join(BLOCKED)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "blocked import of pydantic" in done.stderr
