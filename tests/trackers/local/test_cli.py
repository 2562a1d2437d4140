"""``symphony board``: every command, its output, and its answer to bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symphony.cli import main as symphony_main
from symphony.trackers.local.cli import board_main
from tests.trackers.local.conftest import CliResult

Cli = Callable[..., CliResult]


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.err
    assert result.err == ""
    return result


def fails(result: CliResult, fragment: str, code: int = 1) -> CliResult:
    assert result.code == code, (result.out, result.err)
    assert fragment in result.err
    return result


def as_json(result: CliResult) -> Any:
    return json.loads(ok(result).out)


def test_add_then_show_in_json(cli: Cli) -> None:
    created = as_json(
        cli(
            "add",
            "Fix the login bug",
            "--description",
            "It 500s",
            "--priority",
            "2",
            "--label",
            "Bug",
            "-l",
            "auth",
            "--state",
            "backlog",
            "--assignee",
            "alice",
            "--json",
        )
    )
    assert created["identifier"] == "SYM-1"
    assert (created["state"], created["priority"], created["labels"]) == (
        "Backlog",
        2,
        ["bug", "auth"],
    )
    shown = as_json(cli("show", "sym-1", "--json"))
    assert shown["description"] == "It 500s" and shown["assignee_id"] == "alice"
    assert shown["history"][0]["to"] == "Backlog" and shown["comments"] == []


def test_add_human_output_and_defaults(cli: Cli) -> None:
    result = ok(cli("add", "Write [docs]"))
    assert "Created SYM-1 in Todo: Write [docs]" in result.out
    second = as_json(cli("add", "Next", "--blocked-by", "SYM-1", "--json"))
    assert second["blocked_by"][0]["identifier"] == "SYM-1"
    assert second["dispatchable"] is False  # Todo with an open blocker


def test_add_reads_description_from_a_file(cli: Cli, tmp_path: Path) -> None:
    text = tmp_path / "desc.md"
    text.write_text("## Acceptance\n- works\n", encoding="utf-8")
    created = as_json(cli("add", "From file", "--description-file", str(text), "--json"))
    assert created["description"] == "## Acceptance\n- works\n"


@pytest.mark.parametrize(
    ("argv", "fragment", "code"),
    [
        (["add", "   "], "title must not be empty", 1),
        (["add", "x", "--state", "Doing"], "valid states: Backlog, Todo, In Progress", 1),
        (["add", "x", "--priority", "7"], "argument -p/--priority", 2),
        (["add", "x", "--blocked-by", "SYM-9"], "no issue 'SYM-9'", 1),
        (["add", "x", "--description-file", "/nonexistent/d.md"], "cannot read the description", 1),
        (["add", "x", "-d", "a", "--description-file", "f"], "not allowed with argument", 2),
        (["add"], "the following arguments are required: title", 2),
    ],
)
def test_add_bad_input(cli: Cli, argv: list[str], fragment: str, code: int, capsys: Any) -> None:
    result = cli(*argv)
    usage = capsys.readouterr().err  # argparse writes usage errors to the real stderr
    assert result.code == code
    assert fragment in result.err + usage
    assert as_json(cli("list", "--all", "--json")) == []


def test_list_filters_and_hides_terminal_issues(cli: Cli) -> None:
    ok(cli("add", "open todo", "-l", "ui"))
    ok(cli("add", "backlog", "--state", "Backlog"))
    ok(cli("add", "finished", "--state", "Done", "-l", "ui"))
    default = ok(cli("list"))
    assert "open todo" in default.out and "backlog" in default.out
    assert "finished" not in default.out
    assert len(as_json(cli("list", "--all", "--json"))) == 3
    assert [i["title"] for i in as_json(cli("list", "--state", "done", "--json"))] == ["finished"]
    assert [i["title"] for i in as_json(cli("list", "--label", "UI", "--all", "--json"))] == [
        "open todo",
        "finished",
    ]
    assert len(as_json(cli("list", "--all", "--limit", "1", "--json"))) == 1


def test_list_empty_board_says_how_to_add(cli: Cli) -> None:
    assert "symphony board add" in ok(cli("list")).out


@pytest.mark.parametrize(
    ("argv", "fragment", "code"),
    [
        (["list", "--state", "Nope"], "state 'Nope' is not a state of this board", 1),
        (["list", "--limit", "0"], "must be at least 1", 2),
        (["list", "--limit", "x"], "must be a whole number", 2),
    ],
)
def test_list_bad_input(cli: Cli, argv: list[str], fragment: str, code: int, capsys: Any) -> None:
    result = cli(*argv)
    assert result.code == code
    assert fragment in result.err + capsys.readouterr().err


def test_show_human_output(cli: Cli) -> None:
    ok(cli("add", "Blocker"))
    ok(cli("add", "Main", "-d", "Body text", "--blocked-by", "1", "-l", "bug"))
    ok(cli("comment", "SYM-2", "looks good", "--author", "bob"))
    out = ok(cli("show", "SYM-2")).out
    for fragment in ("SYM-2", "Main", "Body text", "SYM-1 (Todo)", "bug", "bob", "looks good"):
        assert fragment in out
    assert "created in → Todo" in out


def test_show_unknown_issue(cli: Cli) -> None:
    fails(cli("show", "SYM-42"), "no issue 'SYM-42'")
    error = json.loads(fails(cli("show", "SYM-42", "--json"), "issue_not_found").err)
    assert error["error"]["code"] == "issue_not_found"


def test_move(cli: Cli) -> None:
    ok(cli("add", "x"))
    assert "SYM-1: Todo → Human Review" in ok(cli("move", "SYM-1", "human review")).out
    assert "already in Human Review" in ok(cli("move", "1", "Human Review")).out
    moved = as_json(cli("move", "SYM-1", "Done", "--json"))
    assert (moved["from"], moved["state"]) == ("Human Review", "Done")
    history = as_json(cli("show", "SYM-1", "--json"))["history"]
    assert [h["to"] for h in history] == ["Todo", "Human Review", "Done"]


def test_move_bad_input(cli: Cli, capsys: Any) -> None:
    ok(cli("add", "x"))
    result = fails(cli("move", "SYM-1", "Shipped"), "valid states: Backlog, Todo")
    assert "'Shipped'" in result.err
    error = json.loads(fails(cli("move", "SYM-1", "Shipped", "--json"), "invalid_state").err)
    assert "Human Review" in error["error"]["valid_states"]
    fails(cli("move", "SYM-7", "Done"), "no issue 'SYM-7'")
    assert cli("move", "SYM-1").code == 2
    assert "required: state" in capsys.readouterr().err


def test_comment(cli: Cli, tmp_path: Path) -> None:
    ok(cli("add", "x"))
    assert "Commented on SYM-1" in ok(cli("comment", "SYM-1", "first")).out
    body = tmp_path / "c.md"
    body.write_text("from a file", encoding="utf-8")
    comment = as_json(cli("comment", "SYM-1", "--body-file", str(body), "--json"))
    assert comment["body"] == "from a file" and comment["identifier"] == "SYM-1"
    bodies = [c["body"] for c in as_json(cli("show", "SYM-1", "--json"))["comments"]]
    assert bodies == ["first", "from a file"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["comment", "SYM-1"], "give the comment text"),
        (["comment", "SYM-1", "  "], "must not be empty"),
        (["comment", "SYM-1", "x", "--body-file", "f"], "not both"),
        (["comment", "SYM-9", "x"], "no issue 'SYM-9'"),
    ],
)
def test_comment_bad_input(cli: Cli, argv: list[str], fragment: str) -> None:
    ok(cli("add", "x"))
    fails(cli(*argv), fragment)
    assert as_json(cli("show", "SYM-1", "--json"))["comments"] == []


def test_label(cli: Cli) -> None:
    ok(cli("add", "x", "-l", "old"))
    assert "SYM-1 labels: old, new" in ok(cli("label", "SYM-1", "--add", "New")).out
    labelled = as_json(cli("label", "SYM-1", "--add", "b", "--remove", "OLD", "--json"))
    assert labelled["labels"] == ["new", "b"]


def test_label_bad_input(cli: Cli) -> None:
    ok(cli("add", "x"))
    fails(cli("label", "SYM-1"), "at least one label")
    fails(cli("label", "SYM-5", "--add", "x"), "no issue 'SYM-5'")


def test_block_and_unblock(cli: Cli) -> None:
    for title in ("a", "b", "c"):
        ok(cli("add", title))
    assert (
        "SYM-3 is blocked by SYM-1, SYM-2"
        in ok(cli("block", "SYM-3", "--by", "1", "--by", "2")).out
    )
    assert as_json(cli("show", "SYM-1", "--json"))["blocks"][0]["identifier"] == "SYM-3"
    after = as_json(cli("unblock", "SYM-3", "--by", "SYM-1", "--json"))
    assert [b["identifier"] for b in after["blocked_by"]] == ["SYM-2"]
    assert "SYM-3 is unblocked" in ok(cli("unblock", "SYM-3", "--by", "SYM-2")).out


@pytest.mark.parametrize(
    ("argv", "fragment", "code"),
    [
        (["block", "SYM-1", "--by", "SYM-1"], "cannot block itself", 1),
        (["block", "SYM-1", "--by", "SYM-2"], "cycle", 1),
        (["block", "SYM-1", "--by", "SYM-9"], "no issue 'SYM-9'", 1),
        (["block", "SYM-1"], "--by", 2),
        (["unblock", "SYM-1", "--by", "SYM-2"], "is not blocked by", 1),
    ],
)
def test_block_bad_input(cli: Cli, argv: list[str], fragment: str, code: int, capsys: Any) -> None:
    ok(cli("add", "a"))
    ok(cli("add", "b", "--blocked-by", "SYM-1"))
    result = cli(*argv)
    assert result.code == code
    assert fragment in result.err + capsys.readouterr().err
    assert as_json(cli("show", "SYM-1", "--json"))["blocked_by"] == []


def test_edit(cli: Cli) -> None:
    ok(cli("add", "Old", "-p", "3", "-a", "alice"))
    assert "Updated SYM-1" in ok(cli("edit", "SYM-1", "--title", "New")).out
    edited = as_json(
        cli(
            "edit",
            "SYM-1",
            "-p",
            "none",
            "--assignee",
            "",
            "--branch",
            "feat/x",
            "-d",
            "D",
            "--json",
        )
    )
    assert (edited["title"], edited["priority"], edited["assignee_id"]) == ("New", None, None)
    assert (edited["branch_name"], edited["description"]) == ("feat/x", "D")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["edit", "SYM-1"], "nothing to change"),
        (["edit", "SYM-1", "--title", " "], "title must not be empty"),
        (["edit", "SYM-3", "--title", "x"], "no issue 'SYM-3'"),
    ],
)
def test_edit_bad_input(cli: Cli, argv: list[str], fragment: str) -> None:
    ok(cli("add", "Keep"))
    fails(cli(*argv), fragment)
    assert as_json(cli("show", "SYM-1", "--json"))["title"] == "Keep"


def test_delete(cli: Cli) -> None:
    ok(cli("add", "gone"))
    ok(cli("comment", "SYM-1", "note"))
    assert "Deleted SYM-1: gone" in ok(cli("delete", "SYM-1", "--yes")).out
    fails(cli("show", "SYM-1"), "no issue")
    ok(cli("add", "again"))
    assert as_json(cli("delete", "SYM-2", "-y", "--json"))["deleted"] == "SYM-2"


def test_delete_needs_confirmation_and_known_issue(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cli("add", "keep me"))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    fails(cli("delete", "SYM-1"), "pass --yes")
    fails(cli("delete", "SYM-2", "--yes"), "no issue 'SYM-2'")
    assert as_json(cli("show", "SYM-1", "--json"))["title"] == "keep me"


def test_delete_prompt_on_a_terminal(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    ok(cli("add", "maybe"))
    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    assert cli("delete", "SYM-1").code == 1
    monkeypatch.setattr("sys.stdin", Tty("y\n"))
    ok(cli("delete", "SYM-1"))
    fails(cli("show", "SYM-1"), "no issue")


def test_states(cli: Cli) -> None:
    out = ok(cli("states")).out
    assert "Human Review" in out and "active" in out and "terminal" in out
    states = as_json(cli("states", "--json"))
    assert states["default_state"] == "Todo"
    assert states["active_states"] == ["Todo", "In Progress", "Merging", "Rework"]


# ---- locating the board -------------------------------------------------------------------


def run(argv: list[str]) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    return CliResult(board_main(argv, stdout=out, stderr=err), out.getvalue(), err.getvalue())


def test_default_workflow_is_the_one_in_the_current_directory(
    tmp_path: Path, local_workflow: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    local_workflow("prefix: WEB\npath: data/b.sqlite")
    monkeypatch.chdir(tmp_path)
    assert "WEB-1" in ok(run(["add", "x"])).out
    assert (tmp_path / "data" / "b.sqlite").is_file()
    # The board file alone knows its prefix and states from the workflow it last ran with.
    created = json.loads(ok(run(["--db", "data/b.sqlite", "add", "y", "--json"])).out)
    assert created["identifier"] == "WEB-2"


def test_custom_states_from_the_workflow(cli: Cli, local_workflow: Callable[..., Path]) -> None:
    local_workflow("states: [Open, Doing, Closed]")
    fails(cli("list"), "'Todo' is not a state of the local board")
    local_workflow(
        "states: [Open, Doing, Closed]\ndefault_state: Open",
        tracker="active_states: [Doing]\nterminal_states: [Closed]",
    )
    fails(cli("add", "x", "--state", "Todo"), "valid states: Open, Doing, Closed")
    assert "in Open" in ok(cli("add", "x")).out


@pytest.mark.parametrize(
    ("front", "fragment"),
    [
        (None, "Workflow file not found"),
        ("tracker:\n  kind: linear\n", "tracker.kind 'linear'"),
        ("polling: {}\n", "no tracker.kind"),
        ("tracker:\n  kind: local\n  provider:\n    prefix: '-'\n", "tracker.provider.prefix"),
        ("tracker:\n  kind: local\n  active_states: Todo\n", "tracker.active_states"),
        ("tracker: [1]\n", "tracker"),
        ("tracker: {kind: local\n", "YAML"),
    ],
)
def test_workflow_problems_are_explained(tmp_path: Path, front: str | None, fragment: str) -> None:
    path = tmp_path / "WORKFLOW.md"
    if front is not None:
        path.write_text(f"---\n{front}---\nprompt\n", encoding="utf-8")
    result = run(["list", "--workflow", str(path)])
    assert result.code == 1
    assert fragment in result.err
    assert result.err.startswith("symphony board: ")


def test_db_flag(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite"
    fails(run(["list", "--db", str(db)]), "no board at")
    assert not db.exists()
    ok(run(["--db", str(db), "add", "first"]))
    listed = json.loads(ok(run(["list", "--db", str(db), "--json"])).out)
    assert [i["identifier"] for i in listed] == ["SYM-1"]


def test_usage_errors_exit_2(tmp_path: Path, capsys: Any) -> None:
    assert run([]).code == 2
    assert run(["frobnicate"]).code == 2
    assert run(["list", "--db", "a", "--workflow", "b"]).code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert run(["--help"]).code == 0
    assert "symphony board" in capsys.readouterr().out


def test_symphony_board_dispatches_here(tmp_path: Path, capsys: Any) -> None:
    db = tmp_path / "b.sqlite"
    assert symphony_main(["board", "--db", str(db), "add", "via main"]) == 0
    assert "Created SYM-1" in capsys.readouterr().out
    assert symphony_main(["board", "--db", str(db), "show", "SYM-9"]) == 1
    assert "no issue 'SYM-9'" in capsys.readouterr().err


_LIGHT_PROBE = """
import sys
from symphony.cli import main

code = main(["board", "--workflow", sys.argv[1], "add", "A quick card"])
code += main(["board", "--workflow", sys.argv[1], "move", "SYM-2", "In Progress"])
heavy = ["asyncio", "structlog", "liquid", "watchfiles", "httpx", "uvicorn", "starlette"]
# The configuration models' validation library and the table renderer cost more than the rest
# of the command together; one-line writes need neither.
heavy += ["pydantic", "rich"]
print("exit", code, "loaded", [m for m in heavy if m in sys.modules])
"""


def test_board_writes_do_not_load_the_service(tmp_path: Path) -> None:
    # `board add` is how a person starts an agent by hand: its start-up time is dispatch latency.
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text("---\ntracker:\n  kind: local\n---\nWork on {{ issue.identifier }}\n")
    # The board exists already (creating it logs the schema migration).
    assert board_main(["--workflow", str(workflow), "add", "First"], stdout=io.StringIO()) == 0
    done = subprocess.run(
        [sys.executable, "-c", _LIGHT_PROBE, str(workflow)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "exit 0 loaded []" in done.stdout
