"""Schema snapshots, format ``zmigrate.schema/1``: Zoho's metadata answers, trimmed, as JSON.

``from_snapshot`` reads one into an :class:`OrgSchema` (every problem one line naming the
file and the JSON path), ``to_snapshot`` writes it back; for a snapshot holding every key
of the format, ``to_snapshot(from_snapshot(x)) == x``. Keys the format does not name are
ignored, missing optional keys take Zoho's defaults. Books/Inventory modules stay built in:
a snapshot adds their custom fields, taxes, currencies and locations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar, cast

from zmigrate.errors import ManifestError
from zmigrate.schema.finance import BOOKS_MODULES, INVENTORY_MODULES
from zmigrate.schema.model import (
    AutoNumber,
    Currency,
    CustomField,
    Field,
    FinanceSettings,
    Location,
    Module,
    Named,
    OrgSchema,
    Tax,
    User,
    with_custom_fields,
)

FORMAT = "zmigrate.schema/1"
PULL_HINT = 'zmigrate schema pull --out FILE, then set [target] schema = "FILE"'

T = TypeVar("T")


class _At:
    """Where in the snapshot a value lies, for messages: the file and a JSON path."""

    def __init__(self, where: str, path: str = "$") -> None:
        self.where, self.path = where, path

    def __truediv__(self, key: str | int) -> _At:
        return _At(
            self.where, f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}.{key}"
        )

    def fail(self, what: str) -> NoReturn:
        raise ManifestError(
            f"{self.path}: {what}",
            file=self.where,
            hint=f"not a {FORMAT} snapshot as zmigrate schema pull writes it",
        )


def _get(obj: Mapping[str, Any], key: str, kind: type[T], at: _At, default: Any = ...) -> T:
    """``obj[key]`` checked to be a ``kind`` (``default`` when absent; required without one)."""
    if key not in obj or (obj[key] is None and default is not ...):
        if default is ...:
            (at / key).fail("missing")
        return cast(T, default)
    value = obj[key]
    if isinstance(value, bool) and kind is not bool:
        (at / key).fail(f"expected {_KIND_NAMES[kind]}, got {json.dumps(value)}")
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind):
        (at / key).fail(f"expected {_KIND_NAMES[kind]}, got {json.dumps(value)[:40]}")
    return value


_KIND_NAMES: dict[type, str] = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    dict: "an object",
    list: "an array",
}


def _items(obj: Mapping[str, Any], key: str, at: _At, read: Callable[[Any, _At], T]) -> list[T]:
    out = []
    for i, item in enumerate(_get(obj, key, list, at, [])):
        if not isinstance(item, dict):
            (at / key / i).fail("expected an object")
        out.append(read(item, at / key / i))
    return out


def load_snapshot(path: Path) -> OrgSchema:
    """The snapshot at ``path``; ManifestError (file, line or JSON path) if it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(
            f"cannot read the schema snapshot: {getattr(exc, 'strerror', None) or exc}",
            file=str(path),
            hint=f"check the path, or make one: {PULL_HINT}",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno, hint=PULL_HINT
        ) from None
    return from_snapshot(data, str(path))


def from_snapshot(data: Any, where: str) -> OrgSchema:
    """The org schema a snapshot describes; ``where`` names it in messages."""
    at = _At(where)
    if not isinstance(data, dict):
        at.fail("a snapshot is a JSON object")
    fmt = _get(data, "format", str, at)
    if fmt != FORMAT:
        (at / "format").fail(f"expected {FORMAT!r}, got {fmt!r}")
    crm = _get(data, "crm", dict, at, {})
    modules = _items(crm, "modules", at / "crm", _module)
    seen: set[str] = set()
    for i, mod in enumerate(modules):
        if mod.api_name.lower() in seen:
            (at / "crm" / "modules" / i / "api_name").fail(f"module {mod.api_name} twice")
        seen.add(mod.api_name.lower())
    books = _finance(_get(data, "books", dict, at, {}), at / "books", locations=False)
    inventory = _finance(_get(data, "inventory", dict, at, {}), at / "inventory", locations=True)
    return OrgSchema(
        crm=MappingProxyType({m.api_name: m for m in modules}),
        books=_with_custom(BOOKS_MODULES, books),
        inventory=_with_custom(INVENTORY_MODULES, inventory),
        users=tuple(_items(crm, "users", at / "crm", _user)),
        books_settings=books,
        inventory_settings=inventory,
        origin=where,
        pulled_at=_get(data, "pulled_at", str, at, ""),
        data_center=_get(data, "data_center", str, at, ""),
    )


def _module(obj: Mapping[str, Any], at: _At) -> Module:
    api = _get(obj, "api_name", str, at)
    fields = _items(obj, "fields", at, _field)
    names = {f.api_name for f in fields}
    display = next((n for n in ("Name", "Last_Name", "Subject") if n in names), "")
    return Module(
        "crm",
        api,
        tuple(fields),
        singular=_get(obj, "singular_label", str, at, ""),
        display_field=display,
        module_name=_get(obj, "module_name", str, at, api),
        plural_label=_get(obj, "plural_label", str, at, ""),
        generated_type=_get(obj, "generated_type", str, at, "default"),
        api_supported=_get(obj, "api_supported", bool, at, True),
        creatable=_get(obj, "creatable", bool, at, True),
        editable=_get(obj, "editable", bool, at, True),
        deletable=_get(obj, "deletable", bool, at, True),
    )


def _field(obj: Mapping[str, Any], at: _At) -> Field:
    data_type = _get(obj, "data_type", str, at)
    ops = _get(obj, "operation_type", dict, at, {})
    values = _items(obj, "pick_list_values", at, _picklist_value)
    lookup = _get(obj, "lookup", dict, at, {})
    target = _get(lookup, "module", dict, at / "lookup", {})
    multi = _get(obj, "multi_module_lookup", dict, at, {})
    currency = _get(obj, "currency", dict, at, {})
    auto = _get(obj, "auto_number", dict, at, {})
    length = _get(obj, "length", int, at, None)
    text_like = data_type in ("text", "textarea", "email", "phone", "website")
    return Field(
        _get(obj, "api_name", str, at),
        data_type,
        mandatory=_get(obj, "system_mandatory", bool, at, False),
        unique=bool(_get(obj, "unique", dict, at, {})),
        lookup=_get(target, "api_name", str, at / "lookup" / "module") if target else None,
        max_length=length if text_like else None,
        picklist=tuple(v[0] for v in values),
        read_only=_get(obj, "read_only", bool, at, False),
        picklist_display=tuple(v[1] for v in values),
        lookup_modules=tuple(
            m[0] for m in _items(multi, "modules", at / "multi_module_lookup", _ref)
        ),
        decimal_place=_get(obj, "decimal_place", int, at, None),
        precision=_get(currency, "precision", int, at / "currency", None),
        rounding=_get(currency, "rounding_option", str, at / "currency", None),
        custom_field=_get(obj, "custom_field", bool, at, False),
        api_create=_get(ops, "api_create", bool, at / "operation_type", None),
        api_update=_get(ops, "api_update", bool, at / "operation_type", None),
        label=_get(obj, "field_label", str, at, ""),
        json_type=_get(obj, "json_type", str, at, ""),
        length=length,
        formula_type=_get(
            _get(obj, "formula", dict, at, {}), "return_type", str, at / "formula", None
        ),
        autonumber=AutoNumber(
            _get(auto, "prefix", str, at / "auto_number", ""),
            _get(auto, "start_number", int, at / "auto_number", 1),
        )
        if auto
        else None,
    )


def _picklist_value(obj: Mapping[str, Any], at: _At) -> tuple[str, str]:
    actual = _get(obj, "actual_value", str, at)
    return actual, _get(obj, "display_value", str, at, actual)


def _ref(obj: Mapping[str, Any], at: _At) -> tuple[str]:
    return (_get(obj, "api_name", str, at),)


def _named(obj: Mapping[str, Any], key: str, at: _At) -> Named | None:
    ref = _get(obj, key, dict, at, {})
    return Named(_get(ref, "name", str, at / key), _get(ref, "id", str, at / key)) if ref else None


def _user(obj: Mapping[str, Any], at: _At) -> User:
    return User(
        _get(obj, "id", str, at),
        _get(obj, "email", str, at),
        _get(obj, "full_name", str, at, ""),
        _get(obj, "status", str, at, "active"),
        _get(obj, "confirm", bool, at, True),
        _named(obj, "role", at),
        _named(obj, "profile", at),
    )


def _custom_field(obj: Mapping[str, Any], at: _At) -> CustomField:
    api = _get(obj, "api_name", str, at)
    if not api.startswith("cf_"):
        (at / "api_name").fail(f"a custom field's api_name starts with 'cf_', got {api!r}")
    return CustomField(
        _get(obj, "customfield_id", str, at),
        api,
        _get(obj, "label", str, at, api),
        _get(obj, "data_type", str, at, "string"),
        _get(obj, "is_mandatory", bool, at, False),
    )


def _tax(obj: Mapping[str, Any], at: _At) -> Tax:
    return Tax(
        _get(obj, "tax_id", str, at),
        _get(obj, "tax_name", str, at),
        _get(obj, "tax_percentage", float, at),
        _get(obj, "tax_type", str, at, "tax"),
    )


def _currency(obj: Mapping[str, Any], at: _At) -> Currency:
    return Currency(
        _get(obj, "currency_id", str, at),
        _get(obj, "currency_code", str, at),
        _get(obj, "currency_name", str, at, ""),
        _get(obj, "exchange_rate", float, at, 1.0),
        _get(obj, "is_base_currency", bool, at, False),
    )


def _location(obj: Mapping[str, Any], at: _At) -> Location:
    return Location(
        _get(obj, "location_id", str, at),
        _get(obj, "location_name", str, at),
        _get(obj, "is_primary", bool, at, False),
        _get(obj, "status", str, at, "active"),
    )


def _finance(obj: Mapping[str, Any], at: _At, *, locations: bool) -> FinanceSettings:
    custom = _get(obj, "custom_fields", dict, at, {})
    return FinanceSettings(
        MappingProxyType(
            {
                name: tuple(_items(custom, name, at / "custom_fields", _custom_field))
                for name in custom
            }
        ),
        tuple(_items(obj, "taxes", at, _tax)),
        tuple(_items(obj, "currencies", at, _currency)),
        tuple(_items(obj, "locations", at, _location)) if locations else (),
    )


def _with_custom(builtin: Mapping[str, Module], settings: FinanceSettings) -> Mapping[str, Module]:
    return MappingProxyType(
        {
            name: with_custom_fields(mod, settings.custom_fields.get(name, ()))
            for name, mod in builtin.items()
        }
    )


def to_snapshot(org: OrgSchema) -> dict[str, Any]:
    """The snapshot of ``org`` (format ``zmigrate.schema/1``), as JSON-ready data."""
    books: dict[str, Any] = _finance_json(org.books_settings)
    inventory = {**_finance_json(org.inventory_settings)}
    inventory["locations"] = [
        {
            "location_id": loc.location_id,
            "location_name": loc.location_name,
            "is_primary": loc.is_primary,
            "status": loc.status,
        }
        for loc in org.inventory_settings.locations
    ]
    return {
        "format": FORMAT,
        "pulled_at": org.pulled_at,
        "data_center": org.data_center,
        "crm": {
            "modules": [_module_json(m) for m in org.crm.values()],
            "users": [_user_json(u) for u in org.users],
        },
        "books": books,
        "inventory": inventory,
    }


def _module_json(mod: Module) -> dict[str, Any]:
    return {
        "api_name": mod.api_name,
        "module_name": mod.module_name,
        "singular_label": mod.singular,
        "plural_label": mod.plural_label,
        "generated_type": mod.generated_type,
        "api_supported": mod.api_supported,
        "creatable": mod.creatable,
        "editable": mod.editable,
        "deletable": mod.deletable,
        "fields": [_field_json(f) for f in mod.fields],
    }


def _field_json(f: Field) -> dict[str, Any]:
    currency: dict[str, Any] = {}
    if f.precision is not None:
        currency = {"precision": f.precision, "rounding_option": f.rounding or "normal"}
    display = f.picklist_display or f.picklist
    return {
        "api_name": f.api_name,
        "field_label": f.label,
        "data_type": f.data_type,
        "json_type": f.json_type,
        "length": f.length if f.length is not None else f.max_length,
        "decimal_place": f.decimal_place,
        "system_mandatory": f.mandatory,
        "read_only": f.read_only,
        "custom_field": f.custom_field,
        "operation_type": {"api_create": f.api_create, "api_update": f.api_update},
        "unique": {"casesensitive": "0"} if f.unique else {},
        "pick_list_values": [
            {"display_value": d, "actual_value": a}
            for a, d in zip(f.picklist, display, strict=True)
        ],
        "lookup": {"module": {"api_name": f.lookup}} if f.lookup else {},
        "multi_module_lookup": {"modules": [{"api_name": m} for m in f.lookup_modules]}
        if f.lookup_modules
        else {},
        "currency": currency,
        "formula": {"return_type": f.formula_type} if f.formula_type else {},
        "auto_number": {"prefix": f.autonumber.prefix, "start_number": f.autonumber.start_number}
        if f.autonumber
        else {},
    }


def _user_json(u: User) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": u.id,
        "email": u.email,
        "full_name": u.full_name,
        "status": u.status,
        "confirm": u.confirm,
    }
    for key, ref in (("role", u.role), ("profile", u.profile)):
        if ref is not None:
            out[key] = {"name": ref.name, "id": ref.id}
    return out


def _finance_json(s: FinanceSettings) -> dict[str, Any]:
    return {
        "custom_fields": {
            name: [
                {
                    "customfield_id": c.customfield_id,
                    "api_name": c.api_name,
                    "label": c.label,
                    "data_type": c.data_type,
                    "is_mandatory": c.is_mandatory,
                }
                for c in fields
            ]
            for name, fields in s.custom_fields.items()
        },
        "taxes": [
            {
                "tax_id": t.tax_id,
                "tax_name": t.tax_name,
                "tax_percentage": t.tax_percentage,
                "tax_type": t.tax_type,
            }
            for t in s.taxes
        ],
        "currencies": [
            {
                "currency_id": c.currency_id,
                "currency_code": c.currency_code,
                "currency_name": c.currency_name,
                "exchange_rate": c.exchange_rate,
                "is_base_currency": c.is_base_currency,
            }
            for c in s.currencies
        ],
    }
