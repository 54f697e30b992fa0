"""Reading one sheet of an Excel workbook, streamed, cell types kept.

Cells keep their types: text stays text (``"00123"`` keeps its zeros), numbers are ``int`` or
``float``, dates are ``date`` (a date-time cell at midnight, which is how Excel stores a date)
or ``datetime``, booleans ``bool``; an empty cell is ``None``. Formulas give their cached value.
Rows are numbered as Excel numbers them; a problem is located as ``file.xlsx!Sheet:C17``.

openpyxl's reader reads the workbook's parts once (sheet names, shared strings, the date
number formats, the 1904 date system); the sheet itself is parsed by :class:`_SheetReader`,
expat handlers fed the sheet's XML 1 MB at a time, which give the values openpyxl's own sheet
parser gives, about twice as fast (that parser builds an object per cell and per text run).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Generator, Iterator
from datetime import datetime, time
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError, ParserCreate

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.xml.constants import SHEET_MAIN_NS

from zmigrate.errors import ManifestError
from zmigrate.manifest import SourceSpec, did_you_mean, display_path
from zmigrate.sources.model import cannot_open, source_label

_MIDNIGHT = time()
_CHUNK = 1 << 20
_DIGITS = "0123456789"
_from_iso8601: Callable[[str], Any] = from_ISO8601
# expat names a namespaced element "<namespace>}<local name>" with this separator
_ROW, _C, _V, _IS, _T, _R, _RPH = (
    f"{SHEET_MAIN_NS}}}{local}" for local in ("row", "c", "v", "is", "t", "r", "rPh")
)


def _number(text: str) -> int | float:
    """A numeric cell's text as openpyxl reads it: a float if it has a point or exponent."""
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise ValueError(f"{text} is not a valid row number") from None
        return int(value)


class _SheetReader:
    """Expat handlers turning a sheet's XML into ``(row number, values by column)``.

    Finished rows collect in ``done`` while a chunk is parsed; the caller empties it after each
    chunk, so memory holds one chunk's rows whatever the sheet's size.
    """

    def __init__(self, book: _Book) -> None:
        wb: Any = book.reader.wb
        self.shared: list[Any] = book.reader.shared_strings
        self.epoch: datetime = wb.epoch
        self.dates: set[int] = wb._date_formats
        self.durations: set[int] = wb._timedelta_formats
        self.done: list[tuple[int, list[Any]]] = []
        self.text: list[str] = []
        self.columns: dict[str, int] = {}
        self.number = 0
        self.values: list[Any] = []
        self.kind = "n"
        self.ref: str | None = None
        self.style: str | None = None
        self.raw: str | None = None
        self.inline: list[str] | None = None  # [plain text, run texts...] of an inline string
        self.in_run = False
        self.in_phonetic = False
        self.parser = ParserCreate(namespace_separator="}")
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text.append

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == _C:
            self.kind = attrs.get("t", "n")
            self.ref = attrs.get("r")
            self.style = attrs.get("s")
            self.raw = None
            self.inline = None
        elif name in (_V, _T):
            self.text.clear()
        elif name == _ROW:
            r = attrs.get("r")
            self.number = self.number + 1 if r is None else _row_number(r)
            self.values = []
        elif name == _IS:
            self.inline = [""]
        elif name == _R:
            self.in_run = True
        elif name == _RPH:
            self.in_phonetic = True

    def end(self, name: str) -> None:
        if name == _C:
            self.cell()
        elif name == _V:
            self.raw = "".join(self.text) or None
        elif name == _T:
            self.inline_text()
        elif name == _ROW:
            self.done.append((self.number, self.values))
        elif name == _R:
            self.in_run = False
        elif name == _RPH:
            self.in_phonetic = False

    def inline_text(self) -> None:
        """Text Excel shows: the plain text first, then the runs; phonetic hints left out."""
        if self.inline is None or self.in_phonetic:
            return
        if self.in_run:
            self.inline.append("".join(self.text))
        else:
            self.inline[0] = "".join(self.text)

    def cell(self) -> None:
        """Place the finished cell's value in its column (``r="C17"``, else the next one)."""
        values = self.values
        ref = self.ref
        if ref:
            letters = ref.rstrip(_DIGITS)
            column = self.columns.get(letters)
            if column is None:
                column = self.columns[letters] = column_index_from_string(letters)
        else:
            column = len(values) + 1
        value = self.value()
        if column == len(values) + 1:
            values.append(value)
        elif column > len(values):
            values += [None] * (column - 1 - len(values))
            values.append(value)
        else:
            values[column - 1] = value
        self.inline = None

    def value(self) -> Any:
        """The cell's value as openpyxl's sheet parser (``data_only``) gives it."""
        kind, raw = self.kind, self.raw
        if kind == "inlineStr":
            return None if self.inline is None else "".join(self.inline)
        if raw is None:
            return None
        if kind == "n":
            number = _number(raw)
            style = int(self.style) if self.style else 0
            if style not in self.dates:
                return number
            try:
                return from_excel(number, self.epoch, timedelta=style in self.durations)
            except (OverflowError, ValueError):
                return "#VALUE!"  # openpyxl's value for a date serial out of range
        if kind == "s":
            return self.shared[int(raw)]
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return _from_iso8601(raw)
        return raw  # "str" (a formula's text), "e" (an error such as #N/A)

    def rows(self, src: Any) -> Iterator[tuple[int, list[Any]]]:
        while chunk := src.read(_CHUNK):
            self.parser.Parse(chunk, False)
            yield from self.done
            self.done.clear()
        self.parser.Parse(b"", True)
        yield from self.done
        self.done.clear()


def _sheet_rows(
    book: _Book, part: str, source: SourceSpec, step: str | None
) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, values by column)`` for each row the sheet's XML holds."""
    reader = _SheetReader(book)
    with book.reader.archive.open(part) as src:
        try:
            yield from reader.rows(src)
        except (ExpatError, ValueError, IndexError) as exc:
            raise ManifestError(
                f"cannot read the sheet: {exc}",
                file=source_label(source),
                line=reader.number or None,
                step=step,
                field="source",
                hint="open the workbook in Excel and save it again",
            ) from None


class _Book:
    """A workbook's parts but its sheets: openpyxl's ``load_workbook`` would parse each whole
    sheet lacking a ``<dimension>`` (as openpyxl's write-only mode saves it) to size it."""

    def __init__(self, path: Path) -> None:
        self.reader = ExcelReader(path, read_only=True, data_only=True)
        try:
            self.reader.read_manifest()
            self.reader.read_strings()
            self.reader.read_workbook()
            apply_stylesheet(self.reader.archive, self.reader.wb)
            self.sheets: dict[str, str] = {
                sheet.name: rel.target
                for sheet, rel in self.reader.parser.find_sheets()
                if rel.target in self.reader.valid_files and "chartsheet" not in rel.Type
            }
        except BaseException:
            self.reader.archive.close()
            raise

    def close(self) -> None:
        self.reader.archive.close()


def _cell(value: Any) -> Any:
    """A date-time cell at midnight is a date: Excel stores dates as date-times."""
    if isinstance(value, datetime) and value.tzinfo is None and value.time() == _MIDNIGHT:
        return value.date()
    return value


def _open(source: SourceSpec, step: str | None) -> _Book:
    assert source.path is not None
    try:
        return _Book(source.path)
    except OSError as exc:
        why = exc.strerror or str(exc)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        why = f"not an Excel workbook (.xlsx): {exc}"
    raise cannot_open(source, step, why)


def _sheet(book: _Book, source: SourceSpec, step: str | None) -> str:
    """The zip member holding the sheet's XML."""
    if source.sheet is None:
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


def xlsx_rows(source: SourceSpec, step: str | None) -> Generator[tuple[int, list[Any]]]:
    """Yield ``(row number, cells)``: the header row first, then every non-empty data row.

    Each data row has one cell per header column; a value right of the header's last column
    raises ManifestError naming the cell.
    """
    book = _open(source, step)
    try:
        rows = _sheet_rows(book, _sheet(book, source, step), source, step)
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
