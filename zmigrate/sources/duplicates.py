"""Finding the keys a pass hashed more than once, and naming the records that share them.

Hashes only flag suspects; each suspect is confirmed by re-reading the step's records and
comparing the keys themselves, so a hash collision never fails a plan.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from zmigrate import mapping  # mapping imports sources.model; only called after both loaded
from zmigrate.errors import ManifestError
from zmigrate.manifest import FieldMap, OnDuplicateKey, SourceKind, Step
from zmigrate.sources.hashing import TargetCheck
from zmigrate.sources.model import KEY_SEPARATOR, KeyCollision, cell_text, row_key, source_label
from zmigrate.sources.readers import iter_records, iter_rows, read_columns
from zmigrate.sources.spill import Hashes

_SHOWN = 3
"""How many duplicates an error names."""


BITMAP_BITS = 1 << 27
"""The largest bitmap of :func:`duplicate_hashes` (16 MB)."""


def duplicate_hashes(hashes: Hashes, max_bits: int = BITMAP_BITS) -> set[int]:
    """The values that occur more than once in ``hashes``, in bounded memory.

    A bitmap (up to 64 bits a value, at most 16 MB) flags values whose bit was already set:
    the true repeats plus a few thousand bitmap collisions, which a count over the suspects
    weeds out. Past 2,000,000 values the bitmap has fewer than 64 bits a value, and a value
    is flagged only when a second bit (from other bits of its hash) was set too, which keeps
    the suspects of 10,000,000 values to tens of thousands. A set of a million ints would
    take ~80 MB; this takes ~9 MB and ~0.2 s a million.
    """
    size = 1 << max(16, min(max_bits.bit_length() - 1, (len(hashes) * 64 - 1).bit_length()))
    if len(hashes) * 64 > size:
        suspects = _two_bit_suspects(hashes, size)
    else:
        suspects = _one_bit_suspects(hashes, size)
    counts = dict.fromkeys(suspects, 0)
    del suspects
    for block in hashes.blocks():
        for h in block:
            if h in counts:
                counts[h] += 1
    return {h for h, n in counts.items() if n > 1}


def _one_bit_suspects(hashes: Hashes, size: int) -> set[int]:
    bits = bytearray(size >> 3)
    mask = size - 1
    suspects: set[int] = set()
    flag = suspects.add
    for block in hashes.blocks():
        for h in block:
            i = h & mask
            byte, bit = i >> 3, 1 << (i & 7)
            seen = bits[byte]
            if seen & bit:
                flag(h)
            else:
                bits[byte] = seen | bit
    return suspects


def _two_bit_suspects(hashes: Hashes, size: int) -> set[int]:
    """As :func:`_one_bit_suspects` with two bits a value (bits 0.. and 32.. of its hash)."""
    low, high = bytearray(size >> 3), bytearray(size >> 3)
    mask = size - 1
    suspects: set[int] = set()
    flag = suspects.add
    for block in hashes.blocks():
        for h in block:
            i, j = h & mask, (h >> 32) & mask
            a, abit, b, bbit = i >> 3, 1 << (i & 7), j >> 3, 1 << (j & 7)
            seen_a, seen_b = low[a], high[b]
            if seen_a & abit and seen_b & bbit:
                flag(h)
            else:
                low[a] = seen_a | abit
                high[b] = seen_b | bbit
    return suspects


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
