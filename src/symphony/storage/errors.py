"""The store's one error shape: what is wrong with which file, and what to do about it."""

from __future__ import annotations

from pathlib import Path

from symphony.errors import SymphonyError

STORAGE_CORRUPT = "storage_corrupt"
STORAGE_LOCKED = "storage_locked"
STORAGE_READ_ONLY = "storage_read_only"
STORAGE_NEWER_SCHEMA = "storage_newer_schema"


class StorageError(SymphonyError):
    code = "storage_error"


def reset_hint(path: Path) -> str:
    return (
        f"`symphony --reset-storage` moves it aside (to {path.name}.<timestamp>.bak) and the "
        "next start begins with empty state"
    )


def corrupt(path: Path, detail: str) -> StorageError:
    return StorageError(
        f"state store {path} is not a readable SQLite database ({detail}). Restore a backup "
        f"over it, or {reset_hint(path)}.",
        code=STORAGE_CORRUPT,
    )


def locked(path: Path) -> StorageError:
    return StorageError(
        f"state store {path} is locked by another process (another Symphony service on the "
        "same workflow, or a program holding a write lock). Stop that process, or give this "
        "service its own file with storage.path in WORKFLOW.md.",
        code=STORAGE_LOCKED,
    )


def read_only(path: Path, detail: str) -> StorageError:
    return StorageError(
        f"state store {path} cannot be written ({detail}). Make {path.parent} writable for "
        "this user, or point storage.path in WORKFLOW.md at a writable place.",
        code=STORAGE_READ_ONLY,
    )


def newer_schema(path: Path, found: int, known: int) -> StorageError:
    return StorageError(
        f"state store {path} has schema version {found}, written by a newer Symphony (this one "
        f"knows versions up to {known}). Run the newer version, or {reset_hint(path)}.",
        code=STORAGE_NEWER_SCHEMA,
    )
