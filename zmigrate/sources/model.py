"""What the source readers and the planner's scan hand out, and how a source key is spelled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zmigrate.errors import ManifestError
from zmigrate.manifest import SourceKind, SourceSpec, display_path

KEY_SEPARATOR = "\x1f"
"""Joins the values of a composite source key into one string."""


@dataclass(frozen=True, slots=True)  # a run holds tens of thousands: no __dict__ each
class SourceRecord:
    """One target record's worth of source: its first line, source key and row(s)."""

    line: int
    key: str
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class KeyCollision:
    """A record whose target key an earlier record of its step already has."""

    record: int  # its index among the step's records (as the executor numbers them)
    line: int
    first_line: int  # the line of the earlier record with that key
    field: str  # the key field(s)
    value: str  # the key as Zoho compares it (trimmed, lower-cased)


@dataclass(frozen=True)
class StepCount:
    """What the planner learns about one step's source."""

    rows: int
    records: int
    estimated: bool  # True for a Zoho export (from the manifest's ``records``), False if counted
    collisions: tuple[KeyCollision, ...] = ()
    """Records sharing a target key with an earlier one (their step has a non-error
    ``on_duplicate_key``; otherwise ``scan`` raises)."""
    checksum: str | None = None
    """A query's rows hashed in the same pass (``sha256:…``): what a resume compares."""


def file_source(
    path: str | Path,
    kind: SourceKind | str = SourceKind.CSV,
    encoding: str = "utf-8",
    *,
    member: str | None = None,
    sheet: str | None = None,
    header_row: int = 1,
) -> SourceSpec:
    """A file source for a path, e.g. the CSV a Zoho export was written to at run time, a
    member of a zip (``member``) or a workbook's sheet (``kind="xlsx"``, ``sheet``)."""
    return SourceSpec(
        SourceKind(kind),
        0,
        path=Path(path),
        encoding=encoding,
        member=member,
        sheet=sheet,
        header_row=header_row,
    )


def query_source(url: str, query: str) -> SourceSpec:
    """A SQL source outside a manifest: ``url`` is ``$NAME`` of the variable holding the URL."""
    return SourceSpec(SourceKind.SQL, 0, url=url, query=query)


def source_label(source: SourceSpec) -> str:
    """Where a source's rows are, as errors name it: ``a.csv``, ``backup.zip!Account.csv``,
    ``book.xlsx!Accounts`` or ``sql:$LEGACY_DB_URL`` (never a database URL's password)."""
    if source.kind is SourceKind.SQL:
        return source.describe()
    inner = source.member or source.sheet
    path = display_path(source.path)
    return f"{path}!{inner}" if inner else path


def cannot_open(source: SourceSpec, step: str | None, why: str) -> ManifestError:
    """The error for a source file that does not open (missing, unreadable, not its kind)."""
    return ManifestError(
        f"cannot open source file {display_path(source.path)}: {why}",
        file=source.origin or display_path(source.path),
        line=source.line or None,
        step=step,
        field="source",
        hint="relative paths start at the manifest's folder",
    )


def row_key(columns: Sequence[str], row: Mapping[str, Any]) -> str:
    """The source key of a row: its values in ``columns``, joined (the id cross-reference key)."""
    if len(columns) == 1:
        return cell_text(row.get(columns[0]))
    return KEY_SEPARATOR.join(cell_text(row.get(c)) for c in columns)


def cell_text(value: Any) -> str:
    """A cell as a key part: strings stripped, None empty, anything else (JSONL) as ``str``."""
    return "" if value is None else value.strip() if isinstance(value, str) else str(value)
