"""The ``symphony`` CLI with a fault injected into the scheduling core (end-to-end tests only).

Once the file named by ``SYMPHONY_TEST_FAULT_TRIGGER`` exists, the core's tick handler raises,
as a bug in ``decide`` would. Run as a script: ``python faulty_service.py WORKFLOW.md ...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import symphony.core.machine as machine
from symphony.cli import main
from symphony.core.effects import Effect
from symphony.core.state import OrchestratorState

FAULT_MESSAGE = "injected fault in the tick handler"
TRIGGER_ENV = "SYMPHONY_TEST_FAULT_TRIGGER"
_tick_due = machine._tick_due


def _faulty_tick_due(state: OrchestratorState, now: float, out: list[Effect]) -> None:
    if Path(os.environ[TRIGGER_ENV]).exists():
        raise RuntimeError(FAULT_MESSAGE)
    _tick_due(state, now, out)


if __name__ == "__main__":
    machine._tick_due = _faulty_tick_due
    sys.exit(main())
