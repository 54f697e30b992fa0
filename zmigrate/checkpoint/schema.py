"""The run store's file: its tables, its schema version, and how a connection is opened."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from zmigrate.checkpoint.before import SCHEMA as BEFORE_SCHEMA
from zmigrate.checkpoint.damage import damaged
from zmigrate.errors import StoreError

SCHEMA_VERSION = 1
DB_NAME = "run.db"
LOCK_NAME = "lock"

SCHEMA = (
    """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE steps (
    name TEXT PRIMARY KEY, ord INTEGER NOT NULL, product TEXT NOT NULL, module TEXT NOT NULL,
    method TEXT NOT NULL, total_rows INTEGER NOT NULL, batch_size INTEGER NOT NULL,
    key_field TEXT NOT NULL, planned_requests INTEGER NOT NULL, planned_credits INTEGER NOT NULL
);
CREATE TABLE batches (
    step TEXT NOT NULL, batch_no INTEGER NOT NULL, first_row INTEGER NOT NULL,
    last_row INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0, verify INTEGER NOT NULL DEFAULT 0,
    job_id TEXT, file_id TEXT, error TEXT, updated REAL,
    PRIMARY KEY (step, batch_no)
) WITHOUT ROWID;
CREATE INDEX batches_by_state ON batches (state, step, batch_no);
CREATE TABLE xref (
    step TEXT NOT NULL, source_key TEXT NOT NULL, zoho_id TEXT NOT NULL, row_no INTEGER,
    action TEXT, PRIMARY KEY (step, source_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS xref_by_id ON xref (step, zoho_id);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY, step TEXT NOT NULL, batch_no INTEGER, row_no INTEGER,
    source_key TEXT, row_json TEXT NOT NULL, code TEXT, message TEXT NOT NULL, created REAL NOT NULL
);
CREATE INDEX dead_by_key ON dead_letters (step, source_key);
CREATE TABLE quota (
    product TEXT PRIMARY KEY, requests INTEGER NOT NULL DEFAULT 0,
    credits INTEGER NOT NULL DEFAULT 0
);
"""
    + BEFORE_SCHEMA
)


def connect(db: Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection to ``db``: WAL and ``synchronous=FULL`` to write, ``mode=ro`` to read."""
    try:
        if readonly:
            conn = sqlite3.connect(
                f"file:{db}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        else:
            conn = sqlite3.connect(str(db), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        if not readonly:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.DatabaseError(f"cannot switch to WAL (got {mode})")
            # FULL: a commit survives power loss, not only a process crash. Commits are
            # per batch (tens a second at most) and 2,000+ fsynced commits/s were measured
            # (benchmarks/bench_resume.py), so the fsync never holds a run back.
            conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as e:
        raise damaged(db, e) from None
    conn.isolation_level = None
    return conn


def check(conn: sqlite3.Connection, db: Path, version: Any, *, readonly: bool) -> None:
    """Refuse a store of another schema version or with a damaged page; bring an older
    store of this version up to date (its missing indexes are added)."""
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"run store {db} has schema version {version}, this zmigrate reads "
            f"{SCHEMA_VERSION}; resume it with the zmigrate version that started it"
        )
    for table in ("steps", "batches", "xref", "dead_letters", "quota"):
        conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
    if not readonly:  # stores made before the index
        conn.execute("CREATE INDEX IF NOT EXISTS xref_by_id ON xref (step, zoho_id)")
    if not readonly:  # stores made before before-images were kept
        conn.executescript(BEFORE_SCHEMA)
    if not readonly:  # stores made before the write action was kept: unknown (NULL) for all
        columns = {r[1] for r in conn.execute("PRAGMA table_info(xref)")}
        if "action" not in columns:
            conn.execute("ALTER TABLE xref ADD COLUMN action TEXT")
    if not readonly:  # 55 ms on a 1,000,000-record store: worth it before resuming
        found = conn.execute("PRAGMA quick_check").fetchall()
        if found != [("ok",)]:
            raise damaged(db, "; ".join(r[0] for r in found[:3]))


def put_meta(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    """Write meta values (JSON), each replacing what was there."""
    conn.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [(k, json.dumps(v)) for k, v in values.items()],
    )


def meta_value(conn: sqlite3.Connection, key: str) -> Any:
    """One meta value, ``None`` when absent."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else json.loads(row[0])
