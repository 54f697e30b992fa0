"""Keys, lookups between files, and the order they imply. Pure.

The source key is a column whose values are present in every row and unique (or, for a
module with line items, repeat only in consecutive runs: one invoice, several lines). The
target key is a field Zoho can match records on (a unique field, or the module's name
field, CRM's default duplicate check) mapped from such a column. A column is a lookup when
every value of it is a key of another file and the module has a lookup field to that file's
module.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from zmigrate.init.guess import name_field, norm
from zmigrate.init.model import Level, LookupDraft, Note
from zmigrate.init.read import Profile
from zmigrate.init.values import KEY_CAP, Column, Order, hashed
from zmigrate.manifest import LINE_ITEMS, SHARED_LOOKUPS
from zmigrate.schema import Field, Module

_ID_ENDINGS = ("ref", "id", "no", "number", "code", "reference", "key", "sku")


def has_line_items(mod: Module) -> bool:
    return mod.field("line_items") is not None


def _id_like(name: str) -> bool:
    return norm(name).endswith(_ID_ENDINGS)


def source_key(profile: Profile, mod: Module, mapped: dict[str, str]) -> tuple[str | None, Note]:
    """The column naming a row (``mapped``: column -> field), and why; None with a FIX."""
    orders = {Order.UNIQUE, Order.GROUPED} if has_line_items(mod) else {Order.UNIQUE}
    found = [c for c in profile.columns if c.complete and c.order in orders]
    if not found:
        return None, Note(
            Level.FIX,
            "no column is present and unique in every row: add one and set "
            'source_key = ["..."] (plan needs a column naming each row)',
        )

    def rank(c: Column) -> tuple[int, int, int]:
        fld = mod.field(mapped.get(c.name, ""))
        grouped = c.order is Order.GROUPED and fld is not None and fld.unique
        return (-grouped, -_id_like(c.name), profile.columns.index(c))

    best = min(found, key=rank)
    others = [c.name for c in found if c is not best]
    how = (
        "repeats only on consecutive rows (one record, several lines)"
        if (best.order is Order.GROUPED)
        else "unique"
    )
    text = f"source key {best.name}: {how} and present in all {profile.rows} rows"
    if best.capped:
        text += f" (checked on the first {KEY_CAP:,} values; plan checks the rest)"
    if others:
        text += f"; also unique: {', '.join(others)}"
    return best.name, Note(Level.NOTE, text)


def target_key(
    profile: Profile, mod: Module, mapped: dict[str, str], key_column: str | None
) -> tuple[str | None, Note]:
    """The field the upsert matches records on, and why; None with a FIX."""
    line_items = has_line_items(mod)
    named = name_field(mod)
    ranked: list[tuple[int, str]] = []
    for column, name in mapped.items():
        fld = mod.field(name)
        col = profile.column(column)
        if fld is None or not col.complete:
            continue
        if not (fld.unique or name == named):
            continue
        if col.order is Order.UNIQUE or (line_items and col.order is Order.GROUPED):
            ranked.append((int(column != key_column) * 2 + int(not fld.unique), name))
    if not ranked:
        return None, Note(
            Level.FIX,
            f"no mapped field of {mod.product}:{mod.api_name} is unique in the data and one "
            'Zoho matches records on: set key = ["..."] (a unique field, or '
            f'{named or "the name field"}), or use operation = "insert"',
        )
    rank, name = min(ranked)
    why = "the record's name" if rank % 2 else "unique in the org"
    return name, Note(Level.NOTE, f"upsert key {name}: {why}, unique in the data")


def lookup_fields(mod: Module, other: Module) -> list[tuple[str, Field]]:
    """The lookup fields of ``mod`` (line items' too) that can hold a record of ``other``."""
    got = (other.product, other.api_name)
    out: list[tuple[str, Field]] = []
    fields = [(f.api_name, f) for f in mod.fields]
    line_items = mod.field("line_items")
    if line_items is not None:
        fields += [(f"{LINE_ITEMS}{s.api_name}", s) for s in line_items.subfields]
    for name, fld in fields:
        wants = [(mod.product, t) for t in fld.targets] if fld.is_lookup else []
        if any(got == w or SHARED_LOOKUPS.get(w) == got for w in wants):
            out.append((name, fld))
    return out


def _holds_keys(col: Column, keys: frozenset[int]) -> bool:
    return bool(col.sample) and all(hashed(v) in keys for v in col.sample)


def find_lookups(
    step: str,
    profile: Profile,
    mod: Module,
    others: Sequence[tuple[str, Profile, Module, str]],
    skip: set[str],
    skip_always: tuple[str, ...] = (),
) -> list[LookupDraft]:
    """Lookups of one file: ``others`` are (step, profile, module, source key) of the rest.

    ``skip``: columns mapped to fields, lookups only when their names say ids (a quantity's
    1..9 may also be another file's keys); ``skip_always``: the file's own source key.
    """
    out: list[LookupDraft] = []
    taken: set[str] = set()
    own = set(skip_always)
    columns = [
        c for c in profile.columns if c.name not in own and (c.name not in skip or _id_like(c.name))
    ]
    columns.sort(key=lambda c: -_id_like(c.name))  # stable: file order among equals
    for col in columns:
        hits = [
            (name, other_mod)
            for name, other, other_mod, key in others
            if name != step and (keys := other.column(key).keys) and _holds_keys(col, keys)
        ]
        rivals = tuple(name for name, _ in hits)
        for name, other_mod in hits:
            draft = _lookup(col, name, mod, other_mod, taken, rivals)
            if draft is not None:
                out.append(draft)
                taken.add(draft.target)
    return out


def _lookup(
    col: Column, step: str, mod: Module, other: Module, taken: set[str], rivals: tuple[str, ...]
) -> LookupDraft | None:
    """The lookup ``col`` makes to ``step``; commented out with a CHECK when its values are
    also keys of other steps (``rivals``) or two fields could take it."""
    fields = [(n, f) for n, f in lookup_fields(mod, other) if n not in taken]
    if not fields:
        return None
    stem = norm(col.name)
    for end in _ID_ENDINGS:
        stem = stem.removesuffix(end)

    def similarity(item: tuple[str, Field]) -> float:
        return difflib.SequenceMatcher(None, stem, norm(item[0].removeprefix(LINE_ITEMS))).ratio()

    fields.sort(key=similarity, reverse=True)
    notes: list[Note] = []
    optional = col.empty > 0
    if optional:
        notes.append(Note(Level.NOTE, f"'{col.name}' is empty on {col.empty} rows: optional"))
    if not col.sample_complete:
        notes.append(
            Note(Level.NOTE, f"'{col.name}' checked on its first {len(col.sample)} values")
        )
    tied = len(fields) > 1 and similarity(fields[0]) == similarity(fields[1])
    if len(rivals) > 1 or tied:
        text = (
            f"'{col.name}' could fill {', '.join(n for n, _ in fields)}"
            if tied
            else f"every value of '{col.name}' is a key of steps {' and '.join(rivals)}"
        ) + ": keep the right lookup and uncomment"
        return LookupDraft(
            fields[0][0], step, col.name, optional, False, (*notes, Note(Level.CHECK, text))
        )
    text = f"every value of '{col.name}' is a source key of step '{step}'"
    return LookupDraft(
        fields[0][0], step, col.name, optional, True, (*notes, Note(Level.NOTE, text))
    )


def run_order(names: Sequence[str], depends: dict[str, tuple[str, ...]]) -> list[str]:
    """Steps after the steps they look up, else in the order the files were given."""
    done: list[str] = []
    left = list(names)
    while left:
        ready = next((n for n in left if all(d in done for d in depends.get(n, ()))), left[0])
        done.append(ready)
        left.remove(ready)
    return done
