"""SQLite's failures said plainly: a full disk, a lock held too long, or a damaged file."""

from __future__ import annotations

import contextlib
import errno
import functools
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from zmigrate.errors import StoreError

T = TypeVar("T")
P = ParamSpec("P")


class _HasDb(Protocol):
    db_path: Path


S = TypeVar("S", bound=_HasDb)


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


def damaged(db: Path, why: object) -> StoreError:
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


def guarded(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """Turn SQLite's complaints about a damaged file into a plain :class:`StoreError`."""

    def wrapper(self: S, /, *args: P.args, **kw: P.kwargs) -> T:
        try:
            return method(self, *args, **kw)
        except sqlite3.DatabaseError as e:
            raise damaged(self.db_path, e) from None

    functools.update_wrapper(wrapper, method)
    return wrapper
