"""``symphony requests | answer | steer | review``: the operator's commands against the running
service.

They talk to the service's HTTP API (docs/human-requests.md, docs/review.md). The URL is
``--url``, else ``SYMPHONY_URL``, else ``http://127.0.0.1:<server.port>`` from the workflow
(``--workflow``, default ``./WORKFLOW.md``); the access token is ``--token``, else
``SYMPHONY_ACCESS_TOKEN``, else the workflow's ``server.access_token``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote

from pydantic import ValidationError

from symphony.errors import SymphonyError
from symphony.httpx_lean import httpx
from symphony.workflow.config import ServerConfig
from symphony.workflow.loader import load_workflow, resolve_workflow_path

EXIT_OK = 0
EXIT_FAILURE = 1
TIMEOUT_S = 10.0
URL_ENV = "SYMPHONY_URL"
TOKEN_ENV = "SYMPHONY_ACCESS_TOKEN"  # noqa: S105 (a variable name)


class OperatorError(Exception):
    """A problem the operator fixes; the message says how."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    token: str | None


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--workflow", metavar="PATH", help="workflow of the service (default: ./WORKFLOW.md)"
    )
    parser.add_argument(
        "--url", help=f"the service's base URL (default: ${URL_ENV}, else server.port)"
    )
    parser.add_argument(
        "--token", help=f"access token (default: ${TOKEN_ENV}, else server.access_token)"
    )
    return parser


def requests_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony requests",
        description="List the requests running agents wait on (approvals and questions).",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    return _common(parser)


def answer_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony answer",
        description="Answer a request an agent waits on (see `symphony requests`).",
    )
    parser.add_argument("identifier", help="the issue, e.g. SYM-1")
    parser.add_argument("request_id", metavar="id", help="the request id")
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--approve", action="store_true", help="allow it once")
    choice.add_argument(
        "--approve-for-session", action="store_true", help="allow it for the rest of the session"
    )
    choice.add_argument("--deny", action="store_true", help="refuse it")
    choice.add_argument(
        "--answer",
        action="append",
        metavar="ID=TEXT",
        help="answer question ID with TEXT or an option label (repeat for each question)",
    )
    return _common(parser)


def steer_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony steer",
        description="Give a running agent guidance without stopping it.",
    )
    parser.add_argument("identifier", help="the issue, e.g. SYM-1")
    parser.add_argument("-m", "--message", required=True, help="the guidance")
    return _common(parser)


def review_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony review",
        description="Decide on an issue waiting for review: approve it or send it back.",
    )
    parser.add_argument("identifier", help="the issue, e.g. SYM-1")
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument(
        "--approve", action="store_true", help="move it to review.approve_state (Merging)"
    )
    choice.add_argument(
        "--rework",
        action="store_true",
        help="comment, then move it to review.rework_state (Rework); needs -m",
    )
    parser.add_argument(
        "-m", "--message", help="the comment posted on the issue first (required with --rework)"
    )
    parser.add_argument(
        "--candidate",
        metavar="NAME",
        help="with --approve: the best-of candidate to continue with (docs/best-of.md)",
    )
    return _common(parser)


def release_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony release",
        description="Release an issue Symphony holds (docs/holds.md): the next poll may run it.",
    )
    parser.add_argument("identifier", help="the issue, e.g. SYM-1")
    return _common(parser)


def target(args: argparse.Namespace, environ: Mapping[str, str]) -> Target:
    url = args.url or environ.get(URL_ENV)
    token = args.token or environ.get(TOKEN_ENV)
    if url and token:
        return Target(url.rstrip("/"), token)
    server = _server_config(args.workflow, environ, needed="the URL" if not url else None)
    if not url:
        if server.port is None or server.port == 0:
            raise OperatorError(
                "the workflow sets no fixed server.port; pass --url http://127.0.0.1:<port> "
                f"(or set {URL_ENV}) with the port the service prints at startup"
            )
        url = f"http://127.0.0.1:{server.port}"
    return Target(url.rstrip("/"), token or server.access_token)


def _server_config(
    workflow: str | None, environ: Mapping[str, str], *, needed: str | None
) -> ServerConfig:
    try:
        path = resolve_workflow_path(workflow)
        raw = load_workflow(path).config.get("server") or {}
        return ServerConfig.model_validate(raw, context={"environ": environ})
    except (SymphonyError, ValidationError, AttributeError) as exc:
        if needed is None:
            return ServerConfig()  # the token is optional: go without it
        raise OperatorError(
            f"cannot read server settings from the workflow ({exc}); pass --url"
        ) from None


def call(target: Target, method: str, path: str, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    try:
        return httpx.request(
            method, target.url + path, json=body, headers=headers, timeout=TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise OperatorError(
            f"the service is not reachable at {target.url} ({exc}); is it running, and is "
            "--url (or server.port) right?"
        ) from None


def _error(response: httpx.Response) -> OperatorError:
    try:
        error = response.json()["error"]
        text = f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:200] or response.reason_phrase
    if response.status_code == 401:
        text += f" (pass --token or set {TOKEN_ENV})"
    return OperatorError(f"HTTP {response.status_code} {text}")


def render_requests(rows: Sequence[Mapping[str, Any]], out: TextIO) -> None:
    if not rows:
        print("no pending requests", file=out)
        return
    for row in rows:
        print(
            f"{row['issue_identifier']}  {row['id']}  {row['kind']}  {row['created_at']}",
            file=out,
        )
        print(f"  {row['summary']}", file=out)
        for label in ("command", "cwd", "reason"):
            if row.get(label):
                print(f"  {label}: {row[label]}", file=out)
        if row.get("diff"):
            print("  diff:", file=out)
            for line in str(row["diff"]).splitlines():
                print(f"    {line}", file=out)
        for question in row.get("questions") or ():
            options = ", ".join(question.get("options") or ())
            print(f"  question {question['id']}: {question['question']}", file=out)
            if options:
                print(f"    options: {options}", file=out)
        how = (
            "--answer ID=TEXT"
            if row["kind"] == "question"
            else "--approve | --approve-for-session | --deny"
        )
        print(f"  answer: symphony answer {row['issue_identifier']} {row['id']} {how}", file=out)


def _answer_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.answer:
        answers: dict[str, str] = {}
        for item in args.answer:
            qid, sep, text = item.partition("=")
            if not sep or not qid:
                raise OperatorError(f"--answer takes ID=TEXT, got {item!r}")
            answers[qid] = text
        return {"answers": answers}
    if args.approve_for_session:
        return {"decision": "approve_for_session"}
    return {"decision": "approve" if args.approve else "deny"}


def run(
    command: str,
    argv: Sequence[str],
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    environ: Mapping[str, str] | None = None,
) -> int:
    env = os.environ if environ is None else environ
    parser = {
        "requests": requests_parser,
        "answer": answer_parser,
        "steer": steer_parser,
        "review": review_parser,
        "release": release_parser,
    }[command]()
    args = parser.parse_args(argv)
    if command == "review" and args.rework and not (args.message or "").strip():
        parser.error("--rework needs -m TEXT: the comment says what to change")
    if command == "review" and args.rework and args.candidate:
        parser.error("--candidate goes with --approve: rework sends every candidate back")
    try:
        service = target(args, env)
        if command == "requests":
            response = call(service, "GET", "/api/v1/requests")
            if response.status_code != 200:
                raise _error(response)
            rows = response.json()["requests"]
            if args.json:
                print(json.dumps(rows, indent=2), file=out)
            else:
                render_requests(rows, out)
        elif command == "answer":
            path = f"/api/v1/{quote(args.identifier, safe='')}/requests/"
            path += quote(args.request_id, safe="")
            response = call(service, "POST", path, _answer_body(args))
            if response.status_code != 202:
                raise _error(response)
            print(f"answered {args.request_id} ({args.identifier})", file=out)
        elif command == "review":
            body = {"decision": "approve" if args.approve else "rework"}
            if args.message:
                body["comment"] = args.message
            if args.candidate:
                body["candidate"] = args.candidate
            path = f"/api/v1/{quote(args.identifier, safe='')}/review"
            response = call(service, "POST", path, body)
            if response.status_code != 202:
                raise _error(response)
            moved = response.json()
            posted = ", comment posted" if moved.get("comment_posted") else ""
            print(f"{args.identifier} moved to {moved.get('state')}{posted}", file=out)
        elif command == "release":
            path = f"/api/v1/{quote(args.identifier, safe='')}/release"
            response = call(service, "POST", path)
            if response.status_code != 202:
                raise _error(response)
            reason = str(response.json().get("reason", "")).replace("_", " ")
            print(f"released {args.identifier} (was held: {reason})", file=out)
        else:
            path = f"/api/v1/{quote(args.identifier, safe='')}/steer"
            response = call(service, "POST", path, {"message": args.message})
            if response.status_code != 202:
                raise _error(response)
            where = str(response.json().get("delivery", "")).replace("_", " ")
            print(f"steered {args.identifier} ({where})", file=out)
    except OperatorError as exc:
        print(f"symphony {command}: {exc}", file=err)
        return EXIT_FAILURE
    return EXIT_OK
