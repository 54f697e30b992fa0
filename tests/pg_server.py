"""A throwaway PostgreSQL server for the SQL-source tests and the planning benchmark.

``initdb`` in a fresh temp dir, ``pg_ctl start`` on a free loopback port, password login
(scram-sha-256) so the URL carries a password as a real one would; stopped and deleted after.
PostgreSQL refuses to run as root, so as root its commands run as the ``postgres`` user (or
``nobody``), which then owns the temp dir.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

USER = "zmigrate"


def binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: $PG_BIN, /usr/local/bin, Debian's, PATH."""
    found = shutil.which("initdb")
    candidates = [
        os.environ.get("PG_BIN", ""),
        "/usr/local/bin",
        *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True),
        str(Path(found).parent) if found else "",
    ]
    for folder in filter(None, candidates):
        if all((Path(folder) / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


def _owner() -> pwd.struct_passwd | None:
    """The user to run as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def postgres_server(password: str) -> Iterator[str]:
    """Start a server; yield its SQLAlchemy URL (database ``postgres``, user ``zmigrate``)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found")
    owner = _owner()
    folder = Path(tempfile.mkdtemp(prefix="zmigrate-pg-"))
    wrap: list[str] = []
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        wrap = ["runuser", "-u", owner.pw_name, "--"]
    data, pwfile, port = folder / "data", folder / "pw", _free_port()
    pwfile.write_text(password + "\n")
    if owner is not None:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)

    def run(*cmd: str) -> None:
        subprocess.run(wrap + list(cmd), check=True, capture_output=True, timeout=120)

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        )
        opts = f"-p {port} -h 127.0.0.1 -k {folder} -F -c max_connections=20"
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            opts,
            "start",
        )
        try:
            yield f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
