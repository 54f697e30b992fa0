"""What a column's values say, learnt in one streaming pass with capped memory.

:class:`ColumnStats` takes every cell of one column in file order and keeps: how many cells
are present, whether the values are unique or only repeat in consecutive runs (line items),
the first distinct values (a sample, for picklists and lookups), and which date, datetime
and number spellings every value fits. :meth:`ColumnStats.finish` turns that into a frozen
:class:`Column`. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from hashlib import blake2b
from typing import Any

SAMPLE_CAP = 1000
"""Distinct values kept per column (picklists, lookups between files)."""
KEY_CAP = 500_000
"""Distinct values tracked per column while it is unique (a column leaves the tracking at its
first repeated value, so only key-like columns stay: ids, e-mails, names). Past the cap the
column counts as unique from what was seen (plan's scan checks every row) and other files'
lookups to it are not looked for."""

DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%d/%m/%y",
    "%m/%d/%y",
)
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
)
ISO = ""
"""The datetime "format" of ISO 8601 text (the transform's default: no ``format``)."""

_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d\d(:\d\d)?.*)?$")
_INT = re.compile(r"^[+-]?\d+$")
_DOT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+(\.\d+)?|\d+\.\d+|\d{1,3}(,\d{3}){2,})$")
_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+(,\d+)?|\d+,\d+|\d{1,3}(\.\d{3}){2,})$")
_BOOLEANS = frozenset({"true", "false", "yes", "no", "y", "n", "t", "f", "1", "0"})


class Order(StrEnum):
    """How a column's values repeat (compared trimmed and case-insensitive, as Zoho does)."""

    UNIQUE = "unique"  # no value twice
    GROUPED = "grouped"  # a value repeats only in one run of consecutive rows (line items)
    REPEATED = "repeated"  # anything else


class Decimal(StrEnum):
    """Which mark separates a number's decimals, as far as the values tell."""

    NONE = "none"  # not numbers (or integers only)
    DOT = "."
    COMMA = ","
    AMBIGUOUS = "ambiguous"  # only values such as 1,250 (a thousand and more, or 1.25?)


@dataclass(frozen=True)
class Column:
    """One column as the pass saw it."""

    name: str
    present: int  # non-empty cells
    empty: int
    order: Order
    capped: bool  # past KEY_CAP distinct values: ``order`` holds for those seen
    sample: tuple[str, ...]  # the first distinct values, in file order
    sample_complete: bool  # the sample holds every distinct value
    dates: tuple[str, ...]  # date formats every value fits
    datetimes: tuple[str, ...]  # datetime formats every value fits (ISO: "")
    numeric: bool  # every value is a number (some spelling of one)
    decimal: Decimal
    booleans: bool  # every value is a boolean word (true/yes/y/1 ...)
    keys: frozenset[int] | None = field(default=None, repr=False, compare=False)
    """Every value, hashed, of a unique or grouped column (None past KEY_CAP)."""

    @property
    def complete(self) -> bool:
        """Present in every row."""
        return self.empty == 0 and self.present > 0


def hashed(text: str) -> int:
    """A value as keys are compared (trimmed, case-insensitive), in 8 bytes."""
    return int.from_bytes(blake2b(text.casefold().encode(), digest_size=8).digest(), "big")


def cell(value: Any) -> str:
    """A cell as text: strings trimmed, None empty, JSON values as JSON writes them, a typed
    date-time (a sheet's, a database's) in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return value.strip() if isinstance(value, str) else str(value)


class ColumnStats:
    """The running statistics of one column (see the module's docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.present = 0
        self.empty = 0
        self.order = Order.UNIQUE
        self.capped = False
        self._seen: set[int] | None = set()
        self._previous: int | None = None
        self._sample: dict[str, None] = {}
        self._overflow = False
        self._dates = list(DATE_FORMATS)
        self._datetimes = [*DATETIME_FORMATS, ISO]
        self._numeric = True
        self._dot = self._comma = self._ambiguous = False
        self._booleans = True

    def add(self, value: Any) -> None:
        text = cell(value)
        if not text:
            self.empty += 1
            return
        self.present += 1
        if self._seen is not None:  # a repeated (or capped) column's order is settled
            self._track_order(hashed(text))
        if text in self._sample:
            return  # a value seen before says nothing new about formats
        if len(self._sample) < SAMPLE_CAP:
            self._sample[text] = None
        else:
            self._overflow = True
        self._booleans = self._booleans and text.casefold() in _BOOLEANS
        if isinstance(value, int | float) and not isinstance(value, bool):
            self._dot = self._dot or isinstance(value, float)
            self._dates = self._datetimes = []
            return
        self._track_number(text)
        self._track_dates(text)

    def _track_order(self, h: int) -> None:
        seen = self._seen
        assert seen is not None
        if h == self._previous:
            if self.order is Order.UNIQUE:
                self.order = Order.GROUPED
            return
        self._previous = h
        if h in seen:
            self.order, self._seen = Order.REPEATED, None
        elif len(seen) >= KEY_CAP:
            self.capped, self._seen = True, None
        else:
            seen.add(h)

    def _track_number(self, text: str) -> None:
        if not self._numeric:
            return
        plain = text.replace(" ", "").replace("\u00a0", "")
        if _INT.match(plain):
            return
        dot, comma = bool(_DOT.match(plain)), bool(_COMMA.match(plain))
        if not (dot or comma):
            self._numeric = False
        elif dot and comma:
            self._ambiguous = True
        elif dot:
            self._dot = True
        else:
            self._comma = True

    def _track_dates(self, text: str) -> None:
        if not (self._dates or self._datetimes):
            return
        if not _DATE_LIKE.match(text):
            self._dates = self._datetimes = []
            return
        self._dates = [f for f in self._dates if _parses(text, f)]
        self._datetimes = [f for f in self._datetimes if _parses(text, f)]

    def finish(self) -> Column:
        numeric = self._numeric and self.present > 0 and not (self._dot and self._comma)
        if not numeric or not (self._dot or self._comma or self._ambiguous):
            decimal = Decimal.NONE
        elif self._dot or self._comma:
            decimal = Decimal.DOT if self._dot else Decimal.COMMA
        else:
            decimal = Decimal.AMBIGUOUS
        some = self.present > 0
        return Column(
            name=self.name,
            present=self.present,
            empty=self.empty,
            order=self.order,
            capped=self.capped,
            sample=tuple(self._sample),
            sample_complete=not self._overflow,
            dates=tuple(self._dates) if some else (),
            datetimes=tuple(self._datetimes) if some else (),
            numeric=numeric,
            decimal=decimal,
            booleans=self._booleans and some,
            keys=frozenset(self._seen) if self._seen is not None else None,
        )


def _parses(text: str, fmt: str) -> bool:
    try:
        if fmt == ISO:
            return "T" in text and bool(datetime.fromisoformat(text))
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True
