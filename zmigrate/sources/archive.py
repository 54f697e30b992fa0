"""Files inside a zip archive (a Salesforce-style backup), read in place and streamed.

:func:`open_member` is the one way in: the CSV/JSONL readers use it for a step's
``{ file = "backup.zip", member = "Account.csv" }``, and anything else that needs a file of
the same archive (an attachment) can open it by its path inside the archive.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO

from zmigrate.errors import ManifestError
from zmigrate.manifest import did_you_mean, display_path


def open_member(archive: str | Path, member: str) -> IO[bytes]:
    """Open ``member`` (its path inside the archive, ``/``-separated) of the zip ``archive``
    for streamed binary reading; the caller closes it.

    Raises ManifestError when the archive cannot be read or has no such member (with the
    nearest name it has).
    """
    where = display_path(archive)
    try:
        book = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ManifestError(f"cannot open the zip archive {where}: {why}", file=where) from None
    try:
        name = member.replace("\\", "/").lstrip("/")
        try:
            info = book.getinfo(name)
        except KeyError:
            names = [n for n in book.namelist() if not n.endswith("/")]
            raise ManifestError(
                f"the archive has no member '{member}'",
                file=where,
                field="member",
                hint=did_you_mean(name, names, "member"),
            ) from None
        # The member stream keeps the archive's file open after the ZipFile itself is closed.
        return book.open(info)
    finally:
        book.close()
