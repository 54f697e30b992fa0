"""Reads of the run store: the id cross-reference, the dead letters and the run's summary.

Functions over one connection, so the store's methods stay thin and each read is one place.
Keys are queried 500 at a time (SQLite's bound-parameter limit is 999 on older builds).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from zmigrate.checkpoint.locking import lock_holder
from zmigrate.checkpoint.records import DONE, FAILED, IN_FLIGHT, PENDING, DeadLetter, StepSpec

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
            "SELECT zoho_id, source_key, row_no FROM xref WHERE step = ? AND zoho_id IN "
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


def dead_letters(conn: sqlite3.Connection, step: str | None = None) -> list[DeadLetter]:
    """The rows Zoho refused, in the order they were refused (of one step, or all)."""
    sql = "SELECT step, row_no, source_key, row_json, code, message, batch_no FROM dead_letters"
    args: tuple[str, ...] = ()
    if step is not None:
        sql, args = sql + " WHERE step = ?", (step,)
    rows = conn.execute(sql + " ORDER BY id", args).fetchall()
    return [DeadLetter(s, r, k, json.loads(j), c, m, b) for s, r, k, j, c, m, b in rows]


def summary(
    conn: sqlite3.Connection, run_dir: Path, steps: list[StepSpec], meta: dict[str, Any]
) -> dict[str, Any]:
    """Per step done / failed / left, quota spent vs plan, status, pause, last error."""
    counts = conn.execute(
        "SELECT step, COUNT(DISTINCT zoho_id), COUNT(*) FROM xref GROUP BY step"
    ).fetchall()
    done = {step: distinct for step, distinct, _ in counts}
    merged = {step: rows - distinct for step, distinct, rows in counts}
    failed = dict(conn.execute("SELECT step, COUNT(*) FROM dead_letters GROUP BY step").fetchall())
    batch_counts: dict[str, dict[str, int]] = {}
    for step, state, n in conn.execute(
        "SELECT step, state, COUNT(*) FROM batches GROUP BY step, state"
    ):
        batch_counts.setdefault(step, {})[state] = n
    rows = []
    planned: dict[str, list[int]] = {}
    for s in steps:
        d, f, m = done.get(s.name, 0), failed.get(s.name, 0), merged.get(s.name, 0)
        bc = batch_counts.get(s.name, {})
        rows.append(
            {
                "step": s.name,
                "product": s.product,
                "module": s.module,
                "method": s.method,
                "total": s.total_rows,
                "done": d,
                "merged": m,
                "failed": f,
                "left": max(0, s.total_rows - d - m - f),
                "batches": {k: bc.get(k, 0) for k in (PENDING, IN_FLIGHT, DONE, FAILED)},
            }
        )
        acc = planned.setdefault(s.product, [0, 0])
        acc[0] += s.planned_requests
        acc[1] += s.planned_credits
    spent = {p: (r, c) for p, r, c in conn.execute("SELECT * FROM quota")}
    quota = {
        p: {
            "requests": spent.get(p, (0, 0))[0],
            "credits": spent.get(p, (0, 0))[1],
            "planned_requests": planned.get(p, [0, 0])[0],
            "planned_credits": planned.get(p, [0, 0])[1],
        }
        for p in sorted(set(spent) | set(planned))
    }
    return {
        "run_dir": str(run_dir),
        "manifest": meta.get("manifest_path"),
        "status": meta.get("status"),
        "active_pid": lock_holder(run_dir),
        "paused": meta.get("status") == "paused",
        "paused_until": meta.get("paused_until"),
        "pause_reason": meta.get("pause_reason"),
        "last_error": meta.get("last_error"),
        "created": meta.get("created"),
        "updated": meta.get("updated"),
        "steps": rows,
        "quota": quota,
    }
