"""Command line (SPEC §17.7): ``symphony [WORKFLOW.md] [--port N] [--logs-root DIR]``.

Subcommands (``validate``, ``board``, and ``requests``, ``answer``, ``steer``, ``review``
against the running service) are recognised by the first argument; a workflow file that happens
to share a subcommand's name can be passed as ``./validate``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from symphony import __version__

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def _non_empty_dir(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text).expanduser()


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony",
        description="Poll an issue tracker and run a coding agent for every active issue.",
        epilog=(
            "other commands:\n"
            "  symphony validate [WORKFLOW.md]   check a workflow without starting anything\n"
            "  symphony board ...                manage the local board (symphony board --help)\n"
            "  symphony requests                 list what running agents wait for\n"
            "  symphony answer ID REQUEST ...    answer one (--approve, --deny, --answer ID=TEXT)\n"
            "  symphony steer ID -m TEXT         give a running agent guidance\n"
            "  symphony review ID --approve | --rework -m TEXT   decide on a reviewed issue\n"
            "  symphony release ID               let a held issue run again"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "workflow",
        nargs="?",
        metavar="path-to-WORKFLOW.md",
        help="workflow file (default: ./WORKFLOW.md)",
    )
    parser.add_argument(
        "--port", type=_port, help="serve the dashboard and JSON API on this port (0 = any free)"
    )
    parser.add_argument(
        "--logs-root",
        type=_non_empty_dir,
        metavar="DIR",
        help="directory for log files (default: <workflow dir>/.symphony/logs)",
    )
    parser.add_argument(
        "--reset-storage",
        action="store_true",
        help=(
            "move the workflow's state store (storage.path) aside to <name>.<timestamp>.bak "
            "and exit; the next start begins with empty state"
        ),
    )
    parser.add_argument("--version", action="version", version=f"symphony {__version__}")
    return parser


def validate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony validate",
        description="Load and validate a workflow and render its prompt against a sample issue.",
    )
    parser.add_argument(
        "workflow", nargs="?", metavar="path-to-WORKFLOW.md", help="default: ./WORKFLOW.md"
    )
    parser.add_argument(
        "--show-prompt", action="store_true", help="also print the prompt rendered for the sample"
    )
    return parser


def _cmd_run(argv: Sequence[str]) -> int:
    args = run_parser().parse_args(argv)
    from symphony.service import ServiceOptions, run_service

    return run_service(
        ServiceOptions(
            workflow=args.workflow,
            port=args.port,
            logs_root=args.logs_root,
            reset_storage=args.reset_storage,
        )
    )


def _cmd_validate(argv: Sequence[str]) -> int:
    args = validate_parser().parse_args(argv)
    from symphony.validate import validate_command

    return validate_command(
        args.workflow, out=sys.stdout, err=sys.stderr, show_prompt=args.show_prompt
    )


def _cmd_board(argv: Sequence[str]) -> int:
    import importlib

    try:
        module = importlib.import_module("symphony.trackers.local.cli")
    except ModuleNotFoundError:
        print("symphony board: the local board is not available in this build", file=sys.stderr)
        return EXIT_FAILURE
    code: int = module.board_main(argv)
    return code


def _cmd_schema(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="symphony schema",
        description="Print the JSON Schema of the WORKFLOW.md front matter (for editors and CI).",
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="write it to this file instead of standard output"
    )
    args = parser.parse_args(argv)
    from symphony.onboard.schema import render_schema

    text = render_schema()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"symphony schema: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _cmd_init(argv: Sequence[str]) -> int:
    from symphony.onboard.init import main as init_main

    return init_main(argv)


def _cmd_doctor(argv: Sequence[str]) -> int:
    from symphony.onboard.doctor import main as doctor_main

    return doctor_main(argv)


def _operator(command: str) -> Callable[[Sequence[str]], int]:
    """A command that talks to the running service's API (docs/human-requests.md)."""

    def call(argv: Sequence[str]) -> int:
        from symphony.operator_cli import run

        return run(command, argv)

    return call


SUBCOMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "validate": _cmd_validate,
    "board": _cmd_board,
    "schema": _cmd_schema,
    "init": _cmd_init,
    "doctor": _cmd_doctor,
    "requests": _operator("requests"),
    "answer": _operator("answer"),
    "steer": _operator("steer"),
    "review": _operator("review"),
    "release": _operator("release"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            return SUBCOMMANDS[args[0]](args[1:])
        return _cmd_run(args)
    except SystemExit as exc:  # argparse: --help exits 0, usage errors exit 2
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
