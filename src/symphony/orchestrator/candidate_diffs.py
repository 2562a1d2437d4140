"""A best-of candidate's diff, read from its workspace when the Review view asks for it
(docs/best-of.md, "Picking one").

The same git proof of work a hand-off reads (``workspace/proof.py``): against the candidate
workspace's recorded base, untracked files included, cut at the proof's size limit with a
marker. git runs as child processes with a timeout each and one for the whole read, so the event
loop never waits on a big repository. A workspace that is gone (picked, discarded, removed with
its issue) is said so and never created again: preparing it would run ``after_create``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from symphony.core.candidates import CandidateSet, candidate_key
from symphony.orchestrator.handoff import GIT_PROOF_TIMEOUT_S, no_diff_note
from symphony.review import CandidateDiff
from symphony.workspace.base import read_base
from symphony.workspace.keys import workspace_key
from symphony.workspace.proof import MAX_DIFF_BYTES, GitProof, collect_git_proof

_GONE = {
    "chosen": "it was chosen and became the issue's workspace",
    "discarded": "another candidate was chosen and this one was removed",
}


async def read_candidate_diff(
    candidates: CandidateSet | None,
    identifier: str,
    name: str,
    *,
    root: Path,
    timeout_s: float = GIT_PROOF_TIMEOUT_S,
    max_diff_bytes: int = MAX_DIFF_BYTES,
) -> CandidateDiff:
    """Candidate ``name`` of ``identifier``'s diff against its base, or why there is none."""
    if candidates is None:
        return CandidateDiff("no_such_candidate", f"{identifier} has no best-of candidates")
    candidate = candidates.get(name)
    if candidate is None:
        names = ", ".join(c.name for c in candidates.candidates)
        return CandidateDiff(
            "no_such_candidate", f"{identifier} has no candidate {name!r} (it has {names})"
        )
    key = workspace_key(candidate_key(identifier, name))
    path = Path(candidate.workspace_path) if candidate.workspace_path else Path(root) / key
    if not await asyncio.to_thread(path.is_dir):
        why = _GONE.get(candidate.status, "it was removed or never created")
        return CandidateDiff(
            "no_workspace",
            f"the workspace of candidate {name} of {identifier} ({path}) is gone: {why}",
        )
    base = await asyncio.to_thread(read_base, Path(root), key)
    try:
        git = await asyncio.wait_for(
            collect_git_proof(path, base, max_diff_bytes=max_diff_bytes), timeout_s
        )
    except TimeoutError:
        git = GitProof(git=True, base=base, error=f"timed out after {timeout_s:g} s")
    return CandidateDiff(
        "ok",
        diff=git.diff,
        note=no_diff_note(git),
        truncated=git.diff_truncated,
        base=git.base,
        head=git.head,
    )
