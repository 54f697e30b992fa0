"""A run of rows as readers hand it on: by row, or by column for a sheet of one shape.

The planner's pass reads only the columns its keys use, a column at a time. Rows read one by
one (a CSV's, a query's, a sheet's of mixed shapes) give it each column by ``itemgetter``; a
chunk of a sheet matched by one template (:mod:`~zmigrate.sources.xlsx_match`) already comes
as columns of texts, and a :class:`ColumnBlock` turns a column into values only when it is
first asked for, so the columns no key reads are never converted, and rows are only made for
who wants rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any


class RowBlock:
    """Rows as they are, with their numbers (none for a pass that does not locate rows)."""

    def __init__(self, numbers: Sequence[int], rows: Sequence[Sequence[Any]]) -> None:
        self.numbers = numbers
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, index: int) -> list[Any]:
        return list(map(itemgetter(index), self.rows))

    def widths(self) -> set[int]:
        return set(map(len, self.rows))


class ColumnBlock:
    """Rows of one shape as ``width`` columns, each made by ``make(index)`` when first used."""

    def __init__(
        self, numbers: Sequence[int], width: int, make: Callable[[int], Sequence[Any]]
    ) -> None:
        self.numbers = numbers
        self._width = width
        self._make = make
        self._columns: dict[int, Sequence[Any]] = {}
        self._rows: list[tuple[Any, ...]] | None = None

    def __len__(self) -> int:
        return len(self.numbers)

    def column(self, index: int) -> Sequence[Any]:
        found = self._columns.get(index)
        if found is None:
            found = self._columns[index] = self._make(index)
        return found

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            self._rows = list(zip(*map(self.column, range(self._width)), strict=True))
        return self._rows

    def widths(self) -> set[int]:
        return {self._width} if self.numbers else set()


Block = RowBlock | ColumnBlock
"""A run of rows: their numbers, their values by row (``rows``) and by column (``column``)."""
