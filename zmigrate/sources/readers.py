"""Reading one source in its order: a CSV/JSONL file (or zip member), a sheet, a query.

:func:`iter_rows` gives ``(line, row)`` pairs, :func:`iter_records` one
:class:`~zmigrate.sources.SourceRecord` per target record, :func:`read_columns` the header.
Each problem (missing file, bad header, ragged row, invalid JSON, undecodable bytes) raises
:class:`~zmigrate.errors.ManifestError` naming the source, its line and the step. A "line" is
a file's line, a sheet's row number, or a query's row number in the result.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterator
from itertools import islice
from typing import IO, Any

import orjson

from zmigrate.errors import ManifestError
from zmigrate.manifest import SourceKind, SourceSpec, Step
from zmigrate.sources.archive import open_member
from zmigrate.sources.model import SourceRecord, cannot_open, row_key, source_label
from zmigrate.sources.sql import sql_rows

Row = dict[str, Any]

_BUFFER = 1 << 20
MAX_CELL = 64 << 20
"""Largest CSV cell read (characters). The csv module's default, 128 KiB, ended the whole plan
on one long note; Zoho fields hold far less than this, so a big cell reaches the mapping and
is dead-lettered with its line and field. A bigger one is nearly always an unclosed quote."""


def _open_binary(source: SourceSpec, step: str | None) -> IO[bytes]:
    """Open a source file; a missing one is reported at the manifest line that names it."""
    assert source.path is not None
    if source.member:
        try:
            return open_member(source.path, source.member)
        except ManifestError as error:
            raise ManifestError(
                str(error.args[0]),
                file=source.origin or error.file,
                line=source.line or None,
                step=step,
                field=error.field or "source",
                hint=error.hint,
            ) from None
    try:
        return open(source.path, "rb", buffering=_BUFFER)  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise cannot_open(source, step, str(exc.strerror)) from None


def _open_text(source: SourceSpec, step: str | None) -> io.TextIOWrapper:
    raw = _open_binary(source, step)
    return io.TextIOWrapper(raw, encoding=source.encoding, newline="")


def decode_error(source: SourceSpec, step: str | None, exc: UnicodeDecodeError) -> ManifestError:
    """Locate an undecodable byte by re-reading the file line by line (error path only)."""
    assert source.path is not None
    line = 0
    with _open_binary(source, step) as fh:
        for line, raw in enumerate(fh, 1):  # noqa: B007 - line is used after the loop
            try:
                raw.decode(source.encoding)
            except UnicodeDecodeError as bad:
                byte = raw[bad.start : bad.start + 1].hex()
                return ManifestError(
                    f"byte 0x{byte} at column {bad.start + 1} is not valid {source.encoding}",
                    file=source_label(source),
                    line=line,
                    step=step,
                    field="encoding",
                    hint="name the file's encoding in the step's source, e.g. source = { file = "
                    f'"{source.path.name}", encoding = "latin-1" }} (or "cp1252")',
                )
    return ManifestError(
        f"not valid {source.encoding}: {exc.reason}",
        file=source_label(source),
        line=line or None,
        step=step,
        field="encoding",
    )


def _header(reader: Iterator[list[str]], source: SourceSpec, step: str | None) -> list[str]:
    header = next(reader, None)
    if not header:
        raise ManifestError(
            "the file is empty: expected a header row",
            file=source_label(source),
            line=1,
            step=step,
            hint="the first line names the columns",
        )
    header[0] = header[0].removeprefix("\ufeff")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ManifestError(
                f"column '{name}' appears twice in the header",
                file=source_label(source),
                line=1,
                step=step,
                field=name,
            )
        seen.add(name)
    return header


def _ragged(source: SourceSpec, step: str | None, line: int, got: int, want: int) -> ManifestError:
    return ManifestError(
        f"row has {got} fields, the header has {want}",
        file=source_label(source),
        line=line,
        step=step,
        hint=f"check the delimiter ({source.delimiter!r}) and quoting "
        f"({source.quotechar!r}) on that line",
    )


def _csv_reader(fh: io.TextIOWrapper, source: SourceSpec) -> Any:
    csv.field_size_limit(MAX_CELL)
    return csv.reader(fh, delimiter=source.delimiter, quotechar=source.quotechar, strict=True)


def _csv_error(source: SourceSpec, step: str | None, line: int, exc: csv.Error) -> ManifestError:
    hint = None
    if "field limit" in str(exc):
        hint = (
            f"a cell is over {MAX_CELL >> 20} MiB, more than any Zoho field holds: look for "
            f"an unclosed quote ({source.quotechar!r}) on or before that line"
        )
    return ManifestError(
        f"bad CSV: {exc}", file=source_label(source), line=line, step=step, hint=hint
    )


def csv_rows(source: SourceSpec, step: str | None) -> Generator[tuple[int, list[str]]]:
    """Yield ``(line, cells)`` of a CSV source: the header first, then every data row.

    Blank lines are skipped; a row as wide as the header ends at ``line`` (a quoted field may
    span lines). Raises ManifestError for a bad header, a ragged row, bad quoting or bytes.
    """
    with _open_text(source, step) as fh:
        reader = _csv_reader(fh, source)
        try:
            header = _header(reader, source, step)
            yield 1, header
            width = len(header)
            for row in reader:
                if len(row) != width:
                    if not row:
                        continue
                    raise _ragged(source, step, reader.line_num, len(row), width)
                yield reader.line_num, row
        except UnicodeDecodeError as exc:
            raise decode_error(source, step, exc) from None
        except csv.Error as exc:
            raise _csv_error(source, step, reader.line_num, exc) from None


def csv_chunks(source: SourceSpec, step: str | None, size: int) -> Generator[list[list[str]]]:
    """The data rows of a CSV source, ``size`` at a time, without a line number each: the
    planner's pass, whose per-row Python work was most of a plan's time. Blank lines are
    dropped; a ragged row sends it back over the file with :func:`csv_rows`, which raises
    the error at its line."""
    with _open_text(source, step) as fh:
        reader = _csv_reader(fh, source)
        try:
            width = len(_header(reader, source, step))
            while chunk := list(islice(reader, size)):
                if set(map(len, chunk)) != {width}:
                    chunk = [row for row in chunk if row]
                    if any(len(row) != width for row in chunk):
                        for _ in csv_rows(source, step):
                            pass
                yield chunk
        except UnicodeDecodeError as exc:
            raise decode_error(source, step, exc) from None
        except csv.Error as exc:
            raise _csv_error(source, step, reader.line_num, exc) from None


def _jsonl_object(source: SourceSpec, step: str | None, line: int, text: bytes) -> Row:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as bad:  # not JSON's fault: the file's encoding is another
            raise decode_error(source, step, bad) from None
        raise ManifestError(
            f"not valid JSON: {exc}",
            file=source_label(source),
            line=line,
            step=step,
            hint="each line holds one JSON object",
        ) from None
    if not isinstance(obj, dict):
        raise ManifestError(
            f"expected a JSON object, got {type(obj).__name__}",
            file=source_label(source),
            line=line,
            step=step,
            hint="each line holds one JSON object",
        )
    return obj


def jsonl_rows(source: SourceSpec, step: str | None) -> Iterator[tuple[int, Row]]:
    """Yield ``(line, object)`` for every non-blank line of a JSONL source."""
    with _open_binary(source, step) as fh:
        for line, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            if source.encoding.replace("-", "").lower() not in ("utf8", "utf8sig"):
                try:
                    raw = raw.decode(source.encoding).encode()
                except UnicodeDecodeError as exc:
                    raise decode_error(source, step, exc) from None
            yield line, _jsonl_object(source, step, line, raw.removeprefix(b"\xef\xbb\xbf"))


def iter_rows(source: SourceSpec, *, step: str | None = None) -> Iterator[tuple[int, Row]]:
    """Yield ``(line, row)`` for every data row of a CSV/JSONL source, in file order.

    CSV rows map header names to strings; JSONL rows are the decoded objects. ``line`` is the
    1-based line where the row ends (a quoted field may span lines). Raises ManifestError for
    a missing file, a bad header, a ragged row, invalid JSON or undecodable bytes.
    """
    if source.kind is SourceKind.JSONL:
        yield from jsonl_rows(source, step)
        return
    rows = _table_rows(source, step)
    _, header = next(rows)
    for line, cells in rows:
        yield line, dict(zip(header, cells, strict=True))


def _table_rows(source: SourceSpec, step: str | None) -> Generator[tuple[int, list[Any]]]:
    """The header, then the rows (one value per column, in order), of a CSV, a sheet or a query."""
    if source.kind is SourceKind.CSV:
        return csv_rows(source, step)
    if source.kind is SourceKind.XLSX:
        from zmigrate.sources.xlsx import xlsx_rows  # openpyxl only for a sheet: start-up time

        return xlsx_rows(source, step)
    if source.kind is SourceKind.SQL:
        return sql_rows(source, step)
    raise ManifestError(
        f"a {source.describe()} export has no file before the run",
        step=step,
        hint="read the exported CSV with file_source(path)",
    )


def iter_records(step: Step, source: SourceSpec | None = None) -> Iterator[SourceRecord]:
    """Yield one SourceRecord per target record of ``step``.

    ``source`` defaults to the step's own (a file); for a Zoho export pass the file the
    export was written to, e.g. ``iter_records(step, file_source(path))``. Line-item steps
    group consecutive rows with the same source key into one record; a key that comes back
    after another key is a duplicate (``scan`` reports it before a run).
    """
    columns = step.source_key
    source = source or step.source
    if not step.line_items:
        for line, row in iter_rows(source, step=step.name):
            yield SourceRecord(line, row_key(columns, row), (row,))
        return
    group: list[Row] = []
    first, key = 0, ""
    for line, row in iter_rows(source, step=step.name):
        k = row_key(columns, row)
        if group and k != key:
            yield SourceRecord(first, key, tuple(group))
            group = []
        if not group:
            first, key = line, k
        group.append(row)
    if group:
        yield SourceRecord(first, key, tuple(group))


def read_columns(source: SourceSpec, step: str | None = None) -> list[str]:
    """The column names of a source: the CSV or sheet header, the query's columns, or the
    first JSONL object's keys."""
    if source.kind is SourceKind.JSONL:
        for _, obj in jsonl_rows(source, step):
            return list(obj)
        raise ManifestError(
            "the file is empty: expected JSON objects",
            file=source_label(source),
            line=1,
            step=step,
        )
    if source.kind is not SourceKind.CSV:
        rows = _table_rows(source, step)
        try:
            return list(next(rows)[1])
        finally:
            rows.close()
    with _open_text(source, step) as fh:
        try:
            return _header(_csv_reader(fh, source), source, step)
        except UnicodeDecodeError as exc:
            raise decode_error(source, step, exc) from None
