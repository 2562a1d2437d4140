"""The proof comment's Markdown and the verify retry prompt (docs/review.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from symphony.agents.base import CommandRun, TurnOutcome
from symphony.orchestrator.handoff import (
    COMMENT_FILES,
    COMMENT_LIMIT,
    RunLedger,
    VerifyResult,
    proof_body,
    proof_comment,
    verify_failed_prompt,
)
from symphony.usage import TokenUsage
from symphony.workspace.hooks import HookResult
from symphony.workspace.proof import GitProof, ProofCommit, ProofFile

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FAILED = VerifyResult(1, False, 2_300, "E   assert 1 == 2\n```\nFAILED test_x", reason="exited 1")


def ledger(*commands: CommandRun, message: str | None = "All done.") -> RunLedger:
    book = RunLedger(started=0.0)
    book.add(
        TurnOutcome(
            session_id="s",
            thread_id="t",
            turn_id="u",
            turn_number=1,
            status="completed",
            usage=None,
            usage_delta=TokenUsage(input_tokens=1_000, output_tokens=234, total_tokens=1_234),
            last_message=message,
            duration_ms=5,
            commands=commands,
        )
    )
    return book


def git(files: int = 1) -> GitProof:
    return GitProof(
        git=True,
        base="a" * 40,
        head="b" * 40,
        commits=(ProofCommit("b" * 40, "Fix the `parser`"),),
        files=tuple(ProofFile(f"src/f{n}.py", 3, 1, uncommitted=n == 0) for n in range(files)),
        diff="diff",
    )


def body(**kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"attempts": 2, "created_at": AT}
    values.update(kw)
    verify = values.pop("verify", None)
    return proof_body(values.pop("git", git()), values.pop("ledger", ledger()), verify, **values)


def test_the_body_has_the_fields_the_api_promises() -> None:
    made = body(verify=FAILED, verify_failures=1, sent_back=True)
    assert set(made) >= {
        "base",
        "head",
        "commits",
        "files",
        "final_message",
        "commands",
        "verify",
        "tokens",
        "cost_usd",
        "duration_ms",
        "turns",
        "attempts",
        "created_at",
    }
    assert made["files"][0] == {"path": "src/f0.py", "added": 3, "removed": 1, "uncommitted": True}
    assert made["verify"] == {
        "exit_code": 1,
        "passed": False,
        "duration_ms": 2_300,
        "output_tail": FAILED.output_tail,
        "timed_out": False,
        "reason": "exited 1",
    }
    assert made["tokens"] == {"input_tokens": 1_000, "output_tokens": 234, "total_tokens": 1_234}
    assert (made["cost_usd"], made["turns"], made["attempts"]) == (None, 1, 2)
    assert made["created_at"] == "2026-03-01T12:00:00.000Z"


def test_a_passing_comment_starts_with_the_verify_result_and_lists_the_work() -> None:
    text = proof_comment(
        body(
            verify=VerifyResult(0, True, 1_500, "ok"),
            ledger=ledger(CommandRun("pytest -q", 0, 900), CommandRun("make `lint`", None, None)),
        ),
        max_retries=2,
    )
    lines = text.splitlines()
    assert lines[0] == "## Proof of work"
    assert lines[2] == "**Verify: passed** (1.5 s)"
    assert "> All done." in text
    assert "- `src/f0.py` +3 \N{MINUS SIGN}1 (uncommitted)" in text
    assert "- `bbbbbbbbbbbb` Fix the `parser`" in text
    assert "- `pytest -q` \N{RIGHTWARDS ARROW} 0" in text
    assert "`make \N{MODIFIER LETTER GRAVE ACCENT}lint\N{MODIFIER LETTER GRAVE ACCENT}` " in text
    assert "Tokens 1,234" in text and "attempt 2" in text


def test_a_failing_comment_fences_the_output_even_when_it_holds_a_fence() -> None:
    sent_back = proof_comment(body(verify=FAILED, verify_failures=1, sent_back=True), max_retries=2)
    assert (
        "**Verify: failed** (exited 1, 2.3 s) \N{EM DASH} sent back to the agent (retry 1 of 2)"
        in sent_back
    )
    assert "````\nE   assert 1 == 2\n```\nFAILED test_x\n````" in sent_back
    final = proof_comment(body(verify=FAILED, verify_failures=3), max_retries=2)
    assert "this work failed verification" in final


def test_the_comment_is_bounded() -> None:
    huge = ledger(message="word " * 50_000)
    text = proof_comment(body(git=git(files=500), ledger=huge), max_retries=2)
    assert len(text) <= COMMENT_LIMIT
    assert f"and {500 - COMMENT_FILES} more" in text


def test_no_diff_is_said_so() -> None:
    text = proof_comment(
        body(git=GitProof(git=False, reason="the workspace is not a git repository")),
        max_retries=2,
    )
    assert "_No diff: the workspace is not a git repository._" in text
    assert "**Verify:** not configured" in text


def test_a_timed_out_hook_is_a_failed_verify_with_its_reason() -> None:
    hook = HookResult("verify", None, True, "waiting", 7, 300, 300, omitted_bytes=10)
    result = VerifyResult.from_hook(hook)
    assert (result.passed, result.exit_code, result.timed_out) == (False, None, True)
    assert result.reason == "timed out after 300 ms (hooks.timeout_ms)"
    assert result.output_tail == "[10 earlier bytes omitted]waiting"


def test_the_retry_prompt_says_what_failed_and_what_to_do() -> None:
    prompt = verify_failed_prompt("MT-1", FAILED, "In Progress", 1, 2)
    assert "MT-1" in prompt and "exited 1" in prompt and "In Progress" in prompt
    assert "retry 1 of 2" in prompt and "FAILED test_x" in prompt
    assert "hand the issue off again" in prompt
