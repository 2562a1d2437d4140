"""Workspace keys: one safe directory name per issue identifier (SPEC §4.2, §9.5 invariant 3).

The spec's rule: replace every character outside ``[A-Za-z0-9._-]`` with ``_`` and, when that
changed the identifier, append a hash of the original. On top of it, a hash is also appended when
the plain identifier would be unusable or ambiguous as a directory name:

* empty, ``.`` or ``..`` (they name no directory of their own);
* longer than a file name may be (255 bytes) — the sanitized text is truncated first;
* already shaped like a hashed key (``…--<16 hex>``), so a verbatim identifier can never equal
  the key derived from a different, sanitized one.

Keys depend only on the identifier's code points (SHA-256 over UTF-8, lone surrogates kept via
``surrogatepass``), so they are the same on every run, host and Python version.
"""

from __future__ import annotations

import hashlib
import re

MAX_KEY_BYTES = 255
HASH_HEX_CHARS = 16  # 64 bits, the spec's minimum; same width as the reference implementation
HASH_SEPARATOR = "--"

_DISALLOWED = re.compile(r"[^A-Za-z0-9._-]")
_HASHED_SHAPE = re.compile(rf"{HASH_SEPARATOR}[0-9a-f]{{{HASH_HEX_CHARS}}}\Z")
_SPECIAL_NAMES = {"": "_", ".": "_", "..": "__"}


def identifier_hash(identifier: str) -> str:
    """The first 64 bits of SHA-256 of the identifier, as lowercase hex."""
    digest = hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:HASH_HEX_CHARS]


def sanitize_identifier(identifier: str) -> str:
    """Every character outside ``[A-Za-z0-9._-]`` becomes ``_`` (one per code point)."""
    return _DISALLOWED.sub("_", identifier)


def is_workspace_key_shaped(name: str) -> bool:
    """True when ``name`` could be a workspace key: allowed characters only, not ``.``/``..``."""
    return (
        name not in _SPECIAL_NAMES
        and len(name) <= MAX_KEY_BYTES
        and _DISALLOWED.search(name) is None
    )


def workspace_key(identifier: str) -> str:
    """The directory name for ``identifier``: verbatim when safe, else sanitized plus a hash."""
    if not isinstance(identifier, str):
        raise TypeError(f"issue identifier must be a string, got {type(identifier).__name__}")
    sanitized = sanitize_identifier(identifier)
    needs_hash = (
        sanitized != identifier
        or sanitized in _SPECIAL_NAMES
        or len(sanitized) > MAX_KEY_BYTES
        or _HASHED_SHAPE.search(sanitized) is not None
    )
    if not needs_hash:
        return sanitized
    base = _SPECIAL_NAMES.get(sanitized, sanitized)
    suffix = HASH_SEPARATOR + identifier_hash(identifier)
    return base[: MAX_KEY_BYTES - len(suffix)] + suffix
