"""The run store's hot reads find their keys through an index, whatever the step's size.

A read of 500 ids that SQLite answered by scanning the step's rows cost 49 ms at 200,000
records and grew with the run: the 1,000,000-record Bulk Write spent most of its CPU there.
"""

from __future__ import annotations

import sqlite3

from zmigrate.checkpoint import queries, schema


def _plans(read: str, *args: object) -> list[str]:
    """The query plan of every statement ``queries.<read>`` runs over a small store."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(schema.SCHEMA)
    rows = [("s", f"k{i}", f"{10**18 + i}", i, "insert") for i in range(2_000)]
    conn.executemany("INSERT INTO xref VALUES (?, ?, ?, ?, ?)", rows)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    getattr(queries, read)(conn, "s", *args)
    conn.set_trace_callback(None)
    assert statements
    return [
        str(detail)
        for sql in statements
        for *_, detail in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    ]


def test_reads_by_key_or_id_search_an_index_on_that_column() -> None:
    ids = [f"{10**18 + i}" for i in range(0, 2_000, 7)]
    keys = [f"k{i}" for i in range(0, 2_000, 7)]
    for read, values, column in [
        ("id_owners", ids, "zoho_id=?"),
        ("lookup_many", keys, "source_key=?"),
        ("settled_keys", keys, "source_key=?"),
    ]:
        searches = [p for p in _plans(read, values) if p.startswith(("SEARCH", "SCAN"))]
        assert searches and all(column in p for p in searches), (read, searches)
