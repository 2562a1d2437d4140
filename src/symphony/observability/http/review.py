"""``POST /api/v1/<identifier>/review``: approve an issue or send it back (docs/review.md).

``GET /api/v1/review`` lists the issues waiting for a decision with their proof (200
``{issues}``; 502 ``tracker_error``), and ``GET /api/v1/review/<identifier>/diff`` is that proof's
diff split per file and highlighted for the Review view (200 ``{issue_identifier, files,
truncated}``; 404 ``no_proof``). ``GET /api/v1/review/<identifier>/candidates/<name>/diff`` is
the same for one best-of candidate, read from its workspace now (200 ``{issue_identifier,
candidate, base, head, note, files, truncated}``; 404 ``no_such_candidate`` or ``no_workspace``);
``candidate_diff`` serves the plain diff route too.

202 ``{issue_identifier, decision, state, comment_posted}``; 400 ``invalid_review`` or
``comment_required``; 404 ``issue_not_found``; 409 ``not_in_review``; 501
``review_not_supported`` (the tracker cannot move issues); 502 ``tracker_error``. The POST passes
the same access checks as every other POST (``auth.py``).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from symphony.logs import get_logger
from symphony.observability.http.errors import NO_STORE, error_response
from symphony.observability.http.human import json_body
from symphony.review import CandidateDiff, CommentRequired, InvalidReview, parse_review
from symphony.runtime_view import RuntimeView
from symphony.trackers.base import TrackerError

log = get_logger("symphony.observability.http")

_STATUS = {
    "not_found": (404, "issue_not_found"),
    "not_in_review": (409, "not_in_review"),
    "no_such_candidate": (409, "no_such_candidate"),
    "unsupported": (501, "review_not_supported"),
    "tracker_error": (502, "tracker_error"),
}


class ReviewApi:
    def __init__(self, view: RuntimeView) -> None:
        self.view = view

    async def review(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        body = await json_body(request, "invalid_review")
        if isinstance(body, Response):
            return body
        try:
            decision = parse_review(body)
        except CommentRequired as exc:
            return error_response(400, "comment_required", f"{identifier}: {exc}")
        except InvalidReview as exc:
            return error_response(400, "invalid_review", str(exc))
        outcome = await self.view.review(identifier, decision)
        if outcome.status != "accepted":
            status, code = _STATUS[outcome.status]
            return error_response(status, code, outcome.message)
        content = {
            "issue_identifier": outcome.issue_identifier,
            "decision": outcome.decision,
            "state": outcome.state,
            "comment_posted": outcome.comment_posted,
        }
        return JSONResponse(content, status_code=202, headers=NO_STORE)

    async def queue(self, request: Request) -> Response:
        try:
            issues = await self.view.review_queue()
        except TrackerError as exc:
            log.warning("review queue unavailable", error=exc.message)
            return error_response(502, "tracker_error", exc.message)
        return JSONResponse({"issues": issues}, headers=NO_STORE)

    async def diff(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        text = await self.view.proof_diff(identifier)
        if text is None:
            return error_response(404, "no_proof", f"{identifier} has no proof of work")
        # Highlighting a big diff takes a moment: not on the event loop. Pygments is loaded on
        # the first diff, not by every service that never shows one.
        from symphony.observability.diff_view import render_diff

        rendered = await asyncio.to_thread(render_diff, text)
        content = {"issue_identifier": identifier, **rendered}
        return JSONResponse(content, headers=NO_STORE)

    async def candidate_diff(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        name = request.path_params["name"]
        found = await candidate_diff(self.view, identifier, name)
        if isinstance(found, Response):
            return found
        from symphony.observability.diff_view import render_diff

        rendered = await asyncio.to_thread(render_diff, found.diff)
        content = {
            "issue_identifier": identifier,
            "candidate": name,
            "base": found.base,
            "head": found.head,
            "note": found.note,
            "files": rendered["files"],
            # Cut when read (MAX_DIFF_BYTES) or here (the lines a page shows).
            "truncated": rendered["truncated"] or found.truncated,
        }
        return JSONResponse(content, headers=NO_STORE)


async def candidate_diff(view: RuntimeView, identifier: str, name: str) -> CandidateDiff | Response:
    """The candidate's diff, or the 404 saying which candidate or workspace is missing."""
    found = await view.candidate_diff(identifier, name)
    if found.status != "ok":
        return error_response(404, found.status, found.message)
    return found
