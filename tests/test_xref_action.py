"""The id cross-reference keeps what each write did, so rollback can tell created records
from ones the run found or updated; a store from before that reads as unknown (not created)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from zmigrate.checkpoint import RunStore, StepSpec, WriteAction, hash_bytes

STEPS = [StepSpec("accounts", "crm", "Accounts", "upsert", 4, 10, "Account_Name")]


def new_store(run_dir: Path) -> RunStore:
    return RunStore.create(
        run_dir,
        manifest_path="/plans/m.toml",
        manifest_hash=hash_bytes(b"m"),
        source_hashes={},
        plan={},
        steps=STEPS,
    )


def test_landed_records_keep_their_write_action(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        store.mark_done(
            "accounts",
            0,
            xref=[
                ("a", "1", 2, "insert"),
                ("b", "2", 3, "update"),
                ("c", "3", 4, "found"),
                ("d", "4", 5, "adopted"),
            ],
        )
        got = {r.key: (r.zoho_id, r.line, r.action, r.created) for r in store.landed("accounts")}
    assert got == {
        "a": ("1", 2, WriteAction.INSERT, True),
        "b": ("2", 3, WriteAction.UPDATE, False),
        "c": ("3", 4, WriteAction.FOUND, False),
        "d": ("4", 5, WriteAction.ADOPTED, True),
    }


def test_a_key_once_created_stays_created(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        store.mark_done("accounts", 0, xref=[("a", "1", 2, "insert")])
        store.mark_done("accounts", 0, xref=[("a", "1", 2, "update")])
        (record,) = store.landed("accounts")
    assert record.action is WriteAction.INSERT


def test_a_store_from_before_actions_reads_as_unknown_never_created(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with new_store(run_dir) as store:
        store.mark_done("accounts", 0, xref=[("a", "1", 2, "insert")])
    conn = sqlite3.connect(run_dir / "run.db")
    conn.execute("ALTER TABLE xref DROP COLUMN action")  # as an older zmigrate made it
    conn.commit()
    conn.close()
    with RunStore.open(run_dir) as store:
        (old,) = store.landed("accounts")
        store.mark_done("accounts", 0, xref=[("b", "2", 3, "insert")])
        new = store.landed("accounts")[1]
    assert (old.key, old.action, old.created) == ("a", None, False)
    assert (new.key, new.action, new.created) == ("b", WriteAction.INSERT, True)
