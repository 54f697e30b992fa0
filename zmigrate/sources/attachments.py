"""Files a step attaches to CRM records, named by a source column.

A :class:`FileStore` turns a source cell into a file: :class:`DiskFiles` reads paths relative
to the manifest's folder; another store (say, members of a backup's zip) only has to answer
``stat`` and ``read`` the same way. ``check_files`` is the plan's pass over an attachment
step: every file must exist and be within Zoho's limit, and their bytes are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from zmigrate.errors import ManifestError
from zmigrate.manifest import Step
from zmigrate.manifest.hints import display_path
from zmigrate.schema.related import ATTACHMENT_MAX_BYTES, FILE
from zmigrate.sources.readers import iter_rows


@dataclass(frozen=True)
class AttachedFile:
    """One file to attach: the name Zoho will show, its size, and where it is."""

    name: str
    size: int
    ref: str


class FileStore(Protocol):
    """Where attachment files come from."""

    def stat(self, ref: str) -> AttachedFile:
        """The file ``ref`` names; FileNotFoundError when there is none."""
        ...

    def read(self, ref: str) -> bytes: ...


@dataclass(frozen=True)
class DiskFiles:
    """Files on disk, ``ref`` relative to ``folder`` (the manifest's)."""

    folder: Path

    def _path(self, ref: str) -> Path:
        path = self.folder / ref
        if not path.is_file():
            raise FileNotFoundError(str(path))
        return path

    def stat(self, ref: str) -> AttachedFile:
        path = self._path(ref)
        return AttachedFile(path.name, path.stat().st_size, ref)

    def read(self, ref: str) -> bytes:
        return self._path(ref).read_bytes()


def file_store(step: Step) -> FileStore:
    """The files an attachment step names (paths relative to its manifest's folder)."""
    return DiskFiles(step.target.folder or Path.cwd())


@dataclass(frozen=True)
class FileCount:
    files: int
    bytes: int


def check_files(step: Step) -> FileCount:
    """Every file of an attachment step, checked: exists, and is within Zoho's limit."""
    column = next((fm.column for fm in step.fields if fm.target == FILE), None)
    store = file_store(step)
    source = step.source
    files = size = 0
    if column is None or source.path is None:
        return FileCount(0, 0)
    where = display_path(source.path)
    for line, row in iter_rows(source, step=step.name):
        ref = str(row.get(column) or "").strip()
        if not ref:
            continue
        try:
            found = store.stat(ref)
        except FileNotFoundError as exc:
            raise ManifestError(
                f"no file {exc.args[0]} to attach",
                file=where,
                line=line,
                step=step.name,
                field=column,
                hint="paths are relative to the manifest's folder",
            ) from None
        if found.size > ATTACHMENT_MAX_BYTES:
            raise ManifestError(
                f"file {ref} is {found.size:,} bytes, over Zoho's "
                f"{ATTACHMENT_MAX_BYTES:,}-byte attachment limit",
                file=where,
                line=line,
                step=step.name,
                field=column,
                hint="split or compress it, or leave it out of the source",
            )
        files += 1
        size += found.size
    return FileCount(files, size)
