"""Reads of the run store: the id cross-reference, the dead letters and the run's summary.

Functions over one connection, so the store's methods stay thin and each read is one place.
Keys are queried 500 at a time (SQLite's bound-parameter limit is 999 on older builds).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from zmigrate.checkpoint.locking import lock_holder
from zmigrate.checkpoint.records import BatchState, DeadLetter, LandedRecord, StepSpec, WriteAction
from zmigrate.checkpoint.summary import BatchCounts, QuotaSpent, RunMeta, RunSummary, StepSummary

CHUNK = 500


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    """Distinct ``values`` as strings, in first-seen order, ``CHUNK`` at a time."""
    uniq = list(dict.fromkeys(str(v) for v in values))
    for i in range(0, len(uniq), CHUNK):
        yield uniq[i : i + CHUNK]


def _marks(chunk: Sequence[str]) -> str:
    return ",".join("?" * len(chunk))


def lookup_many(conn: sqlite3.Connection, step: str, keys: Iterable[str]) -> dict[str, str]:
    """Zoho ids of ``keys`` created by ``step`` (keys not there are absent)."""
    found: dict[str, str] = {}
    for chunk in _chunks(keys):
        found.update(
            conn.execute(
                "SELECT source_key, zoho_id FROM xref WHERE step = ? AND source_key IN "
                f"({_marks(chunk)})",
                (step, *chunk),
            ).fetchall()
        )
    return found


def id_owners(
    conn: sqlite3.Connection, step: str, zoho_ids: Iterable[str]
) -> dict[str, tuple[str, int | None]]:
    """For each of ``zoho_ids`` that ``step`` already holds: its first key and source line."""
    found: dict[str, tuple[str, int | None]] = {}
    for chunk in _chunks(zoho_ids):
        for zoho_id, key, line in conn.execute(
            "SELECT zoho_id, source_key, row_no FROM xref INDEXED BY xref_by_id "
            "WHERE step = ? AND zoho_id IN "
            f"({_marks(chunk)}) ORDER BY row_no DESC",
            (step, *chunk),
        ):
            found[zoho_id] = (key, line)  # the lowest line wins
    return found


def settled_keys(conn: sqlite3.Connection, step: str, keys: Iterable[str]) -> set[str]:
    """Which ``keys`` of ``step`` already landed or were dead-lettered: never send them."""
    uniq = list(dict.fromkeys(str(k) for k in keys))
    settled = set(lookup_many(conn, step, uniq))
    for chunk in _chunks(uniq):
        settled.update(
            r[0]
            for r in conn.execute(
                "SELECT source_key FROM dead_letters WHERE step = ? AND source_key IN "
                f"({_marks(chunk)})",
                (step, *chunk),
            )
        )
    return settled


def landed(conn: sqlite3.Connection, step: str) -> list[LandedRecord]:
    """Every record ``step`` landed, in source order, with what its write did."""
    rows = conn.execute(
        "SELECT source_key, zoho_id, row_no, action FROM xref WHERE step = ? "
        "ORDER BY row_no, source_key",
        (step,),
    )
    return [LandedRecord(step, k, z, r, WriteAction.of(a)) for k, z, r, a in rows]


DEAD_LETTER_CHUNK = 5_000
"""Dead letters read at a time when streaming them (a file of millions never sits in memory)."""


def dead_letter_chunk(
    conn: sqlite3.Connection, after: int, step: str | None = None, limit: int | None = None
) -> list[tuple[int, DeadLetter]]:
    """Up to ``limit`` (``DEAD_LETTER_CHUNK``) refused rows after row id ``after``, in the
    order they were refused, each with its row id (the next chunk starts after the last)."""
    sql = (
        "SELECT id, step, row_no, source_key, row_json, code, message, batch_no "
        "FROM dead_letters WHERE id > ?"
    )
    args: tuple[int | str, ...] = (after,)
    if step is not None:
        sql, args = sql + " AND step = ?", (after, step)
    size = DEAD_LETTER_CHUNK if limit is None else limit
    rows = conn.execute(sql + " ORDER BY id LIMIT ?", (*args, size)).fetchall()
    return [(i, DeadLetter(s, r, k, json.loads(j), c, m, b)) for i, s, r, k, j, c, m, b in rows]


def dead_letters(conn: sqlite3.Connection, step: str | None = None) -> list[DeadLetter]:
    """The rows Zoho refused, in the order they were refused (of one step, or all)."""
    found: list[DeadLetter] = []
    after = 0
    while chunk := dead_letter_chunk(conn, after, step):
        found.extend(d for _, d in chunk)
        after = chunk[-1][0]
    return found


def summary(
    conn: sqlite3.Connection, run_dir: Path, steps: list[StepSpec], meta: RunMeta
) -> RunSummary:
    """Per step done / failed / left, quota spent vs plan, status, pause, last error."""
    counts = conn.execute(
        "SELECT step, COUNT(DISTINCT zoho_id), COUNT(*) FROM xref GROUP BY step"
    ).fetchall()
    done = {step: distinct for step, distinct, _ in counts}
    merged = {step: rows - distinct for step, distinct, rows in counts}
    failed = dict(conn.execute("SELECT step, COUNT(*) FROM dead_letters GROUP BY step").fetchall())
    batch_counts: dict[str, dict[BatchState, int]] = {}
    for step, state, n in conn.execute(
        "SELECT step, state, COUNT(*) FROM batches GROUP BY step, state"
    ):
        batch_counts.setdefault(step, {})[BatchState(state)] = n
    rows = []
    planned: dict[str, tuple[int, int]] = {}
    for s in steps:
        d, f, m = done.get(s.name, 0), failed.get(s.name, 0), merged.get(s.name, 0)
        left = max(0, s.total_rows - d - m - f)
        batches = BatchCounts.of(batch_counts.get(s.name, {}))
        rows.append(
            StepSummary(s.name, s.product, s.module, s.method, s.total_rows, d, m, f, left, batches)
        )
        req, cred = planned.get(s.product, (0, 0))
        planned[s.product] = (req + s.planned_requests, cred + s.planned_credits)
    spent = {p: (r, c) for p, r, c in conn.execute("SELECT product, requests, credits FROM quota")}
    quota = {
        p: QuotaSpent(*spent.get(p, (0, 0)), *planned.get(p, (0, 0)))
        for p in sorted(set(spent) | set(planned))
    }
    return RunSummary(
        run_dir=str(run_dir),
        manifest=meta.manifest_path,
        status=meta.status,
        active_pid=lock_holder(run_dir),
        paused_until=meta.paused_until,
        pause_reason=meta.pause_reason,
        last_error=meta.last_error,
        created=meta.created,
        updated=meta.updated,
        steps=tuple(rows),
        quota=quota,
    )
