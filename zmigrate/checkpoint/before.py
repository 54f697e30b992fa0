"""Before-images: a record's mapped fields as they were before the run changed it
(``keep_before_images = true``), kept in the run store so `zmigrate rollback` can put
them back.

An image is written before the write that changes the record leaves (committed before the
batch goes in flight), once per source key: the first read wins, so a batch read again after
a kill never replaces the old values with the run's own. ``zoho_id`` NULL records that no
record held the key before the run wrote it: an upsert sent again after a lost answer that
Zoho answers "updated" there updated the run's own create (``reclaimed``). Values are kept
as JSON, scrubbed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from zmigrate.scrub import scrub

SCHEMA = """
CREATE TABLE IF NOT EXISTS before_images (
    step TEXT NOT NULL, source_key TEXT NOT NULL, zoho_id TEXT, fields TEXT NOT NULL,
    PRIMARY KEY (step, source_key)
);
"""


@dataclass(frozen=True)
class BeforeImage:
    """One source key's record before the run wrote it: its id and values, or none."""

    key: str
    zoho_id: str | None
    fields: dict[str, Any]


def keep(conn: sqlite3.Connection, step: str, images: Iterable[BeforeImage]) -> None:
    """Store ``images``; a key already imaged keeps its first image."""
    conn.executemany(
        "INSERT OR IGNORE INTO before_images VALUES (?, ?, ?, ?)",
        [(step, i.key, i.zoho_id, scrub(json.dumps(i.fields, default=str))) for i in images],
    )


def imaged(conn: sqlite3.Connection, step: str, keys: Iterable[str]) -> dict[str, str | None]:
    """Which of ``keys`` already have an image: key → the record's id (None: absent)."""
    keys = list(dict.fromkeys(keys))
    out: dict[str, str | None] = {}
    for n in range(0, len(keys), 500):
        part = keys[n : n + 500]
        marks = ",".join("?" * len(part))
        query = (
            "SELECT source_key, zoho_id FROM before_images "
            f"WHERE step = ? AND source_key IN ({marks})"
        )
        out.update(conn.execute(query, (step, *part)).fetchall())
    return out


def images(conn: sqlite3.Connection, step: str) -> list[BeforeImage]:
    """Every image of ``step`` (none in a store made before images were kept)."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'before_images'"
    ).fetchone():
        return []
    rows = conn.execute(
        "SELECT source_key, zoho_id, fields FROM before_images WHERE step = ? ORDER BY rowid",
        (step,),
    )
    return [BeforeImage(k, z, json.loads(f)) for k, z, f in rows]
