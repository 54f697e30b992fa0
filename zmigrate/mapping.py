"""Turn source rows into the record a Zoho API expects: pure, no I/O, no event loop.

The executor calls :func:`map_record` once per :class:`~zmigrate.sources.SourceRecord`
with a ``resolve(step_name, source_key) -> zoho_id | None`` callable over its id
cross-reference. A row that cannot be mapped raises :class:`MappingError`; the executor
dead-letters the record with that message and carries on.

Rules:

- a column value is stripped; an empty value leaves the field out (or takes ``default``);
  an empty mandatory field fails the record on insert/upsert;
- ``map`` (value map, e.g. status -> Stage) applies to the stripped source value, exactly,
  then case-insensitively, then ``default``; a value it does not know fails the record;
- transforms: ``date`` (input ``format`` in strptime notation, default ISO) -> YYYY-MM-DD;
  ``datetime`` -> CRM's YYYY-MM-DDTHH:MM:SS+HH:MM (``tz`` for naive input, default +00:00);
  ``decimal`` (``format = ","`` for a decimal comma; ``places`` to round) -> a JSON number;
  ``integer``; ``boolean`` (true/false, yes/no, y/n, 1/0); ``string``;
- a lookup sends the id the other step produced for this row's key: ``{"id": "..."}`` in
  CRM, the bare id in Books/Inventory; a multi-module lookup (``What_Id``) also sets the
  record's ``"$se_module"`` to the looked-up step's module, as Zoho requires (a note's
  ``Parent_Id`` carries it inside, v8's ``{"module": {"api_name"}, "id"}``);
- an event's ``Participants`` lookup reads a list (``a;b``): each part is a key of the
  looked-up step (a contact or lead, sent as ``{"type": "contact", "participant": id}``) or
  else an e-mail address (``{"type": "email", "participant": address}``);
- target keys (:func:`key_groups`, :func:`key_value`) are compared as Zoho compares them:
  after mapping and transforms, trimmed and case-insensitively; CRM matches
  ``duplicate_check_fields`` one field at a time, Books/Inventory the key as a whole;
- a multi-select picklist field takes a list: a source cell ``a;b`` gives ``["a", "b"]``
  (``schema.MULTI_SEPARATOR``), each part through the value map when there is one;
- a user field (``Owner = { user = "owner_email" }``) sends ``{"id": ...}`` of the active user
  with that e-mail address (any case; users from the manifest's schema); an empty cell takes
  ``default_owner`` (else the field is left out), an unknown address ``default_owner`` when
  the step says ``unknown_owner = "default"``, else the record fails with ``UNKNOWN_USER``;
- a Books/Inventory custom field (``cf_…``, from the schema snapshot) goes into the record's
  ``custom_fields`` array as ``{"api_name": ..., "value": ...}``, as Zoho takes it;
- line items: a Books/Inventory record whose mapping names ``line_items[].<field>`` is made of
  consecutive source rows sharing the source key (see ``sources.iter_records``). Its header
  fields come from the first row, and each row gives one entry of ``line_items``. Other
  arrays (``contact_persons[].email``, a payment's ``invoices[].amount_applied``) are built
  the same way, one entry per row that has a value for them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from zmigrate.errors import ZmigrateError
from zmigrate.manifest import FieldMap, Lookup, Product, Step, UnknownOwner
from zmigrate.schema import MULTI_SEPARATOR, Field, FieldType, Module
from zmigrate.schema.related import (
    PARTICIPANT_OF,
    ParticipantType,
    Related,
    parent_ref,
    participant,
)
from zmigrate.sources.model import KEY_SEPARATOR, row_key

EMAIL = re.compile(r"^[^@\s;]+@[^@\s;]+\.[^@\s;]+$")
"""An address an event's participant may be given as."""

Resolver = Callable[[str, str], str | None]
"""``resolve(step_name, source_key)``: the Zoho id that step produced for that key, or None."""

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


class MappingError(ZmigrateError):
    """One record cannot be mapped (bad value, unknown enum, unresolved lookup): dead-letter it.

    ``field`` is the target field, ``column`` the source column and ``value`` the value.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        step: str,
        field: str,
        column: str | None = None,
        value: Any = None,
        code: str = "MAPPING",
    ) -> None:
        self.step, self.field, self.column, self.value = step, field, column, value
        self.code = code
        """The dead letter's code: ``MAPPING``, or ``UNKNOWN_USER`` for an unknown owner."""
        super().__init__(f"{field}: {message}")


def map_record(step: Step, rows: Sequence[Mapping[str, Any]], resolve: Resolver) -> dict[str, Any]:
    """The payload for one target record built from its source row(s) (several: line items)."""
    if not rows:
        raise MappingError("no source rows", step=step.name, field="*")
    first = rows[0]
    if step.target.is_file and not step.fields and not step.lookups:
        return dict(first)
    mod = step.target.schema
    strict = step.operation != "update"
    record: dict[str, Any] = {}
    for fm in step.fields:
        if not fm.line_item:
            fld = mod.field(fm.target) if mod else None
            _put(record, fm.target, _field_value(step, fm, first, fld), mod, strict, step)
    for lk in step.lookups:
        if is_participants(step, lk):
            _put(record, lk.target, _participants(step, lk, first, resolve), mod, strict, step)
        elif not lk.line_item:
            value = _lookup(step, lk, first, resolve)
            _put(record, lk.target, value, mod, strict, step)
            if value is not None and lk.se_module:
                _se_module(record, step, lk, value)
    for array in step.arrays:
        entries = _line_items(step, array, rows, resolve, strict)
        if entries:
            record[array] = entries
    return _custom_fields(record, mod) if step.target.product != Product.CRM else record


def _se_module(record: dict[str, Any], step: Step, lk: Lookup, value: Any) -> None:
    """Where a multi-module lookup's id lives: a note's ``Parent_Id`` names its module inside
    (CRM v8), other lookups (``What_Id``) through the record's ``$se_module``."""
    if step.target.module == Related.NOTES and isinstance(value, Mapping):
        record[lk.target] = parent_ref(lk.se_module or "", str(value["id"]))
    else:
        record["$se_module"] = lk.se_module


def _line_items(
    step: Step, array: str, rows: Sequence[Mapping[str, Any]], resolve: Resolver, strict: bool
) -> list[dict[str, Any]]:
    """One entry of ``array`` per source row that has a value for it."""
    items = []
    for row in rows:
        item: dict[str, Any] = {}
        for fm in step.fields:
            if fm.array == array:
                _put(item, fm.field_name, _value(step, fm, row), None, False, step)
        for lk in step.lookups:
            if lk.array == array:
                _put(item, lk.field_name, _lookup(step, lk, row, resolve), None, False, step)
        if item:
            items.append(item)
    if not items and strict and array == "line_items":
        raise MappingError("no line item has a value", step=step.name, field="line_items")
    return items


def _custom_fields(record: dict[str, Any], mod: Module | None) -> dict[str, Any]:
    """Books/Inventory take custom fields (``cf_…``) as ``custom_fields: [{api_name, value}]``."""
    custom = [n for n in record if mod and (f := mod.field(n)) is not None and f.custom_field]
    if not custom:
        return record
    out = {k: v for k, v in record.items() if k not in custom}
    out["custom_fields"] = [{"api_name": n, "value": record[n]} for n in custom]
    return out


def key_groups(step: Step) -> tuple[tuple[FieldMap, ...], ...]:
    """The key fields whose values must differ between records, as Zoho matches them.

    CRM upsert checks ``duplicate_check_fields`` in order and updates the first record any
    one of them matches, so each key field alone must be unique; Books/Inventory match the
    (single) unique field, so the key as a whole.
    """
    by_target = {fm.target: fm for fm in step.fields}
    fields = tuple(by_target[k] for k in step.key if k in by_target)
    if not fields or step.target.is_file:
        return ()
    if step.target.product == Product.CRM:
        return tuple((fm,) for fm in fields)
    return (fields,)


def key_value(step: Step, fields: Sequence[FieldMap], row: Mapping[str, Any]) -> str | None:
    """The record's key over ``fields`` as Zoho compares it: mapped, trimmed, lower-cased.

    None when a part is empty (Zoho matches nothing on an empty value) or does not map (the
    run dead-letters that record on its own).
    """
    parts = []
    for fm in fields:
        try:
            value = _value(step, fm, row)
        except MappingError:
            return None
        text = _strip(value).lower()
        if not text:
            return None
        parts.append(text)
    return parts[0] if len(parts) == 1 else KEY_SEPARATOR.join(parts)


def _put(
    record: dict[str, Any],
    name: str,
    value: Any,
    mod: Module | None,
    strict: bool,
    step: Step,
) -> None:
    fld = mod.field(name) if mod else None
    if value is None:
        if strict and fld is not None and fld.mandatory:
            raise MappingError("mandatory field is empty", step=step.name, field=name)
        return
    limit = fld.max_length if fld is not None else None
    if limit and isinstance(value, str) and len(value) > limit:
        raise MappingError(
            f"{len(value)} characters, at most {limit} allowed",
            step=step.name,
            field=name,
            value=value,
        )
    record[name] = value


def _lookup(step: Step, lk: Lookup, row: Mapping[str, Any], resolve: Resolver) -> Any:
    if any(_strip(row.get(c)) == "" for c in lk.columns):
        return None
    key = row_key(lk.columns, row)
    zoho_id = resolve(lk.step, key)
    if zoho_id is None:
        if lk.optional:
            return None
        raise MappingError(
            f"no record of step '{lk.step}' has key '{key.replace(KEY_SEPARATOR, ', ')}' "
            f"(it failed, or is missing from that step's source)",
            step=step.name,
            field=lk.target,
            column=", ".join(lk.columns),
            value=key,
        )
    return {"id": str(zoho_id)} if step.target.product == Product.CRM else str(zoho_id)


def is_participants(step: Step, lk: Lookup) -> bool:
    """An event's ``Participants``: a list of the looked-up step's keys and addresses."""
    mod = step.target.schema
    fld = mod.field(lk.target) if mod and not lk.line_item else None
    return fld is not None and fld.data_type == FieldType.PARTICIPANTS


def lookup_keys(step: Step, lk: Lookup, row: Mapping[str, Any]) -> list[str]:
    """The source keys a row's lookup names: one, or each part of a participants list."""
    if is_participants(step, lk):
        parts = _strip(row.get(lk.columns[0])).split(MULTI_SEPARATOR)
        return [p.strip() for p in parts if p.strip()]
    return [row_key(lk.columns, row)]


def _participants(
    step: Step, lk: Lookup, row: Mapping[str, Any], resolve: Resolver
) -> list[dict[str, str]] | None:
    kind = PARTICIPANT_OF.get(lk.se_module or "", ParticipantType.CONTACT)
    out = []
    for part in lookup_keys(step, lk, row):
        zoho_id = resolve(lk.step, part)
        if zoho_id is not None:
            out.append(participant(kind, str(zoho_id)))
        elif EMAIL.match(part):
            out.append(participant(ParticipantType.EMAIL, part))
        elif not lk.optional:
            raise MappingError(
                f"'{part}' is neither a key of step '{lk.step}' nor an e-mail address",
                step=step.name,
                field=lk.target,
                column=lk.columns[0],
                value=part,
            )
    return out or None


def _strip(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _value(step: Step, fm: FieldMap, row: Mapping[str, Any]) -> Any:
    if fm.column is None:
        return fm.const
    raw = row.get(fm.column)
    text = _strip(raw)
    if text == "":
        return fm.default
    if fm.values:
        return _enum(step, fm, text)
    try:
        if not isinstance(raw, str):
            return typed_value(raw, fm)
        if fm.transform is None:
            return text
        return _TRANSFORMS[fm.transform](text, fm)
    except (ValueError, InvalidOperation) as exc:
        raise MappingError(
            f"{_expected(fm)}, got {text!r} ({exc})",
            step=step.name,
            field=fm.target,
            column=fm.column,
            value=text,
        ) from None


def _field_value(step: Step, fm: FieldMap, row: Mapping[str, Any], fld: Field | None) -> Any:
    """The field's value; a multi-select's cell is split into a list, each part mapped."""
    if fm.user:
        return _user(step, fm, row)
    if fld is None or fld.data_type != FieldType.MULTISELECT or fm.column is None:
        return _value(step, fm, row)
    parts = [p.strip() for p in _strip(row.get(fm.column)).split(MULTI_SEPARATOR) if p.strip()]
    if not parts:
        return fm.default
    values: list[Any] = []
    for part in parts:
        mapped = _enum(step, fm, part) if fm.values else part
        values += mapped if isinstance(mapped, list) else [mapped]
    return values


def _user(step: Step, fm: FieldMap, row: Mapping[str, Any]) -> dict[str, str] | None:
    """``{"id": ...}`` of the user the cell's e-mail address names (see the module's rules)."""
    owners = step.owners
    assert owners is not None and fm.column is not None  # the manifest sets both
    email = _strip(row.get(fm.column))
    found = owners.user_id(email) if email else owners.default
    if found is None and email and owners.unknown is UnknownOwner.DEFAULT:
        found = owners.default
    if found is None and email:
        raise MappingError(
            f"no active user of the org has the e-mail address {email!r}",
            step=step.name,
            field=fm.target,
            column=fm.column,
            value=email,
            code="UNKNOWN_USER",
        )
    return {"id": found} if found else None


def _enum(step: Step, fm: FieldMap, text: str) -> Any:
    table = dict(fm.values)
    if text in table:
        return table[text]
    folded = {k.casefold(): v for k, v in fm.values}
    if text.casefold() in folded:
        return folded[text.casefold()]
    if fm.default is not None:
        return fm.default
    raise MappingError(
        f"value {text!r} is not in the value map (known: {', '.join(table)})",
        step=step.name,
        field=fm.target,
        column=fm.column,
        value=text,
    )


def _expected(fm: FieldMap) -> str:
    if fm.transform in ("date", "datetime"):
        return f"expected a {fm.transform} in format {fm.format or 'ISO 8601'}"
    return f"expected a {fm.transform}"


def to_date(text: str, fm: FieldMap) -> str:
    """A date in ``fm.format`` (default ISO, a time part is dropped) as YYYY-MM-DD."""
    if fm.format:
        return datetime.strptime(text, fm.format).date().isoformat()
    return datetime.fromisoformat(text).date().isoformat()


_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")


def _tz(offset: str | None) -> timezone:
    m = _OFFSET.match(offset or "+00:00")
    if not m:
        raise ValueError(f"bad offset {offset!r}")
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(-delta if m.group(1) == "-" else delta)


def to_datetime(text: str, fm: FieldMap) -> str:
    """A datetime as CRM wants it: YYYY-MM-DDTHH:MM:SS+HH:MM (naive input gets ``fm.tz``)."""
    value = datetime.strptime(text, fm.format) if fm.format else datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_tz(fm.tz))
    out = value.replace(microsecond=0).isoformat()
    return out[:-6] + "+00:00" if out.endswith("Z") else out


def _decimal(text: str, fm: FieldMap) -> Decimal:
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if fm.format == ",":
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    value = Decimal(cleaned)
    if not value.is_finite():
        raise ValueError("not a finite number")
    if fm.places is not None:
        value = value.quantize(Decimal(1).scaleb(-fm.places), rounding=ROUND_HALF_UP)
    return value


def to_decimal(text: str, fm: FieldMap) -> int | float:
    """A number for JSON: an int when whole (and no ``places``), else a float."""
    value = _decimal(text, fm)
    if fm.places is None and value == value.to_integral_value():
        return int(value)
    return float(value)


def to_integer(text: str, fm: FieldMap) -> int:
    value = _decimal(text, fm)
    if value != value.to_integral_value():
        raise ValueError("not a whole number")
    return int(value)


def to_boolean(text: str, fm: FieldMap) -> bool:
    low = text.casefold()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("use true/false, yes/no, y/n or 1/0")


def typed_value(raw: Any, fm: FieldMap) -> Any:
    """A cell that kept its type (a sheet's or a database's): dates and numbers are taken as
    they are, not re-parsed from text, so ``format`` does not apply to them.

    With no transform a date gives YYYY-MM-DD, a date-time CRM's date-time (``tz`` when naive)
    and a database decimal a JSON number; other values go as they are.
    """
    stamp = isinstance(raw, date)
    if fm.transform in (None, "date", "datetime") and stamp:
        if fm.transform == "date" or (fm.transform is None and not isinstance(raw, datetime)):
            return raw.isoformat()[:10]
        full = raw if isinstance(raw, datetime) else datetime.combine(raw, time())
        return to_datetime(full.isoformat(), dataclasses.replace(fm, format=None))
    if fm.transform is None:
        if isinstance(raw, Decimal):
            return int(raw) if raw == raw.to_integral_value() else float(raw)
        return raw.isoformat() if isinstance(raw, time) else raw
    if fm.transform == "boolean" and isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float, Decimal)) and not stamp:
        return _TRANSFORMS[fm.transform](str(raw), dataclasses.replace(fm, format=None))
    if fm.transform == "string":
        return raw.isoformat() if isinstance(raw, (date, time)) else str(raw)
    return _TRANSFORMS[fm.transform](_strip(raw), fm)


_TRANSFORMS: dict[str, Callable[[str, FieldMap], Any]] = {
    "date": to_date,
    "datetime": to_datetime,
    "decimal": to_decimal,
    "integer": to_integer,
    "boolean": to_boolean,
    "string": lambda text, fm: text,
}
