"""The long-running service and its composition root: startup checks, the runtime wired to the
real workspaces, agent backend and tracker adapter, signals, orderly shutdown (SPEC §16.1, §17.7).

Exit codes: 0 after an orderly shutdown (SIGINT/SIGTERM), 1 when startup fails or the service dies
abnormally, 2 for command-line usage errors (argparse).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from symphony.agents.base import AgentBackend
from symphony.agents.registry import require_backend, resolve_agent
from symphony.errors import SymphonyError
from symphony.logs import configure_logging, get_logger, register_secrets, set_log_format
from symphony.observability.http.server import HttpSettings, http_settings, serve_http
from symphony.observability.status_view import StatusView
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.process import watch_children_with_pidfds
from symphony.storage import StateStore, reset_storage
from symphony.trackers import get_profile
from symphony.trackers.base import UNSUPPORTED_TRACKER_KIND, TrackerAdapter
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.config import LoadedConfig
from symphony.workflow.loader import WorkflowDefinition, resolve_workflow_path
from symphony.workflow.store import Workflow, WorkflowStore, load_workflow_file

log = get_logger("symphony.service")

SHUTDOWN_TIMEOUT_S = 30.0
HTTP_START_TIMEOUT_S = 15.0
# The agent's startup checks (binary, tested version, credentials) run beside the service;
# they only log, so a slow login shell delays nothing.
AGENT_CHECKS_TIMEOUT_S = 60.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    workflow: str | None
    port: int | None = None
    logs_root: Path | None = None
    console: TextIO | None = None
    reset_storage: bool = False


def default_logs_root(workflow_path: Path) -> Path:
    return workflow_path.parent / ".symphony" / "logs"


def run_service(options: ServiceOptions) -> int:
    console = options.console if options.console is not None else sys.stderr
    # Until the event loop installs its handlers, a SIGTERM must still mean "stop cleanly".
    previous = {sig: signal.signal(sig, _interrupt_startup) for sig in _STOP_SIGNALS}
    try:
        return _run(options, console)
    except _StartupInterrupted:
        print("symphony: stopped during startup", file=console)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _StartupInterrupted(Exception):
    pass


def _interrupt_startup(signum: int, frame: object) -> None:
    raise _StartupInterrupted


def _run(options: ServiceOptions, console: TextIO) -> int:
    path = resolve_workflow_path(options.workflow)
    if not path.is_file():
        hint = "Pass the path to your WORKFLOW.md" if options.workflow is None else "Check the path"
        print(f"symphony: workflow file not found: {path}. {hint}.", file=console)
        return 1
    logs_root = options.logs_root if options.logs_root is not None else default_logs_root(path)
    setup = configure_logging(logs_root=logs_root, console=console)
    if options.reset_storage:
        return _reset_storage(path, console)
    try:
        store = WorkflowStore.open(path, resolver=resolve_workflow)
        storage = StateStore.open(store.current.config.storage.path)
    except SymphonyError as exc:
        log.error("startup failed", path=path, code=exc.code, error=exc.message)
        print(f"symphony: cannot start [{exc.code}]\n{exc.message}", file=console)
        return 1
    try:
        return _run_with_storage(store, storage, options, path, setup.log_file, console)
    finally:
        storage.close()


def _reset_storage(workflow_path: Path, console: TextIO) -> int:
    """``symphony --reset-storage``: move the state store aside; the next start begins empty.

    Needs only ``storage.path`` from the workflow: a tracker that cannot start (a missing API
    key, say) does not keep an operator from resetting."""
    try:
        path = load_workflow_file(workflow_path).config.storage.path
        moved = reset_storage(path)
    except SymphonyError as exc:
        print(f"symphony: cannot reset the state store [{exc.code}]\n{exc.message}", file=console)
        return 1
    if moved is None:
        print(f"symphony: no state store at {path}, nothing to reset", file=console)
    else:
        log.warning("state store moved aside", path=path, backup=moved)
        print(f"symphony: moved the state store {path} to {moved}", file=console)
    return 0


def _run_with_storage(
    store: WorkflowStore,
    storage: StateStore,
    options: ServiceOptions,
    path: Path,
    log_file: Path | None,
    console: TextIO,
) -> int:
    logs_root = options.logs_root if options.logs_root is not None else default_logs_root(path)
    _register_workflow_secrets(store.current)
    store.subscribe(_register_workflow_secrets)
    apply_log_settings(store.current)
    store.subscribe(apply_log_settings)
    for warning in store.current.warnings:
        log.warning("workflow warning", path=path, warning=warning)
    log.info(
        "symphony starting",
        workflow=path,
        log_file=log_file,
        tracker=store.current.config.tracker.kind,
        storage=storage.path,
    )
    try:
        return asyncio.run(_serve(store, storage, options, logs_root, console))
    except KeyboardInterrupt:
        raise _StartupInterrupted from None
    except Exception:
        log.exception("service crashed")
        return 1


def _register_workflow_secrets(workflow: Workflow) -> None:
    register_secrets(workflow.loaded.secret_values)


def apply_log_settings(workflow: Workflow) -> None:
    """``logs.format`` takes effect at startup and on every reload (docs/logging.md)."""
    set_log_format(workflow.config.logs.format)


async def _serve(
    store: WorkflowStore,
    storage: StateStore,
    options: ServiceOptions,
    logs_root: Path,
    console: TextIO,
) -> int:
    watch_children_with_pidfds()
    runtime = build_runtime(store, logs_root=logs_root, storage=storage)
    try:
        await runtime.start()
    except SymphonyError as exc:
        return _startup_failed(store, exc, console)
    surfaces = _Surfaces(runtime, console)
    try:
        try:
            await surfaces.start(store, options, logs_root)
        except SymphonyError as exc:
            return _startup_failed(store, exc, console)
        return await _serve_until_signal(store, runtime, options)
    finally:
        # Stops dispatching, cancels every worker (agents killed, after_run hooks run), waits;
        # the dashboard keeps serving until the agents are down so operators see the shutdown.
        await runtime.stop()
        await surfaces.stop()


async def _log_agent_checks(workflow: Workflow) -> None:
    """Say at startup what ``symphony doctor`` would say about the agent: an untested version
    (naming the tested one), missing credentials, a binary that does not run."""
    if workflow.config.worker.ssh_hosts:
        return  # the agents run on the worker hosts (symphony doctor checks those)
    try:
        backend = require_backend(workflow.config.agent.kind)
        found = await asyncio.wait_for(
            backend.doctor(workflow, env=os.environ), timeout=AGENT_CHECKS_TIMEOUT_S
        )
    except Exception as exc:  # a check must never take the service down
        log.warning("agent checks failed", error=f"{type(exc).__name__}: {exc}")
        return
    for check in found:
        if check.status != "ok":
            log.warning("agent check", check=check.name, problem=check.detail, fix=check.fix)


def _startup_failed(store: WorkflowStore, exc: SymphonyError, console: TextIO) -> int:
    log.error("startup failed", path=store.path, code=exc.code, error=exc.message)
    print(f"symphony: cannot start [{exc.code}]\n{exc.message}", file=console)
    return 1


class _Surfaces:
    """The HTTP API/dashboard and the terminal status view: observers of the runtime only."""

    def __init__(self, runtime: OrchestratorRuntime, console: TextIO) -> None:
        self._runtime = runtime
        self._console = console
        self._status: StatusView | None = None
        self._http_stop = asyncio.Event()
        self._http_task: asyncio.Task[None] | None = None

    async def start(self, store: WorkflowStore, options: ServiceOptions, logs_root: Path) -> None:
        self._status = StatusView(self._runtime, stream=self._console)
        if self._status.mode == "live":
            # Log lines print above the live frame instead of tearing it.
            configure_logging(logs_root=logs_root, console=self._status.log_stream)
        settings = http_settings(store.current.config.server, options.port)
        if settings is not None:
            url = await self._start_http(settings)
            self._status.dashboard_url = url
            print(f"symphony: dashboard at {url}", file=self._console, flush=True)
        await self._status.start()

    async def _start_http(self, settings: HttpSettings) -> str:
        bound: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_bound(url: str) -> None:
            if not bound.done():
                bound.set_result(url)

        self._http_task = asyncio.create_task(
            serve_http(
                self._runtime,
                host=settings.host,
                port=settings.port,
                access_token=settings.access_token,
                stop=self._http_stop,
                on_bound=on_bound,
            ),
            name="http-server",
        )
        waiters: set[asyncio.Future[Any]] = {self._http_task, bound}
        done, _ = await asyncio.wait(
            waiters, timeout=HTTP_START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if bound in done:
            return bound.result()
        if self._http_task in done:
            self._http_task.result()  # raises the HttpServerError (a SymphonyError)
        raise SymphonyError(
            f"the HTTP server did not start within {HTTP_START_TIMEOUT_S:.0f}s",
            code="http_start_timeout",
        )

    async def stop(self) -> None:
        if self._status is not None:
            with contextlib.suppress(Exception):
                await self._status.stop()
        self._http_stop.set()
        if self._http_task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._http_task, timeout=SHUTDOWN_TIMEOUT_S)


async def _serve_until_signal(
    store: WorkflowStore, runtime: OrchestratorRuntime, options: ServiceOptions
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        if stop.is_set():
            # A second signal means "now": skip the orderly path.
            log.warning("second signal, exiting immediately", signal=sig.name)
            raise SystemExit(1)
        log.info("shutdown requested", signal=sig.name)
        stop.set()

    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)

    watcher = asyncio.create_task(store.watch(stop), name="workflow-watch")
    # Observability surfaces (HTTP API on options.port / server.port, terminal status view)
    # attach here: they read `runtime` only through symphony.runtime_view.RuntimeView and must
    # be stopped before this function returns.
    log.info("symphony started", workflow=store.path, pid=os.getpid())
    checks = asyncio.create_task(_log_agent_checks(store.current), name="agent-checks")
    failed = asyncio.create_task(runtime.wait_failed(), name="orchestrator-failure")
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        await asyncio.wait({failed, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if runtime.failure is not None:
            # The traceback is in the log already; every agent is being killed.
            log.error("symphony stopping after an internal error", exit_code=1)
            print(
                "symphony: internal error in the orchestrator; every agent was stopped. "
                "The traceback is in the log.",
                file=options.console or sys.stderr,
                flush=True,
            )
            await runtime.stop()
            return 1
        log.info("stopping agents", running=runtime.snapshot().counts.running)
        await runtime.stop()
    finally:
        for task in (failed, stopping, checks):
            task.cancel()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(watcher, timeout=SHUTDOWN_TIMEOUT_S)
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    log.info("symphony stopped", signal=received[0] if received else None)
    return 0


# --- composition root: the production collaborators of the runtime -------------------------


def resolve_workflow(
    loaded: LoadedConfig, definition: WorkflowDefinition, environ: Mapping[str, str]
) -> LoadedConfig:
    """Every load and reload: ``tracker.*`` has an adapter that accepts it, ``agent.kind`` an
    installed backend. A failure keeps the last good workflow in effect."""
    loaded = resolve_tracker(loaded, definition, environ)
    return resolve_agent(loaded, definition, environ)


def create_adapter(workflow: Workflow) -> TrackerAdapter:
    """The adapter for this workflow's ``tracker.*`` (SPEC §11.2: built from effective config)."""
    tracker = workflow.config.tracker
    profile = get_profile(tracker.kind or "")
    if profile is None:
        raise SymphonyError(
            f"{workflow.path}: tracker.kind {tracker.kind!r} has no installed adapter",
            code=UNSUPPORTED_TRACKER_KIND,
        )
    return profile.create(tracker, workflow_dir=workflow.path.parent, environ=os.environ)


def select_backend(workflow: Workflow) -> AgentBackend:
    """The agent backend for this workflow's ``agent.kind`` (checked when it was loaded)."""
    return require_backend(workflow.config.agent.kind)


def build_runtime(
    store: WorkflowStore, *, logs_root: Path | None, storage: StateStore | None = None
) -> OrchestratorRuntime:
    """The production runtime: real workspaces, the configured agent backend, per-issue agent
    transcripts, durable state in ``storage``."""
    from symphony.observability.transcript import AgentLogs
    from symphony.workspace import WorkspaceManager

    return OrchestratorRuntime(
        store,
        workspaces=WorkspaceManager(),
        agents=select_backend,
        adapter_factory=create_adapter,
        agent_logs=AgentLogs(logs_root) if logs_root is not None else None,
        storage=storage,
    )
