"""The run directory: owner-only modes, its exclusive lock, and who holds that lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from zmigrate.checkpoint.schema import DB_NAME, LOCK_NAME
from zmigrate.errors import StoreError


def secure_dir(run_dir: Path) -> None:
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(run_dir, 0o700)


def touch_private(path: Path) -> None:
    """Create ``path`` 0600 before SQLite does: its -wal and -shm files copy this mode."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def undo_create(path: Path, made: bool, lock: RunLock | None) -> None:
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


class RunLock:
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
