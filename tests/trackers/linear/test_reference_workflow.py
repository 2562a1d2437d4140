"""The reference WORKFLOW.md (a Linear team's real file) validates, loads and renders unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.cli import main
from symphony.trackers.linear import PROFILE
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import load_workflow_file
from tests.conftest import SHARED
from tests.support.fake_linear import FakeLinear

REFERENCE = SHARED / "fixtures" / "reference-WORKFLOW.md"
KEY = "lin_api_referenceWORKFLOW0123456789ab"


@pytest.fixture
def reference() -> Path:
    if not REFERENCE.is_file():
        pytest.skip(f"reference workflow fixture not found at {REFERENCE}")
    return REFERENCE


def test_validate_passes_without_the_key_and_warns(
    reference: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LINEAR_API_KEY", raising=False)
    assert main(["validate", str(reference)]) == 0
    out = capsys.readouterr().out
    assert "is valid" in out
    assert "tracker.provider.api_key" in out
    assert "LINEAR_API_KEY" in out
    assert "required to start" in out


def test_validate_passes_with_the_key(
    reference: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LINEAR_API_KEY", KEY)
    assert main(["validate", str(reference)]) == 0
    out = capsys.readouterr().out
    assert "is valid" in out
    assert "required to start" not in out
    assert KEY not in out


async def test_reference_workflow_renders_a_real_linear_issue(
    reference: Path, linear: FakeLinear, tmp_path: Path
) -> None:
    workflow = load_workflow_file(
        reference, environ={"LINEAR_API_KEY": KEY, "HOME": str(tmp_path)}, resolver=resolve_tracker
    )
    tracker = workflow.config.tracker
    assert tracker.kind == "linear"
    assert tracker.active_states == ("Todo", "In Progress", "Merging", "Rework")
    assert tracker.provider["project_slug"] == linear.project_slug

    issue_record = linear.add_issue(
        "Retry webhook deliveries with backoff",
        state="Rework",
        description="Deliveries fail on 502.\n\n## Acceptance\n- retries with jitter",
        labels=["Backend", "Reliability"],
        priority=2,
    )
    provider = {**tracker.provider, "endpoint": linear.url, "api_key": linear.api_key}
    adapter = PROFILE.create(
        tracker.model_copy(update={"provider": provider}), workflow_dir=tmp_path, environ={}
    )
    try:
        [issue] = await adapter.fetch_issues_by_states(list(tracker.active_states or ()))
    finally:
        await adapter.aclose()

    first = workflow.render_prompt(issue, None)
    assert f"You are working on a Linear ticket `{issue_record.identifier}`" in first
    assert "Title: Retry webhook deliveries with backoff" in first
    assert "Current status: Rework" in first
    assert "backend" in first and "reliability" in first
    assert "retries with jitter" in first
    assert issue.url is not None and issue.url in first
    assert "follow-up attempt" not in first
    retry = workflow.render_prompt(issue, 2)
    assert "This is follow-up attempt #2" in retry
