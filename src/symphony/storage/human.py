"""Human requests and steer messages in the store (docs/human-requests.md, docs/storage.md).

A record is kept whole as JSON beside the columns the store looks it up by; an upsert by id
follows each request through its statuses. Answers to questions marked secret never reach the
disk: they are stored as ``(secret)``, as every surface shows them.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from symphony.human import (
    HumanAnswer,
    HumanRequest,
    Question,
    RequestRecord,
    RequestStatus,
    SteerDelivery,
    SteerRecord,
    question_fields,
    shown_answers,
)
from symphony.storage.writes import parse_stamp, stamp


@dataclass(frozen=True, slots=True)
class RequestSaved:
    record: RequestRecord

    def apply(self, db: sqlite3.Connection) -> None:
        record = self.record
        db.execute(
            # An update keeps the row (and its rowid, the order requests were made in: two made
            # in the same millisecond still load in order).
            "INSERT INTO requests (id, issue_id, run_id, status, created_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "status = excluded.status, body = excluded.body",
            (
                record.id,
                record.issue_id,
                record.run_id,
                record.status,
                stamp(record.created_at),
                json.dumps(request_body(record), ensure_ascii=False),
            ),
        )


@dataclass(frozen=True, slots=True)
class SteerSaved:
    record: SteerRecord

    def apply(self, db: sqlite3.Connection) -> None:
        record = self.record
        db.execute(
            "INSERT OR REPLACE INTO steers (id, issue_id, run_id, at, body) VALUES (?, ?, ?, ?, ?)",
            (
                record.id,
                record.issue_id,
                record.run_id,
                stamp(record.at),
                json.dumps(
                    {
                        "issue_identifier": record.issue_identifier,
                        "message": record.message,
                        "delivery": record.delivery,
                    },
                    ensure_ascii=False,
                ),
            ),
        )


def request_body(record: RequestRecord) -> dict[str, Any]:
    request = record.request
    answer = record.answer
    return {
        "issue_identifier": record.issue_identifier,
        "attempt": record.attempt,
        "request": {
            "kind": request.kind,
            "summary": request.summary,
            "command": request.command,
            "cwd": request.cwd,
            "reason": request.reason,
            "diff": request.diff,
            "questions": [question_fields(q) for q in request.questions],
        },
        "answer": (
            {"decision": answer.decision, "answers": shown_answers(record)}
            if answer is not None
            else None
        ),
        "answered_at": stamp(record.answered_at) if record.answered_at is not None else None,
    }


def request_from_row(row: sqlite3.Row) -> RequestRecord:
    body = json.loads(row["body"])
    raw = body["request"]
    answer = body.get("answer")
    answered_at = body.get("answered_at")
    return RequestRecord(
        id=row["id"],
        issue_id=row["issue_id"],
        issue_identifier=body["issue_identifier"],
        run_id=row["run_id"],
        attempt=body.get("attempt"),
        request=HumanRequest(
            kind=raw["kind"],
            summary=raw["summary"],
            command=raw.get("command"),
            cwd=raw.get("cwd"),
            reason=raw.get("reason"),
            diff=raw.get("diff"),
            questions=tuple(
                Question(
                    id=q["id"],
                    question=q["question"],
                    header=q.get("header", ""),
                    options=tuple(q.get("options", ())),
                    allows_other=q.get("allows_other", True),
                    secret=q.get("secret", False),
                )
                for q in raw.get("questions", ())
            ),
        ),
        created_at=cast(datetime, parse_stamp(row["created_at"])),
        status=cast(RequestStatus, row["status"]),
        answer=(
            HumanAnswer(decision=answer.get("decision"), answers=dict(answer.get("answers", {})))
            if answer is not None
            else None
        ),
        answered_at=parse_stamp(answered_at) if answered_at is not None else None,
    )


def steer_from_row(row: sqlite3.Row) -> SteerRecord:
    body = json.loads(row["body"])
    return SteerRecord(
        id=row["id"],
        issue_id=row["issue_id"],
        issue_identifier=body["issue_identifier"],
        run_id=row["run_id"],
        message=body["message"],
        at=cast(datetime, parse_stamp(row["at"])),
        delivery=cast(SteerDelivery, body["delivery"]),
    )
