"""The tools of a best-of candidate's session (docs/best-of.md).

A candidate gets the tracker's tools plus ``symphony_hand_off``, which ends it: the call
succeeds, the current turn may finish, no continuation turn follows. Any call that would change
the issue's state is refused with an error that names ``symphony_hand_off``, so the agent learns
what to do instead; the issue stays where it is until every candidate is done and Symphony moves
it once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from symphony.core.candidates import CandidateRef
from symphony.logs import get_logger
from symphony.tools import ToolContext, ToolExecutor, ToolResult, ToolSpec
from symphony.trackers.candidate_writes import changes_issue_state

HAND_OFF_TOOL = "symphony_hand_off"
# The summary lands in the comparison comment and the Review view: a paragraph, not a report.
SUMMARY_LIMIT = 4_000

log = get_logger("symphony.orchestrator.worker")


def hand_off_spec(candidate: CandidateRef) -> ToolSpec:
    return ToolSpec(
        name=HAND_OFF_TOOL,
        description=(
            f"You are candidate {candidate.name} of {candidate.count} working on this issue "
            "independently. When your work is complete (committed in your workspace), call this "
            "with a short summary of what you did and how you checked it. It ends your work: "
            "finish your current turn and stop. Do not move the issue yourself; Symphony moves "
            "it once every candidate is done."
        ),
        input_schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["summary"],
            "properties": {
                "summary": {
                    "type": "string",
                    "description": "What you changed and how you verified it (a paragraph).",
                }
            },
        },
    )


class CandidateTools:
    """A candidate session's executor: ``symphony_hand_off`` here, state changes refused, every
    other call passed to the tracker's executor."""

    def __init__(
        self,
        execute: ToolExecutor,
        candidate: CandidateRef,
        changes_state: Callable[[str, Any], bool] = changes_issue_state,
    ) -> None:
        self._execute = execute
        self._changes_state = changes_state
        self.candidate = candidate
        # Set by the first successful symphony_hand_off call.
        self.summary: str | None = None

    @property
    def handed_off(self) -> bool:
        return self.summary is not None

    async def __call__(self, name: str, arguments: Any, context: ToolContext) -> ToolResult:
        if name == HAND_OFF_TOOL:
            return self._hand_off(arguments)
        if self._changes_state(name, arguments):
            log.info("candidate state change refused", tool=name, candidate=self.candidate.name)
            return ToolResult.fail(
                f"Candidate {self.candidate.name} may not change the state of "
                f"{context.issue.identifier}: {self.candidate.count} candidates work on it at "
                f"once and Symphony moves it when all are done. Comments are allowed. When your "
                f"work is complete, call `{HAND_OFF_TOOL}` with a summary instead.",
                tool=name,
            )
        return await self._execute(name, arguments, context)

    def _hand_off(self, arguments: Any) -> ToolResult:
        summary = arguments.get("summary") if isinstance(arguments, dict) else None
        if not isinstance(summary, str) or not summary.strip():
            return ToolResult.fail(
                f"`{HAND_OFF_TOOL}` needs a non-empty `summary` string: what you changed and "
                "how you checked it."
            )
        if self.summary is None:
            self.summary = summary.strip()[:SUMMARY_LIMIT]
            log.info("candidate handed off", candidate=self.candidate.name)
        return ToolResult.ok(
            {
                "handed_off": True,
                "candidate": self.candidate.name,
                "message": "Handed off. Finish this turn; no further turn follows.",
            }
        )
