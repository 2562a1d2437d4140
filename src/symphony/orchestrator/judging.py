"""Judging best-of candidates (docs/best-of.md, "Judging").

Once every candidate of an issue handed off or failed: ``hooks.verify`` runs in each workspace
that handed off, the git proof of each is read, and with ``agent.judge`` one extra agent turn in
a scratch directory ranks them from their diffs and verify results. ``publish`` then moves the
issue once, to the first of ``review.states``, and posts one comparison comment.

Like a hand-off, nothing here fails the issue: a verify that cannot run, a judge that does not
answer usable JSON, a tracker that refuses the comment are each written down (in the candidate,
the set's ``judge_note``, the log) and the humans get what there is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from symphony.agents.base import AgentBackend
from symphony.agents.tools import ToolRegistry
from symphony.core.candidates import (
    Candidate,
    CandidateSet,
    apply_ranking,
    candidate_key,
    parse_ranking,
)
from symphony.issue import Issue
from symphony.logs import get_logger
from symphony.orchestrator.handoff import GIT_PROOF_TIMEOUT_S, VerifyResult
from symphony.orchestrator.ports import Workspaces
from symphony.text import clip
from symphony.trackers.base import IssueWrites, TrackerAdapter
from symphony.workflow.config import ServiceConfig
from symphony.workflow.store import Workflow
from symphony.workspace.proof import GitProof, collect_git_proof

log = get_logger("symphony.orchestrator.judging")

COMPARISON_COMMENT_KEY = "best-of"
# What the judge reads of each candidate's diff; the files list is always whole.
JUDGE_DIFF_CHARS = 20_000
JUDGE_VERIFY_CHARS = 2_000
JUDGE_TIMEOUT_S = 900.0
COMMENT_REASON_CHARS = 300
COMMENT_SUMMARY_CHARS = 600

# Runs one agent turn with ``prompt`` in the scratch directory; returns its final message.
JudgeTurn = Callable[[str, Path], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Findings:
    """What judging found in one candidate's workspace."""

    name: str
    verify: VerifyResult | None
    git: GitProof


async def judge(
    candidates: CandidateSet,
    issue: Issue,
    *,
    config: ServiceConfig,
    workspaces: Workspaces,
    strip_env: frozenset[str],
    scratch: Path,
    judge_turn: JudgeTurn | None = None,
) -> tuple[CandidateSet, dict[str, Findings]]:
    """Verify and read every candidate that handed off, then rank them when a judge is given
    (``agent.judge``). Returns the set marked judged, with each candidate's findings."""
    findings: dict[str, Findings] = {}
    judged = candidates
    for c in candidates.candidates:
        if c.status != "handed_off":
            continue
        found = await _findings(c, issue, config, workspaces, strip_env)
        findings[c.name] = found
        judged = judged.with_candidate(
            c.name,
            verify=_verify_word(found.verify),
            verify_output=found.verify.output_tail if found.verify is not None else None,
            files=tuple(f.path for f in found.git.files),
        )
    note: str | None = None
    if judge_turn is None:
        note = "no judge (agent.judge is off)"
    elif len(findings) < 2:
        note = (
            "nothing to rank: one candidate handed off" if findings else "no candidate handed off"
        )
    else:
        judged, note = await _rank(judged, issue, findings, judge_turn, scratch)
    return replace(judged, judged=True, judge_note=note), findings


async def _findings(
    c: Candidate,
    issue: Issue,
    config: ServiceConfig,
    workspaces: Workspaces,
    strip_env: frozenset[str],
) -> Findings:
    view = replace(issue, identifier=candidate_key(issue.identifier, c.name))
    # Preparing an existing workspace only finds it (and its base commit) again.
    workspace = await workspaces.prepare(
        view, root=config.workspace.root, hooks=config.hooks, attempt=None, strip_env=strip_env
    )
    verify: VerifyResult | None = None
    hook = await workspaces.verify(
        workspace, view, hooks=config.hooks, attempt=None, strip_env=strip_env
    )
    if hook is not None:
        verify = VerifyResult.from_hook(hook)
    try:
        git = await asyncio.wait_for(
            collect_git_proof(Path(workspace.path), getattr(workspace, "base_commit", None)),
            timeout=GIT_PROOF_TIMEOUT_S,
        )
    except TimeoutError:
        git = GitProof(git=False, reason=f"git did not answer within {GIT_PROOF_TIMEOUT_S:g} s")
    return Findings(c.name, verify, git)


def _verify_word(verify: VerifyResult | None) -> str | None:
    if verify is None:
        return None
    return "passed" if verify.passed else "failed"


async def _rank(
    candidates: CandidateSet,
    issue: Issue,
    findings: dict[str, Findings],
    judge_turn: JudgeTurn,
    scratch: Path,
) -> tuple[CandidateSet, str]:
    prompt = judge_prompt(issue, candidates, findings)
    try:
        answer = await asyncio.wait_for(judge_turn(prompt, scratch), timeout=JUDGE_TIMEOUT_S)
    except TimeoutError:
        return candidates, f"the judge did not answer within {JUDGE_TIMEOUT_S:g} s"
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the judge is advice: the humans still get the candidates
        log.warning("judge turn failed", error=f"{type(exc).__name__}: {exc}")
        return candidates, f"the judge's turn failed: {exc}"
    try:
        ranking = parse_ranking(answer or "", tuple(findings))
    except ValueError as exc:
        log.warning("judge answer unusable", error=str(exc))
        return candidates, str(exc)
    return apply_ranking(candidates, ranking), "ranked by the judge"


def agent_judge_turn(
    backend: AgentBackend, workflow: Workflow, issue: Issue, strip_env: frozenset[str]
) -> JudgeTurn:
    """``agent.judge``'s turn on the workflow's agent: a session without tools in the scratch
    directory, one turn, its final message."""

    async def turn(prompt: str, scratch: Path) -> str | None:
        await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
        session = await backend.start_session(
            workspace=scratch,
            issue=issue,
            tools=ToolRegistry.empty(),
            strip_env=strip_env,
            on_event=lambda _event: None,
            transcript=None,
            workflow=workflow,
        )
        try:
            outcome = await session.run_turn(prompt, issue=issue)
        finally:
            await session.stop()
        return outcome.last_message

    return turn


def judge_prompt(issue: Issue, candidates: CandidateSet, findings: dict[str, Findings]) -> str:
    """The judge's one turn: the issue, then each candidate's summary, verify result, changed
    files and diff; the answer it must give."""
    names = ", ".join(findings)
    lines = [
        f"You are judging {len(findings)} independent attempts ({names}) at the issue "
        f"{issue.identifier}: {issue.title}.",
        "",
        issue.description or "(no description)",
        "",
        "Rank every attempt, best first: the one a careful reviewer should merge. Prefer work "
        "that passes verification, solves the whole issue and changes no more than it must. Do "
        "not change any files. Answer with JSON only, in this shape:",
        '{"ranking": [{"candidate": "<name>", "reason": "<one or two sentences>"}, ...]}',
    ]
    for name, found in findings.items():
        c = candidates.get(name)
        lines += ["", f"## Candidate {name}", ""]
        if c is not None and c.summary:
            lines += [f"Its summary: {c.summary}", ""]
        if found.verify is None:
            lines.append("Verification: none configured.")
        else:
            outcome = "passed" if found.verify.passed else f"failed ({found.verify.reason})"
            lines.append(f"Verification: {outcome}.")
            if found.verify.output_tail and not found.verify.passed:
                lines += ["", _fence(clip(found.verify.output_tail, JUDGE_VERIFY_CHARS))]
        files = ", ".join(f.path for f in found.git.files) or "none"
        lines += ["", f"Changed files: {files}", ""]
        if found.git.diff:
            lines.append(_fence(clip(found.git.diff, JUDGE_DIFF_CHARS)))
        elif not found.git.git:
            lines.append(f"(no diff: {found.git.reason})")
    return "\n".join(lines)


def review_hint(identifier: str) -> str:
    """The comment's last line: where each candidate's work is."""
    return (
        f"Each candidate's work is in its own workspace, `{identifier}.<name>` under the "
        f"workspace root. Pick one with `POST /api/v1/{identifier}/review` and "
        '`{"decision": "approve", "candidate": "<name>"}`.'
    )


def comparison_comment(candidates: CandidateSet, *, review_hint: str) -> str:
    """The one comment on the issue once it is judged: the candidates side by side, best first
    when ranked, and how to pick one."""
    ordered = sorted(
        candidates.candidates,
        key=lambda c: (c.rank is None, c.rank or 0, c.index),
    )
    lines = [
        f"**Best of {candidates.count}**: {candidates.count} candidates worked on this issue; "
        "pick one to continue with.",
        "",
        "| candidate | status | verify | files | tokens | cost | rank |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in ordered:
        cost = f"${c.cost_usd:.2f}" if c.cost_usd is not None else "–"
        lines.append(
            f"| {c.name} | {c.status.replace('_', ' ')} | {c.verify or '–'} | {len(c.files)} | "
            f"{c.tokens:,} | {cost} | {c.rank if c.rank is not None else '–'} |"
        )
    notes = []
    for c in ordered:
        if c.reason:
            notes.append(f"- **{c.name}** (judge): {_one_line(c.reason, COMMENT_REASON_CHARS)}")
        if c.summary:
            notes.append(f"- **{c.name}** (agent): {_one_line(c.summary, COMMENT_SUMMARY_CHARS)}")
        if c.error:
            notes.append(f"- **{c.name}** failed: {_one_line(c.error, COMMENT_REASON_CHARS)}")
    if notes:
        lines += ["", *notes]
    if candidates.judge_note and candidates.judge_note != "ranked by the judge":
        lines += ["", f"Ranking: {candidates.judge_note}."]
    lines += ["", review_hint]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Published:
    """How publishing went: the review state as the tracker spells it, or why it did not
    move (``state`` None)."""

    state: str | None
    error: str | None = None


async def publish(
    adapter: TrackerAdapter,
    issue: Issue,
    candidates: CandidateSet,
    *,
    review_state: str,
    review_hint: str,
    timeout_s: float,
) -> str | None:
    """Move the issue once to ``review_state`` and post the comparison comment. Returns the
    state as the tracker spells it, None when the tracker cannot write or refused (logged)."""
    published = await try_publish(
        adapter,
        issue,
        candidates,
        review_state=review_state,
        review_hint=review_hint,
        timeout_s=timeout_s,
    )
    return published.state


async def try_publish(
    adapter: TrackerAdapter,
    issue: Issue,
    candidates: CandidateSet,
    *,
    review_state: str,
    review_hint: str,
    timeout_s: float,
) -> Published:
    """``publish``, saying why the issue did not move. A move that went through is not undone
    by a comment the tracker refuses: the candidates are in review either way (logged)."""
    if not isinstance(adapter, IssueWrites):
        return Published(None, f"the {adapter.kind} tracker cannot move issues")
    body = comparison_comment(candidates, review_hint=review_hint)
    try:
        async with asyncio.timeout(timeout_s):
            moved = await adapter.move_issue(issue.id, issue.identifier, review_state)
    except TimeoutError:
        return Published(None, f"the tracker did not answer within {timeout_s:g} s")
    except Exception as exc:
        return Published(None, f"{type(exc).__name__}: {exc}")
    try:
        async with asyncio.timeout(timeout_s):
            await adapter.upsert_own_comment(
                issue.id, issue.identifier, COMPARISON_COMMENT_KEY, body
            )
    except Exception as exc:  # TimeoutError included: the move stands
        log.warning("posting the comparison comment failed", error=f"{type(exc).__name__}: {exc}")
    return Published(moved)


def failure_comment(candidates: CandidateSet, *, attempt: int, delay_ms: float) -> str:
    """The comment on an issue whose candidates all failed: nothing to review, each one's
    error, and when a new set starts."""
    lines = [
        f"**Best of {candidates.count}**: every candidate failed, so nothing moves to review. "
        f"Symphony starts a new set of candidates in about {_duration(delay_ms)} "
        f"(attempt {attempt}).",
        "",
    ]
    for c in candidates.candidates:
        lines.append(f"- **{c.name}** failed: {_one_line(c.error or 'unknown error', 600)}")
    return "\n".join(lines)


async def announce_failed(
    adapter: TrackerAdapter, issue: Issue, body: str, *, timeout_s: float
) -> None:
    """Post (or replace) the best-of comment of an issue whose candidates all failed; a
    tracker that cannot comment or refuses is logged, never raised."""
    if not isinstance(adapter, IssueWrites):
        log.info(
            "tracker cannot comment; the failed candidates are in the log", tracker=adapter.kind
        )
        return
    try:
        async with asyncio.timeout(timeout_s):
            await adapter.upsert_own_comment(
                issue.id, issue.identifier, COMPARISON_COMMENT_KEY, body
            )
    except Exception as exc:  # TimeoutError included
        log.warning(
            "commenting on the failed candidates failed", error=f"{type(exc).__name__}: {exc}"
        )


def _duration(ms: float) -> str:
    seconds = max(round(ms / 1000), 1)
    if seconds < 120:
        return f"{seconds} s"
    return f"{round(seconds / 60)} min"


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def _one_line(text: str, limit: int) -> str:
    return clip(" ".join(text.split()), limit)
