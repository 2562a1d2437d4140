from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from symphony.core.candidates import CandidateRef
from symphony.issue import BlockerRef, Issue, IssueComment
from symphony.workflow.errors import TemplateParseError, TemplateRenderError
from symphony.workflow.loader import load_workflow
from symphony.workflow.template import DEFAULT_PROMPT, PromptTemplate, sample_issue
from tests.conftest import SHARED

ISSUE = Issue(
    id="9f1c",
    identifier="MT-649",
    title="Fix the flaky retry test",
    state="In Progress",
    dispatchable=True,
    description="Steps:\n1. run it",
    priority=1,
    branch_name="mt-649-fix",
    url="https://linear.app/acme/issue/MT-649",
    labels=("bug", "ci"),
    blocked_by=(BlockerRef("b1", "MT-600", "Done"),),
    created_at=datetime(2026, 2, 24, 20, 10, 12, tzinfo=UTC),
)


def compile_(source: str) -> PromptTemplate:
    return PromptTemplate.compile(source, path=Path("/w/WORKFLOW.md"), line_offset=10)


def test_renders_issue_fields_and_attempt() -> None:
    tpl = compile_(
        "{{ issue.identifier }} {{ issue.title }} [{{ issue.state }}] p{{ issue.priority }}"
        "{% for l in issue.labels %} #{{ l }}{% endfor %}"
        "{% for b in issue.blocked_by %} after {{ b.identifier }} ({{ b.state }}){% endfor %}"
        " created {{ issue.created_at }}"
        "{% if attempt %} retry {{ attempt }}{% endif %}"
    )
    first = tpl.render(ISSUE, None)
    assert first == (
        "MT-649 Fix the flaky retry test [In Progress] p1 #bug #ci after MT-600 (Done)"
        " created 2026-02-24T20:10:12Z"
    )
    assert tpl.render(ISSUE, 3).endswith(" retry 3")


def test_attempt_is_null_on_first_run() -> None:
    assert (
        compile_("{% if attempt == nil %}first{% else %}again{% endif %}").render(ISSUE, None)
        == "first"
    )


def test_unknown_variable_fails_with_file_and_line() -> None:
    tpl = compile_("line one\n{{ issue.titel }}")
    with pytest.raises(TemplateRenderError) as err:
        tpl.render(ISSUE, None)
    assert err.value.code == "template_render_error"
    assert "/w/WORKFLOW.md:12:" in err.value.message
    assert "titel" in err.value.message


def test_unknown_top_level_variable_fails() -> None:
    with pytest.raises(TemplateRenderError):
        compile_("{{ ticket.title }}").render(ISSUE, None)


def test_unknown_filter_fails() -> None:
    with pytest.raises(TemplateRenderError) as err:
        compile_("{{ issue.title | shout }}").render(ISSUE, None)
    assert "shout" in err.value.message


def test_syntax_error_is_parse_error_with_location() -> None:
    with pytest.raises(TemplateParseError) as err:
        compile_("ok\n{% if %}")
    assert err.value.code == "template_parse_error"
    assert "/w/WORKFLOW.md:12:" in err.value.message


def test_empty_body_uses_default_prompt() -> None:
    assert compile_("  \n").render(ISSUE, None) == DEFAULT_PROMPT


def test_null_optional_fields_render_without_error() -> None:
    bare = replace(ISSUE, description=None, priority=None, url=None, labels=(), blocked_by=())
    text = compile_("{% if issue.description %}d{% else %}none{% endif %}|{{ issue.url }}|").render(
        bare, None
    )
    assert text == "none||"


def test_reference_workflow_loads_and_renders() -> None:
    path = SHARED / "fixtures" / "reference-WORKFLOW.md"
    if not path.exists():
        pytest.skip(f"reference workflow fixture not found at {path}")
    wf = load_workflow(path)
    tpl = PromptTemplate.compile(wf.prompt_template, path=path, line_offset=wf.prompt_line_offset)
    first = tpl.render(ISSUE, None)
    assert "You are working on a Linear ticket `MT-649`" in first
    assert "Current status: In Progress" in first
    assert "Steps:\n1. run it" in first
    assert "follow-up attempt" not in first
    retry = tpl.render(ISSUE, 2)
    assert "This is follow-up attempt #2" in retry
    no_description = tpl.render(replace(ISSUE, description=None), None)
    assert "No description provided." in no_description


def test_sample_issue_renders_every_field() -> None:
    data = sample_issue().to_dict()
    assert set(data) == {
        "id",
        "identifier",
        "title",
        "description",
        "priority",
        "state",
        "branch_name",
        "url",
        "assignee_id",
        "comments",
        "labels",
        "blocked_by",
        "dispatchable",
        "created_at",
        "updated_at",
        "native_ref",
    }


def test_comments_reach_the_template_oldest_first() -> None:
    issue = replace(
        ISSUE,
        comments=(
            IssueComment("alice", "First", datetime(2026, 1, 1, tzinfo=UTC)),
            IssueComment("bob", "Rework: handle empty input", None),
        ),
    )
    source = (
        "{% for c in issue.comments %}{{ c.author }}@{{ c.created_at }}: {{ c.body }}\n{% endfor %}"
    )
    text = compile_(source).render(issue, None)
    assert text == ("alice@2026-01-01T00:00:00Z: First\nbob@: Rework: handle empty input\n")
    assert compile_("{{ issue.comments | size }}").render(ISSUE, None) == "0"


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/WORKFLOW.md"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_the_examples_show_the_conversation_only_when_there_is_one(path: Path) -> None:
    wf = load_workflow(path)
    tpl = PromptTemplate.compile(wf.prompt_template, path=path, line_offset=wf.prompt_line_offset)
    issue = replace(
        sample_issue(),
        comments=(
            IssueComment("symphony", "<!-- symphony:proof -->\n## Proof of work"),
            IssueComment(
                "rita", "Rework: the empty case crashes", datetime(2026, 2, 1, tzinfo=UTC)
            ),
        ),
    )
    prompt = tpl.render(issue, None)
    assert "## Conversation" in prompt
    assert "**symphony**:\n\n<!-- symphony:proof -->\n## Proof of work" in prompt
    assert "**rita** (2026-02-01T00:00:00Z):\n\nRework: the empty case crashes" in prompt
    assert prompt.index("## Proof of work") < prompt.index("Rework: the empty case")
    quiet = tpl.render(replace(issue, comments=()), None)
    assert "## Conversation" not in quiet
    assert "\n\n\n" not in quiet.split("This is an unattended session")[0]


def test_the_examples_are_found() -> None:
    assert {p.parent.name for p in EXAMPLES} >= {"local", "linear"}


def test_candidate_is_nil_outside_a_best_of_run_and_set_inside_one() -> None:
    tpl = compile_(
        "{% if candidate == nil %}single{% else %}"
        "{{ candidate.name }} {{ candidate.index }}/{{ candidate.count }}{% endif %}"
    )
    assert tpl.render(ISSUE, None) == "single"
    assert tpl.render(ISSUE, None, CandidateRef.of(1, 3)) == "b 1/3"


def test_a_render_error_names_the_candidate_variable() -> None:
    with pytest.raises(TemplateRenderError, match="candidate"):
        compile_("{{ nope }}").render(ISSUE, None)


@pytest.mark.parametrize(
    "source",
    [
        "{% for c in issue.comments %}{{ c.author }}: {{ c.body }}{% endfor %}",
        "{% if issue.comments.size > 0 %}See the comments.{% endif %}",
        "{{ issue.comments | map: 'body' | join: ', ' }}",
        "{% assign key = 'comments' %}{{ issue[key] }}",  # a key known only when rendering
        "{% assign it = issue %}{{ it.comments.first.body }}",  # the whole issue, renamed
        "{{ issue | size }}",
        "{% for pair in issue %}{{ pair }}{% endfor %}",
        "{% if attempt %}{% case issue.comments.size %}{% when 0 %}none{% endcase %}{% endif %}",
        "{% liquid\n  for c in issue.comments\n    echo c.body\n  endfor\n%}",
    ],
)
def test_a_prompt_that_may_look_at_the_comments_reads_them(source: str) -> None:
    assert compile_(source).reads_comments


@pytest.mark.parametrize(
    "source",
    [
        "",  # the default prompt
        "{{ issue.identifier }}: {{ issue.title }}\n{{ issue.description }}",
        "{% for label in issue.labels %}{{ label }}{% endfor %}{{ attempt }}",
        "{% assign comments = 'none' %}{{ comments }} {{ issue.blocked_by.first.identifier }}",
    ],
)
def test_a_prompt_that_never_looks_at_the_comments_needs_none(source: str) -> None:
    template = compile_(source)
    assert not template.reads_comments
    # What such a prompt renders does not depend on the comments.
    with_comments = replace(ISSUE, comments=(IssueComment("rita", "Rework it", None),))
    assert template.render(with_comments, None) == template.render(ISSUE, None)


def test_the_reference_and_example_workflows_are_analyzed_as_they_read() -> None:
    reference = load_workflow(SHARED / "fixtures" / "reference-WORKFLOW.md")
    assert not compile_(reference.prompt_template).reads_comments
    root = Path(__file__).resolve().parents[2]
    example = load_workflow(root / "examples" / "linear" / "WORKFLOW.md")
    assert compile_(example.prompt_template).reads_comments
