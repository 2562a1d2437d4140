"""Workspace keys (SPEC §4.2, §9.5 invariant 3, §17.2)."""

from __future__ import annotations

import hashlib

from symphony.workspace import workspace_key


def test_identifier_unchanged_by_sanitization_is_the_key() -> None:
    assert workspace_key("team_a-1") == "team_a-1"
    assert workspace_key("ABC-123") == "ABC-123"


def test_sanitized_identifier_gets_sha256_suffix() -> None:
    digest = hashlib.sha256(b"MT/Det").hexdigest()[:16]
    assert workspace_key("MT/Det") == f"MT_Det--{digest}"


def test_identifiers_that_sanitize_alike_get_distinct_keys() -> None:
    keys = {workspace_key(i) for i in ("team/a-1", "team a-1", "team_a-1", "team:a-1")}
    assert len(keys) == 4
