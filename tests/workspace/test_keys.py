"""Workspace keys (SPEC §4.2, §9.5 invariant 3, §17.2)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from symphony.workspace import workspace_key
from symphony.workspace.keys import MAX_KEY_BYTES, identifier_hash, is_workspace_key_shaped

ALLOWED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
KEY_SHAPE = re.compile(r"\A[A-Za-z0-9._-]+\Z")


def sha16(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_identifier_unchanged_by_sanitization_is_the_key() -> None:
    assert workspace_key("team_a-1") == "team_a-1"
    assert workspace_key("ABC-123") == "ABC-123"
    assert workspace_key("v1.2") == "v1.2"


def test_sanitized_identifier_gets_sha256_suffix() -> None:
    assert workspace_key("MT/Det") == f"MT_Det--{sha16('MT/Det')}"


def test_identifiers_that_sanitize_alike_get_distinct_keys() -> None:
    keys = {workspace_key(i) for i in ("team/a-1", "team a-1", "team_a-1", "team:a-1")}
    assert len(keys) == 4
    assert workspace_key("team/a-1").startswith("team_a-1--")


@pytest.mark.parametrize(
    ("identifier", "base"),
    [("", "_"), (".", "_"), ("..", "__"), ("../x", ".._x"), ("a\x00b", "a_b"), ("é", "_")],
)
def test_special_identifiers_get_a_named_hashed_key(identifier: str, base: str) -> None:
    assert workspace_key(identifier) == f"{base}--{identifier_hash(identifier)}"


def test_long_identifier_is_truncated_to_the_name_limit_and_hashed() -> None:
    ident = "A" * 1000
    key = workspace_key(ident)
    assert len(key.encode()) == MAX_KEY_BYTES
    assert key.endswith(f"--{sha16(ident)}")
    assert workspace_key("A" * MAX_KEY_BYTES) == "A" * MAX_KEY_BYTES
    assert workspace_key("A" * (MAX_KEY_BYTES + 1)) != workspace_key("A" * (MAX_KEY_BYTES + 2))


def test_identifier_shaped_like_a_hashed_key_is_hashed_again() -> None:
    derived = workspace_key("MT/Det")
    # Taken verbatim it would collide with the key of "MT/Det".
    assert workspace_key(derived) == f"{derived}--{sha16(derived)}"


def test_keys_are_stable_across_interpreters() -> None:
    idents = ["MT/Det", "ü-1", "", "x" * 400]
    code = (
        "import sys, json; from symphony.workspace import workspace_key;"
        "print(json.dumps([workspace_key(i) for i in json.loads(sys.argv[1])]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(idents)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(out.stdout) == [workspace_key(i) for i in idents]


def test_non_string_identifier_is_rejected() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        workspace_key(123)  # type: ignore[arg-type]


@given(st.text())
def test_every_key_is_a_safe_single_name(identifier: str) -> None:
    key = workspace_key(identifier)
    assert KEY_SHAPE.match(key)
    assert key not in {".", ".."}
    assert len(key.encode()) <= MAX_KEY_BYTES
    assert is_workspace_key_shaped(key)
    assert workspace_key(identifier) == key  # deterministic


@given(st.text(), st.text())
def test_distinct_identifiers_never_share_a_key(a: str, b: str) -> None:
    assume(a != b)
    assert workspace_key(a) != workspace_key(b)


# Identifiers built to sanitize to the same text: allowed characters with some positions swapped
# for disallowed ones, so only the hash can keep them apart.
_alike = st.lists(st.sampled_from(ALLOWED + "/ :#é\x00"), min_size=0, max_size=300).map("".join)


@given(_alike, _alike)
def test_sanitize_alike_identifiers_never_share_a_key(a: str, b: str) -> None:
    assume(a != b)
    assert workspace_key(a) != workspace_key(b)


@given(st.text())
def test_a_key_taken_as_identifier_never_collides_with_its_source(identifier: str) -> None:
    key = workspace_key(identifier)
    if key != identifier:
        assert workspace_key(key) != key
