"""`symphony init`: a WORKFLOW.md that validates, from flags or answers, never overwriting."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from symphony.onboard.init import init_command
from symphony.validate import load_for_validation


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    return path


def run(repo: Path, *argv: str, answers: Sequence[str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    replies = list(answers or ())
    asked: list[str] = []

    def ask(question: str, choices: Sequence[str] | None, default: str | None) -> str:
        asked.append(question)
        reply = replies.pop(0)
        return reply if reply else (default or "")

    code = init_command(["--dir", str(repo), *argv], out=out, err=err, ask=ask)
    assert not replies, f"unanswered: {replies}, asked: {asked}"
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("flags", "kind"),
    [
        (["--tracker", "local"], "local"),
        (["--tracker", "linear", "--project-slug", "web-1a2b"], "linear"),
        (["--tracker", "github", "--repository", "acme/web", "--project-number", "4"], "github"),
        (["--tracker", "local", "--agent", "claude_code"], "local"),
        (
            [
                "--tracker",
                "linear",
                "--project-slug",
                "x",
                "--agent",
                "acp",
                "--agent-command",
                "a",
            ],
            "linear",
        ),
    ],
)
def test_yes_writes_a_workflow_that_validates(repo: Path, flags: list[str], kind: str) -> None:
    code, out, err = run(repo, "--yes", *flags)
    assert (code, err) == (0, "")
    workflow, _notes = load_for_validation(repo / "WORKFLOW.md")
    assert workflow.config.tracker.kind == kind
    assert "wrote" in out and "symphony doctor" in out


def test_the_clone_hook_reads_origin(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "git@github.com:acme/web.git")
    code, _, err = run(repo, "--yes", "--tracker", "github", "--project-number", "2")
    assert (code, err) == (0, "")
    config = load_for_validation(repo / "WORKFLOW.md")[0].config
    assert config.hooks.after_create == "git clone --depth 1 git@github.com:acme/web.git .\n"
    # The repository and the board's owner come from origin too.
    assert config.tracker.provider["repository"] == "acme/web"
    assert config.tracker.provider["project_owner"] == "acme"


def test_without_origin_the_hook_clones_the_repository_itself(repo: Path) -> None:
    assert run(repo, "--yes")[0] == 0
    config = load_for_validation(repo / "WORKFLOW.md")[0].config
    assert config.hooks.after_create == f"git clone --depth 1 {repo.as_uri()} .\n"


def test_the_prompt_is_the_matching_examples(repo: Path) -> None:
    run(repo, "--yes", "--tracker", "linear", "--project-slug", "x")
    body = (repo / "WORKFLOW.md").read_text().split("---\n", 2)[2]
    assert "linear_graphql" in body
    run(repo, "--yes", "--force", "--agent", "claude_code")
    body = (repo / "WORKFLOW.md").read_text().split("---\n", 2)[2]
    assert "mcp__symphony__board_get_issue" in body


def test_an_existing_file_is_kept_without_force(repo: Path) -> None:
    (repo / "WORKFLOW.md").write_text("mine\n")
    code, out, err = run(repo, "--yes")
    assert code == 1 and out == ""
    assert "WORKFLOW.md exists; pass --force to replace it" in err
    assert (repo / "WORKFLOW.md").read_text() == "mine\n"
    assert run(repo, "--yes", "--force")[0] == 0
    assert (repo / "WORKFLOW.md").read_text().startswith("---\n")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tracker", "linear"], "--tracker linear needs --project-slug"),
        (["--tracker", "github", "--project-number", "1"], "--tracker github needs --repository"),
        (["--tracker", "github", "--repository", "a/b"], "needs --project-number"),
        (["--agent", "acp"], "--agent acp needs --agent-command"),
        (["--active-states", " , "], "no state names"),
    ],
)
def test_what_is_missing_is_named(repo: Path, flags: list[str], message: str) -> None:
    code, _, err = run(repo, "--yes", *flags)
    assert code == 1 and message in err
    assert not (repo / "WORKFLOW.md").exists()


def test_questions_take_the_answers_and_defaults(repo: Path) -> None:
    # tracker, agent, active states (default), terminal states, project slug
    code, _, err = run(repo, answers=["linear", "claude_code", "", "Done, Canceled", "proj-9"])
    assert (code, err) == (0, "")
    config = load_for_validation(repo / "WORKFLOW.md")[0].config
    assert config.agent.kind == "claude_code"
    assert config.tracker.active_states == ("Todo", "In Progress", "Merging", "Rework")
    assert config.tracker.terminal_states == ("Done", "Canceled")
    assert config.tracker.provider["project_slug"] == "proj-9"


def test_the_state_directory_is_kept_out_of_git_status(repo: Path) -> None:
    run(repo, "--yes")
    (repo / ".symphony").mkdir()
    (repo / ".symphony" / "state.sqlite").write_text("x")
    assert git(repo, "status", "--porcelain") == "?? WORKFLOW.md"
    run(repo, "--yes", "--force")
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert exclude.count(".symphony/") == 1


@pytest.mark.parametrize(
    ("origin", "cloned"),
    [
        (
            "https://x-access-token:ghp_secret@github.com/acme/web.git",
            "https://github.com/acme/web.git",
        ),
        ("https://ghp_secret@github.com/acme/web.git", "https://github.com/acme/web.git"),
        ("ssh://git:pw@example.com/acme/web.git", "ssh://git@example.com/acme/web.git"),
        ("ssh://git@example.com:2222/acme/web.git", "ssh://git@example.com:2222/acme/web.git"),
        ("git@github.com:acme/web.git", "git@github.com:acme/web.git"),
    ],
)
def test_credentials_in_origin_never_reach_the_workflow(
    repo: Path, origin: str, cloned: str
) -> None:
    git(repo, "remote", "add", "origin", origin)
    assert run(repo, "--yes")[0] == 0
    text = (repo / "WORKFLOW.md").read_text()
    assert "secret" not in text and ":pw@" not in text
    config = load_for_validation(repo / "WORKFLOW.md")[0].config
    assert config.hooks.after_create == f"git clone --depth 1 {cloned} .\n"
