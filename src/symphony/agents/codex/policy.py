"""Approval and sandbox posture sent to codex (SPEC §5.3.6, §10.2, §10.5); see docs/codex.md.

Every ``codex.*`` value the operator sets is passed to codex verbatim, with one exception: while
``codex.workspace_git_writable`` is on (the default), the workspace's own ``.git`` directory is
added to the ``writableRoots`` of a ``workspaceWrite`` turn policy, so the agent can commit. Codex
keeps every writable root's ``.git`` read-only unless that directory is itself listed, and it
takes only absolute paths, so a workflow cannot name the per-issue path itself. An unset
``codex.turn_sandbox_policy`` is filled in here: workspace-write limited to the issue's workspace,
no network. The defaults for ``approval_policy`` (``never``) and ``thread_sandbox``
(``workspace-write``) live in the typed config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symphony import __version__
from symphony.issue import Issue
from symphony.workflow.config import CodexConfig

CLIENT_INFO: dict[str, str] = {
    "name": "symphony",
    "title": "Symphony",
    "version": __version__,
}


def default_turn_sandbox_policy(workspace: Path) -> dict[str, Any]:
    """Writes only inside the workspace, no network (SandboxPolicy as codex 0.169 defines it)."""
    return {"type": "workspaceWrite", "writableRoots": [str(workspace)], "networkAccess": False}


def with_workspace_git(policy: Mapping[str, Any], workspace: Path) -> dict[str, Any]:
    """``policy`` with ``<workspace>/.git`` among its writable roots, if it is ``workspaceWrite``
    and that ``.git`` is a real directory now.

    Codex binds a writable root through a symlink, so a ``.git`` the agent made a symlink (or a
    gitdir file) would open whatever it points to; a real directory is a mount point inside the
    sandbox that the agent cannot replace. Checked before codex runs any command of the session.
    Other policy types either already write everywhere or write nowhere, and a malformed
    ``writableRoots`` is left for codex to reject with its own message.
    """
    result = dict(policy)
    if result.get("type") != "workspaceWrite":
        return result
    roots = result.get("writableRoots", [])
    if not isinstance(roots, list):
        return result
    git_dir = workspace / ".git"
    if git_dir.is_symlink() or not git_dir.is_dir():
        return result
    if str(git_dir) not in roots:
        result["writableRoots"] = [*roots, str(git_dir)]
    return result


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """The effective policy values of one session, fixed when the session starts."""

    approval_policy: str | Mapping[str, Any]
    thread_sandbox: str
    turn_sandbox_policy: Mapping[str, Any]
    # codex.mcp_approval: None follows approval_policy (see server_requests.decide).
    mcp_approval: str | None = None

    @classmethod
    def from_config(cls, codex: CodexConfig, workspace: Path) -> SessionPolicy:
        turn_policy: dict[str, Any] = (
            dict(codex.turn_sandbox_policy)
            if codex.turn_sandbox_policy is not None
            else default_turn_sandbox_policy(workspace)
        )
        if codex.workspace_git_writable:
            turn_policy = with_workspace_git(turn_policy, workspace)
        return cls(
            approval_policy=codex.approval_policy,
            thread_sandbox=codex.thread_sandbox,
            turn_sandbox_policy=turn_policy,
            mcp_approval=codex.mcp_approval,
        )

    @property
    def auto_approve(self) -> bool:
        """``never`` means the operator wants no approval prompts: accept any that still arrive.

        Under every other policy an approval request means codex wants a human; Symphony has none,
        so it declines (the model is told and carries on inside its sandbox).
        """
        return self.approval_policy == "never"

    def _approval(self) -> Any:
        policy = self.approval_policy
        return dict(policy) if isinstance(policy, Mapping) else policy

    def thread_start_params(
        self, cwd: Path, dynamic_tools: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "cwd": str(cwd),
            "approvalPolicy": self._approval(),
            "sandbox": self.thread_sandbox,
        }
        if dynamic_tools:
            params["dynamicTools"] = [dict(tool) for tool in dynamic_tools]
        return params

    def turn_start_params(self, thread_id: str, text: str, cwd: Path) -> dict[str, Any]:
        return {
            "threadId": thread_id,
            "input": [{"type": "text", "text": text}],
            "cwd": str(cwd),
            "approvalPolicy": self._approval(),
            "sandboxPolicy": dict(self.turn_sandbox_policy),
        }


def thread_title(issue: Issue) -> str:
    """Issue-identifying thread name (SPEC §10.2), set with ``thread/name/set``."""
    title = " ".join(issue.title.split())
    return f"{issue.identifier}: {title}" if title else issue.identifier
