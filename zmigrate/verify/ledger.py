"""Verify's own checkpoint, ``RUN_DIR/verify/verify.db``: which records were read back and
what they came to, so a killed `verify` goes on where it stopped and reads nothing twice.

Each chunk's outcomes and field diffs are committed together; ``diffs.jsonl`` is written
from here once a verify completes, so a kill never leaves a line twice. A completed verify
asked again starts over (Zoho may have changed since); a different ``--sample`` too.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from zmigrate.scrub import scrub

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checked (
    step TEXT NOT NULL, zoho_id TEXT NOT NULL, outcome TEXT NOT NULL,
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
            for table in ("meta", "checked", "diffs"):
                self.conn.execute(f"DELETE FROM {table}")
            self.conn.execute("INSERT INTO meta VALUES ('sample', ?)", (json.dumps(sample),))
            self.conn.execute("COMMIT")
        self.resumed = bool(self.conn.execute("SELECT 1 FROM checked LIMIT 1").fetchone())

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
