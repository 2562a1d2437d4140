"""Strict Liquid prompt rendering (SPEC §5.4, §12).

Unknown variables and unknown filters fail; errors point at the line in WORKFLOW.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from liquid import Environment, StrictUndefined
from liquid.exceptions import LiquidError, LiquidSyntaxError

from symphony.core.candidates import CandidateRef
from symphony.issue import BlockerRef, Issue, IssueComment
from symphony.workflow.errors import TemplateParseError, TemplateRenderError

DEFAULT_PROMPT = "You are working on an issue from the configured tracker."

# One environment for the process: compiled templates are immutable and rendering is re-entrant.
_ENV = Environment(undefined=StrictUndefined)


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    source: str
    path: Path
    line_offset: int
    _compiled: Any
    # Whether rendering may look at ``issue.comments``; when not, no worker reads them.
    reads_comments: bool = True

    @classmethod
    def compile(cls, source: str, *, path: Path, line_offset: int = 0) -> PromptTemplate:
        text = source if source.strip() else DEFAULT_PROMPT
        try:
            compiled = _ENV.from_string(text)
        except LiquidError as exc:
            raise TemplateParseError(
                f"{_where(exc, path, line_offset)}: template syntax error: {_first_line(exc)}"
            ) from None
        return cls(
            source=text,
            path=path,
            line_offset=line_offset,
            _compiled=compiled,
            reads_comments=_reads_comments(compiled),
        )

    def render(
        self, issue: Issue, attempt: int | None, candidate: CandidateRef | None = None
    ) -> str:
        # ``candidate`` is always defined (nil outside a best-of run), so one strict template
        # serves every run (docs/best-of.md).
        return self.render_context(
            {
                "issue": issue.to_dict(),
                "attempt": attempt,
                "candidate": candidate.to_dict() if candidate is not None else None,
            }
        )

    def render_context(self, context: dict[str, Any]) -> str:
        try:
            return str(self._compiled.render(**context))
        except LiquidSyntaxError as exc:
            raise TemplateParseError(
                f"{_where(exc, self.path, self.line_offset)}: template syntax error: "
                f"{_first_line(exc)}"
            ) from None
        except LiquidError as exc:
            raise TemplateRenderError(
                f"{_where(exc, self.path, self.line_offset)}: cannot render the prompt: "
                f"{_first_line(exc)}. Available variables: issue.* (id, identifier, title, "
                "description, priority, state, branch_name, url, assignee_id, labels, "
                "blocked_by, dispatchable, created_at, updated_at, native_ref, comments), "
                "attempt and candidate (name, index, count; nil outside a best-of run)."
            ) from None


def sample_issue() -> Issue:
    """A realistic issue for `symphony validate` and reload-time trial renders."""
    return Issue(
        id="sample-issue-id",
        identifier="SYM-1",
        title="Sample issue used to check the prompt template",
        state="Todo",
        dispatchable=True,
        description="A description with **markdown**.",
        priority=2,
        branch_name="sym-1-sample",
        url="https://tracker.example/SYM-1",
        assignee_id=None,
        labels=("bug", "backend"),
        blocked_by=(BlockerRef(id="b1", identifier="SYM-0", state="Done"),),
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        updated_at=datetime(2026, 1, 3, 3, 4, 5, tzinfo=UTC),
        native_ref=None,
        comments=(
            IssueComment(
                author="reviewer",
                body="Please also cover the empty case.",
                created_at=datetime(2026, 1, 3, 4, 0, 0, tzinfo=UTC),
            ),
        ),
    )


def _reads_comments(compiled: Any) -> bool:
    """Whether a render may look at ``issue.comments``, by the template's static analysis: a
    path through ``issue.comments``, a key of ``issue`` computed while rendering, or ``issue``
    itself (printed, assigned, looped over, passed to a filter) all may. When in doubt, it may.
    """
    try:
        found = compiled.analyze().variables.get("issue", ())
    except Exception:  # an analysis this version cannot do: assume the comments are read
        return True
    for variable in found:
        segments = variable.segments
        if len(segments) < 2 or segments[1] == "comments" or not isinstance(segments[1], str):
            return True
    return False


def _first_line(exc: LiquidError) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _where(exc: LiquidError, path: Path, offset: int) -> str:
    token = getattr(exc, "token", None)
    source = getattr(token, "source", None)
    start = getattr(token, "start_index", None)
    if isinstance(source, str) and isinstance(start, int):
        line = source.count("\n", 0, start) + 1
        col = start - (source.rfind("\n", 0, start) + 1) + 1
        return f"{path}:{offset + line}:{col}"
    return str(path)
