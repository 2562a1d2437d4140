"""Per-issue workspace lifecycle: prepare, per-attempt hooks, removal (SPEC §8.6, §9).

Every call takes the effective config (root, hooks, secret names) so a workflow reload applies
to the next hook or removal. Slow filesystem work runs in a thread; hooks run as child processes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from symphony.issue import Issue
from symphony.logs import get_logger
from symphony.process import DEFAULT_KILL_GRACE_S, child_environment
from symphony.workflow.config import HooksConfig
from symphony.workspace import fs
from symphony.workspace.base import read_base, remove_base, write_base
from symphony.workspace.errors import (
    WORKSPACE_CREATE_FAILED,
    WORKSPACE_EQUALS_ROOT,
    WORKSPACE_HOOK_FAILED,
    WORKSPACE_HOOK_TIMEOUT,
    WORKSPACE_NOT_DIRECTORY,
    WORKSPACE_OUTSIDE_ROOT,
    WorkspaceError,
)
from symphony.workspace.hooks import HookContext, HookResult, attempt_context, run_hook
from symphony.workspace.keys import is_workspace_key_shaped, workspace_key
from symphony.workspace.paths import (
    canonicalize,
    is_within,
    lexical_path,
    validate_workspace_path,
)
from symphony.workspace.proof import read_head

log = get_logger("symphony.workspace")

# How much hook output goes into an error message (the log line carries the full kept tail).
ERROR_OUTPUT_CHARS = 500


@dataclass(frozen=True, slots=True)
class Workspace:
    path: Path
    key: str
    created_now: bool
    # HEAD right after after_create (see symphony.workspace.base); None without git or a commit.
    base_commit: str | None = None


class WorkspaceManager:
    """Creates, prepares and removes per-issue workspaces under a workspace root."""

    def __init__(
        self,
        *,
        strip_env: frozenset[str] = frozenset(),
        base_env: Mapping[str, str] | None = None,
        kill_grace_s: float = DEFAULT_KILL_GRACE_S,
    ) -> None:
        self.strip_env = strip_env
        self._base_env = base_env
        self._kill_grace_s = kill_grace_s
        # One lock per workspace key, so prepare and remove of one issue never interleave. By
        # key rather than path: prepare takes it before the root is resolved (in the same
        # thread call as the directory); the same key under two roots merely waits.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def prepare(
        self,
        issue: Issue,
        *,
        root: Path,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> Workspace:
        """Create or reuse the issue's workspace; run ``after_create`` when it is new."""
        key = workspace_key(issue.identifier)
        async with self._lock_for(key):
            # One thread call for the root, the directory and its base record: under load each
            # call waits for the busy loop to come round again, and a dispatch waits for them.
            script = hooks.after_create
            opened = await asyncio.to_thread(_open, root, key, script is None)
            canonical_root, ensured = opened.root, opened.ensured
            workspace = Workspace(path=ensured.path, key=key, created_now=ensured.created_now)
            log.info("workspace ready", workspace=workspace.path, created_now=workspace.created_now)
            if opened.base_error is not None:
                log.warning(
                    "could not record the workspace base",
                    workspace=workspace.path,
                    error=opened.base_error,
                )
            if not workspace.created_now or script is None:
                # The base record is settled already: no hook runs first.
                return dataclasses.replace(workspace, base_commit=opened.base)
            context = HookContext(workspace.path, canonical_root, issue.identifier, issue, attempt)
            try:
                result = await self._run(
                    "after_create", script, context, hooks.timeout_ms, strip_env
                )
            except asyncio.CancelledError:
                await self._discard_new(workspace, issue)
                raise
            if not result.ok:
                await self._discard_new(workspace, issue)
                raise _hook_error(result, issue.identifier, workspace.path)
            return await self._record_base(workspace, canonical_root, strip_env)

    async def _record_base(
        self, workspace: Workspace, root: Path, strip_env: frozenset[str] | None
    ) -> Workspace:
        """Remember where a new workspace starts, so its proof of work has a base."""
        env = child_environment(
            self.strip_env if strip_env is None else strip_env, base=self._base_env
        )
        head = await read_head(workspace.path, base_env=env, kill_grace_s=self._kill_grace_s)
        try:
            if head is None:
                # A stale record of an earlier workspace under this key must not be reused.
                await asyncio.to_thread(remove_base, root, workspace.key)
            else:
                await asyncio.to_thread(write_base, root, workspace.key, head)
        except OSError as exc:
            # The workspace is usable without it; the review then reports "no base".
            log.warning(
                "could not record the workspace base", workspace=workspace.path, error=str(exc)
            )
            return workspace
        if head is not None:
            log.info("workspace base recorded", workspace=workspace.path, base=head)
        return dataclasses.replace(workspace, base_commit=head)

    async def _discard_new(self, workspace: Workspace, issue: Issue) -> None:
        """Remove a half-prepared new workspace so the next attempt reruns after_create."""
        removal = asyncio.ensure_future(asyncio.to_thread(fs.remove_entry, workspace.path))
        try:
            # Shielded: a second cancellation stops the wait, never the deletion itself.
            await asyncio.shield(removal)
        except asyncio.CancelledError:
            return
        except WorkspaceError as exc:
            log.warning(
                "could not remove workspace after failed after_create",
                workspace=workspace.path,
                error=exc.message,
            )

    async def before_run(
        self,
        ws: Workspace,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> None:
        """Run ``before_run``; its failure or timeout aborts the attempt (WorkspaceError)."""
        if hooks.before_run is None:
            return
        if not await asyncio.to_thread(fs.is_real_directory, ws.path):
            raise WorkspaceError(
                f"workspace {str(ws.path)!r} for {issue.identifier} is missing or not a real "
                "directory; it will be recreated on the next attempt",
                code=WORKSPACE_NOT_DIRECTORY,
                path=ws.path,
                hook="before_run",
            )
        context = attempt_context(ws.path, issue, attempt)
        result = await self._run(
            "before_run", hooks.before_run, context, hooks.timeout_ms, strip_env
        )
        if not result.ok:
            raise _hook_error(result, issue.identifier, ws.path)

    async def after_run(
        self,
        ws: Workspace,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> None:
        """Run ``after_run`` when the workspace exists; failures are logged, never raised."""
        if hooks.after_run is None:
            return
        try:
            if not await asyncio.to_thread(fs.is_real_directory, ws.path):
                log.warning("skipping after_run hook, workspace is gone", workspace=ws.path)
                return
            context = attempt_context(ws.path, issue, attempt)
            await self._run("after_run", hooks.after_run, context, hooks.timeout_ms, strip_env)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # after_run must never fail the worker (SPEC §9.4)
            log.warning("after_run hook could not run", error=str(exc))

    async def verify(
        self,
        ws: Workspace,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> HookResult | None:
        """Run ``hooks.verify`` in the workspace (None when it is not configured). Its result is
        the verdict, never an error: a hook that cannot start or times out did not pass."""
        if hooks.verify is None:
            return None
        context = attempt_context(ws.path, issue, attempt)
        return await self._run("verify", hooks.verify, context, hooks.timeout_ms, strip_env)

    async def remove(
        self,
        identifier: str,
        *,
        root: Path,
        hooks: HooksConfig,
        issue: Issue | None = None,
        strip_env: frozenset[str] | None = None,
    ) -> bool:
        """Run ``before_remove`` then delete the workspace; False when there was none.

        Hook failures are logged and ignored. Raises WorkspaceError when the path would escape
        the root (checked before any hook runs) or when deletion itself fails.
        """
        canonical_root = await asyncio.to_thread(canonicalize, root, what="workspace root")
        path = canonical_root / workspace_key(identifier)
        return await self._remove(path, canonical_root, identifier, hooks, issue, strip_env)

    async def remove_path(
        self,
        path: Path,
        *,
        root: Path,
        hooks: HooksConfig,
        issue: Issue | None = None,
        strip_env: frozenset[str] | None = None,
        identifier: str | None = None,
    ) -> bool:
        """Remove a workspace by its recorded path, which may lie under an older root.

        ``root`` is the current workspace root. The path must be a real directory entry (not a
        symlink) whose name is a valid workspace key; it is checked against its own parent
        directory, and it may never be, or contain, the current root.
        """
        lexical = await asyncio.to_thread(lexical_path, path)
        name = lexical.name
        if not is_workspace_key_shaped(name):
            raise WorkspaceError(
                f"refusing to remove {str(path)!r}: its name is not a workspace key",
                code=WORKSPACE_OUTSIDE_ROOT,
                path=path,
            )
        canonical_root = await asyncio.to_thread(canonicalize, root, what="workspace root")
        parent = await asyncio.to_thread(canonicalize, lexical.parent, what="workspace root")
        candidate = parent / name
        if candidate == canonical_root or is_within(canonical_root, candidate):
            raise WorkspaceError(
                f"refusing to remove {str(path)!r}: it is (or contains) the workspace root "
                f"{str(canonical_root)!r}",
                code=WORKSPACE_EQUALS_ROOT,
                path=path,
            )
        # The hook's SYMPHONY_ISSUE_IDENTIFIER: the tracker's identifier when the caller knows it
        # (``app#1`` has the key ``app_1--<hash>``), else the key itself.
        if identifier is None:
            identifier = issue.identifier if issue is not None else name
        return await self._remove(candidate, parent, identifier, hooks, issue, strip_env)

    async def _remove(
        self,
        path: Path,
        root: Path,
        identifier: str,
        hooks: HooksConfig,
        issue: Issue | None,
        strip_env: frozenset[str] | None,
    ) -> bool:
        async with self._lock_for(path.name):
            if not await asyncio.to_thread(os.path.lexists, path):
                return False
            # Containment first: a symlinked workspace is refused before any hook runs.
            canonical = await asyncio.to_thread(validate_workspace_path, path, root)
            if hooks.before_remove is not None and await asyncio.to_thread(
                fs.is_real_directory, canonical
            ):
                context = HookContext(canonical, root, identifier, issue)
                await self._run(
                    "before_remove", hooks.before_remove, context, hooks.timeout_ms, strip_env
                )
                # The hook is arbitrary code: check again that nothing was swapped in.
                await asyncio.to_thread(validate_workspace_path, path, root)
            await asyncio.to_thread(fs.remove_entry, canonical)
            try:
                await asyncio.to_thread(remove_base, root, path.name)
            except OSError as exc:
                log.warning("could not remove the workspace base record", error=str(exc))
            # Removal runs outside any attempt; the runtime's removal task binds the issue.
            ids = {"issue_id": issue.id} if issue is not None else {}
            log.info("workspace removed", **ids, issue_identifier=identifier, workspace=canonical)
            return True

    async def adopt(
        self,
        from_identifier: str,
        to_identifier: str,
        *,
        root: Path,
        hooks: HooksConfig,
        strip_env: frozenset[str] | None = None,
    ) -> Path:
        """Make workspace ``from_identifier`` the workspace of ``to_identifier`` (a best-of
        candidate's, chosen by a human: docs/best-of.md), base record included, so every later
        run of the issue works in it. The target must not exist: the caller removes it first,
        with its ``before_remove``. A git worktree's links are repaired after the move."""
        canonical_root = await asyncio.to_thread(canonicalize, root, what="workspace root")
        source_key, target_key = workspace_key(from_identifier), workspace_key(to_identifier)
        source, target = canonical_root / source_key, canonical_root / target_key
        async with self._lock_for(source_key), self._lock_for(target_key):
            await asyncio.to_thread(validate_workspace_path, source, canonical_root)
            if await asyncio.to_thread(os.path.lexists, target):
                raise WorkspaceError(
                    f"cannot make {from_identifier}'s workspace {to_identifier}'s: {target} "
                    "exists; remove it first",
                    code=WORKSPACE_CREATE_FAILED,
                    path=target,
                )
            try:
                await asyncio.to_thread(os.rename, source, target)
            except OSError as exc:
                raise WorkspaceError(
                    f"cannot move {source} to {target}: {exc.strerror or exc}",
                    code=WORKSPACE_CREATE_FAILED,
                    path=source,
                ) from None
            base = await asyncio.to_thread(read_base, canonical_root, source_key)
            if base is not None:
                await asyncio.to_thread(write_base, canonical_root, target_key, base)
            await asyncio.to_thread(remove_base, canonical_root, source_key)
            if await asyncio.to_thread((target / ".git").is_file):
                # A worktree's .git file and its repository's back link name the old path.
                context = HookContext(target, canonical_root, to_identifier, None)
                result = await self._run(
                    "worktree_repair", "git worktree repair", context, hooks.timeout_ms, strip_env
                )
                if not result.ok:
                    log.warning("git worktree repair failed after adopting a workspace")
        log.info("workspace adopted", workspace=target, adopted_from=source_key)
        return target

    async def _run(
        self,
        name: str,
        script: str,
        context: HookContext,
        timeout_ms: int,
        strip_env: frozenset[str] | None,
    ) -> HookResult:
        # The issue fields come from the log context: the worker's task (after_create,
        # before_run, after_run) or the runtime's removal task (before_remove).
        log.info("workspace hook started", hook=name, workspace=context.workspace)
        result = await run_hook(
            name,
            script,
            cwd=context.workspace,
            timeout_ms=timeout_ms,
            env_extra=context.environment(name),
            strip=self.strip_env if strip_env is None else strip_env,
            base_env=self._base_env,
            kill_grace_s=self._kill_grace_s,
        )
        hook_log = log.bind(
            hook=name,
            workspace=context.workspace,
            status=result.exit_status,
            duration_ms=result.duration_ms,
            output_bytes=result.output_bytes,
        )
        if result.ok:
            hook_log.info("workspace hook finished")
        elif result.timed_out:
            hook_log.warning(
                "workspace hook timed out",
                timeout_ms=result.timeout_ms,
                output=result.log_output(),
            )
        else:
            hook_log.warning(
                "workspace hook failed", reason=result.describe(), output=result.log_output()
            )
        return result

    def _lock_for(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock


@dataclass(frozen=True, slots=True)
class _Opened:
    root: Path  # canonical
    ensured: fs.Ensured
    base: str | None = None
    base_error: str | None = None


def _open(root: Path, key: str, hookless: bool) -> _Opened:
    """The workspace's root and directory, created when missing (SPEC §9.2), and its base record
    when nothing else has to run first.

    A reused workspace keeps the base recorded when it was created. A new one without an
    ``after_create`` hook is an empty directory, so no git repository and no base: a stale
    record of an earlier workspace under this key must not be reused.
    """
    canonical_root = fs.ensure_root(root)
    ensured = fs.ensure_directory(canonical_root / key, canonical_root)
    if not ensured.created_now:
        return _Opened(canonical_root, ensured, read_base(canonical_root, key))
    if not hookless:
        return _Opened(canonical_root, ensured)  # the hook runs, then the base is recorded
    try:
        remove_base(canonical_root, key)
    except OSError as exc:
        # The workspace is usable without it; the review then reports "no base".
        return _Opened(canonical_root, ensured, base_error=str(exc))
    return _Opened(canonical_root, ensured)


def _hook_error(result: HookResult, identifier: str, workspace: Path) -> WorkspaceError:
    tail = result.output.strip()[-ERROR_OUTPUT_CHARS:]
    detail = f"; output ends: {tail}" if tail else ""
    return WorkspaceError(
        f"{result.name} hook for {identifier} {result.describe()} in {str(workspace)!r}{detail}",
        code=WORKSPACE_HOOK_TIMEOUT if result.timed_out else WORKSPACE_HOOK_FAILED,
        path=workspace,
        hook=result.name,
    )
