"""Finding the keys a pass hashed more than once, and naming the records that share them.

Hashes only flag suspects; each suspect is confirmed by re-reading the step's records and
comparing the keys themselves, so a hash collision never fails a plan.
"""

from __future__ import annotations

import numpy as np

from zmigrate import mapping  # mapping imports sources.model; only called after both loaded
from zmigrate.errors import ManifestError
from zmigrate.manifest import FieldMap, OnDuplicateKey, SourceKind, Step
from zmigrate.sources.hashing import TargetCheck
from zmigrate.sources.model import KEY_SEPARATOR, KeyCollision, cell_text, row_key, source_label
from zmigrate.sources.readers import iter_records, iter_rows, read_columns
from zmigrate.sources.spill import Hashes

_SHOWN = 3
"""How many duplicates an error names."""


SORT_VALUES = 1 << 21
"""The most hashes :func:`duplicate_hashes` sorts at a time (16 MB)."""


def duplicate_hashes(hashes: Hashes, part_values: int = SORT_VALUES) -> set[int]:
    """The values that occur more than once in ``hashes``, in bounded memory.

    numpy sorts them (a million in ~40 ms, where a Python loop over a bitmap took ~0.4 s,
    for every key of every pass). More than ``part_values`` are split by the low bits of the
    value into parts of about that size, each read back from disk and sorted on its own: a
    repeat always falls in one part, and 10,000,000 values take 8 parts of ~16 MB.
    """
    parts = 1 << ((max(1, len(hashes)) - 1) // part_values).bit_length()
    mask = parts - 1
    repeats: set[int] = set()
    for part in range(parts):
        chunks = []
        for block in hashes.blocks():
            values = np.frombuffer(block, dtype=np.int64)
            chunks.append(values[(values & mask) == part] if parts > 1 else values)
        values = np.concatenate(chunks)  # a copy: the views of the blocks go with ``chunks``
        del chunks
        values.sort()
        repeats.update(values[1:][values[1:] == values[:-1]].tolist())
    return repeats


def _source_key_duplicates(
    step: Step, grouped: bool, suspects: set[int]
) -> list[tuple[str, int, int]]:
    """The first repeated source keys among the suspects: ``(key, first line, line)``."""
    first: dict[str, int] = {}
    dups: list[tuple[str, int, int]] = []
    previous = None
    for line, row in iter_rows(step.source, step=step.name):
        key = row_key(step.source_key, row)
        if grouped:
            if key == previous:
                continue
            previous = key
        raw = tuple(cell_text(row.get(c)) for c in step.source_key)
        if hash(raw if len(raw) > 1 else raw[0]) not in suspects:
            continue
        if key not in first:
            first[key] = line
            continue
        dups.append((key, first[key], line))
        if len(dups) == _SHOWN:
            break
    return dups


def _cell(step: Step, columns: tuple[str | None, ...]) -> str | None:
    """A sheet's column letter for a key of one column (the error then names ``C17``)."""
    if step.source.kind is not SourceKind.XLSX or len(columns) != 1:
        return None
    from openpyxl.utils import get_column_letter  # openpyxl only for a sheet: start-up time

    header = read_columns(step.source, step.name)
    return get_column_letter(header.index(columns[0]) + 1) if columns[0] in header else None


def report_duplicates(step: Step, grouped: bool, suspects: set[int]) -> None:
    """Second pass for repeated hashes only: find the real duplicates and raise with lines."""
    dups = _source_key_duplicates(step, grouped, suspects)
    if not dups:
        return  # hash collisions only: the keys are unique
    shown = "; ".join(
        f"'{k.replace(KEY_SEPARATOR, ', ')}' on lines {a} and {b}" for k, a, b in dups
    )
    hint = "each record needs its own key: rows with the same key would overwrite each other"
    if grouped:
        hint = "line items: keep all rows of one record together, one after another"
    raise ManifestError(
        f"source key ({', '.join(step.source_key)}) is not unique: {shown}",
        file=source_label(step.source),
        line=dups[0][2],
        cell=_cell(step, step.source_key),
        step=step.name,
        field=", ".join(step.source_key),
        hint=hint,
    )


def target_collisions(check: TargetCheck, suspects: set[int]) -> list[KeyCollision]:
    """Second pass for repeated hashes only: the records whose key an earlier record has.

    With ``on_duplicate_key = "error"`` the first ones raise ManifestError naming both lines.
    """
    step = check.step
    name = ", ".join(f.target for f in check.fields)
    refuse = step.on_duplicate_key is OnDuplicateKey.ERROR
    first: dict[str, int] = {}
    found: list[KeyCollision] = []
    for n, record in enumerate(iter_records(step)):
        value = mapping.key_value(step, check.fields, record.rows[0])
        if value is None or hash(value) not in suspects:
            continue
        if value not in first:
            first[value] = record.line
            continue
        found.append(KeyCollision(n, record.line, first[value], name, value))
        if refuse and len(found) == _SHOWN:
            break
    if found and refuse:
        raise _target_key_error(step, check.fields, found)
    return found


def _target_key_error(
    step: Step, fields: tuple[FieldMap, ...], found: list[KeyCollision]
) -> ManifestError:
    name = ", ".join(f.target for f in fields)
    shown = "; ".join(
        f"'{c.value.replace(KEY_SEPARATOR, ', ')}' on lines {c.first_line} and {c.line}"
        for c in found
    )
    return ManifestError(
        f"target key ({name}) is not unique as Zoho compares it (after mapping, trimmed, "
        f"case-insensitive): {shown}",
        file=source_label(step.source),
        line=found[0].line,
        cell=_cell(step, tuple(f.column for f in fields)),
        step=step.name,
        field=name,
        hint="both rows would land on one Zoho record: make the keys differ, or set "
        "on_duplicate_key = 'dead-letter' (the first row lands) or 'merge' (one record, "
        "reported as merged)",
    )
