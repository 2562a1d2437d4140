"""``symphony board``: manage the local board from a terminal or a script (like ``gh issue``).

Exit codes: 0 done, 1 the board refused (unknown issue or state, bad value, busy database),
2 usage errors. ``--json`` prints machine-readable results, and errors as JSON on stderr.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from symphony.errors import SymphonyError
from symphony.trackers.local.cli_parser import board_parser
from symphony.trackers.local.errors import InvalidInput, InvalidState
from symphony.trackers.local.locate import open_db_board, open_workflow_board
from symphony.trackers.local.normalize import detail_dict, record_dict
from symphony.trackers.local.records import NewIssue
from symphony.trackers.local.store import BoardStore

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "human"


class _Run:
    """One command invocation: parsed args, the board and where output goes."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.json = bool(getattr(args, "json", False))
        self.out = out
        self.err = err

    @functools.cached_property
    def console(self) -> Console:
        # Only tables and issue details need rich; one-line answers (``add``, ``move``, the
        # commands scripts and agents run most) start faster without importing it.
        from rich.console import Console

        return Console(file=self.out, highlight=False, soft_wrap=False)

    def say(self, line: str) -> None:
        self.out.write(line + "\n")

    def open(self) -> BoardStore:
        db = getattr(self.args, "db", None)
        if db is not None:
            return open_db_board(Path(db).expanduser(), create=self.args.command == "add")
        workflow = getattr(self.args, "workflow", None)
        path = Path(workflow).expanduser() if workflow else Path("WORKFLOW.md")
        return open_workflow_board(path.absolute())

    def emit(self, payload: Any, human: Callable[[], None]) -> None:
        if self.json:
            json.dump(payload, self.out, indent=2, ensure_ascii=False)
            self.out.write("\n")
        else:
            human()

    def read_text(self, inline: str | None, file: str | None, what: str) -> str | None:
        if file is None:
            return inline
        if file == "-":
            return sys.stdin.read()
        try:
            return Path(file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read the {what} from {file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InvalidInput(f"the {what} file {file} is not UTF-8 text") from None


def _cmd_add(run: _Run, store: BoardStore) -> int:
    a = run.args
    record = store.create(
        NewIssue(
            title=a.title,
            description=run.read_text(a.description, a.description_file, "description"),
            priority=a.priority,
            state=a.state,
            labels=tuple(a.label),
            assignee_id=a.assignee,
            branch_name=a.branch,
            blocked_by=tuple(a.blocked_by),
        ),
        actor=_default_author(),
    )
    run.emit(
        record_dict(record, store.settings),
        lambda: run.say(f"Created {record.identifier} in {record.state}: {record.title}"),
    )
    return EXIT_OK


def _cmd_list(run: _Run, store: BoardStore) -> int:
    from symphony.trackers.local import cli_render  # rich: see _Run.console

    a = run.args
    records = store.list_issues(states=a.state, labels=a.label, include_terminal=a.all)
    if a.limit is not None:
        records = records[: a.limit]
    run.emit(
        [record_dict(r, store.settings) for r in records],
        lambda: cli_render.print_list(run.console, records, store.settings),
    )
    return EXIT_OK


def _cmd_show(run: _Run, store: BoardStore) -> int:
    from symphony.trackers.local import cli_render  # rich: see _Run.console

    detail = store.detail(run.args.issue)
    run.emit(
        detail_dict(detail, store.settings),
        lambda: cli_render.print_detail(run.console, detail, store.settings),
    )
    return EXIT_OK


def _cmd_move(run: _Run, store: BoardStore) -> int:
    record, previous = store.move(
        run.args.issue, run.args.state, actor=run.args.author or _default_author()
    )

    def human() -> None:
        if previous == record.state:
            run.say(f"{record.identifier} is already in {record.state}")
        else:
            run.say(f"{record.identifier}: {previous} → {record.state}")

    run.emit({**record_dict(record, store.settings), "from": previous}, human)
    return EXIT_OK


def _cmd_comment(run: _Run, store: BoardStore) -> int:
    a = run.args
    if a.body is not None and a.body_file is not None:
        raise InvalidInput("give the comment text or --body-file, not both")
    body = run.read_text(a.body, a.body_file, "comment")
    if body is None:
        raise InvalidInput('give the comment text: symphony board comment SYM-3 "text"')
    comment = store.comment(a.issue, body, author=a.author or _default_author())
    identifier = store.get(a.issue).identifier
    run.emit(
        {"identifier": identifier, **comment.to_dict()},
        lambda: run.say(f"Commented on {identifier} (#{comment.id})"),
    )
    return EXIT_OK


def _cmd_label(run: _Run, store: BoardStore) -> int:
    record = store.relabel(run.args.issue, add=run.args.add, remove=run.args.remove)
    run.emit(
        record_dict(record, store.settings),
        lambda: run.say(f"{record.identifier} labels: {', '.join(record.labels) or '(none)'}"),
    )
    return EXIT_OK


def _blockers_line(identifier: str, refs: Sequence[str]) -> str:
    return f"{identifier} is blocked by {', '.join(refs)}" if refs else f"{identifier} is unblocked"


def _cmd_block(run: _Run, store: BoardStore) -> int:
    if run.args.command == "block":
        record = store.block(run.args.issue, by=run.args.by)
    else:
        record = store.unblock(run.args.issue, by=run.args.by)
    refs = [b.identifier or "?" for b in record.blocked_by]
    run.emit(
        record_dict(record, store.settings),
        lambda: run.say(_blockers_line(record.identifier, refs)),
    )
    return EXIT_OK


def _cmd_edit(run: _Run, store: BoardStore) -> int:
    a = run.args
    changes: dict[str, Any] = {}
    if a.title is not None:
        changes["title"] = a.title
    description = run.read_text(a.description, a.description_file, "description")
    if description is not None:
        changes["description"] = description
    if a.priority is not None:
        changes["priority"] = a.priority
    if a.assignee is not None:
        changes["assignee_id"] = a.assignee
    if a.branch is not None:
        changes["branch_name"] = a.branch
    record = store.edit(a.issue, changes)
    run.emit(
        record_dict(record, store.settings),
        lambda: run.say(f"Updated {record.identifier}"),
    )
    return EXIT_OK


def _cmd_delete(run: _Run, store: BoardStore) -> int:
    record = store.get(run.args.issue)
    if not run.args.yes:
        if not sys.stdin.isatty():
            raise InvalidInput(
                f"refusing to delete {record.identifier} without confirmation; pass --yes"
            )
        answer = input(f"Delete {record.identifier} ({record.title}) and its comments? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing deleted.", file=run.err)
            return EXIT_FAILURE
    deleted = store.delete(record.id)
    run.emit(
        {"deleted": deleted.identifier, "id": deleted.id},
        lambda: run.say(f"Deleted {deleted.identifier}: {deleted.title}"),
    )
    return EXIT_OK


def _cmd_states(run: _Run, store: BoardStore) -> int:
    from symphony.trackers.local import cli_render  # rich: see _Run.console

    s = store.settings
    run.emit(
        {
            "states": list(s.states),
            "active_states": list(s.active_states),
            "terminal_states": list(s.terminal_states),
            "default_state": s.default_state,
            "path": str(s.db_path),
        },
        lambda: cli_render.print_states(run.console, s),
    )
    return EXIT_OK


COMMANDS: dict[str, Callable[[_Run, BoardStore], int]] = {
    "add": _cmd_add,
    "list": _cmd_list,
    "show": _cmd_show,
    "move": _cmd_move,
    "comment": _cmd_comment,
    "label": _cmd_label,
    "block": _cmd_block,
    "unblock": _cmd_block,
    "edit": _cmd_edit,
    "delete": _cmd_delete,
    "states": _cmd_states,
}


def board_main(
    argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = board_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    run = _Run(args, out, err)
    try:
        store = run.open()
        try:
            return COMMANDS[args.command](run, store)
        finally:
            store.close()
    except SymphonyError as exc:
        _report(run, exc)
        return EXIT_FAILURE
    except BrokenPipeError:
        # `symphony board list | head`: the reader left; exit quietly like other Unix tools.
        if out is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE


def _report(run: _Run, exc: SymphonyError) -> None:
    if run.json:
        detail: dict[str, Any] = exc.to_dict()
        if isinstance(exc, InvalidState):
            detail["valid_states"] = list(exc.valid)
        json.dump({"error": detail}, run.err, ensure_ascii=False)
        run.err.write("\n")
    else:
        print(f"symphony board: {exc.message}", file=run.err)
