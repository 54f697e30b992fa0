"""The one streaming pass over a source file that hashes every key its steps must keep unique.

A pass counts rows and appends one 8-byte hash per record to a :class:`Hashes` per key
(spilled to disk every ``SPILL_ROWS`` rows): the source
key of each step (:class:`KeyCheck`) and each group of target-key fields Zoho matches on, as
Zoho compares them (:class:`TargetCheck`). ``duplicates`` then finds the repeated hashes and
re-reads only those records. A query's pass also folds every row into its checksum. The row
loop is the planner's hot path, so its work is sorted once into the shapes it handles
fastest and done a chunk of rows and a column at a time (:func:`_chunk_hasher`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any, TypeVar

from zmigrate import mapping  # mapping imports sources.model; only called after both loaded
from zmigrate.manifest import FieldMap, SourceKind, SourceSpec, Step
from zmigrate.sources.blocks import Block, RowBlock
from zmigrate.sources.model import cell_text
from zmigrate.sources.readers import Row, csv_chunks, iter_rows
from zmigrate.sources.spill import SPILL_ROWS, Hashes
from zmigrate.sources.sql import RowDigest, sql_batches, sql_rows

R = TypeVar("R")
GroupKey = tuple[tuple[int, ...], bool]
"""A source key as a pass sees it: its column indices, and whether rows run in groups."""


def _key_hash(key: tuple[str, ...]) -> int:
    return hash(key if len(key) > 1 else key[0])


@dataclass
class KeyCheck:
    """Hashes of one source key over one pass of a file; steps with the same key share it.

    Grouped (line items): a record is a run of consecutive rows with one key, hashed once.
    """

    index: tuple[int, ...]
    grouped: bool
    hashes: Hashes = field(default_factory=Hashes)
    records: int = 0
    previous: tuple[str, ...] | None = None

    def add(self, key: tuple[str, ...]) -> None:
        if self.grouped:
            if key == self.previous:
                return
            self.previous = key
        self.hashes.tail.append(_key_hash(key))


def group_key(step: Step, columns: list[str]) -> GroupKey:
    return tuple(columns.index(c) for c in step.source_key), step.line_items


@dataclass
class TargetCheck:
    """Hashes of one step's target key (as Zoho compares it) over one pass of a file."""

    step: Step
    fields: tuple[FieldMap, ...]
    index: tuple[tuple[str, int], ...]  # the key's source columns and their CSV positions
    group: tuple[int, ...]  # line items: source key columns (a record is a run of rows)
    column: int | None = None  # the key is this CSV column as is (the fast path)
    hashes: Hashes = field(default_factory=Hashes)
    previous: tuple[str, ...] | None = None

    def _new_record(self, run: tuple[str, ...]) -> bool:
        """Line items: True at the first row of a run (the record's header fields)."""
        if run == self.previous:
            return False
        self.previous = run
        return True

    def _add(self, value: str | None) -> None:
        if value is not None:
            self.hashes.tail.append(hash(value))

    def add_jsonl(self, obj: Row, columns: list[str]) -> None:
        if self.group and not self._new_record(
            tuple([cell_text(obj.get(columns[i])) for i in self.group])
        ):
            return
        self._add(mapping.key_value(self.step, self.fields, obj))

    def add_cells(self, row: Sequence[Any]) -> None:
        """A row by position (a CSV, a sheet, a query): only the key's own cells are read."""
        if self.group and not self._new_record(tuple([cell_text(row[i]) for i in self.group])):
            return
        self._add(mapping.key_value(self.step, self.fields, {c: row[i] for c, i in self.index}))


def target_checks(step: Step, columns: list[str]) -> list[TargetCheck]:
    """One check per group of key fields Zoho matches on (see ``mapping.key_groups``)."""
    group = tuple(columns.index(c) for c in step.source_key) if step.line_items else ()
    out = []
    for fields in mapping.key_groups(step):
        fm = fields[0]
        index = tuple((c, columns.index(c)) for c in dict.fromkeys(f.column for f in fields) if c)
        plain = len(fields) == 1 and fm.column and not (fm.transform or fm.values or fm.default)
        column = columns.index(fm.column) if plain and fm.column else None
        out.append(TargetCheck(step, fields, index, group, column=column))
    return out


def hash_pass(
    source: SourceSpec,
    step: str | None,
    columns: list[str],
    checks: list[KeyCheck],
    targets: list[TargetCheck],
) -> tuple[int, str | None]:
    """Stream the source once, hashing every key of ``checks`` and ``targets``.

    Returns the row count, and for a query the checksum of its rows (None for a file: its
    bytes are hashed instead).
    """
    checksum = None
    if source.kind is SourceKind.CSV:
        rows = _pass_csv(source, step, checks, targets)
    elif source.kind is SourceKind.SQL:
        digest = RowDigest()
        if len(set(columns)) == len(columns):
            rows = _pass_batches(sql_batches(source, step, digest), checks, targets)
        else:  # a query naming a column twice: its dict keeps the last one
            rows = _pass_rows(_sql_dicts(source, step, digest), columns, checks, targets)
        checksum = digest.hexdigest()
    elif source.kind is SourceKind.XLSX:  # a sheet's header names each column once
        from zmigrate.sources.xlsx import xlsx_blocks  # openpyxl only for a sheet

        blocks = xlsx_blocks(source, step)
        next(blocks)  # the header, checked by the reader
        rows = _pass_blocks(blocks, checks, targets)
    else:
        rows = _pass_rows(iter_rows(source, step=step), columns, checks, targets)
    for check in checks:
        check.records = len(check.hashes)
    return rows, checksum


def _sql_dicts(
    source: SourceSpec, step: str | None, digest: RowDigest
) -> Iterator[tuple[int, Row]]:
    rows = sql_rows(source, step, digest)
    _, header = next(rows)
    for line, cells in rows:
        yield line, dict(zip(header, cells, strict=True))


def _all_hashes(checks: list[KeyCheck], targets: list[TargetCheck]) -> list[Hashes]:
    return [*(c.hashes for c in checks), *(t.hashes for t in targets)]


def _in_blocks(rows: Iterator[R], spill: Iterable[Hashes]) -> Iterator[Iterator[R]]:
    """The pass's rows ``SPILL_ROWS`` at a time, every key's hashes spilled after each."""
    spill = {id(h): h for h in spill}.values()  # steps keyed on one column share one
    while True:
        block = islice(rows, SPILL_ROWS)
        first = next(block, None)
        if first is None:
            return
        yield chain((first,), block)
        for hashes in spill:
            hashes.spill()


def _pass_blocks(
    blocks: Iterable[Block], checks: list[KeyCheck], targets: list[TargetCheck]
) -> int:
    """Hash a pass's data rows a block at a time, every key's hashes spilled each
    ``SPILL_ROWS`` rows."""
    add = _chunk_hasher(checks, targets)  # made first: it shares the hashes of one column
    spill = {id(h): h for h in _all_hashes(checks, targets)}.values()
    count = 0
    for chunk in blocks:
        count += len(chunk)
        add(chunk)
        if count % SPILL_ROWS < len(chunk):  # crossed a multiple of SPILL_ROWS
            for hashes in spill:
                hashes.spill()
    return count


def _pass_csv(
    source: SourceSpec, step: str | None, checks: list[KeyCheck], targets: list[TargetCheck]
) -> int:
    blocks = (RowBlock((), rows) for rows in csv_chunks(source, step, CSV_CHUNK))
    return _pass_blocks(blocks, checks, targets)


CSV_CHUNK = 4096
"""Rows hashed together, a column at a time (rows are as wide as the header)."""


def _share_plain_columns(targets: list[TargetCheck]) -> dict[int, TargetCheck]:
    """Target keys that are a column as is, by column: hashed once for all their steps (each
    step's check takes the first one's hashes)."""
    plain: dict[int, TargetCheck] = {}
    for t in targets:
        if t.column is not None and not t.group:
            t.hashes = plain.setdefault(t.column, t).hashes
    return plain


def _pass_rows(
    source_rows: Iterator[tuple[int, Row]],
    columns: list[str],
    checks: list[KeyCheck],
    targets: list[TargetCheck],
) -> int:
    """A pass over rows as dicts (JSONL, a sheet, a query): their cells keep their types."""
    add = _dict_row_hasher(columns, checks, targets)
    rows = 0
    for block in _in_blocks(source_rows, _all_hashes(checks, targets)):
        for _, obj in block:
            rows += 1
            add(obj)
    return rows


def _dict_row_hasher(
    columns: list[str], checks: list[KeyCheck], targets: list[TargetCheck]
) -> Callable[[Row], None]:
    """The per-row work of a pass over dicts, each key sorted by shape once, before the rows.

    A target key that is a column as is: a text cell is hashed directly (trimmed, lower-cased,
    as ``mapping.key_value`` would give it); any other value goes through the mapping.
    """
    simple = [c for c in checks if len(c.index) == 1 and not c.grouped]
    single = [(columns[c.index[0]], c.hashes.tail.append) for c in simple]
    other_checks = [c for c in checks if c not in simple]
    shared = [(columns[i], t) for i, t in _share_plain_columns(targets).items()]
    other = [t for t in targets if t.column is None or t.group]

    def add(obj: Row) -> None:
        for name, append in single:
            append(hash(cell_text(obj.get(name))))
        for check in other_checks:
            check.add(tuple([cell_text(obj.get(columns[i])) for i in check.index]))
        for name, target in shared:
            value = obj.get(name)
            if isinstance(value, str):
                text = value.strip().lower()
                if text:
                    target.hashes.tail.append(hash(text))
            elif value is not None:
                target.add_jsonl(obj, columns)
        for target in other:
            target.add_jsonl(obj, columns)

    return add


def _pass_batches(
    batches: Iterator[list[tuple[Any, ...]]], checks: list[KeyCheck], targets: list[TargetCheck]
) -> int:
    """A query's rows as its driver hands them over, a batch at a time (the header first):
    no dict per row, no Python per row before the columns are hashed, and a cell becomes key
    text only where a key reads it (the same hashes as dicts)."""
    next(batches)  # the header, checked by the reader
    return _pass_blocks((RowBlock((), batch) for batch in batches), checks, targets)


def _texts(column: Sequence[Any]) -> Iterator[str]:
    """A column's cells as key parts (``cell_text``), in C when every cell is a ``str``."""
    return map(str.strip, column) if set(map(type, column)) == {str} else map(cell_text, column)


def _chunk_hasher(checks: list[KeyCheck], targets: list[TargetCheck]) -> Callable[[Block], None]:
    """The work of a pass on a chunk of rows (a CSV's, a sheet's, a query's), each key sorted
    by shape once, before the rows. A key of plain columns is hashed a column at a time by
    C-level ``map`` when the column's cells are all ``str`` (a CSV's always are: a Python loop
    per row and key took most of a plan's time); other cells go through ``cell_text`` (keys)
    or the mapping (target keys), as for dicts; the rest row by row."""
    flat = [c for c in checks if not c.grouped]
    grouped = [c for c in checks if c.grouped]
    plain = _share_plain_columns(targets)
    other = [t for t in targets if t.column is None or t.group]
    used = sorted({i for check in flat for i in check.index} | set(plain))

    def add(chunk: Block) -> None:
        columns = {i: chunk.column(i) for i in used}
        for check in flat:
            cells = [_texts(columns[i]) for i in check.index]
            keys = cells[0] if len(cells) == 1 else zip(*cells, strict=True)
            check.hashes.tail.extend(map(hash, keys))
        for i, target in plain.items():
            column = columns[i]
            if set(map(type, column)) == {str}:
                texts = filter(None, map(str.lower, map(str.strip, column)))
                target.hashes.tail.extend(map(hash, texts))
                continue
            for value, row in zip(column, chunk.rows, strict=True):
                if isinstance(value, str):
                    if text := value.strip().lower():
                        target.hashes.tail.append(hash(text))
                elif value is not None:
                    target.add_cells(row)
        if grouped or other:
            for row in chunk.rows:
                for check in grouped:
                    check.add(tuple([cell_text(row[i]) for i in check.index]))
                for target in other:
                    target.add_cells(row)

    return add
