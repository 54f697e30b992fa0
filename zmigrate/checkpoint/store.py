"""The synchronous run store: one SQLite connection, the run directory's lock, every write
committed before it returns (see the package docstring for the model)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from zmigrate.checkpoint import batches, before, queries
from zmigrate.checkpoint.before import BeforeImage
from zmigrate.checkpoint.damage import damaged, disk_full, guarded, is_disk_full
from zmigrate.checkpoint.inputs import changed_inputs, write_inputs
from zmigrate.checkpoint.locking import RunLock, secure_dir, touch_private, undo_create
from zmigrate.checkpoint.records import (
    Batch,
    DeadLetter,
    LandedRecord,
    RunStatus,
    StepSpec,
    XrefRow,
)
from zmigrate.checkpoint.schema import (
    DB_NAME,
    LOCK_NAME,
    SCHEMA,
    SCHEMA_VERSION,
    check,
    connect,
    meta_value,
    put_meta,
)
from zmigrate.checkpoint.summary import RunMeta, RunSummary
from zmigrate.errors import StoreError
from zmigrate.scrub import scrub

Done = tuple[bool, Any]
"""What one call of :meth:`RunStore.run_together` came to: (True, result) or (False, error)."""


def _in_savepoint(conn: sqlite3.Connection, call: Callable[[], Any]) -> Done:
    conn.execute("SAVEPOINT one_call")
    try:
        result = call()
    except Exception as e:
        conn.execute("ROLLBACK TO one_call")
        conn.execute("RELEASE one_call")
        return False, e
    conn.execute("RELEASE one_call")
    return True, result


class RunStore:
    """The run's durable state; one instance per process, holding the run directory's lock."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection, lock: RunLock | None) -> None:
        self.run_dir = run_dir
        self.db_path = run_dir / DB_NAME
        self._conn = conn
        self._lock = lock
        self._spent: dict[str, list[int]] = {}
        self._spent_guard = threading.Lock()
        self._grouped = False
        """Inside :meth:`run_together`: a write's transaction is its caller's savepoint."""

    # ---- opening -------------------------------------------------------------------------

    @staticmethod
    def exists(run_dir: str | os.PathLike[str]) -> bool:
        return (Path(run_dir) / DB_NAME).exists()

    @classmethod
    def create(
        cls,
        run_dir: str | os.PathLike[str],
        *,
        manifest_path: str,
        manifest_hash: str,
        source_hashes: dict[str, str],
        plan: dict[str, Any],
        steps: Sequence[StepSpec],
    ) -> RunStore:
        """Start a new run in ``run_dir`` (made 0700); refuses a directory that holds a run.

        The store is built as ``run.db.new`` and renamed into place: a process killed while
        creating it leaves no half-made run behind, and `zmigrate run` can simply start again.
        """
        path = Path(run_dir)
        made = not path.exists()
        try:
            secure_dir(path)
            lock = RunLock(path / LOCK_NAME)
        except OSError as e:
            undo_create(path, made, None)
            if is_disk_full(e, path):
                raise disk_full(path, resumable=False) from None
            raise StoreError(f"cannot create run directory {path}: {e.strerror}") from None
        db = path / DB_NAME
        if db.exists():
            lock.release()
            raise StoreError(
                f"{path} already holds a run; use `zmigrate resume {path}` or a new --run-dir"
            )
        tmp = path / (DB_NAME + ".new")
        try:
            for leftover in (tmp, Path(str(tmp) + "-journal")):
                leftover.unlink(missing_ok=True)
            touch_private(tmp)
            conn = sqlite3.connect(str(tmp), isolation_level=None)
            conn.execute("PRAGMA synchronous = FULL")
            builder = cls(path, conn, lock)
            now = time.time()
            try:
                conn.executescript(SCHEMA)
                with builder._txn():
                    put_meta(
                        conn,
                        {
                            "schema_version": SCHEMA_VERSION,
                            "manifest_path": str(Path(manifest_path).resolve()),
                            "created": now,
                            "status": RunStatus.RUNNING.value,
                            "paused_until": None,
                            "pause_reason": None,
                            "last_error": None,
                        },
                    )
                    write_inputs(conn, manifest_hash, source_hashes, plan, steps, set())
            finally:
                conn.close()
            os.replace(tmp, db)
            dir_fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            store = cls(path, connect(db), lock)
        except BaseException as e:
            if db.exists():
                lock.release()
                raise
            undo_create(path, made, lock)
            if isinstance(e, (OSError, sqlite3.DatabaseError)) and is_disk_full(e, path):
                raise disk_full(path, resumable=False) from None
            raise
        return store

    @classmethod
    def open(cls, run_dir: str | os.PathLike[str], *, readonly: bool = False) -> RunStore:
        """Open an existing run. ``readonly`` skips the lock (for `status` while a run goes on)."""
        path = Path(run_dir)
        db = path / DB_NAME
        if not db.is_file():
            raise StoreError(
                f"{path} is not a zmigrate run directory (no {DB_NAME}); "
                "start one with `zmigrate run MANIFEST --run-dir DIR`"
            )
        lock = None if readonly else RunLock(path / LOCK_NAME)
        try:
            conn = connect(db, readonly=readonly)
            store = cls(path, conn, lock)
            check(conn, db, meta_value(conn, "schema_version"), readonly=readonly)
        except sqlite3.DatabaseError as e:
            if lock:
                lock.release()
            raise damaged(db, e) from None
        except BaseException:
            if lock:
                lock.release()
            raise
        return store

    def close(self) -> None:
        """Write buffered quota counts, checkpoint the WAL and release the lock."""
        if self._conn is None:
            return
        try:
            if self._lock is not None:
                self.flush()
                with contextlib.suppress(sqlite3.DatabaseError):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
        finally:
            self._conn = None  # type: ignore[assignment]
            if self._lock is not None:
                self._lock.release()
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.db_path) + suffix)
                with contextlib.suppress(OSError):
                    if p.exists() and stat.S_IMODE(p.stat().st_mode) & 0o077:
                        os.chmod(p, 0o600)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transactions and meta -------------------------------------------------------------

    @contextlib.contextmanager
    def _txn(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT``, with the quota counts buffered so far."""
        if self._lock is None:
            raise StoreError(f"run store {self.db_path} was opened read-only")
        conn = self._conn
        if self._grouped:
            try:
                yield conn
            except sqlite3.DatabaseError as e:
                raise damaged(self.db_path, e) from None
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            self._write_spent(conn)
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('updated', ?)", (json.dumps(time.time()),)
            )
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise damaged(self.db_path, e) from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def run_together(self, calls: Sequence[Callable[[], Any]]) -> list[Done]:
        """Run ``calls`` (this store's methods) in one transaction: one commit, one fsync,
        for many small writes. Each runs in a savepoint, so one that raises is undone alone;
        what each returned or raised, once all are committed."""
        with self._txn() as conn:
            self._grouped = True
            try:
                return [_in_savepoint(conn, call) for call in calls]
            finally:
                self._grouped = False

    @guarded
    def meta(self) -> RunMeta:
        """Every meta value (hashes, status, paused_until, last_error, ...), plan excluded."""
        rows = self._conn.execute("SELECT key, value FROM meta WHERE key != 'plan'").fetchall()
        try:
            return RunMeta.from_values({k: json.loads(v) for k, v in rows})
        except (KeyError, ValueError, TypeError) as e:
            raise damaged(self.db_path, f"meta value {e}") from None

    @guarded
    def plan(self) -> dict[str, Any]:
        found: dict[str, Any] = meta_value(self._conn, "plan") or {}
        return found

    @guarded
    def steps(self) -> list[StepSpec]:
        rows = self._conn.execute(
            "SELECT name, product, module, method, total_rows, batch_size, key_field, "
            "planned_requests, planned_credits FROM steps ORDER BY ord"
        ).fetchall()
        return [StepSpec(*r) for r in rows]

    # ---- inputs -----------------------------------------------------------------------------

    def changed_inputs(self, manifest_hash: str, source_hashes: dict[str, str]) -> list[str]:
        """What differs from the inputs the run began with, one line each (empty: unchanged)."""
        return changed_inputs(self.meta(), manifest_hash, source_hashes)

    def replan(
        self,
        *,
        manifest_hash: str,
        source_hashes: dict[str, str],
        plan: dict[str, Any],
        steps: Sequence[StepSpec],
    ) -> None:
        """Re-cut every batch against new inputs (``resume --force``), keeping what landed.

        The id cross-reference stays (those records exist in Zoho, and settled keys are never
        sent again); dead letters are dropped so the changed input gets another chance. A step
        that had a batch in flight gets ``verify`` on every new batch, because its unknown rows
        can no longer be told apart by index.
        """
        with self._txn() as conn:
            verify = {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT step FROM batches WHERE state = 'in_flight' OR verify = 1"
                )
            }
            conn.execute("DELETE FROM batches")
            conn.execute("DELETE FROM steps")
            conn.execute("DELETE FROM dead_letters")
            write_inputs(conn, manifest_hash, source_hashes, plan, steps, verify)
            put_meta(conn, {"replanned": time.time()})

    # ---- batches ----------------------------------------------------------------------------

    @guarded
    def recover(self) -> list[Batch]:
        """After a crash: every ``in_flight`` batch becomes ``pending`` + ``verify``; returned."""
        if not self._conn.execute("SELECT 1 FROM batches WHERE state = 'in_flight'").fetchone():
            return []
        with self._txn() as conn:
            return batches.in_flight_to_verify(conn)

    @guarded
    def pending_batches(self, step: str) -> list[Batch]:
        """Batches of ``step`` still to do (pending, or in flight in this process), in order."""
        return batches.pending(self._conn, step)

    @guarded
    def batch(self, step: str, batch_no: int) -> Batch:
        return batches.one(self._conn, step, batch_no)

    def mark_in_flight(self, step: str, batch_no: int) -> Batch:
        """Committed before the batch's first request leaves; counts the attempt."""
        with self._txn() as conn:
            batches.set_state(conn, step, batch_no, "state = 'in_flight', attempts = attempts + 1")
        return self.batch(step, batch_no)

    def set_bulk_job(
        self, step: str, batch_no: int, job_id: str, file_id: str | None = None
    ) -> None:
        """Save a CRM bulk job id the moment Zoho acknowledges it, before polling it."""
        with self._txn() as conn:
            batches.set_state(conn, step, batch_no, "job_id = ?, file_id = ?", job_id, file_id)

    def mark_done(
        self,
        step: str,
        batch_no: int,
        xref: Iterable[XrefRow] = (),
        dead: Iterable[DeadLetter] = (),
    ) -> None:
        """The batch's ids ``(source_key, zoho_id, line[, action])`` and refusals, and
        ``done``: one txn."""
        with self._txn() as conn:
            batches.write_rows(conn, step, xref, dead)
            batches.set_state(conn, step, batch_no, "state = 'done', verify = 0, error = NULL")

    def write_rows(
        self, step: str, xref: Iterable[XrefRow] = (), dead: Iterable[DeadLetter] = ()
    ) -> None:
        """Part of a batch's ids and refusals, committed ahead of its ``mark_done`` (the
        batch stays in flight: after a crash these rows are settled, the rest verified)."""
        with self._txn() as conn:
            batches.write_rows(conn, step, xref, dead)

    def mark_failed(
        self, step: str, batch_no: int, error: str, dead: Iterable[DeadLetter] = ()
    ) -> None:
        """The batch gave up (its rows should be in ``dead``); resume does not retry it."""
        with self._txn() as conn:
            batches.write_rows(conn, step, (), dead)
            batches.set_state(conn, step, batch_no, "state = 'failed', error = ?", scrub(error))
            put_meta(conn, {"last_error": scrub(f"step '{step}' batch {batch_no}: {error}")})

    # ---- before-images (keep_before_images) -------------------------------------------------

    def keep_before(self, step: str, images: Iterable[BeforeImage]) -> None:
        """Records' values before the run writes them, committed before the write leaves."""
        with self._txn() as conn:
            before.keep(conn, step, images)

    @guarded
    def imaged(self, step: str, keys: Iterable[str]) -> dict[str, str | None]:
        return before.imaged(self._conn, step, keys)

    @guarded
    def before_images(self, step: str) -> list[BeforeImage]:
        return before.images(self._conn, step)

    # ---- cross-reference and dead letters ---------------------------------------------------

    @guarded
    def lookup_many(self, step: str, keys: Iterable[str]) -> dict[str, str]:
        """Zoho ids of ``keys`` created by ``step`` (keys not there are absent)."""
        return queries.lookup_many(self._conn, step, keys)

    @guarded
    def id_owners(self, step: str, zoho_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]:
        """For each of ``zoho_ids`` that ``step`` already holds: its first key and source line."""
        return queries.id_owners(self._conn, step, zoho_ids)

    @guarded
    def settled_keys(self, step: str, keys: Iterable[str]) -> set[str]:
        """Which ``keys`` of ``step`` already landed or were dead-lettered: never send them."""
        return queries.settled_keys(self._conn, step, keys)

    @guarded
    def landed(self, step: str) -> list[LandedRecord]:
        """Every record ``step`` landed, in source order, with what its write did."""
        return queries.landed(self._conn, step)

    @guarded
    def dead_letters(self, step: str | None = None) -> list[DeadLetter]:
        return queries.dead_letters(self._conn, step)

    def iter_dead_letters(self, step: str | None = None) -> Iterator[DeadLetter]:
        """The refused rows one chunk at a time (``queries.DEAD_LETTER_CHUNK``), in order:
        memory stays flat however many there are."""
        after = 0
        while chunk := self._dead_letter_chunk(after, step):
            for _, letter in chunk:
                yield letter
            after = chunk[-1][0]

    @guarded
    def _dead_letter_chunk(self, after: int, step: str | None) -> list[tuple[int, DeadLetter]]:
        return queries.dead_letter_chunk(self._conn, after, step)

    # ---- quota, pause, status ---------------------------------------------------------------

    def spend(self, product: str, requests: int = 1, credits: int = 0) -> None:
        """Count quota spent; written with the next commit (thread-safe, no I/O)."""
        with self._spent_guard:
            acc = self._spent.setdefault(product, [0, 0])
            acc[0] += requests
            acc[1] += credits

    def _write_spent(self, conn: sqlite3.Connection) -> None:
        with self._spent_guard:
            spent, self._spent = self._spent, {}
        conn.executemany(
            "INSERT INTO quota VALUES (?, ?, ?) ON CONFLICT (product) DO UPDATE SET "
            "requests = requests + excluded.requests, credits = credits + excluded.credits",
            [(p, r, c) for p, (r, c) in spent.items()],
        )

    def flush(self) -> None:
        """Commit buffered quota counts now (no commit when there are none)."""
        with self._spent_guard:
            if not self._spent:
                return
        with self._txn():
            pass

    def pause(self, until: float, reason: str) -> None:
        """Checkpoint a pause on a quota that resets at ``until`` (Zoho epoch seconds)."""
        with self._txn() as conn:
            put_meta(
                conn,
                {
                    "status": RunStatus.PAUSED.value,
                    "paused_until": until,
                    "pause_reason": scrub(reason),
                    "last_error": scrub(reason),
                },
            )

    def set_status(self, status: RunStatus) -> None:
        """``running`` (clears a pause), ``done``, ``failed`` or ``interrupted``.

        Raises ``ValueError`` for a value that is not a :class:`RunStatus`.
        """
        status = RunStatus(status)
        values: dict[str, Any] = {"status": status.value}
        if status is not RunStatus.PAUSED:
            values.update(paused_until=None, pause_reason=None)
        with self._txn() as conn:
            put_meta(conn, values)

    def record_error(self, text: str) -> None:
        with self._txn() as conn:
            put_meta(conn, {"last_error": scrub(text)})

    @guarded
    def summary(self) -> RunSummary:
        """Per step done / failed / left, quota spent vs plan, status, pause, last error."""
        return queries.summary(self._conn, self.run_dir, self.steps(), self.meta())
