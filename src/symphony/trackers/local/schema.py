"""The board's SQLite schema, versioned with ``PRAGMA user_version``.

``MIGRATIONS[n]`` takes a database from version ``n`` to ``n + 1``. A migration only ever adds
to this list; released steps are never edited, so any older board upgrades in place.
"""

from __future__ import annotations

# Version 1: issues with labels, blockers, comments (one optional workpad each), state history.
_V1: tuple[str, ...] = (
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    )
    """,
    "INSERT INTO counters (name, value) VALUES ('issue_number', 0)",
    """
    CREATE TABLE issues (
        id TEXT PRIMARY KEY CHECK (length(trim(id)) > 0),
        number INTEGER NOT NULL UNIQUE,
        identifier TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(identifier)) > 0),
        title TEXT NOT NULL CHECK (length(trim(title)) > 0),
        description TEXT,
        priority INTEGER CHECK (priority IS NULL OR priority BETWEEN 1 AND 4),
        state TEXT NOT NULL CHECK (length(trim(state)) > 0),
        branch_name TEXT,
        assignee_id TEXT,
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX issues_state ON issues (lower(trim(state)))",
    """
    CREATE TABLE issue_labels (
        issue_id TEXT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (issue_id, label)
    )
    """,
    """
    CREATE TABLE blockers (
        issue_id TEXT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
        blocker_id TEXT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        PRIMARY KEY (issue_id, blocker_id),
        CHECK (issue_id <> blocker_id)
    )
    """,
    "CREATE INDEX blockers_blocker ON blockers (blocker_id)",
    """
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        issue_id TEXT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
        kind TEXT NOT NULL DEFAULT 'comment' CHECK (kind IN ('comment', 'workpad')),
        author TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX comments_issue ON comments (issue_id, id)",
    # The single-workpad rule of the reference workflow, enforced by the database itself.
    "CREATE UNIQUE INDEX comments_one_workpad ON comments (issue_id) WHERE kind = 'workpad'",
    """
    CREATE TABLE state_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        issue_id TEXT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
        from_state TEXT,
        to_state TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL
    )
    """,
    "CREATE INDEX state_changes_issue ON state_changes (issue_id, id)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
SCHEMA_VERSION = len(MIGRATIONS)
