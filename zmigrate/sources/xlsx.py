"""Reading one sheet of an Excel workbook, streamed (openpyxl's read-only mode), cell types kept.

Cells keep their types: text stays text (``"00123"`` keeps its zeros), numbers are ``int`` or
``float``, dates are ``date`` (a date-time cell at midnight, which is how Excel stores a date)
or ``datetime``, booleans ``bool``; an empty cell is ``None``. Formulas give their cached value.
Rows are numbered as Excel numbers them; a problem is located as ``file.xlsx!Sheet:C17``.

The rows come from openpyxl's own sheet parser (shared strings, number formats, dates), driven
by :class:`_RowParser`: openpyxl's read-only loop clears each parsed row but leaves it in the
XML tree, about 100 bytes a row for the whole sheet; here each row leaves the tree once read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Generator, Iterator
from datetime import datetime, time
from typing import Any
from xml.etree.ElementTree import iterparse

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._reader import ROW_TAG, WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from zmigrate.errors import ManifestError
from zmigrate.manifest import SourceSpec, did_you_mean, display_path
from zmigrate.sources.model import source_label

_MIDNIGHT = time()
_SHEET_DATA = f"{{{SHEET_MAIN_NS}}}sheetData"


class _RowParser(WorkSheetParser):
    """openpyxl's sheet parser, rows only, each row detached from the tree once parsed."""

    def rows(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        parent = None
        for event, element in iterparse(self.source, events=("start", "end")):
            if event == "start":
                if element.tag == _SHEET_DATA:
                    parent = element
                continue
            if element.tag == ROW_TAG:
                yield self.parse_row(element)
                element.clear()
                if parent is not None:
                    parent.remove(element)


def _sheet_rows(book: Any, sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, values by column)`` for each row the sheet's XML holds."""
    with sheet._get_source() as src:
        parser = _RowParser(
            src,
            sheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, cells in parser.rows():
            values: list[Any] = [None] * (max((c["column"] for c in cells), default=0))
            for c in cells:
                values[c["column"] - 1] = c["value"]
            yield number, values


def _cell(value: Any) -> Any:
    """A date-time cell at midnight is a date: Excel stores dates as date-times."""
    if isinstance(value, datetime) and value.tzinfo is None and value.time() == _MIDNIGHT:
        return value.date()
    return value


def _open(source: SourceSpec, step: str | None) -> Any:
    assert source.path is not None
    try:
        return load_workbook(source.path, read_only=True, data_only=True)
    except OSError as exc:
        why = exc.strerror or str(exc)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
        why = f"not an Excel workbook (.xlsx): {exc}"
    raise ManifestError(
        f"cannot open source file {display_path(source.path)}: {why}",
        file=source.origin or display_path(source.path),
        line=source.line or None,
        step=step,
        field="source",
        hint="relative paths start at the manifest's folder",
    )


def _sheet(book: Any, source: SourceSpec, step: str | None) -> Any:
    if source.sheet is None:
        return book.worksheets[0]
    if source.sheet in book.sheetnames:
        return book[source.sheet]
    raise ManifestError(
        f"the workbook has no sheet '{source.sheet}'",
        file=source.origin or display_path(source.path),
        line=source.line or None,
        step=step,
        field="sheet",
        hint=did_you_mean(source.sheet, book.sheetnames, "sheet"),
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


def xlsx_rows(source: SourceSpec, step: str | None) -> Generator[tuple[int, list[Any]]]:
    """Yield ``(row number, cells)``: the header row first, then every non-empty data row.

    Each data row has one cell per header column; a value right of the header's last column
    raises ManifestError naming the cell.
    """
    book = _open(source, step)
    try:
        sheet = _sheet(book, source, step)
        rows = _sheet_rows(book, sheet)
        number, cells = next(rows, (source.header_row, []))
        while number < source.header_row:
            number, cells = next(rows, (source.header_row, []))
        header = _header(tuple(cells) if number == source.header_row else (), source, step)
        yield source.header_row, header
        width = len(header)
        for number, cells in rows:
            if not any(c is not None and c != "" for c in cells):
                continue
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
            out = [_cell(c) for c in cells[:width]]
            if len(out) < width:
                out += [None] * (width - len(out))
            yield number, out
    finally:
        book.close()
