"""The store's schema, as an ordered list of migrations (``PRAGMA user_version`` counts them).

``MIGRATIONS[n]`` brings a store from version ``n`` to ``n + 1``; each runs in its own
transaction together with the version bump, so a crash leaves a store at one version or the
next, never in between. A later feature adds its tables by appending a migration here (never by
editing a released one) and its writes as ``Write`` objects (``writes.py``). A store whose
version is higher than ``len(MIGRATIONS)`` was written by a newer Symphony and is refused.

Timestamps are RFC 3339 UTC text (``2026-01-02T03:04:05.678Z``); token counts are integers.
"""

from __future__ import annotations

from typing import Final

from symphony.storage.candidates import CANDIDATES_MIGRATION

_V1: Final = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,            -- the core's run id, unique across restarts
    issue_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    issue_url TEXT,
    attempt INTEGER,                   -- NULL: a first dispatch (SPEC §4.1.5)
    started_at TEXT NOT NULL,
    ended_at TEXT,                     -- NULL while the run is live (or the service crashed)
    outcome TEXT,                      -- succeeded|failed|timed_out|stalled|canceled|interrupted
    error TEXT,
    thread_id TEXT,
    session_ids TEXT NOT NULL DEFAULT '[]',  -- JSON list, one per turn
    turns INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    workspace TEXT,
    worker_host TEXT,
    pgid INTEGER,                      -- the agent's process group, to kill it after a crash
    pgid_started INTEGER,              -- its leader's start time (/proc clock ticks since boot)
    boot_id TEXT,                      -- the boot that start time counts from
    resume INTEGER NOT NULL DEFAULT 0  -- 1: cut short by a restart, to be continued
);
CREATE INDEX runs_by_issue ON runs (issue_id, id);
CREATE INDEX runs_to_resume ON runs (resume) WHERE resume = 1;

CREATE TABLE retries (
    issue_id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL,
    issue_url TEXT,
    attempt INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    kind TEXT NOT NULL,                -- continuation|failure
    error TEXT
);

CREATE TABLE totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    seconds_running REAL NOT NULL
);
"""

# Requests agents parked for a human and operators' steer messages (docs/human-requests.md),
# each with the run it belonged to; ``body`` is the record as JSON (storage/human.py).
_V2: Final = """
CREATE TABLE requests (
    id TEXT PRIMARY KEY,               -- the opaque request id the API shows
    issue_id TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    status TEXT NOT NULL,              -- pending|answered|timed_out|expired|canceled
    created_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX requests_by_created ON requests (created_at);

CREATE TABLE steers (
    id TEXT PRIMARY KEY,
    issue_id TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX steers_by_at ON steers (at);
"""

# The proof of work of each issue's last hand-off (docs/review.md), ``body`` as the API's JSON,
# ``diff`` the unified diff against the workspace base. ``verify_failures`` counts the
# consecutive failed ``hooks.verify`` runs (a pass resets it); ``reset_at`` is set once a
# workspace reset consumed the hand-off and cleared by the next hand-off.
_V3: Final = """
CREATE TABLE proofs (
    issue_id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,
    diff TEXT NOT NULL DEFAULT '',
    verify_failures INTEGER NOT NULL DEFAULT 0,
    reset_at TEXT
);
CREATE INDEX proofs_by_identifier ON proofs (identifier, created_at);
"""

# Issues Symphony stopped and keeps from running again (docs/holds.md). ``limit_key`` and
# ``limit_value`` are the setting that decided the hold and its value then (both NULL when no
# setting can end it).
_V4: Final = """
CREATE TABLE holds (
    issue_id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL,
    issue_url TEXT,
    reason TEXT NOT NULL,              -- no_progress|budget_exhausted|...
    message TEXT NOT NULL,
    since TEXT NOT NULL,
    limit_key TEXT,
    limit_value REAL
);
"""

# When each issue's budgets last started afresh (a released hold): its runs before do not count.
_V5: Final = """
CREATE TABLE budget_resets (
    issue_id TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
"""

# What runs cost in USD (docs/pricing.md): NULL for a run whose cost is unknown.
_V6: Final = """
ALTER TABLE runs ADD COLUMN cost_usd REAL;
ALTER TABLE totals ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
"""

# The SSH worker host a retry prefers (docs/workers.md): NULL for this machine.
_V7: Final = """
ALTER TABLE retries ADD COLUMN worker_host TEXT;
"""

# Best-of candidates (docs/best-of.md), kept in storage/candidates.py with their writes.
_V8: Final = CANDIDATES_MIGRATION

# Append new versions at the end; never edit one.
MIGRATIONS: Final[tuple[str, ...]] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8)

SCHEMA_VERSION: Final = len(MIGRATIONS)
