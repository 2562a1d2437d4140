"""The effective workflow and its live reload (SPEC §6.2).

``WorkflowStore`` is the one small interface other layers use: ``current`` is the last known good
``Workflow``; ``error`` is the reload problem an operator must see (None once a valid edit lands).
Changes are noticed by a file watcher and, defensively, by ``check()`` which callers run before
dispatch: a cheap ``stat`` first, the content hash only when the stat changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from symphony.core.candidates import CandidateRef
from symphony.errors import SymphonyError
from symphony.issue import Issue
from symphony.logs import get_logger
from symphony.timefmt import format_timestamp
from symphony.workflow.config import LoadedConfig, ServiceConfig, build_config
from symphony.workflow.errors import WorkflowError
from symphony.workflow.loader import WorkflowDefinition, parse_workflow, read_workflow_bytes
from symphony.workflow.template import PromptTemplate, sample_issue

log = get_logger("symphony.workflow")

# Turns a freshly built config into the effective one (tracker defaults, adapter validation).
Resolver = Callable[[LoadedConfig, WorkflowDefinition, Mapping[str, str]], LoadedConfig]


@dataclass(frozen=True, slots=True)
class Workflow:
    """One consistent snapshot: config, prompt and where they came from."""

    definition: WorkflowDefinition
    loaded: LoadedConfig
    template: PromptTemplate
    version: int
    loaded_at: datetime
    warnings: tuple[str, ...] = field(default=())

    @property
    def config(self) -> ServiceConfig:
        return self.loaded.config

    @property
    def path(self) -> Path:
        return self.definition.path

    def render_prompt(
        self, issue: Issue, attempt: int | None, candidate: CandidateRef | None = None
    ) -> str:
        return self.template.render(issue, attempt, candidate)

    def for_candidate(self, index: int) -> Workflow:
        """This workflow as best-of candidate ``index`` runs it: its variant of agent.variants
        laid over the configuration (docs/best-of.md); itself without variants."""
        config = self.loaded.for_candidate(index)
        if config is self.loaded.config:
            return self
        return replace(self, loaded=self.loaded.model_copy(update={"config": config}))


def build_workflow(
    definition: WorkflowDefinition,
    *,
    environ: Mapping[str, str],
    resolver: Resolver | None,
    version: int,
) -> Workflow:
    loaded = build_config(
        definition.config,
        workflow_dir=definition.path.parent,
        environ=environ,
        source=str(definition.path),
    )
    if resolver is not None:
        loaded = resolver(loaded, definition, environ)
    template = PromptTemplate.compile(
        definition.prompt_template,
        path=definition.path,
        line_offset=definition.prompt_line_offset,
    )
    warnings = list(loaded.warnings)
    # A trial render catches unknown variables now rather than on the first real run; a
    # template may legitimately reach into optional data, so this only warns.
    try:
        template.render(sample_issue(), None)
    except WorkflowError as exc:
        warnings.append(f"prompt check against a sample issue failed: {exc.message}")
    return Workflow(
        definition=definition,
        loaded=loaded,
        template=template,
        version=version,
        loaded_at=datetime.now(UTC),
        warnings=tuple(warnings),
    )


def load_workflow_file(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
) -> Workflow:
    env = os.environ if environ is None else environ
    definition = parse_workflow(read_workflow_bytes(path), path)
    return build_workflow(definition, environ=env, resolver=resolver, version=1)


@dataclass(frozen=True, slots=True)
class ReloadError:
    error: SymphonyError
    at: datetime

    def to_dict(self) -> dict[str, str]:
        return {**self.error.to_dict(), "at": format_timestamp(self.at)}


class WorkflowStore:
    def __init__(
        self,
        workflow: Workflow,
        *,
        environ: Mapping[str, str] | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._current = workflow
        self._environ = os.environ if environ is None else environ
        self._resolver = resolver
        self._error: ReloadError | None = None
        self._stat = _stat_key(workflow.path)
        self._listeners: list[Callable[[Workflow], None]] = []

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        environ: Mapping[str, str] | None = None,
        resolver: Resolver | None = None,
    ) -> WorkflowStore:
        """Load at startup; any problem raises (startup validation is fatal, SPEC §6.3)."""
        return cls(
            load_workflow_file(path, environ=environ, resolver=resolver),
            environ=environ,
            resolver=resolver,
        )

    @property
    def current(self) -> Workflow:
        return self._current

    @property
    def error(self) -> ReloadError | None:
        return self._error

    @property
    def path(self) -> Path:
        return self._current.path

    def subscribe(self, listener: Callable[[Workflow], None]) -> None:
        """Called with every newly applied workflow (never with a failed one)."""
        self._listeners.append(listener)

    def check(self, *, force: bool = False) -> bool:
        """Reload if the file changed. Returns True when a new workflow was applied.

        Never raises: a bad edit keeps the last known good workflow and sets ``error``.
        """
        stat = _stat_key(self.path)
        if not force and stat == self._stat:
            return False
        self._stat = stat
        try:
            raw = read_workflow_bytes(self.path)
            if hashlib.sha256(raw).hexdigest() == self._current.definition.content_hash:
                # Unchanged, or reverted to what is applied: nothing to re-apply.
                self._clear_error()
                return False
            workflow = build_workflow(
                parse_workflow(raw, self.path),
                environ=self._environ,
                resolver=self._resolver,
                version=self._current.version + 1,
            )
        except SymphonyError as exc:
            if self._error is None or self._error.error.message != exc.message:
                log.error(
                    "workflow reload failed; keeping last known good config",
                    path=self.path,
                    error=exc.message,
                )
            self._error = ReloadError(exc, datetime.now(UTC))
            return False
        self._current = workflow
        self._clear_error()
        log.info("workflow reloaded", path=self.path, version=workflow.version)
        for warning in workflow.warnings:
            log.warning("workflow warning", path=self.path, warning=warning)
        for listener in list(self._listeners):
            try:
                listener(workflow)
            except Exception:
                log.exception("workflow listener failed", path=self.path)
        return True

    def _clear_error(self) -> None:
        if self._error is not None:
            log.info("workflow error cleared", path=self.path)
        self._error = None

    async def watch(self, stop: asyncio.Event) -> None:
        """Re-check on every filesystem event touching the file until ``stop`` is set."""
        from watchfiles import awatch

        target = self.path.name
        directory = self.path.parent
        try:
            async for changes in awatch(
                directory,
                stop_event=stop,
                watch_filter=lambda _change, p: Path(p).name == target,
                debounce=200,
                step=50,
                recursive=False,
            ):
                if changes:
                    self.check(force=True)
        except (OSError, RuntimeError) as exc:
            # The defensive check before each dispatch still picks up edits.
            log.warning("workflow watcher stopped", path=self.path, error=exc)


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
