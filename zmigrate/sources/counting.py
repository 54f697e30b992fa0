"""The planner's view of the sources: every file read once for all its steps, keys checked."""

from __future__ import annotations

from collections.abc import Sequence

from zmigrate.errors import ManifestError
from zmigrate.manifest import SourceKind, SourceSpec, Step, did_you_mean
from zmigrate.sources.duplicates import duplicate_hashes, report_duplicates, target_collisions
from zmigrate.sources.hashing import (
    GroupKey,
    KeyCheck,
    TargetCheck,
    group_key,
    hash_pass,
    target_checks,
)
from zmigrate.sources.model import KeyCollision, StepCount, source_label
from zmigrate.sources.readers import read_columns

_SourceIdent = tuple[object, ...]
"""A source as the steps read it: what is read (path, member, sheet, query) and how."""


def _ident(src: SourceSpec) -> _SourceIdent:
    return (src.kind, src.path, src.member, src.sheet, src.header_row, src.url, src.query) + (
        src.encoding,
        src.delimiter,
        src.quotechar,
    )


def scan(steps: Sequence[Step]) -> dict[str, StepCount]:
    """Count rows and records of every step's source, streaming each file once for all steps.

    Checks headers against the mapping, ragged rows, decoding, and that source keys are
    unique (ManifestError with the first duplicates). Zoho exports are not read: their count
    is the manifest's ``records`` estimate (0 when absent; the planner warns).
    """
    out: dict[str, StepCount] = {}
    by_file: dict[_SourceIdent, list[Step]] = {}
    for st in steps:
        src = st.source
        if not src.is_file:
            out[st.name] = StepCount(src.records or 0, src.records or 0, True)
            continue
        by_file.setdefault(_ident(src), []).append(st)
    for group in by_file.values():
        out.update(_scan_file(group))
    return out


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
                    file=source_label(source),
                    line=source.header_row if source.kind is SourceKind.XLSX else 1,
                    step=st.name,
                    field=used_by[0] if used_by else "source_key",
                    hint=did_you_mean(col, columns, "column"),
                )


def _scan_file(steps: list[Step]) -> dict[str, StepCount]:
    """One file read by one or more steps: its header, one pass, then the keys' duplicates."""
    source = steps[0].source
    label = steps[0].name if len(steps) == 1 else None
    columns = read_columns(source, label)
    _check_columns(source, columns, steps)
    checks: dict[GroupKey, KeyCheck] = {}
    for st in steps:
        if st.source_key:
            gk = group_key(st, columns)
            checks.setdefault(gk, KeyCheck(*gk))
    targets = [t for st in steps for t in target_checks(st, columns)]
    rows, checksum = hash_pass(source, label, columns, list(checks.values()), targets)
    _check_source_keys(steps, columns, checks)
    collisions = _collisions(targets)
    result = {}
    for st in steps:
        records = checks[group_key(st, columns)].records if st.source_key else rows
        found = collisions.get(st.name, {})
        shared = tuple(found[r] for r in sorted(found))
        result[st.name] = StepCount(rows, records, False, shared, checksum)
    return result


def _check_source_keys(
    steps: list[Step], columns: list[str], checks: dict[GroupKey, KeyCheck]
) -> None:
    """Raise ManifestError, naming lines, for the first source key that repeats."""
    for gk, check in checks.items():
        repeated = duplicate_hashes(check.hashes)
        check.hashes.close()  # free the memory and the file before the next key
        if repeated:
            owner = next(s for s in steps if s.source_key and group_key(s, columns) == gk)
            report_duplicates(owner, check.grouped, repeated)


def _collisions(targets: list[TargetCheck]) -> dict[str, dict[int, KeyCollision]]:
    """Per step, the records whose target key an earlier record has, by record index."""
    collisions: dict[str, dict[int, KeyCollision]] = {}
    shared: dict[int, set[int]] = {}  # steps keyed on one column share their hashes
    for target in targets:
        if id(target.hashes) not in shared:
            shared[id(target.hashes)] = duplicate_hashes(target.hashes)
            target.hashes.close()
        repeated = shared[id(target.hashes)]
        if repeated:
            found = collisions.setdefault(target.step.name, {})
            for c in target_collisions(target, repeated):
                found.setdefault(c.record, c)
    return collisions
