"""Files a step attaches to CRM records, named by a source column.

A :class:`FileStore` turns a source cell into a file: :class:`DiskFiles` reads paths relative
to the manifest's folder; :class:`ArchiveFiles` reads members of the zip the step's source
is itself a member of (a Salesforce backup's ``Attachments/00P…``). ``check_files`` is the
plan's pass over an attachment step: every file must exist and be within Zoho's limit, and
their bytes are counted.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from zmigrate.errors import ManifestError
from zmigrate.manifest import Step
from zmigrate.manifest.hints import display_path
from zmigrate.schema.related import ATTACHMENT_MAX_BYTES, FILE
from zmigrate.sources.archive import open_member
from zmigrate.sources.model import source_label
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

    def open(self, ref: str) -> IO[bytes]:
        """The file streamed (the caller closes it), for an upload that need not hold it."""
        ...

    def where(self, ref: str) -> str:
        """``ref`` as a message names it."""
        ...

    @property
    def hint(self) -> str:
        """What a missing file's message tells the user."""
        ...


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

    def open(self, ref: str) -> IO[bytes]:
        return self._path(ref).open("rb")

    def where(self, ref: str) -> str:
        return ref

    @property
    def hint(self) -> str:
        return "paths are relative to the manifest's folder"


@dataclass
class ArchiveFiles:
    """Members of the zip ``archive``, ``ref`` their path inside it; its directory is read
    once (a backup holds thousands of files) and each upload streams its member."""

    archive: Path
    _members: dict[str, int] | None = field(default=None, repr=False)

    def _size(self, ref: str) -> int:
        if self._members is None:
            with zipfile.ZipFile(self.archive) as book:
                self._members = {i.filename: i.file_size for i in book.infolist()}
        size = self._members.get(_member(ref))
        if size is None or ref.endswith("/"):
            raise FileNotFoundError(self.where(ref))
        return size

    def stat(self, ref: str) -> AttachedFile:
        return AttachedFile(PurePosixPath(_member(ref)).name, self._size(ref), ref)

    def open(self, ref: str) -> IO[bytes]:
        self._size(ref)
        return open_member(self.archive, ref)

    def where(self, ref: str) -> str:
        return f"{display_path(self.archive)}!{_member(ref)}"

    @property
    def hint(self) -> str:
        return f"paths are members of the archive {display_path(self.archive)}"


def _member(ref: str) -> str:
    """A member's name as the zip spells it (``/``-separated, no leading ``/``)."""
    return ref.replace("\\", "/").lstrip("/")


def file_store(step: Step) -> FileStore:
    """The files an attachment step names: members of the zip its source is a member of,
    else paths relative to its manifest's folder."""
    source = step.source
    if source.member is not None and source.path is not None:
        return ArchiveFiles(source.path)
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
    where = source_label(source)
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
                hint=store.hint,
            ) from None
        if found.size > ATTACHMENT_MAX_BYTES:
            raise ManifestError(
                f"file {store.where(ref)} is {found.size:,} bytes, over Zoho's "
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
