"""``POST /api/v1/<identifier>/review``: approve an issue or send it back (docs/review.md).

202 ``{issue_identifier, decision, state, comment_posted}``; 400 ``invalid_review`` or
``comment_required``; 404 ``issue_not_found``; 409 ``not_in_review``; 501
``review_not_supported`` (the tracker cannot move issues); 502 ``tracker_error``. The POST passes
the same access checks as every other POST (``auth.py``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from symphony.observability.http.errors import NO_STORE, error_response
from symphony.observability.http.human import json_body
from symphony.review import CommentRequired, InvalidReview, parse_review
from symphony.runtime_view import RuntimeView

_STATUS = {
    "not_found": (404, "issue_not_found"),
    "not_in_review": (409, "not_in_review"),
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
