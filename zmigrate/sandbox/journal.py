"""Durable sandbox state under ``--state-dir``: what the sandbox answered is on disk first.

One SQLite file, ``sandbox.db`` (WAL journal, ``synchronous=NORMAL``, mode 0600 in a 0700
directory: it holds the sandbox's credentials), keeps rows ``(kind, key, value)``: records,
quota use, credits, tokens and grant codes, uploads, bulk jobs, the clock and credentials.

Code that changes state calls :meth:`Journal.put` / :meth:`Journal.delete`; the value is kept
by reference and encoded only when committed, so a change costs a dict assignment. The core
commits after each request and before its answer leaves (``Sandbox.commit``), so `kill -9`
loses nothing that was answered. A Bulk Write job collects its rows in its own
:class:`Batch` (see :meth:`Journal.into`) committed in one transaction when the job
completes: a job killed half-way is re-run from its start on restart, never half-applied.

Without a state dir the journal is off: ``put`` returns at once and nothing touches the disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from zmigrate.errors import UsageError

DB_FILE = "sandbox.db"
_BYTES = b"\x00"
"""Prefix of a value stored as raw bytes (JSON never starts with a NUL)."""
_DELETED = object()


class Batch:
    """Changes not yet committed: (kind, key) → value (or a deletion mark)."""

    def __init__(self) -> None:
        self.changes: dict[tuple[str, str], Any] = {}


def _encode(value: Any) -> bytes:
    if isinstance(value, bytes):
        return _BYTES + value
    return orjson.dumps(value)


def _decode(raw: bytes) -> Any:
    if raw[:1] == _BYTES:
        return raw[1:]
    return orjson.loads(raw)


class Journal:
    """The state file of one sandbox, or nothing (``state_dir`` None)."""

    def __init__(self, state_dir: str | None) -> None:
        self.current = Batch()
        self.db: sqlite3.Connection | None = None
        self.path: Path | None = None
        self._lock: int | None = None
        if state_dir is None:
            return
        directory = Path(state_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
            self.path = directory / DB_FILE
            self._lock = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:  # one sandbox per state: two would each answer from their own copy
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._lock)
                raise UsageError(
                    f"another sandbox is running on the state in {directory}; stop it first"
                ) from None
            self.path.chmod(0o600)
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit is in the WAL (the OS's buffers) before the answer leaves, so
            # `kill -9` loses nothing answered; only a power loss could. FULL's fsync per
            # request (1.6 ms, more on a busy disk) held every product's answers in a row
            # on the sandbox's loop: a Books call waited for CRM's commits.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS state (kind TEXT NOT NULL, key TEXT NOT NULL, "
                "value BLOB NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID"
            )
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(
                f"cannot keep the sandbox's state in {directory} ({exc}); "
                "give --state-dir a writable directory"
            ) from exc

    @property
    def enabled(self) -> bool:
        return self.db is not None

    @property
    def pending(self) -> bool:
        return bool(self.current.changes)

    def put(self, kind: str, key: str, value: Any) -> None:
        """Record that ``(kind, key)`` now holds ``value`` (encoded at commit)."""
        if self.db is not None:
            self.current.changes[(kind, key)] = value

    def delete(self, kind: str, key: str) -> None:
        if self.db is not None:
            self.current.changes[(kind, key)] = _DELETED

    @contextlib.contextmanager
    def into(self, batch: Batch) -> Iterator[None]:
        """Send the changes made inside the block (no ``await`` in it) to ``batch``."""
        before, self.current = self.current, batch
        try:
            yield
        finally:
            self.current = before

    def commit(self, batch: Batch | None = None) -> None:
        """Write the pending changes (or ``batch``'s) in one durable transaction."""
        target = self.current if batch is None else batch
        if self.db is None or not target.changes:
            return
        changes, target.changes = target.changes, {}
        puts = [(k, n, _encode(v)) for (k, n), v in changes.items() if v is not _DELETED]
        gone = [(k, n) for (k, n), v in changes.items() if v is _DELETED]
        with _transaction(self.db):
            if puts:
                self.db.executemany(
                    "INSERT INTO state (kind, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                    puts,
                )
            if gone:
                self.db.executemany("DELETE FROM state WHERE kind = ? AND key = ?", gone)

    def clear(self, kind_prefix: str) -> None:
        """Forget every row whose kind starts with ``kind_prefix`` (a reset), at once."""
        if self.db is None:
            return
        self.current.changes = {
            k: v for k, v in self.current.changes.items() if not k[0].startswith(kind_prefix)
        }
        with _transaction(self.db):
            self.db.execute(
                "DELETE FROM state WHERE substr(kind, 1, ?) = ?", (len(kind_prefix), kind_prefix)
            )

    def rows(self, kind: str) -> list[tuple[str, Any]]:
        """Committed ``(key, value)`` rows of one kind."""
        if self.db is None:
            return []
        cur = self.db.execute("SELECT key, value FROM state WHERE kind = ?", (kind,))
        return [(key, _decode(value)) for key, value in cur]

    def kinds(self, prefix: str) -> list[str]:
        if self.db is None:
            return []
        cur = self.db.execute(
            "SELECT DISTINCT kind FROM state WHERE substr(kind, 1, ?) = ?", (len(prefix), prefix)
        )
        return [kind for (kind,) in cur]

    def get(self, kind: str, key: str, default: Any = None) -> Any:
        if self.db is None:
            return default
        row = self.db.execute(
            "SELECT value FROM state WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return default if row is None else _decode(row[0])

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (everything committed is already durable)."""
        if self.db is not None:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        if self.db is not None:
            self.commit()
            self.checkpoint()
            self.db.close()
            self.db = None
        if self._lock is not None:
            os.close(self._lock)  # drops the flock
            self._lock = None


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
