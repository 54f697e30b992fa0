"""Verify's own checkpoint, ``RUN_DIR/verify/verify.db``: which records were read back and
what they came to, so a killed `verify` goes on where it stopped and reads nothing twice.

A step read whole keeps its way of reading (``reads``: a resume does not price it again),
a CRM Bulk Read's job id once Zoho made it (a resume polls that job, not a new one: 50
credits) and each page read: the Bulk Read's or list's next page, and the run's records
found on it (``fetched``), so a resumed verify goes on from the next page.

Each chunk's outcomes and field diffs are committed together; ``diffs.jsonl`` is written
from here once a verify completes, so a kill never leaves a line twice. A completed verify
asked again starts over (Zoho may have changed since); a different ``--sample`` too.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from zmigrate.scrub import scrub
from zmigrate.verify.bill import ReadBy

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checked (
    step TEXT NOT NULL, zoho_id TEXT NOT NULL, outcome TEXT NOT NULL,
    PRIMARY KEY (step, zoho_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reads (
    step TEXT PRIMARY KEY, method TEXT NOT NULL, page INTEGER NOT NULL, token TEXT,
    job_id TEXT, spent INTEGER NOT NULL, done INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fetched (
    step TEXT NOT NULL, zoho_id TEXT NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (step, zoho_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS diffs (
    step TEXT NOT NULL, zoho_id TEXT NOT NULL, line INTEGER, field TEXT NOT NULL,
    expected TEXT, found TEXT
);
"""


class Outcome(StrEnum):
    """What one landed record came to."""

    MATCHED = "matched"
    DIFFERING = "differing"
    MISSING = "missing"


Diff = tuple[str, int | None, str, Any, Any]
"""(Zoho id, source line, field, expected, found)."""
TABLES = ("meta", "checked", "diffs", "reads", "fetched")


@dataclass(frozen=True)
class ReadState:
    """Where a step read whole stands: the next page (and its Bulk Read page token), the
    Bulk Read job made for it, list pages read so far, whether the reading is over."""

    method: ReadBy
    page: int = 1
    token: str | None = None
    job_id: str | None = None
    spent: int = 0
    done: bool = False


class Ledger:
    """The verify checkpoint of one run directory (the run's lock is held by the caller)."""

    def __init__(self, folder: Path, sample: int | None) -> None:
        folder.mkdir(mode=0o700, exist_ok=True)
        self.folder = folder
        self.conn = sqlite3.connect(folder / "verify.db", isolation_level=None)
        os.chmod(folder / "verify.db", 0o600)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(SCHEMA)
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("finished") == "1" or meta.get("sample", "null") != json.dumps(sample):
            self.conn.execute("BEGIN IMMEDIATE")
            for table in TABLES:
                self.conn.execute(f"DELETE FROM {table}")
            self.conn.execute("INSERT INTO meta VALUES ('sample', ?)", (json.dumps(sample),))
            self.conn.execute("COMMIT")
        self.resumed = bool(
            self.conn.execute(
                "SELECT 1 FROM checked UNION ALL SELECT 1 FROM reads LIMIT 1"
            ).fetchone()
        )

    def checked(self, step: str) -> set[str]:
        return {
            r[0] for r in self.conn.execute("SELECT zoho_id FROM checked WHERE step = ?", (step,))
        }

    def record(
        self, step: str, outcomes: Iterable[tuple[str, Outcome]], diffs: Sequence[Diff]
    ) -> None:
        """One chunk's outcomes and diffs, in one transaction."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                "INSERT OR REPLACE INTO checked VALUES (?, ?, ?)",
                [(step, z, o.value) for z, o in outcomes],
            )
            self.conn.executemany(
                "INSERT INTO diffs VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (step, z, line, f, json.dumps(e, default=str), json.dumps(g, default=str))
                    for z, line, f, e, g in diffs
                ],
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def read_state(self, step: str) -> ReadState | None:
        """How ``step`` is being read, when a verify chose it already."""
        row = self.conn.execute(
            "SELECT method, page, token, job_id, spent, done FROM reads WHERE step = ?", (step,)
        ).fetchone()
        if row is None:
            return None
        method, page, token, job_id, spent, done = row
        return ReadState(ReadBy(method), page, token, job_id, spent, bool(done))

    def start_read(self, step: str, method: ReadBy) -> ReadState:
        """The way ``step`` is read, kept for a resume."""
        state = ReadState(method)
        self.conn.execute(
            "INSERT OR REPLACE INTO reads VALUES (?, ?, ?, NULL, NULL, 0, 0)",
            (step, method.value, state.page),
        )
        return state

    def job_started(self, step: str, job_id: str) -> None:
        """A Bulk Read job Zoho made for the step's next page: committed before it is polled."""
        self.conn.execute("UPDATE reads SET job_id = ? WHERE step = ?", (job_id, step))

    def page_read(
        self, step: str, records: Mapping[str, Mapping[str, Any]], state: ReadState
    ) -> None:
        """One page's records of the run and where the reading stands after it, together."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                "INSERT OR REPLACE INTO fetched VALUES (?, ?, ?)",
                [(step, z, scrub(json.dumps(r, default=str))) for z, r in records.items()],
            )
            self.conn.execute(
                "UPDATE reads SET page = ?, token = ?, job_id = ?, spent = ?, done = ? "
                "WHERE step = ?",
                (state.page, state.token, state.job_id, state.spent, int(state.done), step),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def fetched(self, step: str) -> dict[str, dict[str, Any]]:
        """The step's records found on the pages read so far, by Zoho id."""
        rows = self.conn.execute("SELECT zoho_id, record FROM fetched WHERE step = ?", (step,))
        return {z: json.loads(r) for z, r in rows}

    def counts(self, step: str) -> dict[Outcome, int]:
        rows = self.conn.execute(
            "SELECT outcome, COUNT(*) FROM checked WHERE step = ? GROUP BY outcome", (step,)
        )
        return {Outcome(o): n for o, n in rows}

    def finish(self) -> Path:
        """Write ``diffs.jsonl`` (scrubbed, renamed into place) and mark the verify done."""
        path = self.folder / "diffs.jsonl"
        tmp = path.with_suffix(".jsonl.new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            for step, zoho_id, line, field, expected, found in self.conn.execute(
                "SELECT step, zoho_id, line, field, expected, found FROM diffs ORDER BY rowid"
            ):
                row = {
                    "step": step,
                    "record_id": zoho_id,
                    "line": line,
                    "field": field,
                    "expected": json.loads(expected),
                    "found": json.loads(found),
                }
                out.write(scrub(json.dumps(row, default=str)) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('finished', '1')")
        return path

    def close(self) -> None:
        self.conn.close()
