"""Batch rows over one connection: read them, move their state, write what a batch produced.

The caller owns the transaction; every function here is one or two statements inside it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from zmigrate.checkpoint.records import Batch, BatchState, DeadLetter, WriteAction, XrefRow
from zmigrate.errors import StoreError
from zmigrate.scrub import scrub

CREATED_SQL = ", ".join(f"'{a.value}'" for a in WriteAction if a.created)

COLS = "step, batch_no, first_row, last_row, state, attempts, verify, job_id, file_id, error"


def to_batch(row: Sequence[Any]) -> Batch:
    """A ``COLS`` row as a :class:`Batch`."""
    step, batch_no, first_row, last_row, state, attempts, verify, job_id, file_id, error = row
    return Batch(
        step,
        batch_no,
        first_row,
        last_row,
        BatchState(state),
        attempts,
        bool(verify),
        job_id,
        file_id,
        error,
    )


def in_flight_to_verify(conn: sqlite3.Connection) -> list[Batch]:
    """Every ``in_flight`` batch made ``pending`` + ``verify``; returned as they now are."""
    rows = conn.execute(
        f"SELECT {COLS} FROM batches WHERE state = 'in_flight' ORDER BY step, batch_no"
    ).fetchall()
    conn.execute("UPDATE batches SET state = 'pending', verify = 1 WHERE state = 'in_flight'")
    return [to_batch((*r[:4], BatchState.PENDING, r[5], 1, *r[7:])) for r in rows]


def pending(conn: sqlite3.Connection, step: str) -> list[Batch]:
    """Batches of ``step`` still to do (pending, or in flight in this process), in order."""
    rows = conn.execute(
        f"SELECT {COLS} FROM batches WHERE state IN ('pending', 'in_flight') "
        "AND step = ? ORDER BY batch_no",
        (step,),
    ).fetchall()
    return [to_batch(r) for r in rows]


def one(conn: sqlite3.Connection, step: str, batch_no: int) -> Batch:
    row = conn.execute(
        f"SELECT {COLS} FROM batches WHERE step = ? AND batch_no = ?", (step, batch_no)
    ).fetchone()
    if row is None:
        raise StoreError(f"run store has no batch {batch_no} in step '{step}'")
    return to_batch(row)


def set_state(conn: sqlite3.Connection, step: str, batch_no: int, sql: str, *a: str | None) -> None:
    """``UPDATE`` one batch with ``sql`` (its ``?`` bound to ``a``); it must exist."""
    cur = conn.execute(
        f"UPDATE batches SET {sql}, updated = ? WHERE step = ? AND batch_no = ?",
        (*a, time.time(), step, batch_no),
    )
    if cur.rowcount != 1:
        raise StoreError(f"run store has no batch {batch_no} in step '{step}'")


def write_rows(
    conn: sqlite3.Connection,
    step: str,
    xref: Iterable[XrefRow],
    dead: Iterable[DeadLetter],
) -> None:
    """The ids ``(source_key, zoho_id, line[, action])`` a batch got, and the rows Zoho
    refused. A key once recorded as created stays created (rollback deletes only those)."""
    conn.executemany(
        "INSERT INTO xref VALUES (?,?,?,?,?) ON CONFLICT (step, source_key) "
        "DO UPDATE SET zoho_id = excluded.zoho_id, row_no = excluded.row_no, action = CASE "
        f"WHEN xref.action IN ({CREATED_SQL}) THEN xref.action ELSE excluded.action END",
        ((step, str(x[0]), str(x[1]), x[2], x[3] if len(x) > 3 else None) for x in xref),
    )
    now = time.time()
    conn.executemany(
        "INSERT INTO dead_letters (step, batch_no, row_no, source_key, row_json, code, "
        "message, created) VALUES (?,?,?,?,?,?,?,?)",
        (
            (
                step,
                d.batch_no,
                d.row_no,
                d.source_key,
                scrub(json.dumps(d.row, default=str)),
                None if d.code is None else str(d.code),
                scrub(d.message),
                now,
            )
            for d in dead
        ),
    )
