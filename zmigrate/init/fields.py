"""How a matched column is written: its transform and format, told from its values. Pure.

A date's format is the one every value fits (``31/01/2024`` settles ``%d/%m/%Y``); when two
fit every value (no day past the 12th), the mapping is written as a comment naming both,
never guessed. The same goes for numbers whose decimal mark the values do not settle
(``1,250``), for values that are not what the field holds, and for picklist values the org
lacks with no near value to suggest.
"""

from __future__ import annotations

import difflib

from zmigrate.init.guess import Match, norm
from zmigrate.init.model import FieldDraft, Level, Note
from zmigrate.init.values import ISO, Column, Decimal
from zmigrate.schema import NUMERIC, Field, FieldType, OrgSchema

PICKLIST_CAP = 50
"""More distinct values than this: the column is not checked against a picklist."""


def draft_field(match: Match, fld: Field, col: Column) -> FieldDraft:
    """The mapping of ``col`` to ``fld`` (``match.field``), with what its values say."""
    base = FieldDraft(match.field, match.column, match.how)
    if col.present == 0:  # nothing to learn from; a file without rows keeps the mapping
        return _off(base, Level.NOTE, f"'{col.name}' is empty in every row") if col.empty else base
    kind = fld.data_type
    if kind in (FieldType.DATE, FieldType.DATETIME):
        return _dated(base, col, str(kind))
    if kind in NUMERIC:
        return _number(base, col, kind in (FieldType.INTEGER, FieldType.BIGINT))
    if kind == FieldType.BOOLEAN:
        if col.booleans:
            return _with(base, transform="boolean")
        return _off(base, Level.CHECK, f"'{col.name}' holds more than yes/no values")
    if kind == FieldType.PICKLIST and fld.picklist:
        return _picklist(base, col, fld)
    return base


def _with(base: FieldDraft, **kw: object) -> FieldDraft:
    return FieldDraft(**{**base.__dict__, **kw})


def _off(base: FieldDraft, level: Level, text: str) -> FieldDraft:
    return _with(base, active=False, notes=(*base.notes, Note(level, text)))


_NAIVE = Note(
    Level.NOTE,
    'a time without an offset is taken as UTC: add tz = "+HH:MM" to the mapping if not',
)


def _dated(base: FieldDraft, col: Column, transform: str) -> FieldDraft:
    """Dates into a date field (a datetime's date part), or datetimes (a date at midnight)."""
    if transform == "datetime":
        formats = col.datetimes or col.dates
        base = _with(base, notes=(*base.notes, _NAIVE))
    else:
        formats = col.dates or col.datetimes
    if not formats:
        return _off(
            base,
            Level.FIX,
            f"'{col.name}' is not a {transform} in a format init knows: "
            "set format (strptime, e.g. %d/%m/%Y) and uncomment",
        )
    if ISO in formats or "%Y-%m-%d" in formats:
        return _with(base, transform=transform)
    if len(formats) > 1:
        text = (
            f"every value of '{col.name}' fits {' and '.join(formats)} (no day past the 12th):"
            " keep the right format and uncomment"
        )
        return _off(_with(base, transform=transform, format=formats[0]), Level.CHECK, text)
    return _with(base, transform=transform, format=formats[0])


def _number(base: FieldDraft, col: Column, whole: bool) -> FieldDraft:
    if not col.numeric:
        return _off(base, Level.FIX, f"'{col.name}' holds values that are not numbers")
    if col.decimal is Decimal.AMBIGUOUS:
        text = (
            f"'{col.name}' only has values such as 1,250 or 1.250: thousands, or a decimal "
            'mark? for a decimal comma keep format = ",", else drop it; then uncomment'
        )
        return _off(_with(base, transform="decimal", format=","), Level.CHECK, text)
    transform = "integer" if whole and col.decimal is not Decimal.COMMA else "decimal"
    if col.decimal is Decimal.COMMA:
        return _with(base, transform=transform, format=",")
    return _with(base, transform=transform)


def suggest(value: str, fld: Field) -> str | None:
    """The picklist value (actual) ``value`` most likely means, or None."""
    options = list(zip(fld.picklist, fld.picklist_display or fld.picklist, strict=False))
    low = value.casefold()
    for actual, display in options:
        if low in (actual.casefold(), display.casefold()):
            return actual
    words = [(a, d) for a, d in options if low in d.casefold().replace("/", " ").split()]
    if words:
        return min(words, key=lambda o: len(o[1]))[0]
    near = difflib.get_close_matches(low, [d.casefold() for _, d in options], n=1, cutoff=0.6)
    return next((a for a, d in options if near and d.casefold() == near[0]), None)


def _picklist(base: FieldDraft, col: Column, fld: Field) -> FieldDraft:
    if not col.sample_complete or len(col.sample) > PICKLIST_CAP:
        text = f"'{col.name}' has over {PICKLIST_CAP} values: not checked against the picklist"
        return _with(base, notes=(Note(Level.NOTE, text),))
    pairs: list[tuple[str, str]] = []
    missing: list[str] = []
    for value in col.sample:
        found = fld.actual(value) or suggest(value, fld)
        if found is None:
            missing.append(value)
        else:
            pairs.append((value, found))
    if not missing and all(fld.actual(v) == v for v, _ in pairs):
        return base
    notes: list[Note] = []
    if any(v != a for v, a in pairs):
        said = ", ".join(f"{v} -> {a}" for v, a in pairs if v != a)
        notes.append(Note(Level.CHECK, f"values the org's picklist lacks, mapped to: {said}"))
    if missing:
        known = ", ".join(fld.picklist_display or fld.picklist)
        notes.append(
            Note(
                Level.FIX,
                f"{', '.join(repr(m) for m in missing)} of '{col.name}' has no near value in "
                f"{fld.api_name}'s picklist ({known}): add it to the map, or those records "
                "are dead-lettered",
            )
        )
    return _with(base, values=tuple(pairs), notes=tuple(notes))


OWNER_WORDS = frozenset(
    {"owner", "owneremail", "recordowner", "salesrep", "assignedto", "ownedby", "accountmanager"}
)


def owner_column(col: Column) -> bool:
    """A column naming record owners: ``owner``, ``Deal Owner``, ``owner_email``, ..."""
    name = norm(col.name)
    return name in OWNER_WORDS or name.endswith("owner") or name.startswith("owner")


def draft_owner(col: Column, org: OrgSchema) -> FieldDraft:
    """``Owner = { user = column }`` when the org's users are known and the cells are
    e-mail addresses; else the line commented out with what it needs."""
    base = FieldDraft("Owner", col.name, "record owners", user=True)
    if not all("@" in v for v in col.sample):
        return _off(base, Level.CHECK, f"'{col.name}' names owners, but not by e-mail address")
    if not org.users:
        return _off(
            base,
            Level.CHECK,
            f"'{col.name}' holds owners' e-mail addresses: owners need the org's users "
            "(zmigrate schema pull, then --schema)",
        )
    unknown = [v for v in col.sample if (u := org.user(v)) is None or u.status != "active"]
    if not unknown:
        return base
    text = (
        f"no active user has {', '.join(unknown[:5])}: those records are dead-lettered, "
        'or set default_owner and unknown_owner = "default"'
    )
    return _with(base, notes=(Note(Level.CHECK, text),))
