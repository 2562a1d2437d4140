"""Hand-offs: the proof of work, ``hooks.verify`` and the verify gate (docs/review.md).

A run hands its issue off when, after a turn, the issue left the active states for a state that
is not terminal (``Human Review`` typically). The worker then tells the core (``HandingOff``:
reconciliation and the stall check leave the run alone meanwhile) and ``HandOff.run``:

1. runs ``hooks.verify`` in the workspace (bounded by ``hooks.timeout_ms``);
2. collects the proof: the git changes since the workspace's base commit, the agent's final
   message, the commands of every turn of the run, tokens, wall time, turns and attempts, and,
   when the tracker links pull requests to issues (``LinkedChanges``), those pull requests;
3. applies the gate: a failed verify with retries left (``review.max_verify_retries``, counted
   across runs in the stored proof) moves the issue back to the state it had before the turn,
   and the worker runs one more turn whose prompt carries the failure;
4. stores the proof (``ProofBook``) and posts it as the issue's one proof comment.

Tracker or store trouble here is logged and never fails the run: the agent's work is done.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from symphony.agents.base import CommandRun, TurnOutcome
from symphony.core.events import Event, HandingOff
from symphony.issue import Issue
from symphony.logs import get_logger
from symphony.orchestrator.ports import GitProofs, Workspaces
from symphony.orchestrator.proofs import ProofBook, ProofRecord
from symphony.text import clip
from symphony.timefmt import format_timestamp
from symphony.trackers.base import IssueWrites, LinkedChanges, TrackerAdapter
from symphony.usage import TokenUsage
from symphony.workflow.config import ServiceConfig
from symphony.workspace.hooks import HookResult
from symphony.workspace.proof import GitProof, collect_git_proof, read_branch

log = get_logger("symphony.orchestrator.handoff")

# Commands of a run kept in its proof (the newest ones).
MAX_PROOF_COMMANDS = 200
# Collecting the git proof makes several git calls, each bounded on its own; this bounds them all.
GIT_PROOF_TIMEOUT_S = 120.0
PROOF_COMMENT_KEY = "proof"
# The comment stays well under every tracker's comment size limit.
COMMENT_LIMIT = 30_000
COMMENT_MESSAGE_CHARS = 4_000
COMMENT_FILES = 50
COMMENT_COMMITS = 20
COMMENT_COMMANDS = 20
COMMENT_PULL_REQUESTS = 10
COMMENT_COMMAND_CHARS = 200
PROMPT_OUTPUT_CHARS = 4_096


@dataclass(slots=True)
class RunLedger:
    """What the turns of one run add up to, for its proof."""

    started: float = field(default_factory=time.monotonic)
    turns: int = 0
    tokens: TokenUsage = field(default_factory=TokenUsage)
    last_message: str | None = None
    commands: deque[CommandRun] = field(default_factory=lambda: deque(maxlen=MAX_PROOF_COMMANDS))
    # Sum of the turns' reported costs; None while no turn reported one. The hand-off replaces
    # it by the core's count (docs/pricing.md) when it has one.
    cost_usd: float | None = None

    def add(self, outcome: TurnOutcome) -> None:
        self.turns += 1
        if outcome.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + outcome.cost_usd
        self.tokens = self.tokens + outcome.usage_delta
        self.last_message = outcome.last_message
        self.commands.extend(outcome.commands)

    def duration_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """How ``hooks.verify`` ended; ``output_tail`` is the last 4 KB of stdout and stderr."""

    exit_code: int | None
    passed: bool
    duration_ms: int
    output_tail: str
    timed_out: bool = False
    reason: str | None = None  # why it failed, in words

    @classmethod
    def from_hook(cls, result: HookResult) -> VerifyResult:
        return cls(
            exit_code=result.exit_status,
            passed=result.ok,
            duration_ms=result.duration_ms,
            output_tail=result.log_output(),
            timed_out=result.timed_out,
            reason=None if result.ok else result.describe(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "passed": self.passed,
            "duration_ms": self.duration_ms,
            "output_tail": self.output_tail,
            "timed_out": self.timed_out,
            "reason": self.reason,
        }


def proof_body(
    git: GitProof,
    ledger: RunLedger,
    verify: VerifyResult | None,
    *,
    attempts: int,
    created_at: datetime,
    verify_failures: int = 0,
    sent_back: bool = False,
) -> dict[str, Any]:
    """The proof as the API shows it (``proof`` in ``GET /api/v1/<identifier>``)."""
    tokens = ledger.tokens
    body: dict[str, Any] = {
        "base": git.base,
        "head": git.head,
        "commits": [c.to_json() for c in git.commits],
        "files": [
            {"path": f.path, "added": f.added, "removed": f.removed, "uncommitted": f.uncommitted}
            | ({"binary": True} if f.binary else {})
            | ({"old_path": f.old_path} if f.old_path is not None else {})
            for f in git.files
        ],
        "final_message": ledger.last_message,
        "commands": [c.to_json() for c in ledger.commands],
        "verify": verify.to_json() if verify is not None else None,
        "tokens": {
            "input_tokens": tokens.input_tokens,
            "output_tokens": tokens.output_tokens,
            "total_tokens": tokens.total_tokens,
        },
        # Priced tokens (agent.prices), else what the agent reported; None when neither.
        "cost_usd": round(ledger.cost_usd, 6) if ledger.cost_usd is not None else None,
        "duration_ms": ledger.duration_ms(),
        "turns": ledger.turns,
        "attempts": attempts,
        "created_at": format_timestamp(created_at, timespec="milliseconds"),
        "verify_failures": verify_failures,
        "sent_back": sent_back,
        "commits_truncated": git.commits_truncated,
        "diff_truncated": git.diff_truncated,
        "note": no_diff_note(git),
    }
    return body


def no_diff_note(git: GitProof) -> str | None:
    """Why the proof has no diff (or only part of one), in words."""
    if not git.git:
        return f"No diff: {git.reason or 'the workspace could not be read with git'}."
    if git.error is not None:
        return f"No diff: git failed ({git.error})."
    return None


def proof_comment(body: dict[str, Any], *, max_retries: int) -> str:
    """The Markdown of the issue's proof comment, bounded to ``COMMENT_LIMIT`` characters."""
    lines = ["## Proof of work", ""]
    lines += _verify_lines(body, max_retries)
    message = body.get("final_message")
    if message:
        lines += ["", "**Final message**", "", _quote(clip(str(message), COMMENT_MESSAGE_CHARS))]
    files = body.get("files") or []
    lines += ["", f"**Files** ({len(files)})"]
    if body.get("note"):
        lines += ["", f"_{body['note']}_"]
    elif not files:
        lines += ["", "_No file differs from the base._"]
    else:
        lines.append("")
        for f in files[:COMMENT_FILES]:
            counts = (
                "binary"
                if f.get("binary")
                else f"+{f.get('added') or 0} \N{MINUS SIGN}{f.get('removed') or 0}"
            )
            extra = " (uncommitted)" if f.get("uncommitted") else ""
            lines.append(f"- `{_code(f['path'])}` {counts}{extra}")
        if len(files) > COMMENT_FILES:
            lines.append(f"- \N{HORIZONTAL ELLIPSIS} and {len(files) - COMMENT_FILES} more")
    lines += _pull_request_lines(body)
    commits = body.get("commits") or []
    if commits:
        lines += ["", f"**Commits** ({len(commits)})", ""]
        for c in commits[:COMMENT_COMMITS]:
            lines.append(f"- `{str(c['sha'])[:12]}` {_one_line(str(c['subject']))}")
        if len(commits) > COMMENT_COMMITS:
            lines.append(f"- \N{HORIZONTAL ELLIPSIS} and {len(commits) - COMMENT_COMMITS} more")
    commands = body.get("commands") or []
    if commands:
        lines += [
            "",
            f"**Commands** (last {min(len(commands), COMMENT_COMMANDS)} of {len(commands)})",
            "",
        ]
        for c in commands[-COMMENT_COMMANDS:]:
            status = "?" if c.get("exit_code") is None else str(c["exit_code"])
            command = _code(clip(_one_line(str(c["command"])), COMMENT_COMMAND_CHARS))
            lines.append(f"- `{command}` \N{RIGHTWARDS ARROW} {status}")
    tokens = body.get("tokens") or {}
    lines += [
        "",
        f"Tokens {tokens.get('total_tokens', 0):,} \N{MIDDLE DOT} turns {body.get('turns')} "
        f"\N{MIDDLE DOT} {_seconds(body.get('duration_ms'))} \N{MIDDLE DOT} attempt "
        f"{body.get('attempts')}",
    ]
    text = "\n".join(lines)
    if len(text) > COMMENT_LIMIT:
        text = clip(text, COMMENT_LIMIT - 40) + "\n\n_(proof shortened)_"
    return text


def _pull_request_lines(body: dict[str, Any]) -> list[str]:
    if "pull_requests" not in body:
        return []  # the tracker has no pull requests
    found = body["pull_requests"]
    if found is None:
        return ["", "**Pull requests**", "", "_The tracker could not list them._"]
    if not found:
        return ["", "**Pull requests**", "", "_None closes this issue or comes from its branch._"]
    lines = ["", f"**Pull requests** ({len(found)})", ""]
    for pr in found[:COMMENT_PULL_REQUESTS]:
        parts = [str(pr.get("state") or "?").lower()]
        if pr.get("review_decision"):
            parts.append("review " + str(pr["review_decision"]).lower().replace("_", " "))
        checks = pr.get("checks") or {}
        if checks.get("state"):
            text = "checks " + str(checks["state"]).lower()
            failing = [str(n) for n in checks.get("failing") or []]
            if failing:
                text += ": " + ", ".join(f"`{_code(_one_line(n))}`" for n in failing[:10])
                if len(failing) > 10:
                    text += f" and {len(failing) - 10} more"
            parts.append(text)
        lines.append(f"- {pr.get('url')} — " + " · ".join(parts))
    return lines


def _verify_lines(body: dict[str, Any], max_retries: int) -> list[str]:
    verify = body.get("verify")
    if verify is None:
        return ["**Verify:** not configured (`hooks.verify`)"]
    took = _seconds(verify.get("duration_ms"))
    if verify.get("passed"):
        return [f"**Verify: passed** ({took})"]
    failures = int(body.get("verify_failures") or 0)
    if body.get("sent_back"):
        after = f"sent back to the agent (retry {failures} of {max_retries})"
    else:
        after = "this work failed verification"
    reason = verify.get("reason") or f"exit code {verify.get('exit_code')}"
    tail = str(verify.get("output_tail") or "").rstrip()
    lines = [f"**Verify: failed** ({reason}, {took}) \N{EM DASH} {after}"]
    if tail:
        lines += ["", _fence(tail)]
    return lines


def verify_failed_prompt(
    identifier: str, verify: VerifyResult, state: str, failures: int, max_retries: int
) -> str:
    """The input of the turn after a failed verify: what failed, and what to do."""
    reason = verify.reason or f"exit code {verify.exit_code}"
    tail = verify.output_tail[-PROMPT_OUTPUT_CHARS:].rstrip() or "(no output)"
    return "\n".join(
        [
            f"You handed off {identifier}, but the project's verification (`hooks.verify`, run "
            f"by Symphony in your workspace) failed: {reason}.",
            f"The issue was moved back to {state}. This is verification retry {failures} of "
            f"{max_retries}.",
            "",
            "The end of its output:",
            "",
            _fence(tail),
            "",
            "Fix what made it fail, check your fix, then hand the issue off again the same way "
            "as before.",
        ]
    )


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code(text: str) -> str:
    # An inline code span cannot hold a backtick; a lookalike keeps the text readable.
    return text.replace("`", "\N{MODIFIER LETTER GRAVE ACCENT}")


def _seconds(ms: Any) -> str:
    return f"{(ms or 0) / 1000:.1f} s"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class HandOffServices:
    """What hand-offs need beyond the worker's services."""

    proofs: ProofBook
    # Neither active nor terminal under the current config: the run handed its issue off.
    is_hand_off: Callable[[Issue], bool]
    clock: Callable[[], datetime] = _now
    # The run's cost as the core counts it (issue id, run id); None: the turns' reported costs.
    run_cost: Callable[[str, int], float | None] | None = None


@dataclass(slots=True)
class HandOff:
    """The hand-offs of one attempt (one object per attempt)."""

    services: HandOffServices
    workspaces: Workspaces
    report: Callable[[Event], None]
    adapter: TrackerAdapter
    config: ServiceConfig
    workspace: Any
    run_id: int
    attempt: int | None
    strip_env: frozenset[str]
    tracker_timeout_s: float
    ledger: RunLedger = field(default_factory=RunLedger)

    async def run(self, issue: Issue, came_from: str) -> tuple[Issue, str | None]:
        """Handle the hand-off of ``issue`` (it was in ``came_from`` before the turn). Returns
        the issue as it is now and the prompt of one more turn when verify sent it back, or
        None: the run ends (the core keeps treating it as handing off until it exits)."""
        self.report(HandingOff(issue.id, self.run_id))
        log.info("issue handed off, collecting the proof of work", state=issue.state)
        review = self.config.review
        verify = await self._verify(issue)
        git = await self._git()
        prior = await self._prior_failures(issue.id, review.max_verify_retries)
        failures = 0 if verify is None or verify.passed else prior + 1
        state: str | None = None
        if verify is not None and not verify.passed:
            if failures <= review.max_verify_retries:
                state = await self._move_back(issue, came_from)
            else:
                log.warning(
                    "verify failed, retries exhausted: the issue stays handed off",
                    failures=failures,
                    max_verify_retries=review.max_verify_retries,
                )
        created = self.services.clock()
        if self.services.run_cost is not None:
            # The same number as the run's row and history: priced tokens, else reported cost.
            self.ledger.cost_usd = self.services.run_cost(issue.id, self.run_id)
        body = proof_body(
            git,
            self.ledger,
            verify,
            attempts=(self.attempt or 0) + 1,
            created_at=created,
            verify_failures=failures,
            sent_back=state is not None,
        )
        body |= {
            "issue_id": issue.id,
            "issue_identifier": issue.identifier,
            "issue_url": issue.url,
            "workspace": str(self.workspace.path),
        }
        if isinstance(self.adapter, LinkedChanges):
            body["pull_requests"] = await self._pull_requests(self.adapter, issue)
        await self._save(issue, body, git.diff, failures, created)
        if review.post_proof:
            await self._comment(issue, proof_comment(body, max_retries=review.max_verify_retries))
        if state is None or verify is None:
            return issue, None
        self.report(HandingOff(issue.id, self.run_id, active=False))
        prompt = verify_failed_prompt(
            issue.identifier, verify, state, failures, review.max_verify_retries
        )
        return replace(issue, state=state), prompt

    async def _verify(self, issue: Issue) -> VerifyResult | None:
        hooks = self.config.hooks
        if hooks.verify is None:
            return None
        result = await self.workspaces.verify(
            self.workspace, issue, hooks=hooks, attempt=self.attempt, strip_env=self.strip_env
        )
        if result is None:
            return None
        verdict = VerifyResult.from_hook(result)
        log.info("verify finished", passed=verdict.passed, duration_ms=verdict.duration_ms)
        return verdict

    async def _git(self) -> GitProof:
        base = getattr(self.workspace, "base_commit", None)
        path = Path(self.workspace.path)
        # A workspace on a worker host is read there; any other one here.
        reading = (
            self.workspaces.git_proof(self.workspace, base)
            if isinstance(self.workspaces, GitProofs)
            else collect_git_proof(path, base, base_env=None)
        )
        try:
            return await asyncio.wait_for(reading, GIT_PROOF_TIMEOUT_S)
        except TimeoutError:
            return GitProof(git=True, base=base, error=f"timed out after {GIT_PROOF_TIMEOUT_S:g} s")

    async def _pull_requests(
        self, adapter: LinkedChanges, issue: Issue
    ) -> list[dict[str, Any]] | None:
        """The issue's pull requests, or None when the tracker could not say (logged)."""
        try:
            branch = await read_branch(Path(self.workspace.path))
            found = await asyncio.wait_for(
                adapter.linked_pull_requests(issue, branch=branch), self.tracker_timeout_s
            )
        except Exception as exc:  # the proof goes without them, the run is not failed
            log.warning(
                "pull requests of the issue not read",
                error=exc if str(exc) else type(exc).__name__,
            )
            return None
        return [pr.to_json() for pr in found]

    async def _prior_failures(self, issue_id: str, max_retries: int) -> int:
        try:
            stored = await self.services.proofs.of_issue(issue_id)
        except Exception as exc:  # the gate still works, counting from this run
            log.warning("stored proof unreadable", error=exc)
            return 0
        if stored is None or stored.verify_failures > max_retries:
            # None before, or the last round ran out of retries and reached review: a new round.
            return 0
        return stored.verify_failures

    async def _move_back(self, issue: Issue, state: str) -> str | None:
        adapter = self.adapter
        if not isinstance(adapter, IssueWrites):
            log.warning(
                "verify failed but the tracker cannot move issues: it stays handed off",
                tracker=adapter.kind,
            )
            return None
        try:
            moved = await asyncio.wait_for(
                adapter.move_issue(issue.id, issue.identifier, state), self.tracker_timeout_s
            )
        except Exception as exc:  # a tracker error never fails the run
            log.warning(
                "verify failed but the issue could not be moved back: it stays handed off",
                state=state,
                error=exc if str(exc) else type(exc).__name__,
            )
            return None
        log.info("verify failed, issue moved back to the agent", state=moved)
        return moved

    async def _save(
        self, issue: Issue, body: dict[str, Any], diff: str, failures: int, created: datetime
    ) -> None:
        record = ProofRecord(issue.id, issue.identifier, created, body, diff, failures)
        try:
            await self.services.proofs.save(record)
        except Exception as exc:  # the proof is lost, the run is not
            log.warning("proof of work not stored", error=exc)

    async def _comment(self, issue: Issue, text: str) -> None:
        adapter = self.adapter
        if not isinstance(adapter, IssueWrites):
            return
        try:
            await asyncio.wait_for(
                adapter.upsert_own_comment(issue.id, issue.identifier, PROOF_COMMENT_KEY, text),
                self.tracker_timeout_s,
            )
        except Exception as exc:  # a tracker error never fails the run
            log.warning("proof comment not posted", error=exc if str(exc) else type(exc).__name__)
