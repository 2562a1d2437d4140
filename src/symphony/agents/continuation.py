"""Text of in-worker continuation turns (SPEC §10.2, §12.3).

A continuation turn runs on the same live thread, which already holds the original prompt and
everything the agent did, so it carries only short guidance and never the rendered prompt again.
"""

from __future__ import annotations


def continuation_guidance(turn_number: int, max_turns: int, *, issue_identifier: str = "") -> str:
    """Default guidance for turn ``turn_number`` (2-based: the first turn is the prompt)."""
    subject = f"Issue {issue_identifier}" if issue_identifier else "The issue"
    return "\n".join(
        [
            "Continuation guidance:",
            "",
            f"- {subject} is still in an active tracker state after your last turn, so this run "
            "continues.",
            f"- This is turn {turn_number} of at most {max_turns} in this run.",
            "- Your earlier instructions and work are already in this conversation; do not start "
            "over and do not repeat the task description.",
            "- Check the current state of the workspace, then carry on with what is left.",
            "- End the turn only when the work is done or you are blocked, and say which.",
        ]
    )
