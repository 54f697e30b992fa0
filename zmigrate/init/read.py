"""Reading a source once for ``init``: sniff its head, then stream every row into statistics.

:func:`profile` is the one entry point; :data:`READERS` says, by file suffix, how a source
is opened (its manifest ``source`` options and its rows). Another source kind (a workbook,
a database table) plugs in as one more entry that yields ``(line, row)`` pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zmigrate.errors import ManifestError, UsageError
from zmigrate.init import sniff
from zmigrate.init.values import Column, ColumnStats
from zmigrate.manifest import SourceKind, SourceSpec, display_path
from zmigrate.sources import iter_rows, read_columns

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
    """One source file as ``init`` saw it."""

    path: Path
    options: dict[str, str]
    notes: tuple[str, ...]
    rows: int
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(sniff.HEAD)
    except OSError as exc:
        raise UsageError(f"cannot read {display_path(path)}: {exc.strerror}") from None


def _text_options(path: Path, forced: str | None) -> tuple[str, list[str], bytes]:
    """The encoding (sniffed, or ``forced`` on a second pass), its note, and the head."""
    head = _head(path)
    if forced:
        return forced, [f"encoding {forced}: the file is not valid UTF-8 past its first MiB"], head
    enc = sniff.encoding(head)
    return enc.name, [f"encoding {enc.name}: {enc.why}"], head


def open_csv(path: Path, forced_encoding: str | None = None) -> Opened:
    """A CSV file: encoding and delimiter from its head, then its rows (zmigrate.sources)."""
    encoding, notes, raw = _text_options(path, forced_encoding)
    head = raw.decode(encoding, errors="replace")
    found = sniff.delimiter(head)
    delim = found or ","
    notes.append(
        f"delimiter {delim!r}: every line of the head has the same number of cells"
        if found
        else "one column: no delimiter splits the lines evenly"
    )
    options = {"encoding": encoding, "delimiter": delim}
    if path.suffix.lower() != ".csv":
        options["format"] = "csv"
    spec = SourceSpec(SourceKind.CSV, 0, path=path, encoding=encoding, delimiter=delim)
    return Opened(options, tuple(notes), iter_rows(spec), lambda: read_columns(spec))


def open_jsonl(path: Path, forced_encoding: str | None = None) -> Opened:
    """A JSON-lines file: one object a line."""
    encoding, notes, _ = _text_options(path, forced_encoding)
    options = {"encoding": encoding}
    if path.suffix.lower() != ".jsonl":
        options["format"] = "jsonl"
    spec = SourceSpec(SourceKind.JSONL, 0, path=path, encoding=encoding)
    return Opened(options, tuple(notes), iter_rows(spec))


READERS: dict[str, Callable[[Path, str | None], Opened]] = {
    ".csv": open_csv,
    ".tsv": open_csv,
    ".txt": open_csv,
    ".jsonl": open_jsonl,
    ".ndjson": open_jsonl,
}


def profile(path: Path) -> Profile:
    """Stream ``path`` once into per-column statistics (bounded memory whatever its size).

    A UTF-8 file that turns out not to be UTF-8 past its sniffed head is read again as
    Windows-1252 (the only case of a second pass).
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UsageError(
            f"{display_path(path)}: cannot read '{path.suffix}' files; init reads "
            f"{', '.join(sorted(READERS))}"
        )
    try:
        return _profile(path, reader(path, None))
    except ManifestError as exc:
        if exc.field != "encoding":
            raise
    return _profile(path, reader(path, "cp1252"))


def _profile(path: Path, opened: Opened) -> Profile:
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
        path, opened.options, opened.notes, rows, tuple(s.finish() for s in stats.values())
    )
