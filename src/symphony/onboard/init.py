"""``symphony init``: a WORKFLOW.md for this repository that validates, from a few answers.

The tracker, the agent backend and the states come from flags or questions; the clone hook from
the repository's ``origin`` remote (or the repository's own path when it has none); the prompt
from the matching example shipped in the package. The result is checked with the same loader
the service uses before anything is written, and an existing file is never replaced without
``--force``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TextIO

from symphony.errors import SymphonyError
from symphony.validate import load_for_validation

TRACKERS = ("local", "linear", "github")
AGENTS = ("codex", "claude_code", "acp")
DEFAULT_STATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "local": (("Todo", "In Progress", "Merging", "Rework"), ("Done", "Cancelled")),
    "linear": (
        ("Todo", "In Progress", "Merging", "Rework"),
        ("Closed", "Cancelled", "Canceled", "Duplicate", "Done"),
    ),
    "github": (("Todo", "In Progress", "Rework"), ("Done", "Closed")),
}
GIT_TIMEOUT_S = 10.0
EXIT_FAILURE = 1


class InitError(Exception):
    """A problem the user fixes (a flag, an existing file); printed without a traceback."""


@dataclass(frozen=True, slots=True)
class Answers:
    tracker: str
    agent: str
    active_states: tuple[str, ...]
    terminal_states: tuple[str, ...]
    clone_url: str | None
    project_slug: str | None = None
    repository: str | None = None
    project_owner: str | None = None
    project_number: int | None = None
    agent_command: str | None = None
    port: int = 4000


def init_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony init",
        description="Write a WORKFLOW.md for this repository (asks, or takes flags with --yes).",
    )
    parser.add_argument("--tracker", choices=TRACKERS, help="where issues come from")
    parser.add_argument("--agent", choices=AGENTS, help="the coding agent (agent.kind)")
    parser.add_argument("--active-states", help="comma-separated states agents work on")
    parser.add_argument("--terminal-states", help="comma-separated final states")
    parser.add_argument("--project-slug", help="Linear: the project's slug (from its URL)")
    parser.add_argument("--repository", help="GitHub: owner/name of the issues' repository")
    parser.add_argument("--project-owner", help="GitHub: login owning the Projects board")
    parser.add_argument("--project-number", type=int, help="GitHub: the Projects board number")
    parser.add_argument("--agent-command", help="ACP: the command that starts the agent")
    parser.add_argument("--clone-url", help="what after_create clones (default: origin)")
    parser.add_argument("--port", type=int, default=4000, help="dashboard port (default 4000)")
    parser.add_argument(
        "--dir", type=Path, default=Path.cwd(), help="the repository (default: here)"
    )
    parser.add_argument("-o", "--output", type=Path, help="default: <dir>/WORKFLOW.md")
    parser.add_argument("-y", "--yes", action="store_true", help="no questions: flags/defaults")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    return parser


Ask = Callable[[str, Sequence[str] | None, str | None], str]


def init_command(argv: Sequence[str], *, out: TextIO, err: TextIO, ask: Ask | None = None) -> int:
    args = init_parser().parse_args(argv)
    repo = args.dir.expanduser().absolute()
    target = (args.output or repo / "WORKFLOW.md").expanduser().absolute()
    try:
        if target.exists() and not args.force:
            raise InitError(f"{target} exists; pass --force to replace it")
        answers = _answers(args, repo, ask=None if args.yes else (ask or _ask_terminal))
        text = render_workflow(answers)
        _check(text, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except InitError as exc:
        print(f"symphony init: {exc}", file=err)
        return EXIT_FAILURE
    except OSError as exc:
        print(f"symphony init: cannot write {target}: {exc.strerror or exc}", file=err)
        return EXIT_FAILURE
    excluded = _exclude_state_dir(repo)
    print(f"✓ wrote {target} ({answers.tracker} tracker, {answers.agent} agent)", file=out)
    if excluded:
        print("  .symphony/ (Symphony's local state) added to .git/info/exclude", file=out)
    print(f"next: symphony doctor {shlex.quote(str(target))}", file=out)
    return 0


def render_workflow(answers: Answers) -> str:
    """The front matter for ``answers`` and the prompt of the matching example."""
    lines = [
        "---",
        "# Written by `symphony init`. Check it with `symphony validate` and `symphony doctor`;",
        "# every key is described in the configuration reference and by `symphony schema`.",
        "tracker:",
        f"  kind: {answers.tracker}",
        *_provider(answers),
        f"  active_states: {_flow(answers.active_states)}",
        f"  terminal_states: {_flow(answers.terminal_states)}",
        "polling:",
        f"  interval_ms: {5000 if answers.tracker == 'local' else 30000}",
        "workspace:",
        "  root: .symphony/workspaces",
        "  # Rework starts over: a new workspace and a new thread.",
        "  reset_states: [Rework]",
        "hooks:",
        "  after_create: |",
        *(f"    {line}" for line in _clone_hook(answers.clone_url)),
        "  timeout_ms: 120000",
        "agent:",
        f"  kind: {answers.agent}",
        "  max_concurrent_agents: 2",
        "  max_turns: 20",
        *_agent_section(answers),
        "server:",
        f"  port: {answers.port}",
        "---",
    ]
    return "\n".join(lines) + "\n" + example_prompt(answers.tracker, answers.agent)


def example_prompt(tracker: str, agent: str) -> str:
    """The prompt body of the example workflow for this tracker (and agent, for the board)."""
    name = "claude-code" if tracker == "local" and agent != "codex" else tracker
    text = (resources.files("symphony") / "examples" / name / "WORKFLOW.md").read_text("utf-8")
    _, _, body = text.split("---\n", 2)
    return body


def _answers(args: argparse.Namespace, repo: Path, *, ask: Ask | None) -> Answers:
    def choose(flag: str | None, question: str, choices: Sequence[str], default: str) -> str:
        if flag is not None or ask is None:
            return flag or default
        return ask(question, choices, default)

    def text(flag: str | None, question: str, default: str | None, missing: str) -> str:
        if flag is not None:
            return flag
        if ask is not None:
            value = ask(question, None, default)
            if value.strip():
                return value.strip()
        if default:
            return default
        raise InitError(missing)

    tracker = choose(args.tracker, "Tracker", TRACKERS, "local")
    agent = choose(args.agent, "Agent", AGENTS, "codex")
    default_active, default_terminal = DEFAULT_STATES[tracker]
    active = _states(text(args.active_states, "Active states", ", ".join(default_active), ""))
    terminal = _states(
        text(args.terminal_states, "Terminal states", ", ".join(default_terminal), "")
    )
    origin = _without_credentials(_git(repo, "remote", "get-url", "origin"))
    clone_url = args.clone_url or origin or _local_clone_source(repo)
    answers = Answers(tracker, agent, active, terminal, clone_url, port=args.port)
    if tracker == "linear":
        slug = text(
            args.project_slug,
            "Linear project slug",
            None,
            "--tracker linear needs --project-slug (the slug in the project's Linear URL)",
        )
        answers = replace(answers, project_slug=slug)
    if tracker == "github":
        guessed = _github_repository(origin)
        repository = text(
            args.repository,
            "GitHub repository (owner/name)",
            guessed,
            "--tracker github needs --repository owner/name (origin is not on github.com)",
        )
        owner = text(args.project_owner, "GitHub Projects owner", repository.split("/")[0], "")
        number = text(
            None if args.project_number is None else str(args.project_number),
            "GitHub Projects number",
            None,
            "--tracker github needs --project-number (the number in the board's URL)",
        )
        if not number.isdigit() or int(number) <= 0:
            raise InitError(f"the GitHub Projects number must be a positive number, got {number!r}")
        answers = replace(
            answers, repository=repository, project_owner=owner, project_number=int(number)
        )
    if agent == "acp":
        command = text(
            args.agent_command,
            "ACP agent command",
            None,
            "--agent acp needs --agent-command (the command that starts the ACP agent)",
        )
        answers = replace(answers, agent_command=command)
    return answers


def _states(text: str) -> tuple[str, ...]:
    states = tuple(s.strip() for s in text.split(",") if s.strip())
    if not states:
        raise InitError(f"no state names in {text!r}: use a comma-separated list")
    return states


def _flow(values: Sequence[str]) -> str:
    # JSON is valid YAML and quotes whatever needs quoting.
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _provider(answers: Answers) -> list[str]:
    if answers.tracker == "local":
        return ["  provider:", "    prefix: SYM"]
    if answers.tracker == "linear":
        return [
            "  provider:",
            f"    project_slug: {json.dumps(answers.project_slug)}",
            "    api_key: $LINEAR_API_KEY",
        ]
    return [
        "  provider:",
        f"    repository: {json.dumps(answers.repository)}",
        f"    project_owner: {json.dumps(answers.project_owner)}",
        f"    project_number: {answers.project_number}",
        "    api_key: $GITHUB_TOKEN",
    ]


def _agent_section(answers: Answers) -> list[str]:
    if answers.agent == "codex":
        return [
            "codex:",
            "  command: codex app-server",
            "  approval_policy: never",
            "  thread_sandbox: workspace-write",
        ]
    if answers.agent == "claude_code":
        return ["claude_code:", "  command: claude", "  sandbox: true"]
    return ["acp:", f"  command: {json.dumps(answers.agent_command)}"]


def _clone_hook(url: str | None) -> list[str]:
    if url is None:
        # No repository to clone: each issue starts from an empty repository with one commit.
        return [
            "git init -q",
            'git commit -q --allow-empty -m "Start workspace"',
        ]
    return [f"git clone --depth 1 {shlex.quote(url)} ."]


def _check(text: str, target: Path) -> None:
    """Load ``text`` as the service would (secrets not required yet), beside ``target``."""
    probe = target.with_name(f".{target.name}.init-check")
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_text(text, encoding="utf-8")
        load_for_validation(probe)
    except SymphonyError as exc:
        raise InitError(f"the generated workflow does not validate: {exc.message}") from exc
    finally:
        probe.unlink(missing_ok=True)


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def _without_credentials(url: str | None) -> str | None:
    """``origin`` without a user:token part: WORKFLOW.md is usually committed, and the clone
    hook runs with the hosts' own git credentials anyway."""
    if url is None or "://" not in url:
        return url  # scp-like (git@host:path) or a path: nothing secret in it
    scheme, rest = url.split("://", 1)
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        user, host = authority.rsplit("@", 1)
        # An https user is a token's name at best; an ssh user (git@) is needed, its password not.
        keep = "" if scheme in ("http", "https") else user.split(":", 1)[0] + "@"
        authority = keep + host
    return f"{scheme}://{authority}{slash}{path}"


def _local_clone_source(repo: Path) -> str | None:
    top = _git(repo, "rev-parse", "--show-toplevel")
    return Path(top).as_uri() if top else None


def _github_repository(url: str | None) -> str | None:
    if not url:
        return None
    for prefix in ("git@github.com:", "https://github.com/", "ssh://git@github.com/"):
        if url.startswith(prefix):
            path = url[len(prefix) :].removesuffix(".git").strip("/")
            return path if path.count("/") == 1 else None
    return None


def _exclude_state_dir(repo: Path) -> bool:
    """Keep ``.symphony/`` (workspaces, board, state store) out of ``git status``, locally."""
    git_dir = _git(repo, "rev-parse", "--absolute-git-dir")
    if git_dir is None:
        return False
    exclude = Path(git_dir) / "info" / "exclude"
    try:
        current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if any(
            line.strip() in (".symphony", ".symphony/", "/.symphony/")
            for line in current.splitlines()
        ):
            return False
        exclude.parent.mkdir(parents=True, exist_ok=True)
        prefix = "" if not current or current.endswith("\n") else "\n"
        exclude.write_text(current + prefix + ".symphony/\n", encoding="utf-8")
    except OSError:
        return False
    return True


def _ask_terminal(question: str, choices: Sequence[str] | None, default: str | None) -> str:
    from rich.prompt import Prompt

    try:
        answer = Prompt.ask(
            question, choices=list(choices) if choices else None, default=default or ""
        )
    except EOFError:
        raise InitError("no answer on standard input; pass flags with --yes instead") from None
    return str(answer)


def main(argv: Sequence[str]) -> int:
    return init_command(argv, out=sys.stdout, err=sys.stderr)
