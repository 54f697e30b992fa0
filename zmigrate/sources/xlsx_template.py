"""Row templates: one regular expression matching a whole row of a shape seen before.

Rows of a sheet mostly repeat one shape: the same cells with the same types and styles, only
the row number and the values changing. From a row the cell pattern has read, a template is
built: the row's exact text with each value a ``([^<]*)`` group and each cell's row number a
``\\d+``. A later row it matches in full has exactly those cells, so one ``fullmatch`` gives all
its values (a Python step per number or date cell, none per text cell); a row it does not match
goes back to the cell pattern. Nothing is assumed: a template only matches text it was made
from, value for value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any

from openpyxl.utils import column_index_from_string

from zmigrate.sources.blocks import ColumnBlock
from zmigrate.sources.xlsx_book import Book, iso_date, number, xml_text


class Kind(IntEnum):
    """How a cell's text becomes its value, from its ``t`` and ``s`` attributes."""

    TEXT = 0  # an inline string, a formula's text, an error such as #N/A
    NUMBER = 1
    DATE = 2  # a number shown with a date format
    DURATION = 6  # a number shown as a duration ("[h]:mm")
    SHARED = 3
    BOOL = 4
    ISO = 5  # an ISO 8601 date-time ("d")


# bound once: an enum member looked up on its class costs more than the comparison
TEXT, _NUMBER, _DATE, _SHARED, _BOOL = Kind.TEXT, Kind.NUMBER, Kind.DATE, Kind.SHARED, Kind.BOOL
CELL = re.compile(
    r'<c r="[A-Z]+\d+"([^>/]*)(?:/>|>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?'
    r"(?:<v>|<is><t\b[^>]*>)([^<]*)<)"
)
"""A cell as Excel, LibreOffice and openpyxl write it: (attributes after ``r``, value text)."""
Fail = Callable[[int, int, Exception], Exception]
"""The error to raise for a cell's text that is no value of its type (row number, column
index from 0, what went wrong)."""
_REF = re.compile(r'<c r="([A-Z]+)\d+"')
_ROW_HEAD = re.compile(r'<row r="\d+"')


def value(book: Book, kind: Kind, style: str, text: str) -> Any:
    """A cell's value as openpyxl's read-only mode gives it (a midnight date a date)."""
    if kind is TEXT:
        return xml_text(text)
    if not text:
        return None
    if kind is _NUMBER:
        return number(text)
    if kind is _DATE or kind is Kind.DURATION:
        return book.date_cell(style, text)
    if kind is _SHARED:
        return book.shared[int(text)]
    if kind is _BOOL:
        return bool(int(text))
    return iso_date(text)


def _column(book: Book, kind: Kind, style: str, texts: Sequence[str]) -> Sequence[Any]:
    """A column of cell texts as their values: by C-level ``map`` when every cell has a value
    and the column is all integers, all decimals, all dates seen before or all shared strings;
    else cell by cell, as :func:`value` gives them."""
    if "" not in texts:
        if kind is _NUMBER:
            joined = "".join(texts)
            if "e" not in joined and "E" not in joined:
                if "." not in joined:
                    return list(map(int, texts))
                if joined.count(".") == len(texts):
                    return list(map(float, texts))
                return [float(text) if "." in text else int(text) for text in texts]
        elif kind is _DATE:
            seen = list(map(book.dates_seen.get, texts))
            if None not in seen:
                return seen
        elif kind is _SHARED:
            return list(map(book.shared.__getitem__, map(int, texts)))
    return [value(book, kind, style, text) for text in texts]


class Template:
    """A compiled row shape: its pattern, which values need converting, where cells go."""

    def __init__(self, pattern: str, kinds: list[tuple[Kind, str]], letters: list[str]) -> None:
        self.pattern = pattern
        self.fullmatch = re.compile(pattern).fullmatch
        self.kinds = kinds
        self.convert = [(i, k, s) for i, (k, s) in enumerate(kinds) if k is not Kind.TEXT]
        self.texts = [i for i, (k, _) in enumerate(kinds) if k is Kind.TEXT]
        columns = [column_index_from_string(letter) for letter in letters]
        self.columns = None if columns == list(range(1, len(columns) + 1)) else columns

    @classmethod
    def build(
        cls, seg: str, start: int, end: int, kind: Callable[[str], tuple[Kind, str]]
    ) -> Template | None:
        """The template of the row ``seg[start:]`` (its tag ends at ``end``), if it has one:
        a row number first in its tag and a value in each cell."""
        head = _ROW_HEAD.match(seg, start)
        if head is None:
            return None
        parts = [r'<row r="(\d+)"', re.escape(seg[head.end() : end + 1])]
        kinds: list[tuple[Kind, str]] = []
        letters: list[str] = []
        pos = end + 1
        for cell in CELL.finditer(seg, end + 1):
            ref = _REF.match(seg, cell.start())
            if cell.start(2) < 0 or ref is None:
                return None
            parts += [re.escape(seg[pos : cell.start()]), re.escape(f'<c r="{ref.group(1)}')]
            parts += [r"\d+", re.escape(seg[ref.end() - 1 : cell.start(2)]), "([^<]*)"]
            pos = cell.end(2)
            kinds.append(kind(cell.group(1)))
            letters.append(ref.group(1))
        parts.append(re.escape(seg[pos:]))
        return cls("".join(parts), kinds, letters) if kinds else None

    def block(
        self, texts: Callable[[int], Sequence[str]], escaped: bool, book: Book, fail: Fail
    ) -> ColumnBlock:
        """The rows this template matched, from the texts its groups took (``texts(0)``: the
        row numbers, ``texts(i)``: cell ``i - 1``'s; :mod:`~zmigrate.sources.xlsx_match`), a
        column converted only when it is first used (``escaped``: the rows hold entities). A
        text that is no value of its cell's type raises ``fail(row number, cell, error)``."""
        numbers = list(map(int, texts(0)))
        kinds = self.kinds

        def make(i: int) -> Sequence[Any]:
            kind, style = kinds[i]
            column = texts(i + 1)
            if kind is TEXT:
                return list(map(xml_text, column)) if escaped else column
            try:
                return _column(book, kind, style, column)
            except (ValueError, IndexError, OverflowError) as exc:
                for number, text in zip(numbers, column, strict=True):
                    try:
                        value(book, kind, style, text)
                    except (ValueError, IndexError, OverflowError):
                        raise fail(number, i, exc) from None
                raise

        return ColumnBlock(numbers, len(kinds), make)

    def row(self, groups: tuple[str, ...], book: Book, escaped: bool) -> list[Any]:
        """The values of a row this template matched (``groups``: number, then values)."""
        values: list[Any] = list(groups)
        del values[0]
        for i, kind, style in self.convert:
            text = values[i]
            if not text:
                values[i] = None
            elif kind is _NUMBER:
                values[i] = float(text) if "." in text or "E" in text or "e" in text else int(text)
            elif kind is _DATE:
                values[i] = book.dates_seen.get(text) or book.date_cell(style, text)
            else:
                values[i] = value(book, kind, style, text)
        if escaped:
            for i in self.texts:
                values[i] = xml_text(values[i])
        if self.columns is None:
            return values
        placed: list[Any] = [None] * max(self.columns)
        for column, v in zip(self.columns, values, strict=True):
            placed[column - 1] = v
        return placed
