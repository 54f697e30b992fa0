"""The run store: durability across crashes, the lock, damage, permissions and secrets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from zmigrate.checkpoint import (
    AsyncRunStore,
    BatchCounts,
    BatchState,
    DeadLetter,
    QuotaSpent,
    RunStatus,
    RunStore,
    StepSpec,
    hash_bytes,
    hash_file,
)
from zmigrate.errors import StoreError
from zmigrate.scrub import register_env

STEPS = [
    StepSpec("accounts", "crm", "Accounts", "upsert", 250, 100, "Account_Name", 3, 25),
    StepSpec("contacts", "books", "contacts", "create", 5, 2, "contact_name", 5, 0),
    StepSpec("deals", "crm", "Deals", "bulk", 0, 25_000, "Deal_Name", 0, 0),
]


def new_store(run_dir: Path, steps: list[StepSpec] = STEPS) -> RunStore:
    return RunStore.create(
        run_dir,
        manifest_path="/plans/m.toml",
        manifest_hash=hash_bytes(b"manifest"),
        source_hashes={"a.csv": "sha256:aa", "b.csv": "sha256:bb"},
        plan={"steps": [s.name for s in steps]},
        steps=steps,
    )


def run_child(code: str, run_dir: Path, **kw) -> subprocess.Popen:
    script = "import sys\nfrom zmigrate.checkpoint import *\n" + textwrap.dedent(code)
    return subprocess.Popen(
        [sys.executable, "-c", script, str(run_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_batches_are_fixed_slices_in_source_order(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        accounts = store.pending_batches("accounts")
        assert [(b.batch_no, b.first_row, b.last_row) for b in accounts] == [
            (0, 0, 100),
            (1, 100, 200),
            (2, 200, 250),
        ]
        assert list(store.pending_batches("contacts")[-1].rows) == [4]
        assert store.pending_batches("deals") == []
        assert [s.name for s in store.steps()] == ["accounts", "contacts", "deals"]
        assert store.plan() == {"steps": ["accounts", "contacts", "deals"]}


def test_create_refuses_a_directory_that_holds_a_run(tmp_path: Path) -> None:
    new_store(tmp_path / "run").close()
    with pytest.raises(StoreError, match="already holds a run; use `zmigrate resume"):
        new_store(tmp_path / "run")


def test_open_of_a_directory_without_a_run_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a zmigrate run directory"):
        RunStore.open(tmp_path)


def test_a_batch_goes_pending_in_flight_done_with_its_ids_in_one_commit(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        b = store.mark_in_flight("accounts", 0)
        assert (b.state, b.attempts) == ("in_flight", 1)
        store.mark_done(
            "accounts",
            0,
            xref=[(f"acc{i}", f"z{i}", i) for i in range(99)],
            dead=[DeadLetter("accounts", 99, "acc99", {"x": 1}, "INVALID_DATA", "bad", 0)],
        )
        assert store.batch("accounts", 0).state == "done"
        assert [b.batch_no for b in store.pending_batches("accounts")] == [1, 2]
        assert store.lookup_many("accounts", ["acc7", "nope"]) == {"acc7": "z7"}
        assert store.lookup_many("accounts", ["acc1", "acc2", "zz"]) == {"acc1": "z1", "acc2": "z2"}
        assert store.settled_keys("accounts", ["acc1", "acc99", "acc100"]) == {"acc1", "acc99"}
        [dl] = store.dead_letters("accounts")
        assert (dl.row_no, dl.code, dl.row, dl.batch_no) == (99, "INVALID_DATA", {"x": 1}, 0)


def test_unknown_batches_are_reported_not_ignored(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store, pytest.raises(StoreError, match="no batch 9"):
        store.mark_in_flight("accounts", 9)


def test_commits_survive_sigkill_and_in_flight_batches_are_recovered(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    new_store(run_dir).close()
    child = run_child(
        """
        import os, signal
        s = RunStore.open(sys.argv[1])
        s.mark_in_flight("accounts", 0)
        s.mark_done("accounts", 0, xref=[("a", "1", 0)])
        s.mark_in_flight("accounts", 1)
        s.set_bulk_job("accounts", 1, "job-7", "file-7")
        s.mark_done("contacts", 1, xref=[("Ann", "c1", 2)])
        s.spend("crm", 2, 20)
        s.mark_in_flight("contacts", 0)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        run_dir,
    )
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with RunStore.open(run_dir) as store:  # the OS released the dead process's lock
        recovered = store.recover()
        assert [(b.step, b.batch_no, b.verify, b.job_id) for b in recovered] == [
            ("accounts", 1, True, "job-7"),
            ("contacts", 0, True, None),
        ]
        assert store.batch("accounts", 0).state == "done"
        assert store.lookup_many("accounts", ["a"]) == {"a": "1"}
        assert store.lookup_many("contacts", ["Ann"]) == {"Ann": "c1"}
        again = store.batch("accounts", 1)
        assert (again.state, again.attempts, again.verify) == ("pending", 1, True)
        assert store.summary().quota["crm"].credits == 20
        assert store.recover() == []


def test_a_second_process_is_refused_while_the_first_holds_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    new_store(run_dir).close()
    child = run_child(
        """
        s = RunStore.open(sys.argv[1])
        print("ready", flush=True)
        sys.stdin.readline()
        """,
        run_dir,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(
            StoreError, match=rf"in use by another zmigrate process \(pid {child.pid}\)"
        ):
            RunStore.open(run_dir)
        with RunStore.open(run_dir, readonly=True) as ro:  # status still reads it
            assert ro.summary().status == "running"
            with pytest.raises(StoreError, match="read-only"):
                ro.set_status("done")
    finally:
        child.communicate("\n", timeout=30)
    RunStore.open(run_dir).close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda db: db.write_bytes(b"this is not a database at all" * 200),
        lambda db: db.write_bytes(db.read_bytes()[:1500]),
        lambda db: db.write_bytes(b""),
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_a_damaged_store_is_a_plain_store_error(tmp_path: Path, damage) -> None:
    run_dir = tmp_path / "run"
    new_store(run_dir).close()
    damage(run_dir / "run.db")
    with pytest.raises(StoreError) as err:
        RunStore.open(run_dir)
    assert "run.db" in str(err.value)
    assert "damaged" in str(err.value) or "schema version" in str(err.value)
    with pytest.raises(StoreError) as again:  # the failed open did not keep the lock
        RunStore.open(run_dir)
    assert "in use" not in str(again.value)


def test_run_dir_is_owner_only(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with new_store(run_dir) as store:
        store.mark_done("accounts", 0, xref=[("a", "1", 0)])
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
        files = list(run_dir.iterdir())
        assert {p.name for p in files} >= {"run.db", "run.db-wal", "lock"}
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_no_token_or_secret_reaches_the_store(tmp_path: Path, monkeypatch) -> None:
    secrets = {
        "ZOHO_CLIENT_SECRET": "s3cr3t-client-secret-value",
        "ZOHO_REFRESH_TOKEN": "1000.aaaabbbbccccdddd1111.eeeeffff00009999",
        "ZOHO_CLIENT_ID": "1000.CLIENTID12345XYZ",
    }
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    register_env(os.environ)  # as the command line does at start
    token = "1000.0123456789abcdef0123.fedcba9876543210fedc"
    run_dir = tmp_path / "run"
    with new_store(run_dir) as store:
        store.record_error(f"401 with header Authorization: Zoho-oauthtoken {token}")
        store.mark_failed(
            "accounts",
            0,
            f"refresh failed: client_secret={secrets['ZOHO_CLIENT_SECRET']}",
            dead=[DeadLetter("accounts", 1, "k", {"note": secrets["ZOHO_REFRESH_TOKEN"]})],
        )
        store.pause(1e9, f"code 45 for {secrets['ZOHO_CLIENT_ID']}")
        with pytest.raises(StoreError, match="secret"):
            store.replan(
                manifest_hash="x",
                source_hashes={},
                plan={"oops": secrets["ZOHO_CLIENT_SECRET"]},
                steps=STEPS,
            )
        assert "***" in (store.meta().last_error or "")
    blob = b"".join(p.read_bytes() for p in run_dir.iterdir())
    for value in [*secrets.values(), token]:
        assert value.encode() not in blob


def test_changed_inputs_name_what_changed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "a.csv"
    src.write_text("k\n1\n")
    h = hash_file(src)
    assert h.startswith("sha256:") and h == hash_bytes(b"k\n1\n")
    with new_store(tmp_path / "run") as store:
        same = {"a.csv": "sha256:aa", "b.csv": "sha256:bb"}
        assert store.changed_inputs(hash_bytes(b"manifest"), same) == []
        assert store.changed_inputs(
            hash_bytes(b"other"), {"a.csv": "sha256:zz", "c.csv": "sha256:cc"}
        ) == [
            "manifest /plans/m.toml changed",
            f"source {tmp_path}/a.csv changed",
            f"source {tmp_path}/b.csv is no longer used",
            f"source {tmp_path}/c.csv is new",
        ]
    with pytest.raises(StoreError, match="cannot read"):
        hash_file(tmp_path / "missing.csv")


def test_inputs_compare_alike_from_another_directory(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "plans").mkdir()
    monkeypatch.chdir(tmp_path)
    store = new_store(Path("run"))
    store.close()
    monkeypatch.chdir(tmp_path / "plans")
    with RunStore.open(tmp_path / "run") as store:
        assert store.meta().manifest_path == "/plans/m.toml"
        same = {str(tmp_path / "a.csv"): "sha256:aa", "../b.csv": "sha256:bb"}
        assert store.changed_inputs(hash_bytes(b"manifest"), same) == []


def test_replan_keeps_ids_and_verifies_steps_that_had_rows_in_flight(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        store.mark_done("accounts", 0, xref=[("a", "1", 0)])
        store.mark_in_flight("contacts", 0)
        store.mark_done("contacts", 1, dead=[DeadLetter("contacts", 2, "Bob", {}, "15", "bad")])
        steps = [
            StepSpec("accounts", "crm", "Accounts", "upsert", 300, 100, "Account_Name"),
            StepSpec("contacts", "books", "contacts", "create", 7, 2, "contact_name"),
        ]
        store.replan(manifest_hash="m2", source_hashes={"a.csv": "x"}, plan={}, steps=steps)
        assert store.changed_inputs("m2", {"a.csv": "x"}) == []
        assert [s.name for s in store.steps()] == ["accounts", "contacts"]
        assert store.lookup_many("accounts", ["a"]) == {"a": "1"}
        assert store.dead_letters() == []
        assert len(store.pending_batches("accounts")) == 3
        assert not any(b.verify for b in store.pending_batches("accounts"))
        contacts = store.pending_batches("contacts")
        assert len(contacts) == 4 and all(b.verify for b in contacts)


def test_mark_done_clears_verify_and_failed_is_not_retried(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        store.mark_in_flight("accounts", 0)
        store.recover()
        store.mark_in_flight("accounts", 0)
        store.mark_done("accounts", 0)
        b = store.batch("accounts", 0)
        assert (b.state, b.verify, b.attempts) == ("done", False, 2)
        store.mark_failed("accounts", 1, "bulk job FAILED")
        assert [b.batch_no for b in store.pending_batches("accounts")] == [2]
        assert store.meta().last_error == "step 'accounts' batch 1: bulk job FAILED"


def test_summary_counts_rows_quota_and_pause(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        store.mark_done("accounts", 0, xref=[(f"a{i}", str(i), i) for i in range(100)])
        store.mark_in_flight("accounts", 1)
        store.mark_done("contacts", 0, dead=[DeadLetter("contacts", 0, "Ann", {}, "15", "no")])
        store.spend("crm", 3, 30)
        store.spend("books", 2)
        store.pause(2_000_000_000.0, "Books daily cap (code 45)")
        s = store.summary()
    assert s.status == "paused" and s.paused and s.paused_until == 2_000_000_000.0
    assert s.last_error == "Books daily cap (code 45)"
    acc, con, deals = s.steps
    assert (acc.done, acc.failed, acc.left, acc.total) == (100, 0, 150, 250)
    assert acc.batches == BatchCounts(pending=1, in_flight=1, done=1, failed=0)
    assert (con.done, con.failed, con.left) == (0, 1, 4)
    assert deals.left == 0
    assert s.quota["crm"].to_dict() == {
        "requests": 3,
        "credits": 30,
        "planned_requests": 3,
        "planned_credits": 25,
    }
    assert s.quota["books"].requests == 2


def test_set_status_running_clears_the_pause(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        store.pause(123.0, "credits")
        store.set_status("running")
        meta = store.meta()
        assert (meta.status, meta.paused_until) == ("running", None)
        with pytest.raises(ValueError):
            store.set_status("sleeping")


async def test_async_store_runs_off_the_loop_thread_in_call_order(tmp_path: Path) -> None:
    store = AsyncRunStore(new_store(tmp_path / "run"))
    threads: list[int] = []
    real = store.store.mark_done

    def spy(*a, **kw):
        threads.append(threading.get_ident())
        return real(*a, **kw)

    store.store.mark_done = spy  # type: ignore[method-assign]
    await store.mark_in_flight("accounts", 0)
    await store.set_bulk_job("accounts", 0, "j1")
    await asyncio.gather(
        store.mark_done("accounts", 0, xref=[("a", "1", 0)]),
        store.mark_done("contacts", 0, xref=[("Ann", "c", 0)]),
        store.mark_done("accounts", 1, xref=[("b", "2", 100)]),
    )
    assert threads and threading.get_ident() not in threads
    assert await store.lookup_many("accounts", ["a", "b"]) == {"a": "1", "b": "2"}
    assert await store.settled_keys("contacts", ["Ann", "Bob"]) == {"Ann"}
    store.spend("crm", 1, 1)
    await store.pause(5.0, "cap")
    assert (await store.summary()).quota["crm"].credits == 1
    await store.aclose()
    RunStore.open(tmp_path / "run").close()  # lock released


def test_store_opens_after_reopen_with_everything_intact(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with new_store(run_dir) as store:
        store.mark_done("accounts", 2, xref=[("z", "9", 249)])
        store.spend("books", 7)
    assert os.path.exists(run_dir / "run.db")
    with RunStore.open(run_dir) as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: fsync every commit
        assert store.lookup_many("accounts", ["z"]) == {"z": "9"}
        assert store.summary().quota["books"].requests == 7
        assert store.meta().manifest_hash == hash_bytes(b"manifest")


def test_damage_deep_inside_the_file_is_caught_on_open(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with new_store(run_dir) as store:
        store.mark_done("accounts", 0, xref=[(f"key-{i:05}", f"id-{i}", i) for i in range(5000)])
    db = run_dir / "run.db"
    data = bytearray(db.read_bytes())
    assert len(data) > 40 * 4096
    for page in range(10, 40, 3):  # scribble over some b-tree pages, keep the header
        data[page * 4096 : page * 4096 + 4096] = bytes([0x5A]) * 4096
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged"):
        RunStore.open(run_dir)


def test_a_create_killed_half_way_leaves_no_run_and_can_start_again(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.db.new").write_bytes(b"half a store")  # what a kill during create leaves
    with pytest.raises(StoreError, match="not a zmigrate run directory"):
        RunStore.open(run_dir)
    with new_store(run_dir) as store:
        assert len(store.pending_batches("accounts")) == 3
    assert not (run_dir / "run.db.new").exists()


def test_a_full_disk_is_not_called_damage(tmp_path: Path) -> None:
    with new_store(tmp_path / "run") as store:
        store._conn.execute("PRAGMA max_page_count = 1")  # the file may not grow: "disk full"
        with pytest.raises(StoreError, match="is full .*free space, then `zmigrate resume"):
            store.mark_done("accounts", 0, xref=[(f"k{i}", "z" * 200, i) for i in range(999)])
        store._conn.execute("PRAGMA max_page_count = 1073741823")
        store.mark_done("accounts", 0, xref=[("k", "z", 0)])  # nothing half-written
        assert store.lookup_many("accounts", ["k", "k1"]) == {"k": "z"}


OLDEST_V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE steps (
    name TEXT PRIMARY KEY, ord INTEGER NOT NULL, product TEXT NOT NULL, module TEXT NOT NULL,
    method TEXT NOT NULL, total_rows INTEGER NOT NULL, batch_size INTEGER NOT NULL,
    key_field TEXT NOT NULL, planned_requests INTEGER NOT NULL, planned_credits INTEGER NOT NULL
);
CREATE TABLE batches (
    step TEXT NOT NULL, batch_no INTEGER NOT NULL, first_row INTEGER NOT NULL,
    last_row INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0, verify INTEGER NOT NULL DEFAULT 0,
    job_id TEXT, file_id TEXT, error TEXT, updated REAL,
    PRIMARY KEY (step, batch_no)
) WITHOUT ROWID;
CREATE INDEX batches_by_state ON batches (state, step, batch_no);
CREATE TABLE xref (
    step TEXT NOT NULL, source_key TEXT NOT NULL, zoho_id TEXT NOT NULL, row_no INTEGER,
    PRIMARY KEY (step, source_key)
) WITHOUT ROWID;
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY, step TEXT NOT NULL, batch_no INTEGER, row_no INTEGER,
    source_key TEXT, row_json TEXT NOT NULL, code TEXT, message TEXT NOT NULL, created REAL NOT NULL
);
CREATE INDEX dead_by_key ON dead_letters (step, source_key);
CREATE TABLE quota (
    product TEXT PRIMARY KEY, requests INTEGER NOT NULL DEFAULT 0,
    credits INTEGER NOT NULL DEFAULT 0
);
"""
"""Schema version 1 as the first releases wrote it (before the ``xref_by_id`` index)."""


def old_store(run_dir: Path) -> None:
    """A run.db as an earlier zmigrate left it when killed: paused, one bulk batch in flight."""
    run_dir.mkdir(mode=0o700)
    conn = sqlite3.connect(run_dir / "run.db")
    conn.executescript(OLDEST_V1_SCHEMA)
    meta = {
        "schema_version": 1,
        "manifest_path": "/plans/m.toml",
        "created": 1_767_571_200.0,
        "status": "paused",
        "paused_until": 1_767_657_600.0,
        "pause_reason": "CRM credits (code 4820)",
        "last_error": "CRM credits (code 4820)",
        "manifest_hash": "sha256:m",
        "source_hashes": {"/data/a.csv": "sha256:aa"},
        "updated": 1_767_571_300.0,
    }
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()]
    )
    conn.execute("INSERT INTO meta VALUES ('plan', '{\"steps\": [\"accounts\"]}')")
    conn.execute(
        "INSERT INTO steps VALUES ('accounts', 0, 'crm', 'Accounts', 'bulk', 250, 100, "
        "'Account_Name', 3, 25)"
    )
    conn.executemany(
        "INSERT INTO batches (step, batch_no, first_row, last_row, state, attempts, job_id, "
        "file_id) VALUES ('accounts', ?, ?, ?, ?, ?, ?, ?)",
        [
            (0, 0, 100, "done", 1, "job-6", "file-6"),
            (1, 100, 200, "in_flight", 1, "job-7", "file-7"),
            (2, 200, 250, "pending", 0, None, None),
        ],
    )
    xref = [("accounts", f"a{i}", f"z{i}", i) for i in range(99)]
    conn.executemany("INSERT INTO xref VALUES (?,?,?,?)", [*xref, ("accounts", "a99", "z0", 99)])
    conn.execute("INSERT INTO quota VALUES ('crm', 3, 30)")
    conn.commit()
    conn.close()


def test_a_store_an_earlier_version_wrote_opens_reads_typed_and_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    old_store(run_dir)
    with RunStore.open(run_dir) as store:
        [again] = store.recover()
        assert (again.batch_no, again.state, again.verify, again.job_id) == (
            1,
            BatchState.PENDING,
            True,
            "job-7",
        )
        s = store.summary()
        assert s.status is RunStatus.PAUSED and s.paused and s.paused_until == 1_767_657_600.0
        assert (s.manifest, s.created, s.last_error) == (
            "/plans/m.toml",
            1_767_571_200.0,
            "CRM credits (code 4820)",
        )
        [acc] = s.steps
        assert (acc.done, acc.merged, acc.failed, acc.left, acc.settled) == (99, 1, 0, 150, 100)
        assert acc.batches == BatchCounts(pending=2, done=1)
        assert s.quota_of("crm") == QuotaSpent(3, 30, 3, 25)
        assert s.quota_of("books") == QuotaSpent()
        assert store.changed_inputs("sha256:m", {"/data/a.csv": "sha256:aa"}) == []
        assert store.id_owners("accounts", ["z0"]) == {"z0": ("a0", 0)}  # the index it lacked
        store.set_status(RunStatus.RUNNING)
        store.mark_in_flight("accounts", 1)
        store.mark_done("accounts", 1, xref=[(f"a{i}", f"z{i}", i) for i in range(100, 200)])
        store.mark_failed("accounts", 2, "bulk job FAILED")
        store.set_status(RunStatus.DONE)
    raw = sqlite3.connect(run_dir / "run.db")  # what it wrote reads as the earlier code wrote it
    try:
        assert raw.execute("SELECT value FROM meta WHERE key = 'status'").fetchone() == ('"done"',)
        assert raw.execute("SELECT batch_no, state FROM batches ORDER BY batch_no").fetchall() == [
            (0, "done"),
            (1, "done"),
            (2, "failed"),
        ]
    finally:
        raw.close()
    with RunStore.open(run_dir, readonly=True) as store:
        assert store.summary().to_dict()["steps"][0]["batches"] == {
            "pending": 0,
            "in_flight": 0,
            "done": 2,
            "failed": 1,
        }
