"""The pure scheduling core (SPEC §7, §8, §16): ``decide(state, event, now) -> (state, effects)``.

Sans-IO and importable alone: this package and what it imports use only the standard library and
other pure modules (``symphony.issue``); no asyncio, pydantic, liquid or runtime. The asyncio
shell that executes the effects is ``symphony.orchestrator.runtime``. ``lint-imports`` enforces it.
"""

from symphony.core.config import SchedulerConfig
from symphony.core.machine import decide
from symphony.core.state import OrchestratorState

__all__ = ["OrchestratorState", "SchedulerConfig", "decide"]
