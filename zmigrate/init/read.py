"""Reading a source once for ``init``: sniff its head, then stream every row into statistics.

:func:`profile` is the one entry point; :data:`READERS` says, by file suffix, how a source
is opened (its manifest ``source`` options and its rows), for a file or a zip member; a
workbook's sheet and a query's rows (:mod:`.origin`) are read by :func:`open_sheet` and
:func:`open_query`, their cells keeping their types (no encoding or delimiter to sniff).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from zmigrate.errors import ManifestError, UsageError
from zmigrate.init import sniff
from zmigrate.init.origin import Form, Origin
from zmigrate.init.values import Column, ColumnStats
from zmigrate.manifest import SourceKind, SourceSpec, display_path
from zmigrate.sources import file_source, iter_rows, open_member, query_source, read_columns

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Opened:
    """A source ready to stream: what its manifest ``source`` table says, and its rows."""

    options: dict[str, str]  # encoding, delimiter, format: only what differs from defaults
    notes: tuple[str, ...]  # how they were decided, for the manifest's comments
    rows: Iterator[tuple[int, Row]]
    header: Callable[[], list[str]] = list  # the columns of a file without a row


@dataclass(frozen=True)
class Profile:
    """One source as ``init`` saw it."""

    origin: Origin
    options: dict[str, str]
    notes: tuple[str, ...]
    rows: int
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _head(origin: Origin) -> bytes:
    assert origin.path is not None
    if origin.inner is not None:
        with open_member(origin.path, origin.inner) as member:
            return member.read(sniff.HEAD)
    try:
        with open(origin.path, "rb") as fh:
            return fh.read(sniff.HEAD)
    except OSError as exc:
        raise UsageError(f"cannot read {display_path(origin.path)}: {exc.strerror}") from None


def _text_options(origin: Origin, forced: str | None) -> tuple[str, list[str], bytes]:
    """The encoding (sniffed, or ``forced`` on a second pass), its note, and the head."""
    head = _head(origin)
    if forced:
        return forced, [f"encoding {forced}: the file is not valid UTF-8 past its first MiB"], head
    enc = sniff.encoding(head)
    return enc.name, [f"encoding {enc.name}: {enc.why}"], head


def open_csv(origin: Origin, forced_encoding: str | None = None) -> Opened:
    """A CSV file: encoding and delimiter from its head, then its rows (zmigrate.sources)."""
    encoding, notes, raw = _text_options(origin, forced_encoding)
    head = raw.decode(encoding, errors="replace")
    found = sniff.delimiter(head)
    delim = found or ","
    notes.append(
        f"delimiter {delim!r}: every line of the head has the same number of cells"
        if found
        else "one column: no delimiter splits the lines evenly"
    )
    options = {"encoding": encoding, "delimiter": delim}
    if origin.suffix != ".csv":
        options["format"] = "csv"
    spec = SourceSpec(
        SourceKind.CSV, 0, path=origin.path, encoding=encoding, delimiter=delim, member=origin.inner
    )
    return Opened(options, tuple(notes), iter_rows(spec), lambda: read_columns(spec))


def open_jsonl(origin: Origin, forced_encoding: str | None = None) -> Opened:
    """A JSON-lines file: one object a line."""
    encoding, notes, _ = _text_options(origin, forced_encoding)
    options = {"encoding": encoding}
    if origin.suffix != ".jsonl":
        options["format"] = "jsonl"
    spec = SourceSpec(SourceKind.JSONL, 0, path=origin.path, encoding=encoding, member=origin.inner)
    return Opened(options, tuple(notes), iter_rows(spec))


def open_sheet(origin: Origin) -> Opened:
    """A workbook's sheet, its header on row 1; cells keep their types."""
    assert origin.path is not None
    spec = file_source(
        origin.path, SourceKind.XLSX, sheet=origin.inner, header_row=origin.header_row
    )
    notes = ["cells keep their types (dates are dates, text stays text): no format to sniff"]
    if origin.header_row != 1:
        notes.append(f"header_row {origin.header_row}: the first row of text as wide as the data")
    return Opened({}, tuple(notes), iter_rows(spec), lambda: read_columns(spec))


def open_query(origin: Origin) -> Opened:
    """A query's rows (a table's, unordered: only counted here); values keep their types."""
    assert origin.url is not None
    spec = query_source(origin.url, origin.query or f"select * from {origin.table}")
    note = "values keep the database's types; the URL is read from the environment only"
    return Opened({}, (note,), iter_rows(spec), lambda: read_columns(spec))


READERS: dict[str, Callable[[Origin, str | None], Opened]] = {
    ".csv": open_csv,
    ".tsv": open_csv,
    ".txt": open_csv,
    ".jsonl": open_jsonl,
    ".ndjson": open_jsonl,
}


def profile(origin: Origin) -> Profile:
    """Stream ``origin`` once into per-column statistics (bounded memory whatever its size).

    A UTF-8 file that turns out not to be UTF-8 past its sniffed head is read again as
    Windows-1252 (the only case of a second pass).
    """
    if origin.form is Form.XLSX:
        return _profile(origin, open_sheet(origin))
    if origin.form is Form.SQL:
        return _profile(origin, open_query(origin))
    reader = READERS.get(origin.suffix)
    if reader is None:
        raise UsageError(
            f"{origin.label}: cannot read '{origin.suffix}' files; init reads "
            f"{', '.join(sorted(READERS))}, .xlsx, .zip and sql:$VAR:TABLE"
        )
    try:
        return _profile(origin, reader(origin, None))
    except ManifestError as exc:
        if exc.field != "encoding":
            raise
    return _profile(origin, reader(origin, "cp1252"))


def _profile(origin: Origin, opened: Opened) -> Profile:
    stats: dict[str, ColumnStats] = {}
    rows = 0
    for _, row in opened.rows:
        for name in row:
            if name not in stats:
                stats[name] = ColumnStats(name)
                stats[name].empty = rows  # a JSONL key first seen late was empty before
        for name, col in stats.items():
            col.add(row.get(name))
        rows += 1
    if not stats:
        stats = {name: ColumnStats(name) for name in opened.header()}
    return Profile(
        origin, opened.options, opened.notes, rows, tuple(s.finish() for s in stats.values())
    )
