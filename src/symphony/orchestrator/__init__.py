"""Coordination layer's IO shell (SPEC §7, §8, §16) around the pure core in ``symphony.core``.

- ``runtime.OrchestratorRuntime``: executes the core's effects, runs timers and workers.
- ``worker.run_attempt``: one worker attempt (workspace, prompt, agent turns).

Importing this package loads nothing: import the module you need.
"""
