"""Streaming readers for step sources (CSV and JSONL), in bounded memory whatever the size.

Two consumers:

- the executor, through :func:`iter_rows` (``(line, row)`` pairs) and :func:`iter_records`
  (one :class:`SourceRecord` per target record: a single row, or for line-item steps the run
  of consecutive rows sharing a source key);
- the planner, through :func:`scan`, which streams each distinct source file exactly once for
  all the steps reading it: it checks the header against every column the steps use, counts
  rows and records, and checks that each step's source key is unique (keys are kept as 8-byte
  hashes in an ``array``, and only suspected duplicates are re-read to report them exactly),
  and that no two records share a target key as Zoho compares it (after mapping, trimmed,
  case-insensitive; see ``mapping.key_value``), hashed the same way in the same pass.

A Zoho-export source (``source = { zoho = "crm:Accounts" }``) has no file before the run: the
executor exports it to a CSV and reads that with ``iter_rows(file_source(path))``; the planner
uses the manifest's ``records`` estimate instead.

Every problem raises :class:`~zmigrate.errors.ManifestError` naming the source file, its line,
the step and the column.
"""

from __future__ import annotations

import csv
import io
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from zmigrate.errors import ManifestError
from zmigrate.manifest import FieldMap, OnDuplicateKey, SourceSpec, Step, did_you_mean, display_path

KEY_SEPARATOR = "\x1f"
"""Joins the values of a composite source key into one string."""

_BUFFER = 1 << 20
MAX_CELL = 64 << 20
"""Largest CSV cell read (characters). The csv module's default, 128 KiB, ended the whole plan
on one long note; Zoho fields hold far less than this, so a big cell reaches the mapping and
is dead-lettered with its line and field. A bigger one is nearly always an unclosed quote."""


@dataclass(frozen=True)
class SourceRecord:
    """One target record's worth of source: its first line, source key and row(s)."""

    line: int
    key: str
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class KeyCollision:
    """A record whose target key an earlier record of its step already has."""

    record: int  # its index among the step's records (as the executor numbers them)
    line: int
    first_line: int  # the line of the earlier record with that key
    field: str  # the key field(s)
    value: str  # the key as Zoho compares it (trimmed, lower-cased)


@dataclass(frozen=True)
class StepCount:
    """What the planner learns about one step's source."""

    rows: int
    records: int
    estimated: bool  # True for a Zoho export (from the manifest's ``records``), False if counted
    collisions: tuple[KeyCollision, ...] = ()
    """Records sharing a target key with an earlier one (their step has a non-error
    ``on_duplicate_key``; otherwise ``scan`` raises)."""


def file_source(path: str | Path, kind: str = "csv", encoding: str = "utf-8") -> SourceSpec:
    """A file source for a path, e.g. the CSV a Zoho export was written to at run time."""
    return SourceSpec(kind, 0, path=Path(path), encoding=encoding)


def row_key(columns: Sequence[str], row: dict[str, Any]) -> str:
    """The source key of a row: its values in ``columns``, joined (the id cross-reference key)."""
    if len(columns) == 1:
        return _text(row.get(columns[0]))
    return KEY_SEPARATOR.join(_text(row.get(c)) for c in columns)


def _text(value: Any) -> str:
    return "" if value is None else value.strip() if isinstance(value, str) else str(value)


def _open_binary(source: SourceSpec, step: str | None) -> BinaryIO:
    """Open a source file; a missing one is reported at the manifest line that names it."""
    assert source.path is not None
    try:
        return open(source.path, "rb", buffering=_BUFFER)  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise ManifestError(
            f"cannot open source file {display_path(source.path)}: {exc.strerror}",
            file=source.origin or display_path(source.path),
            line=source.line or None,
            step=step,
            field="source",
            hint="relative paths start at the manifest's folder",
        ) from None


def _open_text(source: SourceSpec, step: str | None) -> io.TextIOWrapper:
    assert source.path is not None
    raw = _open_binary(source, step)
    return io.TextIOWrapper(raw, encoding=source.encoding, newline="")


def _decode_error(source: SourceSpec, step: str | None, exc: UnicodeDecodeError) -> ManifestError:
    """Locate an undecodable byte by re-reading the file line by line (error path only)."""
    assert source.path is not None
    line = 0
    with open(source.path, "rb") as fh:
        for line, raw in enumerate(fh, 1):  # noqa: B007 - line is used after the loop
            try:
                raw.decode(source.encoding)
            except UnicodeDecodeError as bad:
                byte = raw[bad.start : bad.start + 1].hex()
                return ManifestError(
                    f"byte 0x{byte} at column {bad.start + 1} is not valid {source.encoding}",
                    file=display_path(source.path),
                    line=line,
                    step=step,
                    field="encoding",
                    hint="name the file's encoding in the step's source, e.g. source = { file = "
                    f'"{source.path.name}", encoding = "latin-1" }} (or "cp1252")',
                )
    return ManifestError(
        f"not valid {source.encoding}: {exc.reason}",
        file=display_path(source.path),
        line=line or None,
        step=step,
        field="encoding",
    )


def _header(reader: Iterator[list[str]], source: SourceSpec, step: str | None) -> list[str]:
    header = next(reader, None)
    if not header:
        raise ManifestError(
            "the file is empty: expected a header row",
            file=display_path(source.path),
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
                file=display_path(source.path),
                line=1,
                step=step,
                field=name,
            )
        seen.add(name)
    return header


def _ragged(source: SourceSpec, step: str | None, line: int, got: int, want: int) -> ManifestError:
    return ManifestError(
        f"row has {got} fields, the header has {want}",
        file=display_path(source.path),
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
        f"bad CSV: {exc}", file=display_path(source.path), line=line, step=step, hint=hint
    )


def _jsonl_object(source: SourceSpec, step: str | None, line: int, text: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as bad:  # not JSON's fault: the file's encoding is another
            raise _decode_error(source, step, bad) from None
        raise ManifestError(
            f"not valid JSON: {exc}",
            file=display_path(source.path),
            line=line,
            step=step,
            hint="each line holds one JSON object",
        ) from None
    if not isinstance(obj, dict):
        raise ManifestError(
            f"expected a JSON object, got {type(obj).__name__}",
            file=display_path(source.path),
            line=line,
            step=step,
            hint="each line holds one JSON object",
        )
    return obj


def _iter_jsonl(source: SourceSpec, step: str | None) -> Iterator[tuple[int, dict[str, Any]]]:
    assert source.path is not None
    with _open_binary(source, step) as fh:
        for line, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            if source.encoding.replace("-", "").lower() not in ("utf8", "utf8sig"):
                try:
                    raw = raw.decode(source.encoding).encode()
                except UnicodeDecodeError as exc:
                    raise _decode_error(source, step, exc) from None
            yield line, _jsonl_object(source, step, line, raw.removeprefix(b"\xef\xbb\xbf"))


def iter_rows(source: SourceSpec, *, step: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield ``(line, row)`` for every data row of a CSV/JSONL source, in file order.

    CSV rows map header names to strings; JSONL rows are the decoded objects. ``line`` is the
    1-based line where the row ends (a quoted field may span lines). Raises ManifestError for
    a missing file, a bad header, a ragged row, invalid JSON or undecodable bytes.
    """
    if source.kind == "jsonl":
        yield from _iter_jsonl(source, step)
        return
    if source.kind != "csv":
        raise ManifestError(
            f"a {source.describe()} export has no file before the run",
            step=step,
            hint="read the exported CSV with file_source(path)",
        )
    with _open_text(source, step) as fh:
        try:
            reader = _csv_reader(fh, source)
            header = _header(reader, source, step)
            width = len(header)
            for row in reader:
                if len(row) != width:
                    if not row:
                        continue
                    raise _ragged(source, step, reader.line_num, len(row), width)
                yield reader.line_num, dict(zip(header, row, strict=True))
        except UnicodeDecodeError as exc:
            raise _decode_error(source, step, exc) from None
        except csv.Error as exc:
            raise _csv_error(source, step, reader.line_num, exc) from None


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
    group: list[dict[str, Any]] = []
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
    """The column names of a file source: the CSV header, or the first JSONL object's keys."""
    if source.kind == "jsonl":
        for _, obj in _iter_jsonl(source, step):
            return list(obj)
        raise ManifestError(
            "the file is empty: expected JSON objects",
            file=display_path(source.path),
            line=1,
            step=step,
        )
    with _open_text(source, step) as fh:
        try:
            return _header(_csv_reader(fh, source), source, step)
        except UnicodeDecodeError as exc:
            raise _decode_error(source, step, exc) from None


def _check_columns(source: SourceSpec, columns: list[str], steps: Sequence[Step]) -> None:
    have = set(columns)
    for st in steps:
        for col in st.columns:
            if col not in have:
                used_by = [f.target for f in st.fields if f.column == col]
                used_by += [lk.target for lk in st.lookups if col in lk.columns]
                raise ManifestError(
                    f"no column '{col}' in the source (mapped to "
                    f"{', '.join(used_by) or 'the source key'})",
                    file=display_path(source.path),
                    line=1,
                    step=st.name,
                    field=used_by[0] if used_by else "source_key",
                    hint=did_you_mean(col, columns, "column"),
                )


@dataclass
class _KeyCheck:
    """Hashes of one key (column indices, grouped or not) over one pass of a file."""

    index: tuple[int, ...]
    grouped: bool
    hashes: array
    records: int = 0


def _group_key(step: Step, columns: list[str]) -> tuple:
    return (tuple(columns.index(c) for c in step.source_key), step.line_items)


def scan(steps: Sequence[Step]) -> dict[str, StepCount]:
    """Count rows and records of every step's source, streaming each file once for all steps.

    Checks headers against the mapping, ragged rows, decoding, and that source keys are
    unique (ManifestError with the first duplicates). Zoho exports are not read: their count
    is the manifest's ``records`` estimate (0 when absent; the planner warns).
    """
    out: dict[str, StepCount] = {}
    by_file: dict[tuple, list[Step]] = {}
    for st in steps:
        src = st.source
        if not src.is_file:
            out[st.name] = StepCount(src.records or 0, src.records or 0, True)
            continue
        ident = (src.path, src.kind, src.encoding, src.delimiter, src.quotechar)
        by_file.setdefault(ident, []).append(st)
    for group in by_file.values():
        out.update(_scan_file(group))
    return out


def _scan_file(steps: list[Step]) -> dict[str, StepCount]:
    source = steps[0].source
    label = steps[0].name if len(steps) == 1 else None
    columns = read_columns(source, label)
    _check_columns(source, columns, steps)
    checks: dict[tuple, _KeyCheck] = {}
    for st in steps:
        if st.source_key:
            gk = _group_key(st, columns)
            checks.setdefault(gk, _KeyCheck(gk[0], gk[1], array("q")))
    targets = [t for st in steps for t in _target_checks(st, columns)]
    rows = (
        _pass_jsonl(source, label, columns, list(checks.values()), targets)
        if source.kind == "jsonl"
        else _pass_csv(source, label, list(checks.values()), targets)
    )
    for gk, check in checks.items():
        repeated = duplicate_hashes(check.hashes)
        check.hashes = array("q")  # free the memory before the next key
        if repeated:
            owner = next(s for s in steps if s.source_key and _group_key(s, columns) == gk)
            _report_duplicates(owner, check.grouped, repeated)
    collisions: dict[str, dict[int, KeyCollision]] = {}
    shared: dict[int, set[int]] = {}  # steps keyed on the same column share one array
    for target in targets:
        if id(target.hashes) not in shared:
            shared[id(target.hashes)] = duplicate_hashes(target.hashes)
        repeated = shared[id(target.hashes)]
        if repeated:
            found = collisions.setdefault(target.step.name, {})
            for c in _target_collisions(target, repeated):
                found.setdefault(c.record, c)
    result = {}
    for st in steps:
        records = rows
        if st.source_key:
            records = checks[_group_key(st, columns)].records
        found = collisions.get(st.name, {})
        result[st.name] = StepCount(rows, records, False, tuple(found[r] for r in sorted(found)))
    return result


@dataclass
class _TargetCheck:
    """Hashes of one step's target key (as Zoho compares it) over one pass of a file."""

    step: Step
    fields: tuple[FieldMap, ...]
    read: Callable[[Sequence[str]], str | None]  # a CSV row's key, or None (empty)
    group: tuple[int, ...]  # line items: source key columns (a record is a run of rows)
    column: int | None = None  # the key is this CSV column as is (the fast path)
    hashes: array = field(default_factory=lambda: array("q"))
    previous: tuple | None = None


def _target_checks(step: Step, columns: list[str]) -> list[_TargetCheck]:
    """One check per group of key fields Zoho matches on (see ``mapping.key_groups``)."""
    from zmigrate import mapping  # noqa: PLC0415 - mapping imports this module

    group = tuple(columns.index(c) for c in step.source_key) if step.line_items else ()
    out = []
    for fields in mapping.key_groups(step):
        fm = fields[0]
        index = [(c, columns.index(c)) for c in dict.fromkeys(f.column for f in fields) if c]

        def read(
            row: Sequence[str], fields: tuple[FieldMap, ...] = fields, index: list = index
        ) -> str | None:
            return mapping.key_value(step, fields, {c: row[i] for c, i in index})

        plain = len(fields) == 1 and fm.column and not (fm.transform or fm.values or fm.default)
        column = columns.index(fm.column) if plain and fm.column else None
        out.append(_TargetCheck(step, fields, read, group, column=column))
    return out


def _target_collisions(check: _TargetCheck, suspects: set[int]) -> list[KeyCollision]:
    """Second pass for repeated hashes only: the records whose key an earlier record has.

    With ``on_duplicate_key = "error"`` the first ones raise ManifestError naming both lines.
    """
    from zmigrate import mapping  # noqa: PLC0415 - mapping imports this module

    step = check.step
    name = ", ".join(f.target for f in check.fields)
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
        if step.on_duplicate_key is OnDuplicateKey.ERROR and len(found) == 3:
            break
    if found and step.on_duplicate_key is OnDuplicateKey.ERROR:
        shown = "; ".join(
            f"'{c.value.replace(KEY_SEPARATOR, ', ')}' on lines {c.first_line} and {c.line}"
            for c in found
        )
        raise ManifestError(
            f"target key ({name}) is not unique as Zoho compares it (after mapping, trimmed, "
            f"case-insensitive): {shown}",
            file=display_path(step.source.path),
            line=found[0].line,
            step=step.name,
            field=name,
            hint="both rows would land on one Zoho record: make the keys differ, or set "
            "on_duplicate_key = 'dead-letter' (the first row lands) or 'merge' (one record, "
            "reported as merged)",
        )
    return found


def _pass_csv(
    source: SourceSpec, step: str | None, checks: list[_KeyCheck], targets: list[_TargetCheck]
) -> int:
    """One streaming pass: count rows, check widths, hash keys. Returns the row count."""
    rows = 0
    with _open_text(source, step) as fh:
        try:
            reader = _csv_reader(fh, source)
            width = len(_header(reader, source, step))
            single = [
                (c.index[0], c.hashes.append) for c in checks if len(c.index) == 1 and not c.grouped
            ]
            multi = [
                (c.index, c.hashes.append) for c in checks if len(c.index) > 1 and not c.grouped
            ]
            grouped = [c for c in checks if c.grouped]
            previous: list[Any] = [None] * len(grouped)
            plain: dict[int, array] = {}  # a key column as is, hashed once for all its steps
            for t in targets:
                if t.column is not None and not t.group:
                    t.hashes = plain.setdefault(t.column, t.hashes)
            plain_keys = [(i, hashes.append) for i, hashes in plain.items()]
            other = [t for t in targets if t.column is None or t.group]
            for row in reader:
                if len(row) != width:
                    if not row:
                        continue
                    raise _ragged(source, step, reader.line_num, len(row), width)
                rows += 1
                for i, append in single:
                    append(hash(row[i].strip()))
                for idx, append in multi:
                    append(hash(tuple([row[i].strip() for i in idx])))
                for n, check in enumerate(grouped):
                    key = tuple([row[i].strip() for i in check.index])
                    if key != previous[n]:
                        previous[n] = key
                        check.hashes.append(hash(key if len(key) > 1 else key[0]))
                for i, append in plain_keys:
                    text = row[i].strip().lower()
                    if text:
                        append(hash(text))
                for target in other:
                    if target.group:
                        run = tuple([row[i].strip() for i in target.group])
                        if run == target.previous:
                            continue
                        target.previous = run
                    value = target.read(row)
                    if value is not None:
                        target.hashes.append(hash(value))
        except UnicodeDecodeError as exc:
            raise _decode_error(source, step, exc) from None
        except csv.Error as exc:
            raise _csv_error(source, step, reader.line_num, exc) from None
    for check in checks:
        check.records = len(check.hashes)
    return rows


def _pass_jsonl(
    source: SourceSpec,
    step: str | None,
    columns: list[str],
    checks: list[_KeyCheck],
    targets: list[_TargetCheck],
) -> int:
    from zmigrate.mapping import key_value  # noqa: PLC0415 - mapping imports this module

    rows = 0
    previous: list[Any] = [None] * len(checks)
    for _, obj in _iter_jsonl(source, step):
        rows += 1
        for target in targets:
            if target.group:
                run = tuple([_text(obj.get(columns[i])) for i in target.group])
                if run == target.previous:
                    continue
                target.previous = run
            value = key_value(target.step, target.fields, obj)
            if value is not None:
                target.hashes.append(hash(value))
        for n, check in enumerate(checks):
            key = tuple([_text(obj.get(columns[i])) for i in check.index])
            if check.grouped:
                if key == previous[n]:
                    continue
                previous[n] = key
            check.hashes.append(hash(key if len(key) > 1 else key[0]))
    for check in checks:
        check.records = len(check.hashes)
    return rows


def duplicate_hashes(hashes: array) -> set[int]:
    """The values that occur more than once in ``hashes``, in bounded memory.

    A bitmap of 64 bits per value (at most 16 MB) flags values whose bit was already set:
    the true repeats plus a few thousand bitmap collisions, which a count over the suspects
    weeds out. A set of a million ints would take ~80 MB; this takes ~9 MB and ~0.2 s.
    """
    size = 1 << max(16, min(27, (len(hashes) * 64 - 1).bit_length()))
    bits = bytearray(size >> 3)
    mask = size - 1
    suspects: set[int] = set()
    flag = suspects.add
    for h in hashes:
        i = h & mask
        byte, bit = i >> 3, 1 << (i & 7)
        seen = bits[byte]
        if seen & bit:
            flag(h)
        else:
            bits[byte] = seen | bit
    del bits
    counts = dict.fromkeys(suspects, 0)
    for h in hashes:
        if h in counts:
            counts[h] += 1
    return {h for h, n in counts.items() if n > 1}


def _report_duplicates(step: Step, grouped: bool, suspects: set[int]) -> None:
    """Second pass for repeated hashes only: find the real duplicates and raise with lines."""
    first: dict[str, int] = {}
    dups: list[tuple[str, int, int]] = []
    previous = None
    for line, row in iter_rows(step.source, step=step.name):
        key = row_key(step.source_key, row)
        if grouped:
            if key == previous:
                continue
            previous = key
        raw = tuple(_text(row.get(c)) for c in step.source_key)
        if hash(raw if len(raw) > 1 else raw[0]) not in suspects:
            continue
        if key in first:
            dups.append((key, first[key], line))
            if len(dups) == 3:
                break
        else:
            first[key] = line
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
        file=display_path(step.source.path),
        line=dups[0][2],
        step=step.name,
        field=", ".join(step.source_key),
        hint=hint,
    )
