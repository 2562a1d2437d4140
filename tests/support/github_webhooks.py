"""GitHub webhook deliveries for tests, shaped like GitHub's ``issues`` and ``projects_v2_item``
payloads and signed the way GitHub signs them: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
the raw body>``, with a fresh ``X-GitHub-Delivery`` GUID each time."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.fake_github import FakeGitHub
from tests.support.fake_github_data import IssueRecord, Project


@dataclass(frozen=True)
class Delivery:
    """One delivery as GitHub would POST it."""

    body: bytes
    headers: dict[str, str]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(secret: str, event: str, payload: dict[str, Any]) -> Delivery:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }
    return Delivery(body, headers)


def issues_payload(
    github: FakeGitHub, issue: IssueRecord, *, action: str = "labeled"
) -> dict[str, Any]:
    with github.data.lock:
        repo = github.data.repos[issue.repo_id]
        return {
            "action": action,
            "issue": {
                "node_id": issue.id,
                "number": issue.number,
                "title": issue.title,
                "state": issue.state.lower(),
                "html_url": f"https://github.com/{repo.name_with_owner}/issues/{issue.number}",
            },
            "repository": {"node_id": repo.id, "full_name": repo.name_with_owner},
            "sender": {"login": "rita"},
        }


def item_payload(project: Project, issue: IssueRecord, *, action: str = "edited") -> dict[str, Any]:
    return {
        "action": action,
        "projects_v2_item": {
            "node_id": f"PVTI_{issue.id}",
            "project_node_id": project.id,
            "content_node_id": issue.id,
            "content_type": "Issue",
        },
        "changes": {
            "field_value": {"field_node_id": "PVTSSF_status", "field_type": "single_select"}
        },
        "organization": {"login": project.owner},
        "sender": {"login": "rita"},
    }
