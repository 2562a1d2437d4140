"""Worker tasks of the runtime, and the per-issue ordering the core relies on.

- A new worker for an issue starts only after the issue's previous worker (stopped by
  reconciliation or a stall) and any removal of its workspace have finished, so two agents never
  share an issue or a workspace.
- Work queued "after" an issue (a workspace removal) waits for its stopped worker, so a terminal
  issue's workspace disappears only once its agent is dead and ``after_run`` has run.
Every such wait is bounded by ``grace_s()``; past it the error is logged and work proceeds.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from symphony.core.events import Event, WorkerExited
from symphony.logs import get_logger, issue_task_context
from symphony.orchestrator.worker import Attempt, AttemptResult, WorkerServices, run_attempt

log = get_logger("symphony.orchestrator")


class WorkerPool:
    def __init__(self, *, report: Callable[[Event], None], grace_s: Callable[[], float]) -> None:
        self._report = report
        self._grace_s = grace_s
        self._workers: dict[str, tuple[int, asyncio.Task[None]]] = {}
        # Tasks a new worker of the issue must wait for: stopped workers, workspace removals.
        self._pending: dict[str, set[asyncio.Task[Any]]] = {}

    def start(self, spec: Attempt, services: WorkerServices) -> None:
        issue = spec.issue
        # A best-of candidate's worker is its own: keyed like its running entry.
        key = spec.run_key
        # A candidate also waits for what is queued on its issue (its workspaces settling).
        before = tuple(self._pending.get(key, ())) + (
            tuple(self._pending.get(issue.id, ())) if key != issue.id else ()
        )

        async def work() -> None:
            if before:
                _, late = await asyncio.wait(before, timeout=self._grace_s())
                if late:
                    log.error("previous worker still stopping, starting anyway")
            try:
                result = await run_attempt(spec, services)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("worker crashed")
                result = AttemptResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
            self._report(
                WorkerExited(
                    key,
                    spec.run_id,
                    result.ok,
                    result.error,
                    result.code,
                    result.environment,
                    result.handed_off,
                )
            )

        task = asyncio.get_running_loop().create_task(
            work(),
            name=f"worker-{issue.identifier}",
            # Every line the attempt logs (agent session, hooks, tracker calls) carries the issue.
            context=issue_task_context(issue.id, issue.identifier),
        )
        self._workers[key] = (spec.run_id, task)
        task.add_done_callback(lambda t: self._worker_done(key, t))

    def stop(self, issue_id: str, run_id: int) -> None:
        """Cancel the worker: its session's process group is killed and after_run still runs."""
        current = self._workers.get(issue_id)
        if current is None or current[0] != run_id:
            return
        del self._workers[issue_id]
        current[1].cancel()
        self._add_pending(issue_id, current[1])

    def stop_all(self) -> None:
        """Cancel every worker (agent process groups killed, ``after_run`` still runs)."""
        for issue_id, (run_id, _task) in list(self._workers.items()):
            self.stop(issue_id, run_id)

    def after(
        self,
        issue_id: str,
        work: Callable[[], Awaitable[None]],
        *,
        name: str,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[None]:
        """Run ``work`` once everything pending for the issue has finished, in ``context`` when
        given (``issue_task_context``, so its lines carry the issue)."""
        before = tuple(self._pending.get(issue_id, ()))

        async def run() -> None:
            if before:
                await asyncio.wait(before, timeout=self._grace_s())
            await work()

        task = asyncio.get_running_loop().create_task(run(), name=name, context=context)
        self._add_pending(issue_id, task)
        return task

    async def drain(self) -> None:
        """Wait (bounded) for every worker and pending task; abandon the late ones."""
        waiting: set[asyncio.Task[Any]] = {task for _, task in self._workers.values()}
        for tasks in self._pending.values():
            waiting |= tasks
        if not waiting:
            return
        log.info("waiting for workers to stop", tasks=len(waiting))
        _, late = await asyncio.wait(waiting, timeout=self._grace_s())
        for task in late:
            log.error("worker did not stop in time, abandoning it", task=task.get_name())
            task.cancel()

    def _worker_done(self, issue_id: str, task: asyncio.Task[None]) -> None:
        current = self._workers.get(issue_id)
        self._forget(issue_id, task)
        if current is None or current[1] is not task:
            return  # stopped on purpose: the core already let go of it
        del self._workers[issue_id]
        if task.cancelled():
            # Cancelled by something other than the core (a stray CancelledError inside a
            # library): report it, or the issue would look busy until the stall check.
            log.error("worker task cancelled unexpectedly", issue_id=issue_id)
            self._report(WorkerExited(issue_id, current[0], False, "worker task was cancelled"))

    def _add_pending(self, issue_id: str, task: asyncio.Task[Any]) -> None:
        self._pending.setdefault(issue_id, set()).add(task)
        task.add_done_callback(lambda t: self._forget(issue_id, t))

    def _forget(self, issue_id: str, task: asyncio.Task[Any]) -> None:
        tasks = self._pending.get(issue_id)
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                del self._pending[issue_id]
