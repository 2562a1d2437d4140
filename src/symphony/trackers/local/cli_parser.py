"""The ``symphony board`` argument parser: commands, options and their value checks."""

from __future__ import annotations

import argparse


def _priority(text: str) -> int:
    value = text.strip().lower()
    if value in {"none", "0", ""}:
        return 0
    if value in {"1", "2", "3", "4"}:
        return int(value)
    raise argparse.ArgumentTypeError(
        f"must be 1 (urgent), 2 (high), 3 (normal), 4 (low) or none, got {text!r}"
    )


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _common() -> argparse.ArgumentParser:
    # Accepted before or after the command (`board --json list` and `board list --json`).
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument(
        "--workflow",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="use the board this workflow configures (default: ./WORKFLOW.md)",
    )
    where.add_argument(
        "--db", metavar="PATH", default=argparse.SUPPRESS, help="use this board file directly"
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    return common


def board_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="symphony board",
        parents=[common],
        description="Manage the local board (tracker.kind: local): a SQLite file beside the "
        "workflow that the service polls.",
        epilog='example: symphony board add "Fix the login bug" --label bug --priority 2',
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    add = command("add", "create an issue")
    add.add_argument("title")
    _description_args(add)
    add.add_argument("-p", "--priority", type=_priority, help="1 urgent .. 4 low, or none")
    add.add_argument("-l", "--label", action="append", default=[], help="repeatable")
    add.add_argument("-s", "--state", help="initial state (default: the board's default state)")
    add.add_argument("-a", "--assignee", help="assignee id (free text)")
    add.add_argument("--branch", help="branch name (default: derived from id and title)")
    add.add_argument("--blocked-by", action="append", default=[], metavar="ID", help="repeatable")

    lst = command("list", "list issues (open ones unless --all or --state)")
    lst.add_argument("-s", "--state", action="append", default=[], help="repeatable")
    lst.add_argument("-l", "--label", action="append", default=[], help="must have every label")
    lst.add_argument("--all", action="store_true", help="include issues in terminal states")
    lst.add_argument("-L", "--limit", type=_limit, help="show at most this many")

    show = command("show", "show an issue with comments and history")
    show.add_argument("issue", metavar="ID")

    move = command("move", "move an issue to another state")
    move.add_argument("issue", metavar="ID")
    move.add_argument("state")
    _author_arg(move)

    comment = command("comment", "add a comment to an issue")
    comment.add_argument("issue", metavar="ID")
    comment.add_argument("body", nargs="?", help="comment text (or --body-file)")
    comment.add_argument(
        "--body-file", metavar="PATH", help="read the text from a file (- = stdin)"
    )
    _author_arg(comment)

    label = command("label", "add or remove labels")
    label.add_argument("issue", metavar="ID")
    label.add_argument("--add", action="append", default=[], metavar="LABEL")
    label.add_argument("--remove", action="append", default=[], metavar="LABEL")

    block = command("block", "mark an issue as blocked by others")
    block.add_argument("issue", metavar="ID")
    block.add_argument("--by", action="append", default=[], metavar="ID", required=True)

    unblock = command("unblock", "remove blockers from an issue")
    unblock.add_argument("issue", metavar="ID")
    unblock.add_argument("--by", action="append", default=[], metavar="ID", required=True)

    edit = command("edit", "change title, description, priority, assignee or branch")
    edit.add_argument("issue", metavar="ID")
    edit.add_argument("-t", "--title")
    _description_args(edit)
    edit.add_argument("-p", "--priority", type=_priority, help="1 urgent .. 4 low, or none")
    edit.add_argument("-a", "--assignee", help='assignee id ("" clears it)')
    edit.add_argument("--branch", help='branch name ("" clears it)')

    delete = command("delete", "delete an issue with its comments and history")
    delete.add_argument("issue", metavar="ID")
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    command("states", "show the board's states and which ones agents work on")
    return parser


def _description_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-d", "--description", help="Markdown text")
    group.add_argument("--description-file", metavar="PATH", help="read it from a file (- = stdin)")


def _author_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--author", help="name recorded with the change (default: your user)")
