"""What a run began from (manifest, sources, plan, steps), written once and compared on resume."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zmigrate.checkpoint.records import StepSpec
from zmigrate.checkpoint.schema import put_meta
from zmigrate.checkpoint.summary import RunMeta
from zmigrate.errors import StoreError
from zmigrate.scrub import scrub


def abs_keys(source_hashes: dict[str, str]) -> dict[str, str]:
    """Source paths made absolute, so a resume from another directory compares like with like
    (a query keeps its name, ``sql:<variable>#<query hash>``)."""
    return {
        k if k.startswith("sql:") else str(Path(k).resolve()): v for k, v in source_hashes.items()
    }


def write_inputs(
    conn: sqlite3.Connection,
    manifest_hash: str,
    source_hashes: dict[str, str],
    plan: dict[str, Any],
    steps: Sequence[StepSpec],
    verify: set[str],
) -> None:
    """The inputs' hashes, the plan, the steps and their batches (``verify`` for steps named)."""
    plan_text = json.dumps(plan, sort_keys=True, default=str)
    if scrub(plan_text) != plan_text:
        raise StoreError("the plan holds a token or secret; it is never written to the store")
    put_meta(conn, {"manifest_hash": manifest_hash, "source_hashes": abs_keys(source_hashes)})
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('plan', ?)", (plan_text,))
    now = time.time()
    for ord_, s in enumerate(steps):
        if s.batch_size < 1 or s.total_rows < 0:
            raise StoreError(f"step '{s.name}': batch_size must be ≥ 1 and total_rows ≥ 0")
        conn.execute(
            "INSERT INTO steps VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                s.name,
                ord_,
                s.product,
                s.module,
                s.method,
                s.total_rows,
                s.batch_size,
                s.key_field,
                s.planned_requests,
                s.planned_credits,
            ),
        )
        flag, size = (1 if s.name in verify else 0), s.batch_size
        conn.executemany(
            "INSERT INTO batches (step, batch_no, first_row, last_row, verify, updated) "
            "VALUES (?,?,?,?,?,?)",
            (
                (s.name, n, n * size, min((n + 1) * size, s.total_rows), flag, now)
                for n in range(s.batch_count)
            ),
        )


def changed_inputs(meta: RunMeta, manifest_hash: str, source_hashes: dict[str, str]) -> list[str]:
    """What differs from the inputs the run began with, one line each (empty: unchanged)."""
    changes = []
    if meta.manifest_hash != manifest_hash:
        changes.append(f"manifest {meta.manifest_path} changed")
    old = meta.source_hashes
    source_hashes = abs_keys(source_hashes)
    for name in sorted(set(old) | set(source_hashes)):
        if name not in source_hashes:
            changes.append(f"source {name} is no longer used")
        elif name not in old:
            changes.append(f"source {name} is new")
        elif old[name] != source_hashes[name]:
            changes.append(f"source {name} changed")
    return changes
