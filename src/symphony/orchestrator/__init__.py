"""Coordination layer (SPEC §7, §8, §16): a sans-IO scheduling core and its asyncio runtime.

- ``core.decide(state, event, now) -> (state, effects)``: every scheduling decision, pure.
- ``runtime.OrchestratorRuntime``: executes effects, runs timers and workers; a ``RuntimeView``.
- ``worker.run_attempt``: one worker attempt (workspace, prompt, agent turns).
"""

from symphony.orchestrator.config import SchedulerConfig
from symphony.orchestrator.core import decide
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.orchestrator.state import OrchestratorState
from symphony.orchestrator.worker import Attempt, AttemptResult, WorkerServices, run_attempt

__all__ = [
    "Attempt",
    "AttemptResult",
    "OrchestratorRuntime",
    "OrchestratorState",
    "SchedulerConfig",
    "WorkerServices",
    "decide",
    "run_attempt",
]
