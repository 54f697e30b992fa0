"""Reading one sheet of an Excel workbook, streamed, cell types kept.

Cells keep their types: text stays text (``"00123"`` keeps its zeros), numbers are ``int`` or
``float``, dates are ``date`` (a date-time cell at midnight, which is how Excel stores a date)
or ``datetime``, booleans ``bool``; an empty cell is ``None``. Formulas give their cached value.
Rows are numbered as Excel numbers them; a problem is located as ``file.xlsx!Sheet:C17``.

The workbook's parts (sheet names, shared strings, date formats, the 1904 date system) are
read once by :class:`~zmigrate.sources.xlsx_book.Book`; the sheet is read in bulk by
:class:`~zmigrate.sources.xlsx_sheet.SheetRows`, a regular expression over whole rows with an
expat parser for what it does not take. Both give the values openpyxl's read-only mode gives.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Generator, Iterator, Sequence
from typing import Any
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

from openpyxl.utils import get_column_letter

from zmigrate.errors import ManifestError
from zmigrate.manifest import SourceSpec, did_you_mean, display_path
from zmigrate.sources import xlsx_match
from zmigrate.sources.blocks import Block, RowBlock
from zmigrate.sources.model import cannot_open, source_label
from zmigrate.sources.xlsx_book import Book
from zmigrate.sources.xlsx_sheet import SheetRows, read_ahead


def _unreadable(
    source: SourceSpec, step: str | None, why: Exception, line: int | None, cell: str | None = None
) -> ManifestError:
    """A sheet (or a cell of it) that is no sheet Excel writes: what went wrong, where."""
    return ManifestError(
        f"cannot read the {'cell' if cell else 'sheet'}: {why}",
        file=source_label(source),
        line=line,
        cell=cell,
        step=step,
        field="source",
        hint="open the workbook in Excel and save it again",
    )


def _sheet_blocks(book: Book, part: str, source: SourceSpec, step: str | None) -> Iterator[Block]:
    """The rows the sheet's XML holds, a chunk at a time."""

    def fail(number: int, column: int, exc: Exception) -> ManifestError:
        return _unreadable(source, step, exc, number, get_column_letter(column + 1))

    reader = SheetRows(book, fail)
    matcher = None
    if book.archive.getinfo(part).file_size >= xlsx_match.PARALLEL_BYTES:
        with contextlib.suppress(OSError):  # no worker process here: this one matches
            matcher = xlsx_match.Matcher()
    with book.archive.open(part) as member:
        src = read_ahead(member)
        try:
            yield from reader.blocks(src, matcher)
        except (ExpatError, ValueError, IndexError, zipfile.BadZipFile) as exc:
            raise _unreadable(source, step, exc, reader.number or None) from None
        finally:
            src.close()
            if matcher is not None:
                matcher.close()


def _open(source: SourceSpec, step: str | None) -> Book:
    assert source.path is not None
    try:
        return Book(source.path)
    except OSError as exc:
        why = exc.strerror or str(exc)
    except (zipfile.BadZipFile, KeyError, ValueError, ParseError) as exc:
        why = f"not an Excel workbook (.xlsx): {exc}"
    raise cannot_open(source, step, why)


def _sheet(book: Book, source: SourceSpec, step: str | None) -> str:
    """The zip member holding the sheet's XML."""
    if source.sheet is None:
        if not book.sheets:
            raise cannot_open(source, step, "the workbook has no worksheet")
        return next(iter(book.sheets.values()))
    if source.sheet in book.sheets:
        return book.sheets[source.sheet]
    raise ManifestError(
        f"the workbook has no sheet '{source.sheet}'",
        file=source.origin or display_path(source.path),
        line=source.line or None,
        step=step,
        field="sheet",
        hint=did_you_mean(source.sheet, list(book.sheets), "sheet"),
    )


def _header(cells: tuple[Any, ...], source: SourceSpec, step: str | None) -> list[str]:
    row = source.header_row
    names = list(cells)
    while names and names[-1] in (None, ""):
        names.pop()
    if not names:
        raise ManifestError(
            f"row {row} is empty: expected the header naming the columns",
            file=source_label(source),
            line=row,
            step=step,
            hint="set header_row to the row that names the columns",
        )
    header: list[str] = []
    for i, name in enumerate(names):
        text = "" if name is None else str(name).strip()
        letter = get_column_letter(i + 1)
        if not text or text in header:
            what = "is empty" if not text else f"repeats column '{text}'"
            raise ManifestError(
                f"header cell {letter}{row} {what}",
                file=source_label(source),
                line=row,
                cell=letter,
                step=step,
                hint="each column of the table needs its own name in the header row",
            )
        header.append(text)
    return header


def _fit(
    number: int, cells: Sequence[Any], header: list[str], source: SourceSpec, step: str | None
) -> Sequence[Any] | None:
    """A data row as wide as the header (None for a blank row); a value right of the header's
    last column raises ManifestError naming the cell."""
    width = len(header)
    first = cells[0] if cells else None
    if (first is None or first == "") and not any(c not in (None, "") for c in cells):
        return None
    if len(cells) == width:
        return cells
    if len(cells) > width and any(c not in (None, "") for c in cells[width:]):
        extra = next(i for i in range(width, len(cells)) if cells[i] not in (None, ""))
        raise ManifestError(
            f"a value right of the header's last column ({header[-1]})",
            file=source_label(source),
            line=number,
            cell=get_column_letter(extra + 1),
            step=step,
            hint="name the column in the header row, or clear the cell",
        )
    return [*cells[:width], *[None] * (width - len(cells))]


def _fit_block(block: Block, header: list[str], source: SourceSpec, step: str | None) -> Block:
    """A block's data rows by :func:`_fit`: as they are when each is as wide as the header
    and none starts blank (the usual sheet, checked a column at a time)."""
    if block.widths() == {len(header)}:
        first = block.column(0)
        if None not in first and "" not in first:
            return block
    rows = zip(block.numbers, block.rows, strict=True)
    fitted = [(n, _fit(n, cells, header, source, step)) for n, cells in rows]
    return RowBlock(
        [n for n, c in fitted if c is not None], [c for _, c in fitted if c is not None]
    )


def xlsx_blocks(source: SourceSpec, step: str | None) -> Generator[Block]:
    """The header as a block of one row, then the sheet's non-empty data rows a chunk at a
    time, each with one cell per header column (see :func:`_fit`)."""
    book = _open(source, step)
    try:
        blocks = _sheet_blocks(book, _sheet(book, source, step), source, step)
        number, rest = source.header_row, None
        cells: Sequence[Any] = ()
        for block in blocks:
            numbers = block.numbers
            after = next((i for i, n in enumerate(numbers) if n >= source.header_row), -1)
            if after >= 0:
                rows = block.rows
                number, cells = numbers[after], rows[after]
                rest = RowBlock(numbers[after + 1 :], rows[after + 1 :])
                break
        header = _header(tuple(cells) if number == source.header_row else (), source, step)
        yield RowBlock([source.header_row], [header])
        if rest is not None:
            yield _fit_block(rest, header, source, step)
        for block in blocks:
            yield _fit_block(block, header, source, step)
    finally:
        book.close()


def xlsx_rows(source: SourceSpec, step: str | None) -> Generator[tuple[int, list[Any]]]:
    """Yield ``(row number, cells)``: the header row first, then every non-empty data row,
    with one cell per header column."""
    for block in xlsx_blocks(source, step):
        for number, cells in zip(block.numbers, block.rows, strict=True):
            yield number, list(cells)
