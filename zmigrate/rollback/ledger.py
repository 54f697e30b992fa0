"""Rollback's checkpoint, ``RUN_DIR/rollback/rollback.db``: every record to delete, cut into
the calls that delete them, and where each stands.

Made once, from the run store, in one transaction. A call's batch is ``in_flight``
(committed) before it leaves and settled (committed) when Zoho answers; a rollback killed
in between sends that batch again, and what the first send deleted answers "not there":
counted as deleted. Settled records are never sent again, so a second rollback sends
nothing; one Zoho refused is tried again by the next rollback (its cause may be fixed).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from zmigrate.rollback.decide import Deletion, Work
from zmigrate.scrub import scrub

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS targets (
    step TEXT NOT NULL, batch_no INTEGER NOT NULL, zoho_id TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT, PRIMARY KEY (step, zoho_id)
);
CREATE INDEX IF NOT EXISTS targets_by_batch ON targets (step, batch_no);
CREATE TABLE IF NOT EXISTS restores (
    step TEXT NOT NULL, batch_no INTEGER NOT NULL, zoho_id TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT, PRIMARY KEY (step, zoho_id)
);
"""
TABLES = {Work.DELETE: "targets", Work.RESTORE: "restores"}
"""Records to delete, and records to restore from their before-images."""


class Ledger:
    """The rollback checkpoint of one run directory (the caller holds the run's lock)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, exist_ok=True)
        self.conn = sqlite3.connect(folder / "rollback.db", isolation_level=None)
        os.chmod(folder / "rollback.db", 0o600)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(SCHEMA)
        self.resumed = self.planned

    @property
    def planned(self) -> bool:
        return self.conn.execute("SELECT 1 FROM meta WHERE key = 'planned'").fetchone() is not None

    def plan(self, steps: Iterable[tuple[Work, str, Sequence[str], int]]) -> None:
        """``(work, step, ids, batch size)`` for every step, in one transaction."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for work, step, ids, size in steps:
                self.conn.executemany(
                    f"INSERT OR IGNORE INTO {TABLES[work]} VALUES (?, ?, ?, ?, NULL)",
                    [(step, n // size, z, Deletion.PENDING.value) for n, z in enumerate(ids)],
                )
            self.conn.execute("INSERT INTO meta VALUES ('planned', '1')")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def retry_refused(self) -> None:
        """A new rollback tries again what Zoho refused last time."""
        for table in TABLES.values():
            self.conn.execute(
                f"UPDATE {table} SET state = ?, reason = NULL WHERE state = ?",
                (Deletion.PENDING.value, Deletion.REFUSED.value),
            )

    def open_batches(self, step: str, work: Work = Work.DELETE) -> list[tuple[int, list[str]]]:
        """Batches of ``step`` with records not settled, in order, with those records' ids."""
        batches: dict[int, list[str]] = {}
        for batch_no, zoho_id in self.conn.execute(
            f"SELECT batch_no, zoho_id FROM {TABLES[work]} WHERE step = ? AND state IN (?, ?) "
            "ORDER BY batch_no, rowid",
            (step, Deletion.PENDING.value, Deletion.IN_FLIGHT.value),
        ):
            batches.setdefault(batch_no, []).append(zoho_id)
        return sorted(batches.items())

    def in_flight(self, step: str, ids: Sequence[str], work: Work = Work.DELETE) -> None:
        """Committed before the delete (or restore) leaves."""
        self.settle(step, [(z, Deletion.IN_FLIGHT, "") for z in ids], work)

    def settle(
        self, step: str, results: Sequence[tuple[str, Deletion, str]], work: Work = Work.DELETE
    ) -> None:
        """Zoho's answer for a batch, each record's state and reason, in one transaction."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                f"UPDATE {TABLES[work]} SET state = ?, reason = ? WHERE step = ? AND zoho_id = ?",
                [(d.value, scrub(why) or None, step, z) for z, d, why in results],
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def counts(self, step: str, work: Work = Work.DELETE) -> dict[Deletion, int]:
        rows = self.conn.execute(
            f"SELECT state, COUNT(*) FROM {TABLES[work]} WHERE step = ? GROUP BY state", (step,)
        )
        return {Deletion(s): n for s, n in rows}

    def refused(self, step: str, work: Work = Work.DELETE) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            f"SELECT zoho_id, reason FROM {TABLES[work]} WHERE step = ? AND state = ? "
            "ORDER BY batch_no",
            (step, Deletion.REFUSED.value),
        )
        return [(z, r or "") for z, r in rows]

    def close(self) -> None:
        self.conn.close()
