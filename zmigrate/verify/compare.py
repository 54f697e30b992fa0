"""Does a record read back from Zoho hold what the run sent? Pure: field by field, in the
forms Zoho answers with.

Zoho does not echo a write back as it was sent, so each value is compared as Zoho keeps it:

- a lookup sent as ``{"id": x}`` (CRM) or a bare id (Books/Inventory) comes back as
  ``{"name", "id"}``, ``{"id"}`` or the bare id: the ids are compared;
- numbers are compared as decimals (``1.50`` is ``1.5``), currency at Zoho's 2 places;
- datetimes are compared as instants (Zoho answers in the org's time zone);
- multi-select lists are compared as sets (Zoho may answer ``a;b`` or a list);
- booleans may come back as ``"true"``/``"false"``; text and picklists are trimmed;
- line items are compared entry by entry, each on the fields the run sent.

Only the fields the run sent are compared; a field sent empty matches one Zoho left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from zmigrate import schema

CURRENCY_PLACES = Decimal("0.01")
"""Zoho keeps currency amounts to the cent (the org's default precision)."""
SKIPPED = frozenset({"id", "$se_module"})
"""Payload keys that are not record fields (an update carries the record's id; a
multi-module lookup its module, which COQL does not select)."""


@dataclass(frozen=True)
class FieldDiff:
    """One field whose value in Zoho is not what the run sent."""

    field: str
    expected: Any
    found: Any


def diff_record(
    product: str, module: str, expected: Mapping[str, Any], found: Mapping[str, Any]
) -> list[FieldDiff]:
    """The fields of ``expected`` (a mapped payload) that ``found`` (Zoho's record) lacks."""
    mod = schema.module(product, module)
    diffs: list[FieldDiff] = []
    for name, want in expected.items():
        if name in SKIPPED:
            continue
        got = found.get(name)
        if got is None and name == "invoices" and "invoices_credited" in found:
            got = found["invoices_credited"]  # a credit note lists its applications there
        if isinstance(want, list) and want and isinstance(want[0], Mapping):
            diffs += _line_items(name, want, got)  # line items, contact persons, ...
            continue
        f = mod.field(name) if mod else None
        if not same(want, got, f.data_type if f else "text"):
            diffs.append(FieldDiff(name, want, got))
    return diffs


def _line_items(array: str, want: list[Any], got: Any) -> list[FieldDiff]:
    found = got if isinstance(got, list) else []
    diffs: list[FieldDiff] = []
    for n, item in enumerate(want):
        have = found[n] if n < len(found) and isinstance(found[n], Mapping) else {}
        for name, value in (item or {}).items():
            if not same(value, have.get(name), "text"):
                diffs.append(FieldDiff(f"{array}[{n}].{name}", value, have.get(name)))
    if len(found) > len(want):
        diffs.append(FieldDiff(array, f"{len(want)} entries", f"{len(found)} entries"))
    return diffs


def same(want: Any, got: Any, data_type: str = "text") -> bool:
    """Whether Zoho's ``got`` is the value ``want`` the run sent, in Zoho's forms."""
    if _empty(want):
        return _empty(got)
    if data_type == schema.FieldType.PARTICIPANTS:  # an event's: who, whatever else Zoho shows
        return _who(want) == _who(got)
    if isinstance(want, Mapping) or data_type in ("lookup", "ownerlookup"):
        return _ref(want) == _ref(got)
    if isinstance(want, list) or data_type == "multiselectpicklist":
        return _members(want) == _members(got)
    if isinstance(want, bool) or data_type == "boolean":
        return _text(want).lower() == _text(got).lower()
    if isinstance(want, int | float | Decimal) or data_type in ("currency", "double", "integer"):
        return _numbers_equal(want, got, data_type == "currency")
    if data_type == "datetime" or _looks_like_datetime(want):
        return _instant(want) == _instant(got) if _instant(want) else _text(want) == _text(got)
    return _text(want) == _text(got)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip()


def _ref(value: Any) -> str:
    """A lookup's id, whatever its form."""
    if isinstance(value, Mapping):
        return _text(value.get("id"))
    return _text(value)


def _who(value: Any) -> frozenset[tuple[str, str]]:
    entries = value if isinstance(value, list) else []
    return frozenset(
        (_text(p.get("type")), _text(p.get("participant")))
        for p in entries
        if isinstance(p, Mapping)
    )


def _members(value: Any) -> frozenset[str]:
    parts = value if isinstance(value, list) else _text(value).split(";")
    return frozenset(_text(p) for p in parts if _text(p))


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(_text(value))
    except InvalidOperation:
        return None


def _numbers_equal(want: Any, got: Any, currency: bool) -> bool:
    a, b = _decimal(want), _decimal(got)
    if a is None or b is None:
        return _text(want) == _text(got)
    if currency:
        a = a.quantize(CURRENCY_PLACES, ROUND_HALF_UP)
        b = b.quantize(CURRENCY_PLACES, ROUND_HALF_UP)
    return a == b


def _looks_like_datetime(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 10 and value[10:11] == "T"


def _instant(value: Any) -> float | None:
    """Epoch seconds of an ISO datetime with an offset (``+0000`` too), else None."""
    text = _text(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0530 -> +05:30
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None
