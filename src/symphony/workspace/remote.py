"""Workspaces on an SSH worker host (SPEC Appendix A): prepare, hooks, removal over ``ssh``.

The same interface as ``WorkspaceManager``, so the worker attempt does not know where it runs.
Every step is one ``ssh … bash -lc <script>`` bounded by ``hooks.timeout_ms`` (run through the
local hook runner, which kills the ``ssh`` client's group on timeout). Paths are the host's:
``workspace.root`` as written in the workflow, ``~`` expanded by the remote shell, so the
workspace is ``<root>/<key>`` on the host. SSH carries no environment: the ``SYMPHONY_*`` hook
variables are exported by the remote script itself, and tracker secrets are never sent.

An ``ssh`` exit status of 255 means the connection failed (refused, timeout, authentication, a
dropped connection): that becomes ``host_unreachable``, which marks the host down.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import shlex
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from symphony.issue import Issue
from symphony.logs import get_logger
from symphony.process import DEFAULT_KILL_GRACE_S
from symphony.ssh import (
    HOST_UNREACHABLE,
    SSH_FAILED_EXIT,
    WORKSPACE_MARKER,
    SshTarget,
    exports,
    local_ssh_script,
    remote_path,
    unsets,
    valid_remote_path,
)
from symphony.workflow.config import HooksConfig
from symphony.workspace.base import BASES_DIR
from symphony.workspace.errors import (
    WORKSPACE_CREATE_FAILED,
    WORKSPACE_HOOK_FAILED,
    WORKSPACE_HOOK_TIMEOUT,
    WORKSPACE_PATH_INVALID,
    WORKSPACE_REMOVE_FAILED,
    WorkspaceError,
)
from symphony.workspace.fingerprint import FINGERPRINT_TIMEOUT_S, MAX_FILES
from symphony.workspace.hooks import HookContext, HookResult, attempt_context, run_hook
from symphony.workspace.keys import is_workspace_key_shaped, workspace_key
from symphony.workspace.manager import ERROR_OUTPUT_CHARS, Workspace
from symphony.workspace.proof import GitProof, safe_config

log = get_logger("symphony.workspace")

_LOCAL_CWD = Path("/")
BASE_MARKER = "__symphony_base "
_SHA = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
FINGERPRINT_TIMEOUT_MS = int(FINGERPRINT_TIMEOUT_S * 1000)


class RemoteWorkspaces:
    """Per-issue workspaces under ``raw_root`` on one SSH host (implements ``Workspaces``)."""

    def __init__(
        self,
        target: SshTarget,
        *,
        raw_root: str,
        ssh_config: str | None = None,
        strip_env: frozenset[str] = frozenset(),
        base_env: Mapping[str, str] | None = None,
        kill_grace_s: float = DEFAULT_KILL_GRACE_S,
    ) -> None:
        self.target = target
        self.raw_root = raw_root
        self._ssh_config = ssh_config
        self.strip_env = strip_env
        self._base_env = base_env
        self._kill_grace_s = kill_grace_s

    @property
    def host(self) -> str:
        return self.target.raw

    async def prepare(
        self,
        issue: Issue,
        *,
        root: Path,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> Workspace:
        """Create or reuse ``<raw root>/<key>`` on the host; ``after_create`` when it is new."""
        del root  # the host's root is the raw setting, expanded there
        key = workspace_key(issue.identifier)
        result = await self._ssh("prepare", prepare_script(self.raw_root, key), hooks, strip_env)
        if not result.ok:
            raise self._error(result, issue.identifier, None, WORKSPACE_CREATE_FAILED)
        created, path = parse_prepared(result.output, self.target, key)
        workspace = Workspace(
            path=Path(path),
            key=key,
            created_now=created,
            base_commit=None if created else parse_base(result.output),
        )
        log.info(
            "workspace ready",
            workspace=path,
            created_now=created,
            worker_host=self.target.raw,
        )
        if created and hooks.after_create is not None:
            context = HookContext(
                workspace.path, workspace.path.parent, issue.identifier, issue, attempt
            )
            try:
                hook = await self._hook(
                    "after_create", hooks.after_create, context, hooks, strip_env
                )
            except asyncio.CancelledError:
                await self._discard(workspace, hooks, strip_env)
                raise
            if not hook.ok:
                await self._discard(workspace, hooks, strip_env)
                raise self._error(hook, issue.identifier, workspace.path, WORKSPACE_HOOK_FAILED)
        if created:
            return await self._record_base(workspace, hooks, strip_env)
        return workspace

    async def _record_base(
        self, workspace: Workspace, hooks: HooksConfig, strip_env: frozenset[str] | None
    ) -> Workspace:
        """Remember on the host where a new workspace starts, so its proof of work has a base
        (``<root>/.symphony~bases/<key>`` there, as ``workspace/base.py`` does locally)."""
        script = record_base_script(self.raw_root, workspace.key, str(workspace.path))
        result = await self._ssh("record_base", script, hooks, strip_env)
        base = parse_base(result.output) if result.ok else None
        if not result.ok:
            # The workspace is usable without it; the review then reports "no base".
            log.warning(
                "could not record the workspace base",
                workspace=str(workspace.path),
                worker_host=self.target.raw,
                reason=result.describe(),
            )
        elif base is not None:
            log.info("workspace base recorded", workspace=str(workspace.path), base=base)
        return dataclasses.replace(workspace, base_commit=base)

    async def git_proof(self, ws: Workspace, base: str | None) -> GitProof:
        """The proof of work's git part, read on the host (``remote_proof.py``)."""
        from symphony.workspace.remote_proof import collect_remote_git_proof

        return await collect_remote_git_proof(
            self.target,
            str(ws.path),
            base,
            ssh_config=self._ssh_config,
            strip_env=self.strip_env,
            base_env=self._base_env,
            kill_grace_s=self._kill_grace_s,
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
        if hooks.before_run is None:
            return
        context = attempt_context(ws.path, issue, attempt)
        result = await self._hook("before_run", hooks.before_run, context, hooks, strip_env)
        if not result.ok:
            raise self._error(result, issue.identifier, ws.path, WORKSPACE_HOOK_FAILED)

    async def after_run(
        self,
        ws: Workspace,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> None:
        if hooks.after_run is None:
            return
        context = attempt_context(ws.path, issue, attempt)
        try:
            await self._hook("after_run", hooks.after_run, context, hooks, strip_env)
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
        if hooks.verify is None:
            return None
        context = attempt_context(ws.path, issue, attempt)
        return await self._hook("verify", hooks.verify, context, hooks, strip_env)

    async def fingerprint(self, ws: Workspace) -> str | None:
        """A digest of the workspace as the host sees it (``workspace/fingerprint.py``'s rules:
        HEAD, status and the listed files' size and mtime in git, else every file's); None when
        the host could not say, which never counts against the agent."""
        result = await self._ssh(
            "fingerprint", fingerprint_script(str(ws.path)), FINGERPRINT_TIMEOUT_MS, None
        )
        # sha256sum prints "<64 hex digits>  -" (a login profile may print before it).
        words = result.output.split()
        digest = words[-2] if len(words) >= 2 and words[-1] == "-" else ""
        if not result.ok or len(digest) != 64:
            log.warning(
                "workspace fingerprint failed",
                worker_host=self.target.raw,
                reason=result.describe(),
                output=result.log_output(),
            )
            return None
        return digest

    async def remove(
        self,
        identifier: str,
        *,
        root: Path,
        hooks: HooksConfig,
        issue: Issue | None = None,
        strip_env: frozenset[str] | None = None,
    ) -> bool:
        """``before_remove`` (when the workspace exists) then delete it; False when absent."""
        del root
        return await self._remove(workspace_key(identifier), identifier, hooks, issue, strip_env)

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
        """Remote workspaces are removed by key under the host's root (a recorded path may be
        another host's)."""
        del root
        key = PurePosixPath(str(path)).name
        if not is_workspace_key_shaped(key):
            raise WorkspaceError(
                f"refusing to remove {str(path)!r} on {self.target.raw}: its name is not a "
                "workspace key",
                code=WORKSPACE_PATH_INVALID,
                path=path,
            )
        name = identifier or (issue.identifier if issue is not None else key)
        return await self._remove(key, name, hooks, issue, strip_env)

    async def _remove(
        self,
        key: str,
        identifier: str,
        hooks: HooksConfig,
        issue: Issue | None,
        strip_env: frozenset[str] | None,
    ) -> bool:
        if hooks.before_remove is not None:
            ws = f"{remote_path(self.raw_root)}/{shlex.quote(key)}"
            context = HookContext(Path("/"), Path("/"), identifier, issue)
            script = (
                f"root={remote_path(self.raw_root)}\nws={ws}\n"
                '[ -d "$ws" ] && [ ! -L "$ws" ] || exit 0\n'
                'cd -- "$ws" || exit 1\n'
                + hook_exports(context, "before_remove", paths_in_shell=True)
                + hooks.before_remove
            )
            result = await self._ssh("before_remove", script, hooks, strip_env)
            if result.exit_status == SSH_FAILED_EXIT:
                raise self._error(result, identifier, None, WORKSPACE_REMOVE_FAILED)
            if not result.ok:
                log.warning(
                    "workspace hook failed",
                    hook="before_remove",
                    reason=result.describe(),
                    output=result.log_output(),
                    worker_host=self.target.raw,
                )
        script = (
            f"root={remote_path(self.raw_root)}\n"
            f'ws="$root"/{shlex.quote(key)}\n'
            'if [ -L "$ws" ] || [ -e "$ws" ]; then rm -rf -- "$ws" || exit 1; echo removed; fi\n'
            f'rm -f -- "$root"/{shlex.quote(BASES_DIR)}/{shlex.quote(key)}\n'
        )
        result = await self._ssh("remove", script, hooks, strip_env)
        if not result.ok:
            raise self._error(result, identifier, None, WORKSPACE_REMOVE_FAILED)
        removed = "removed" in result.output.split()
        if removed:
            ids = {"issue_id": issue.id} if issue is not None else {}
            log.info(
                "workspace removed",
                **ids,
                issue_identifier=identifier,
                workspace=f"{self.raw_root}/{key}",
                worker_host=self.target.raw,
            )
        return removed

    async def _discard(
        self, workspace: Workspace, hooks: HooksConfig, strip_env: frozenset[str] | None
    ) -> None:
        """Remove a half-prepared new workspace so the next attempt reruns after_create."""
        script = f"rm -rf -- {_quote(str(workspace.path))}\n"
        removal = asyncio.ensure_future(self._ssh("discard", script, hooks, strip_env))
        try:
            await asyncio.shield(removal)
        except asyncio.CancelledError:
            return

    async def _hook(
        self,
        name: str,
        script: str,
        context: HookContext,
        hooks: HooksConfig,
        strip_env: frozenset[str] | None = None,
    ) -> HookResult:
        log.info("workspace hook started", hook=name, workspace=context.workspace)
        body = (
            f"cd -- {_quote(str(context.workspace))} || exit 1\n"
            + hook_exports(context, name)
            + script
        )
        result = await self._ssh(name, body, hooks, strip_env)
        hook_log = log.bind(
            hook=name,
            workspace=context.workspace,
            status=result.exit_status,
            duration_ms=result.duration_ms,
            worker_host=self.target.raw,
        )
        if result.ok:
            hook_log.info("workspace hook finished")
        else:
            hook_log.warning(
                "workspace hook failed", reason=result.describe(), output=result.log_output()
            )
        return result

    async def _ssh(
        self,
        name: str,
        script: str,
        hooks: HooksConfig | int,
        strip_env: frozenset[str] | None,
    ) -> HookResult:
        """One remote script, bounded by ``hooks.timeout_ms`` (or the given milliseconds)."""
        strip = self.strip_env if strip_env is None else strip_env
        timeout_ms = hooks if isinstance(hooks, int) else hooks.timeout_ms
        remote = unsets(strip) + bounded_script(script, timeout_ms)
        local = local_ssh_script(self.target, remote, config=self._ssh_config)
        return await run_hook(
            name,
            local,
            cwd=_LOCAL_CWD,
            timeout_ms=timeout_ms,
            env_extra={},
            strip=strip,
            base_env=self._base_env,
            kill_grace_s=self._kill_grace_s,
        )

    def _error(
        self, result: HookResult, identifier: str, workspace: Path | None, code: str
    ) -> WorkspaceError:
        tail = result.output.strip()[-ERROR_OUTPUT_CHARS:]
        detail = f"; output ends: {tail}" if tail else ""
        where = f" in {str(workspace)!r}" if workspace is not None else ""
        if result.exit_status == SSH_FAILED_EXIT:
            code = HOST_UNREACHABLE
            message = (
                f"worker host {self.target.raw} is unreachable over SSH ({result.name} for "
                f"{identifier}){detail}"
            )
        else:
            if result.timed_out:
                code = WORKSPACE_HOOK_TIMEOUT
            message = (
                f"{result.name} for {identifier} on {self.target.raw} {result.describe()}"
                f"{where}{detail}"
            )
        return WorkspaceError(message, code=code, path=workspace, hook=result.name)


# The host ends a script itself a moment after this side gave up on it (killing the local ssh
# client does not reach the host): GNU timeout signals the script's whole process group.
REMOTE_GRACE_S = 1
REMOTE_KILL_AFTER_S = 2


def bounded_script(script: str, timeout_ms: int) -> str:
    """``script`` under the host's ``timeout`` (coreutils) when it has one, else as it is."""
    seconds = math.ceil(timeout_ms / 1000) + REMOTE_GRACE_S
    bounded = f"timeout -k {REMOTE_KILL_AFTER_S} {seconds} bash -c {_quote(script)}"
    return f"if command -v timeout >/dev/null 2>&1; then exec {bounded}; fi\n{script}"


def _quote(text: str) -> str:
    return shlex.quote(text)


def hook_exports(context: HookContext, name: str, *, paths_in_shell: bool = False) -> str:
    """The hook's ``SYMPHONY_*`` variables as export lines. ``paths_in_shell``: the workspace
    and root are the script's ``$ws`` and ``$root`` (removal by key, where only the host knows
    them)."""
    values = context.environment(name)
    if not paths_in_shell:
        return exports(values)
    del values["SYMPHONY_WORKSPACE"], values["SYMPHONY_WORKSPACE_ROOT"]
    return (
        exports(values)
        + 'export SYMPHONY_WORKSPACE="$ws"\n'
        + 'export SYMPHONY_WORKSPACE_ROOT="$root"\n'
    )


def host_git_env(workspace: str) -> dict[str, str]:
    """The variables every git call on a host runs with: this repository only, no system or
    global config, nothing written, and the proof-of-work safety settings (filters excepted)."""
    return {
        "GIT_DIR": f"{workspace}/.git",
        "GIT_WORK_TREE": workspace,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "LC_ALL": "C",
        **safe_config(),
    }


def fingerprint_script(workspace: str) -> str:
    """What a turn may change in a remote workspace, printed for a digest (see ``fingerprint``).

    Git runs with the proof-of-work safety settings as ``GIT_CONFIG_*`` variables. Filters are
    not blanked here: on the host git runs as the same user as the agent, so a filter the agent
    configured runs nothing the agent could not run itself.
    """
    return (
        f"cd -- {shlex.quote(workspace)} || exit 1\n"
        # As for every git call of Symphony's: this repository only, nothing written.
        + exports(host_git_env(workspace))
        # Hashed on the host: a big workspace's listing never crosses the connection.
        + "{\nif [ -d .git ] && [ ! -L .git ] && command -v git >/dev/null 2>&1 && "
        "git rev-parse --git-dir >/dev/null 2>&1; then\n"
        "  echo git; git rev-parse --verify --quiet HEAD\n"
        "  stat -c '%s:%.9Y' .git/index 2>/dev/null || echo -\n"
        "  git --no-pager status --porcelain=v1 -z --untracked-files=all --ignore-submodules |\n"
        "    while IFS= read -r -d '' entry; do\n"
        "      printf '%s\\n' \"$entry\"\n"
        '      if [ "${#entry}" -gt 3 ]; then\n'
        "        stat -c '%s:%.9Y' -- \"${entry:3}\" 2>/dev/null || echo -\n"
        "      fi\n"
        "    done\n"
        "else\n"
        f"  find . -name .git -prune -o -type f -printf '%P %s %T@\\n' | LC_ALL=C sort |"
        f" head -n {MAX_FILES}\n"
        "fi\n"
        "} 2>/dev/null | sha256sum\n"
    )


def prepare_script(raw_root: str, key: str) -> str:
    return (
        "set -e\n"
        f"root={remote_path(raw_root)}\n"
        'mkdir -p -- "$root"\n'
        'cd -- "$root"\n'
        f"key={shlex.quote(key)}\n"
        'if [ -L "$key" ] || { [ -e "$key" ] && [ ! -d "$key" ]; }; then\n'
        '  echo "workspace $root/$key exists but is not a real directory" >&2; exit 3\n'
        "fi\n"
        'if [ -d "$key" ]; then created=0; else mkdir -- "$key"; created=1; fi\n'
        f'record={shlex.quote(BASES_DIR)}/"$key"\n'
        # A stale record of an earlier workspace under this key must not be reused.
        'if [ "$created" = 1 ]; then rm -f -- "$record"; fi\n'
        'base=$(head -c 200 -- "$record" 2>/dev/null || true)\n'
        f"printf '%s%s\\n' {_quote(BASE_MARKER)} \"$base\"\n"
        'cd -- "$key"\n'
        f'printf \'%s%s %s\\n\' {_quote(WORKSPACE_MARKER)} "$created" "$(pwd -P)"\n'
    )


def record_base_script(raw_root: str, key: str, workspace: str) -> str:
    """Record the new workspace's HEAD as its base on the host (none without git or a commit),
    and print it after ``BASE_MARKER``."""
    return (
        f"root={remote_path(raw_root)}\n"
        f"cd -- {_quote(workspace)} || exit 1\n"
        + exports(host_git_env(workspace))
        + f'record="$root"/{shlex.quote(BASES_DIR)}/{shlex.quote(key)}\n'
        "head=\n"
        "if [ -d .git ] && [ ! -L .git ] && command -v git >/dev/null 2>&1; then\n"
        "  head=$(git rev-parse --verify --quiet 'HEAD^{commit}' 2>/dev/null || true)\n"
        "fi\n"
        'if [ -z "$head" ]; then rm -f -- "$record"; exit 0; fi\n'
        'mkdir -p -- "$root"/' + shlex.quote(BASES_DIR) + " || exit 1\n"
        'printf \'%s\\n\' "$head" >"$record.tmp" && mv -f -- "$record.tmp" "$record" || exit 1\n'
        f"printf '%s%s\\n' {_quote(BASE_MARKER)} \"$head\"\n"
    )


def parse_base(output: str) -> str | None:
    """The base commit a script printed after ``BASE_MARKER``; None when none or not an id."""
    for line in output.splitlines():
        if line.startswith(BASE_MARKER):
            sha = line[len(BASE_MARKER) :].strip()
            return sha if _SHA.match(sha) else None
    return None


def parse_prepared(output: str, target: SshTarget, key: str) -> tuple[bool, str]:
    for line in output.splitlines():
        if line.startswith(WORKSPACE_MARKER):
            flag, _, path = line[len(WORKSPACE_MARKER) :].partition(" ")
            if flag in ("0", "1") and valid_remote_path(path) and PurePosixPath(path).name == key:
                return flag == "1", path
            break
    raise WorkspaceError(
        f"worker host {target.raw} did not report a valid workspace path for {key!r} "
        f"(output: {output.strip()[-200:]!r})",
        code=WORKSPACE_PATH_INVALID,
    )
