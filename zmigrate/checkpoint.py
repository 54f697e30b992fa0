"""The durable run store: everything a run needs to stop at any instant and go on exactly once.

One SQLite file, ``RUN_DIR/run.db`` (WAL, ``synchronous=FULL``), beside ``RUN_DIR/lock``.
``RUN_DIR`` is 0700, every file in it 0600. Nothing secret is ever written: text that could
carry one (errors, Zoho messages, the plan, dead rows) goes through :func:`zmigrate.scrub.scrub`
first.

Model
-----
* A **step** (one manifest step) has ``total_rows`` source rows cut into fixed **batches**:
  batch ``n`` is rows ``[n*batch_size, min((n+1)*batch_size, total_rows))`` in source order, so
  a resumed run re-derives a batch's rows from the source by index; rows are never stored.
* A batch moves ``pending → in_flight → done | failed``. ``mark_in_flight`` must be committed
  *before* the request leaves (it is: every write method commits before it returns), so after
  a crash every batch that may have landed is known.
* The **id cross-reference** ``xref`` maps ``(step, source_key) → zoho_id``; later steps'
  lookups read it (:meth:`RunStore.lookup_many`). A row whose key is in ``xref`` (or in the
  dead letters) is *settled* and is never sent again (:meth:`RunStore.settled_keys`). Two
  keys with one id are one Zoho record: a step's records ``done`` count distinct ids, the
  rest are ``merged`` (:meth:`RunStore.id_owners` finds an id's earlier key).
* **Dead letters** are rows Zoho refused on their merits (a 4xx per record).
* **Quota** spent per product (requests, credits), counted in memory by :meth:`RunStore.spend`
  and written with the next commit (a crash may lose the last few counts, never a record).

Crash recovery
--------------
``RunStore.open(run_dir)`` takes the lock (``fcntl.flock``: a second process is refused, and
the OS drops the lock when a process dies, even on SIGKILL) and :meth:`RunStore.recover` turns
every batch left ``in_flight`` into ``pending`` with ``verify=True``. A ``verify`` batch may
have landed, so the engine (``zmigrate.executor``) finds out before sending it again: rows
whose keys are settled are skipped; CRM upserts are re-sent (idempotent on the key); a CRM
bulk batch with a saved ``job_id`` is polled, never re-submitted blindly; CRM inserts and
Books/Inventory records are looked up by their unique field (COQL; ``find_by`` contact_name,
sku, invoice_number, ...) and only the missing ones are created.

Event loop
----------
:class:`RunStore` is synchronous. An async engine uses :class:`AsyncRunStore`, which runs every
call on one dedicated writer thread so a commit (an fsync) never stalls the event loop, and
keeps calls in the order they were made.

Public API (stable; changes are additive)::

    hash_file(path) -> str;  hash_bytes(data) -> str
    StepSpec(name, product, module, method, total_rows, batch_size, key_field="",
             planned_requests=0, planned_credits=0)
    Batch(step, batch_no, first_row, last_row, state, attempts, verify, job_id, file_id, error)
    DeadLetter(step, row_no, source_key, row, code, message, batch_no=None)
    RunStore.create(run_dir, *, manifest_path, manifest_hash, source_hashes, plan, steps)
        # manifest_path and the source paths (keys of source_hashes) are stored absolute
    RunStore.open(run_dir, *, readonly=False)        # readonly: no lock (for `status`)
    RunStore.exists(run_dir) -> bool;  lock_holder(run_dir) -> pid | None
    store.meta() -> dict;  store.steps() -> list[StepSpec];  store.plan() -> dict
    store.changed_inputs(manifest_hash, source_hashes) -> list[str]
    store.replan(*, manifest_hash, source_hashes, plan, steps)      # `resume --force`
    store.recover() -> list[Batch]                     # in_flight → pending + verify
    store.pending_batches(step) -> list[Batch]          # pending (and in_flight), in order
    store.batch(step, batch_no) -> Batch
    store.mark_in_flight(step, batch_no) -> Batch       # attempts += 1, committed
    store.set_bulk_job(step, batch_no, job_id, file_id=None)
    store.mark_done(step, batch_no, xref=[(key, zoho_id, line)], dead=[DeadLetter])
    store.mark_failed(step, batch_no, error, dead=[...])
    store.lookup_many(step, keys) -> dict[key, zoho_id]
    store.settled_keys(step, keys) -> set[key]
    store.id_owners(step, zoho_ids) -> dict[zoho_id, (key, line)]   # the first key of each id
    store.spend(product, requests=1, credits=0);  store.flush()
    store.pause(until, reason);  store.set_status(status);  store.record_error(text)
    store.summary() -> dict                            # what `zmigrate status` prints
    store.dead_letters(step=None) -> list[DeadLetter]
    store.close()
    AsyncRunStore(store): the same methods, awaited, on one writer thread; aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from zmigrate.errors import StoreError
from zmigrate.scrub import scrub

T = TypeVar("T")
SCHEMA_VERSION = 1
DB_NAME = "run.db"
LOCK_NAME = "lock"

PENDING, IN_FLIGHT, DONE, FAILED = "pending", "in_flight", "done", "failed"
RUN_STATES = ("running", "paused", "done", "failed", "interrupted")


_SCHEMA = """
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
CREATE INDEX IF NOT EXISTS xref_by_id ON xref (step, zoho_id);
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


def hash_bytes(data: bytes) -> str:
    """``sha256:<hex>`` of some bytes (the manifest as read)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hash_file(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file, streamed so a multi-GB source never sits in memory."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError as e:
        raise StoreError(f"cannot read {path} to check it: {e.strerror}") from None
    return "sha256:" + h.hexdigest()


@dataclass(frozen=True)
class StepSpec:
    """One step as the store sees it: where its rows go and how they are cut into batches."""

    name: str
    product: str  # crm | books | inventory
    module: str
    method: str  # e.g. rest, upsert, bulk, create (the planner's word; kept for status)
    total_rows: int
    batch_size: int
    key_field: str = ""
    planned_requests: int = 0
    planned_credits: int = 0

    @property
    def batch_count(self) -> int:
        return -(-self.total_rows // self.batch_size) if self.total_rows else 0


@dataclass(frozen=True)
class Batch:
    """A slice of a step's rows, ``[first_row, last_row)``, and where it stands."""

    step: str
    batch_no: int
    first_row: int
    last_row: int
    state: str
    attempts: int
    verify: bool
    job_id: str | None
    file_id: str | None
    error: str | None

    @property
    def rows(self) -> range:
        return range(self.first_row, self.last_row)


@dataclass(frozen=True)
class DeadLetter:
    """A row Zoho refused on its merits, kept with what Zoho said."""

    step: str
    row_no: int | None
    source_key: str | None
    row: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    message: str = ""
    batch_no: int | None = None


def _abs_keys(source_hashes: dict[str, str]) -> dict[str, str]:
    """Source paths made absolute, so a resume from another directory compares like with like."""
    return {str(Path(k).resolve()): v for k, v in source_hashes.items()}


def _secure_dir(run_dir: Path) -> None:
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(run_dir, 0o700)


def _touch_private(path: Path) -> None:
    """Create ``path`` 0600 before SQLite does: its -wal and -shm files copy this mode."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _undo_create(path: Path, made: bool, lock: _Lock | None) -> None:
    """A run that could not be created leaves nothing behind: the half-made store, the lock
    file, and the run directory itself when this process made it and it is empty."""
    for name in (DB_NAME + ".new", DB_NAME + ".new-journal", LOCK_NAME):
        with contextlib.suppress(OSError):
            (path / name).unlink()
    if lock is not None:
        lock.release()
    if made:
        with contextlib.suppress(OSError):
            path.rmdir()


class _Lock:
    """An exclusive ``flock`` on ``RUN_DIR/lock``; the OS releases it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(
                f"run directory {path.parent} is in use by another zmigrate process "
                f"(pid {holder}); wait for it to finish or stop it, then resume"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            os.close(fd)
            raise
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


def lock_holder(run_dir: str | os.PathLike[str]) -> int | None:
    """The pid of the live process holding ``run_dir``'s lock, if any (never takes the lock).

    Linux lists every held ``flock`` in /proc/locks; elsewhere the pid the holder wrote in the
    lock file is trusted while such a process exists.
    """
    path = Path(run_dir) / LOCK_NAME
    try:
        st = path.stat()
        pid = int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    try:
        with open("/proc/locks") as f:
            held = f.read().splitlines()
    except OSError:
        held = None
    if held is not None:
        where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        for line in held:
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == where:
                return int(parts[4])
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
LOW_SPACE = 1 << 20
"""Below this many free bytes, SQLite's "disk I/O error" is taken for a full disk."""


def is_disk_full(why: BaseException, where: Path) -> bool:
    """Whether ``why`` means the disk (or quota, or file-size limit) under ``where`` is full."""
    if isinstance(why, OSError):
        return why.errno in FULL_ERRNOS
    if isinstance(why, sqlite3.OperationalError):
        name = getattr(why, "sqlite_errorname", "")
        if name == "SQLITE_FULL" or "full" in str(why).lower():
            return True
        if name.startswith("SQLITE_IOERR"):
            with contextlib.suppress(OSError):
                return shutil.disk_usage(where).free < LOW_SPACE
    return False


def disk_full(where: Path, *, resumable: bool) -> StoreError:
    """One line for a full disk under run directory ``where``: what, where, what to do."""
    then = f"`zmigrate resume {where}`" if resumable else "run the same command again"
    return StoreError(
        f"the disk holding run directory {where} is full (or over a quota or file-size "
        f"limit); nothing was lost: free space, then {then}"
    )


def _damaged(db: Path, why: object) -> StoreError:
    """The error for SQLite failing on ``db``: a full disk or a lock said as such, else damage."""
    text = str(why).lower()
    if isinstance(why, BaseException) and is_disk_full(why, db.parent):
        return disk_full(db.parent, resumable=True)
    if isinstance(why, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return StoreError(
            f"run store {db} stayed locked by another process for 10 s; stop it, then resume"
        )
    return StoreError(
        f"run store {db} is damaged ({why}); it cannot be resumed as it is. Restore the run "
        "directory from a backup, or start again in a new run directory: upsert steps then "
        "match the records already in Zoho by their keys, insert steps do not"
    )


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Turn SQLite's complaints about a damaged file into a plain :class:`StoreError`."""

    @functools.wraps(method)
    def wrapper(self: RunStore, *args: Any, **kw: Any) -> T:
        try:
            return method(self, *args, **kw)
        except sqlite3.DatabaseError as e:
            raise _damaged(self.db_path, e) from None

    return wrapper


class RunStore:
    """The run's durable state; one instance per process, holding the run directory's lock."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection, lock: _Lock | None) -> None:
        self.run_dir = run_dir
        self.db_path = run_dir / DB_NAME
        self._conn = conn
        self._lock = lock
        self._spent: dict[str, list[int]] = {}
        self._spent_guard = threading.Lock()

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
            _secure_dir(path)
            lock = _Lock(path / LOCK_NAME)
        except OSError as e:
            _undo_create(path, made, None)
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
            _touch_private(tmp)
            conn = sqlite3.connect(str(tmp), isolation_level=None)
            conn.execute("PRAGMA synchronous = FULL")
            builder = cls(path, conn, lock)
            now = time.time()
            try:
                conn.executescript(_SCHEMA)
                with builder._txn():
                    builder._put_meta(
                        {
                            "schema_version": SCHEMA_VERSION,
                            "manifest_path": str(Path(manifest_path).resolve()),
                            "created": now,
                            "status": "running",
                            "paused_until": None,
                            "pause_reason": None,
                            "last_error": None,
                        }
                    )
                    builder._write_inputs(manifest_hash, source_hashes, plan, steps, set())
            finally:
                conn.close()
            os.replace(tmp, db)
            dir_fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            store = cls(path, cls._connect(db), lock)
        except BaseException as e:
            if db.exists():
                lock.release()
                raise
            _undo_create(path, made, lock)
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
        lock = None if readonly else _Lock(path / LOCK_NAME)
        try:
            conn = cls._connect(db, readonly=readonly)
            store = cls(path, conn, lock)
            version = store._meta_value("schema_version")
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"run store {db} has schema version {version}, this zmigrate reads "
                    f"{SCHEMA_VERSION}; resume it with the zmigrate version that started it"
                )
            for table in ("steps", "batches", "xref", "dead_letters", "quota"):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
            if not readonly:  # stores made before the index
                conn.execute("CREATE INDEX IF NOT EXISTS xref_by_id ON xref (step, zoho_id)")
            if not readonly:  # 55 ms on a 1,000,000-record store: worth it before resuming
                check = conn.execute("PRAGMA quick_check").fetchall()
                if check != [("ok",)]:
                    raise _damaged(db, "; ".join(r[0] for r in check[:3]))
        except sqlite3.DatabaseError as e:
            if lock:
                lock.release()
            raise _damaged(db, e) from None
        except BaseException:
            if lock:
                lock.release()
            raise
        return store

    @staticmethod
    def _connect(db: Path, readonly: bool = False) -> sqlite3.Connection:
        try:
            if readonly:
                conn = sqlite3.connect(
                    f"file:{db}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
                )
            else:
                conn = sqlite3.connect(str(db), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 10000")
            if not readonly:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise sqlite3.DatabaseError(f"cannot switch to WAL (got {mode})")
                # FULL: a commit survives power loss, not only a process crash. Commits are
                # per batch (tens a second at most) and 2,000+ fsynced commits/s were measured
                # (benchmarks/bench_resume.py), so the fsync never holds a run back.
                conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as e:
            raise _damaged(db, e) from None
        conn.isolation_level = None
        return conn

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
    def _txn(self):  # noqa: ANN202 - a context manager over the one connection
        if self._lock is None:
            raise StoreError(f"run store {self.db_path} was opened read-only")
        conn = self._conn
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
            raise _damaged(self.db_path, e) from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _put_meta(self, values: dict[str, Any]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in values.items()],
        )

    def _meta_value(self, key: str) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    @_guarded
    def meta(self) -> dict[str, Any]:
        """Every meta value (hashes, status, paused_until, last_error, ...), plan excluded."""
        rows = self._conn.execute("SELECT key, value FROM meta WHERE key != 'plan'").fetchall()
        return {k: json.loads(v) for k, v in rows}

    @_guarded
    def plan(self) -> dict[str, Any]:
        return self._meta_value("plan") or {}

    @_guarded
    def steps(self) -> list[StepSpec]:
        rows = self._conn.execute(
            "SELECT name, product, module, method, total_rows, batch_size, key_field, "
            "planned_requests, planned_credits FROM steps ORDER BY ord"
        ).fetchall()
        return [StepSpec(*r) for r in rows]

    # ---- inputs -----------------------------------------------------------------------------

    def _write_inputs(
        self,
        manifest_hash: str,
        source_hashes: dict[str, str],
        plan: dict[str, Any],
        steps: Sequence[StepSpec],
        verify: set[str],
    ) -> None:
        plan_text = json.dumps(plan, sort_keys=True, default=str)
        if scrub(plan_text) != plan_text:
            raise StoreError("the plan holds a token or secret; it is never written to the store")
        self._put_meta({"manifest_hash": manifest_hash, "source_hashes": _abs_keys(source_hashes)})
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('plan', ?)", (plan_text,))
        now = time.time()
        for ord_, s in enumerate(steps):
            if s.batch_size < 1 or s.total_rows < 0:
                raise StoreError(f"step '{s.name}': batch_size must be ≥ 1 and total_rows ≥ 0")
            self._conn.execute(
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
            self._conn.executemany(
                "INSERT INTO batches (step, batch_no, first_row, last_row, verify, updated) "
                "VALUES (?,?,?,?,?,?)",
                (
                    (s.name, n, n * size, min((n + 1) * size, s.total_rows), flag, now)
                    for n in range(s.batch_count)
                ),
            )

    def changed_inputs(self, manifest_hash: str, source_hashes: dict[str, str]) -> list[str]:
        """What differs from the inputs the run began with, one line each (empty: unchanged)."""
        meta = self.meta()
        changes = []
        if meta.get("manifest_hash") != manifest_hash:
            changes.append(f"manifest {meta.get('manifest_path')} changed")
        old: dict[str, str] = meta.get("source_hashes") or {}
        source_hashes = _abs_keys(source_hashes)
        for name in sorted(set(old) | set(source_hashes)):
            if name not in source_hashes:
                changes.append(f"source {name} is no longer used")
            elif name not in old:
                changes.append(f"source {name} is new")
            elif old[name] != source_hashes[name]:
                changes.append(f"source {name} changed")
        return changes

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
            self._write_inputs(manifest_hash, source_hashes, plan, steps, verify)
            self._put_meta({"replanned": time.time()})

    # ---- batches ----------------------------------------------------------------------------

    _BATCH_COLS = (
        "step, batch_no, first_row, last_row, state, attempts, verify, job_id, file_id, error"
    )

    @staticmethod
    def _batch(row: tuple) -> Batch:
        return Batch(*row[:6], bool(row[6]), *row[7:])

    @_guarded
    def recover(self) -> list[Batch]:
        """After a crash: every ``in_flight`` batch becomes ``pending`` + ``verify``; returned."""
        if not self._conn.execute("SELECT 1 FROM batches WHERE state = 'in_flight'").fetchone():
            return []
        with self._txn() as conn:
            rows = conn.execute(
                f"SELECT {self._BATCH_COLS} FROM batches WHERE state = 'in_flight' "
                "ORDER BY step, batch_no"
            ).fetchall()
            conn.execute(
                "UPDATE batches SET state = 'pending', verify = 1 WHERE state = 'in_flight'"
            )
        return [self._batch((*r[:4], PENDING, r[5], 1, *r[7:])) for r in rows]

    @_guarded
    def pending_batches(self, step: str) -> list[Batch]:
        """Batches of ``step`` still to do (pending, or in flight in this process), in order."""
        rows = self._conn.execute(
            f"SELECT {self._BATCH_COLS} FROM batches WHERE state IN ('pending', 'in_flight') "
            "AND step = ? ORDER BY batch_no",
            (step,),
        ).fetchall()
        return [self._batch(r) for r in rows]

    @_guarded
    def batch(self, step: str, batch_no: int) -> Batch:
        row = self._conn.execute(
            f"SELECT {self._BATCH_COLS} FROM batches WHERE step = ? AND batch_no = ?",
            (step, batch_no),
        ).fetchone()
        if row is None:
            raise StoreError(f"run store has no batch {batch_no} in step '{step}'")
        return self._batch(row)

    def _set_state(self, conn: sqlite3.Connection, step: str, batch_no: int, sql: str, *a) -> None:
        cur = conn.execute(
            f"UPDATE batches SET {sql}, updated = ? WHERE step = ? AND batch_no = ?",
            (*a, time.time(), step, batch_no),
        )
        if cur.rowcount != 1:
            raise StoreError(f"run store has no batch {batch_no} in step '{step}'")

    def mark_in_flight(self, step: str, batch_no: int) -> Batch:
        """Committed before the batch's first request leaves; counts the attempt."""
        with self._txn() as conn:
            self._set_state(conn, step, batch_no, "state = 'in_flight', attempts = attempts + 1")
        return self.batch(step, batch_no)

    def set_bulk_job(
        self, step: str, batch_no: int, job_id: str, file_id: str | None = None
    ) -> None:
        """Save a CRM bulk job id the moment Zoho acknowledges it, before polling it."""
        with self._txn() as conn:
            self._set_state(conn, step, batch_no, "job_id = ?, file_id = ?", job_id, file_id)

    def _write_rows(
        self,
        conn: sqlite3.Connection,
        step: str,
        xref: Iterable[tuple[str, str, int | None]],
        dead: Iterable[DeadLetter],
    ) -> None:
        conn.executemany(
            "INSERT INTO xref VALUES (?,?,?,?) ON CONFLICT (step, source_key) "
            "DO UPDATE SET zoho_id = excluded.zoho_id, row_no = excluded.row_no",
            ((step, str(k), str(z), r) for k, z, r in xref),
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

    def mark_done(
        self,
        step: str,
        batch_no: int,
        xref: Iterable[tuple[str, str, int | None]] = (),
        dead: Iterable[DeadLetter] = (),
    ) -> None:
        """The batch's ids ``(source_key, zoho_id, line)`` and refusals, and ``done``: one txn."""
        with self._txn() as conn:
            self._write_rows(conn, step, xref, dead)
            self._set_state(conn, step, batch_no, "state = 'done', verify = 0, error = NULL")

    def mark_failed(
        self, step: str, batch_no: int, error: str, dead: Iterable[DeadLetter] = ()
    ) -> None:
        """The batch gave up (its rows should be in ``dead``); resume does not retry it."""
        with self._txn() as conn:
            self._write_rows(conn, step, (), dead)
            self._set_state(conn, step, batch_no, "state = 'failed', error = ?", scrub(error))
            self._put_meta({"last_error": scrub(f"step '{step}' batch {batch_no}: {error}")})

    # ---- cross-reference --------------------------------------------------------------------

    @_guarded
    def lookup_many(self, step: str, keys: Iterable[str]) -> dict[str, str]:
        """Zoho ids of ``keys`` created by ``step`` (keys not there are absent)."""
        found: dict[str, str] = {}
        uniq = list(dict.fromkeys(str(k) for k in keys))
        for i in range(0, len(uniq), 500):
            chunk = uniq[i : i + 500]
            found.update(
                self._conn.execute(
                    f"SELECT source_key, zoho_id FROM xref WHERE step = ? AND source_key IN "
                    f"({','.join('?' * len(chunk))})",
                    (step, *chunk),
                ).fetchall()
            )
        return found

    @_guarded
    def id_owners(self, step: str, zoho_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]:
        """For each of ``zoho_ids`` that ``step`` already holds: its first key and source line."""
        found: dict[str, tuple[str, int | None]] = {}
        uniq = list(dict.fromkeys(str(i) for i in zoho_ids))
        for i in range(0, len(uniq), 500):
            chunk = uniq[i : i + 500]
            for zoho_id, key, line in self._conn.execute(
                f"SELECT zoho_id, source_key, row_no FROM xref WHERE step = ? AND zoho_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY row_no DESC",
                (step, *chunk),
            ):
                found[zoho_id] = (key, line)  # the lowest line wins
        return found

    @_guarded
    def settled_keys(self, step: str, keys: Iterable[str]) -> set[str]:
        """Which ``keys`` of ``step`` already landed or were dead-lettered: never send them."""
        uniq = list(dict.fromkeys(str(k) for k in keys))
        settled = set(self.lookup_many(step, uniq))
        for i in range(0, len(uniq), 500):
            chunk = uniq[i : i + 500]
            settled.update(
                r[0]
                for r in self._conn.execute(
                    f"SELECT source_key FROM dead_letters WHERE step = ? AND source_key IN "
                    f"({','.join('?' * len(chunk))})",
                    (step, *chunk),
                )
            )
        return settled

    @_guarded
    def dead_letters(self, step: str | None = None) -> list[DeadLetter]:
        sql = "SELECT step, row_no, source_key, row_json, code, message, batch_no FROM dead_letters"
        args: tuple = ()
        if step is not None:
            sql, args = sql + " WHERE step = ?", (step,)
        rows = self._conn.execute(sql + " ORDER BY id", args).fetchall()
        return [DeadLetter(s, r, k, json.loads(j), c, m, b) for s, r, k, j, c, m, b in rows]

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
        with self._txn():
            self._put_meta(
                {
                    "status": "paused",
                    "paused_until": until,
                    "pause_reason": scrub(reason),
                    "last_error": scrub(reason),
                }
            )

    def set_status(self, status: str) -> None:
        """``running`` (clears a pause), ``done``, ``failed`` or ``interrupted``."""
        if status not in RUN_STATES:
            raise ValueError(f"unknown run status {status!r}")
        values: dict[str, Any] = {"status": status}
        if status != "paused":
            values.update(paused_until=None, pause_reason=None)
        with self._txn():
            self._put_meta(values)

    def record_error(self, text: str) -> None:
        with self._txn():
            self._put_meta({"last_error": scrub(text)})

    @_guarded
    def summary(self) -> dict[str, Any]:
        """Per step done / failed / left, quota spent vs plan, status, pause, last error."""
        conn = self._conn
        counts = conn.execute(
            "SELECT step, COUNT(DISTINCT zoho_id), COUNT(*) FROM xref GROUP BY step"
        ).fetchall()
        done = {step: distinct for step, distinct, _ in counts}
        merged = {step: rows - distinct for step, distinct, rows in counts}
        failed = dict(
            conn.execute("SELECT step, COUNT(*) FROM dead_letters GROUP BY step").fetchall()
        )
        batch_counts: dict[str, dict[str, int]] = {}
        for step, state, n in conn.execute(
            "SELECT step, state, COUNT(*) FROM batches GROUP BY step, state"
        ):
            batch_counts.setdefault(step, {})[state] = n
        steps = []
        planned: dict[str, list[int]] = {}
        for s in self.steps():
            d, f, m = done.get(s.name, 0), failed.get(s.name, 0), merged.get(s.name, 0)
            bc = batch_counts.get(s.name, {})
            steps.append(
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
        meta = self.meta()
        return {
            "run_dir": str(self.run_dir),
            "manifest": meta.get("manifest_path"),
            "status": meta.get("status"),
            "active_pid": lock_holder(self.run_dir),
            "paused": meta.get("status") == "paused",
            "paused_until": meta.get("paused_until"),
            "pause_reason": meta.get("pause_reason"),
            "last_error": meta.get("last_error"),
            "created": meta.get("created"),
            "updated": meta.get("updated"),
            "steps": steps,
            "quota": quota,
        }


class AsyncRunStore:
    """:class:`RunStore` for the event loop: every call runs, in order, on one writer thread."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zmigrate-store")

    async def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kw))

    def spend(self, product: str, requests: int = 1, credits: int = 0) -> None:
        self.store.spend(product, requests, credits)

    async def recover(self) -> list[Batch]:
        return await self._call(self.store.recover)

    async def pending_batches(self, step: str) -> list[Batch]:
        return await self._call(self.store.pending_batches, step)

    async def batch(self, step: str, batch_no: int) -> Batch:
        return await self._call(self.store.batch, step, batch_no)

    async def mark_in_flight(self, step: str, batch_no: int) -> Batch:
        return await self._call(self.store.mark_in_flight, step, batch_no)

    async def set_bulk_job(
        self, step: str, batch_no: int, job_id: str, file_id: str | None = None
    ) -> None:
        await self._call(self.store.set_bulk_job, step, batch_no, job_id, file_id)

    async def mark_done(
        self,
        step: str,
        batch_no: int,
        xref: Iterable[tuple[str, str, int | None]] = (),
        dead: Iterable[DeadLetter] = (),
    ) -> None:
        await self._call(self.store.mark_done, step, batch_no, list(xref), list(dead))

    async def mark_failed(
        self, step: str, batch_no: int, error: str, dead: Iterable[DeadLetter] = ()
    ) -> None:
        await self._call(self.store.mark_failed, step, batch_no, error, list(dead))

    async def lookup_many(self, step: str, keys: Iterable[str]) -> dict[str, str]:
        return await self._call(self.store.lookup_many, step, list(keys))

    async def id_owners(
        self, step: str, zoho_ids: Iterable[str]
    ) -> dict[str, tuple[str, int | None]]:
        return await self._call(self.store.id_owners, step, list(zoho_ids))

    async def settled_keys(self, step: str, keys: Iterable[str]) -> set[str]:
        return await self._call(self.store.settled_keys, step, list(keys))

    async def flush(self) -> None:
        await self._call(self.store.flush)

    async def pause(self, until: float, reason: str) -> None:
        await self._call(self.store.pause, until, reason)

    async def set_status(self, status: str) -> None:
        await self._call(self.store.set_status, status)

    async def record_error(self, text: str) -> None:
        await self._call(self.store.record_error, text)

    async def summary(self) -> dict[str, Any]:
        return await self._call(self.store.summary)

    async def aclose(self) -> None:
        """Finish queued writes, then close the store (releasing the lock)."""
        await self._call(self.store.close)
        self._pool.shutdown(wait=True)
