"""The CRM org's schema as the sandbox serves and enforces it: modules, fields and users.

Each field and module keeps its metadata in the form of a ``zmigrate.schema/1`` snapshot
(Zoho's own ``GET /settings/fields`` / ``/settings/modules`` keys); what the store checks
(types, lengths, unique, lookups, writability) is derived from that one dict, so what
``GET`` shows and what a write meets cannot drift apart. The org starts from the built-in
standard modules (`zmigrate.schema.CRM_MODULES`) or from a snapshot, and grows by the
Fields and Modules APIs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from zmigrate.schema import CRM_MODULES, FieldType
from zmigrate.schema import Field as EngineField
from zmigrate.schema import Module as EngineModule

from . import wire

SNAPSHOT_FORMAT = "zmigrate.schema/1"

JSON_TYPE = {
    "integer": "integer",
    "bigint": "string",
    "currency": "double",
    "double": "double",
    "percent": "double",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "userlookup": "jsonobject",
    "multi_module_lookup": "jsonobject",
    "layout": "jsonobject",
    "multiselectpicklist": "jsonarray",
    "multiselectlookup": "jsonarray",
    "multiuserlookup": "jsonarray",
    "subform": "jsonarray",
    "fileupload": "jsonarray",
    "imageupload": "jsonarray",
}
"""Zoho's ``json_type`` per ``data_type`` (recorded pairs); anything else is a string."""

TEXT_TYPES = frozenset(("text", "textarea", "email", "phone", "website", "autonumber"))
"""Types whose ``length`` is a number of characters (for numbers it counts digits)."""

LENGTHS: dict[str, tuple[int, int]] = {
    "text": (1, 255),
    "textarea": (1, 50_000),
    "email": (1, 100),
    "phone": (1, 30),
    "website": (1, 450),
    "integer": (1, 9),
    "bigint": (1, 18),
    "double": (1, 18),
    "currency": (1, 16),
    "percent": (1, 5),
    "autonumber": (1, 255),
}
"""Length ranges ``POST /settings/fields`` accepts per type (Zoho's create-field table)."""
DEFAULT_LENGTH = {
    "text": 255,
    "textarea": 32_000,
    "email": 100,
    "phone": 30,
    "website": 255,
    "integer": 9,
    "bigint": 18,
    "double": 16,
    "currency": 16,
    "percent": 5,
    "boolean": 5,
    "date": 20,
    "datetime": 120,
    "picklist": 120,
    "multiselectpicklist": 2000,
    "lookup": 120,
    "autonumber": 255,
}
CREATABLE_TYPES = frozenset((*LENGTHS, "boolean", "date", "datetime", "picklist", "lookup"))
CREATABLE_TYPES |= {"multiselectpicklist", "formula"}
"""Types the sandbox's ``POST /settings/fields`` creates (Zoho has a few more)."""

COMPUTED_TYPES = frozenset(("formula", "autonumber", "rollup_summary"))
"""Fields Zoho fills itself: a write to one is refused, not ignored."""

MODULE_NAMES = {"Events": "Meetings", "Sales_Orders": "SalesOrders"}
MODULE_NAMES |= {"Purchase_Orders": "PurchaseOrders", "Price_Books": "PriceBooks"}
"""Zoho's ``module_name`` where it differs from ``api_name`` (recorded Modules answer)."""
LABELS = {"Events": ("Meeting", "Meetings")}

UNIQUE_FIELDS_MAX = 2
"""Unique fields a module may have (all editions)."""


class UserType(Enum):
    """``GET /users?type=``: which users an answer lists."""

    ALL = "AllUsers"
    ACTIVE = "ActiveUsers"
    DEACTIVE = "DeactiveUsers"
    DELETED = "DeletedUsers"
    CONFIRMED = "ConfirmedUsers"
    NOT_CONFIRMED = "NotConfirmedUsers"
    ACTIVE_CONFIRMED = "ActiveConfirmedUsers"
    ADMIN = "AdminUsers"
    ACTIVE_CONFIRMED_ADMINS = "ActiveConfirmedAdmins"
    CURRENT = "CurrentUser"

    def admits(self, user: Mapping[str, Any], current_id: str) -> bool:
        status, confirmed = user.get("status"), bool(user.get("confirm"))
        admin = (user.get("profile") or {}).get("name") == "Administrator"
        return {
            UserType.ALL: True,
            UserType.ACTIVE: status == "active",
            UserType.DEACTIVE: status == "disabled",
            UserType.DELETED: status == "deleted",
            UserType.CONFIRMED: confirmed,
            UserType.NOT_CONFIRMED: not confirmed,
            UserType.ACTIVE_CONFIRMED: status == "active" and confirmed,
            UserType.ADMIN: admin,
            UserType.ACTIVE_CONFIRMED_ADMINS: admin and status == "active" and confirmed,
            UserType.CURRENT: user.get("id") == current_id,
        }[self]


class SchemaError(ValueError):
    """A snapshot the sandbox cannot start from; the message says where."""


@dataclass(frozen=True)
class OrgField:
    """One field of the org, derived from its metadata dict (``meta``)."""

    api_name: str
    data_type: str
    meta: Mapping[str, Any] = field(compare=False, repr=False)
    mandatory: bool = False
    unique: bool = False
    lookup: str | None = None
    max_length: int | None = None
    picklist: tuple[str, ...] = ()
    read_only: bool = False
    lookup_modules: tuple[str, ...] = ()
    api_create: bool = True
    api_update: bool = True
    custom: bool = False

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> OrgField:
        data_type = str(meta.get("data_type") or "text")
        ops = meta.get("operation_type") or {}
        lookup = ((meta.get("lookup") or {}).get("module") or {}).get("api_name")
        length = meta.get("length")
        return cls(
            api_name=str(meta["api_name"]),
            data_type=data_type,
            meta=meta,
            mandatory=bool(meta.get("system_mandatory")),
            unique=bool(meta.get("unique")),
            lookup=str(lookup) if lookup else None,
            max_length=int(length) if data_type in TEXT_TYPES and length else None,
            picklist=tuple(str(v.get("actual_value")) for v in meta.get("pick_list_values") or ()),
            read_only=bool(meta.get("read_only")),
            lookup_modules=tuple(
                str(m.get("api_name"))
                for m in (meta.get("multi_module_lookup") or {}).get("modules") or ()
            ),
            api_create=bool(ops.get("api_create", True)),
            api_update=bool(ops.get("api_update", True)),
            custom=bool(meta.get("custom_field")),
        )

    @property
    def takes_se_module(self) -> bool:
        """A multi-module lookup whose id comes with the record's ``$se_module``
        (``What_Id``, Notes' ``Parent_Id``; not ``Who_Id``, a Contact or Lead by id alone)."""
        if self.data_type == FieldType.PARTICIPANTS:  # Events' attendees: a list, no $se_module
            return False
        return bool(self.lookup_modules) and not self.lookup and self.api_name != "Who_Id"

    def refuses(self, creating: bool) -> bool:
        """A write Zoho refuses outright (computed and non-writable custom fields)."""
        writable = self.api_create if creating else self.api_update
        return not writable and (self.data_type in COMPUTED_TYPES or self.custom)

    def ignores(self, creating: bool) -> bool:
        """A system field a write may carry and Zoho sets itself (Created_Time, ...)."""
        writable = self.api_create if creating else self.api_update
        return not writable and not self.refuses(creating)


@dataclass(frozen=True)
class OrgModule:
    """One module of the org with its fields; ``meta`` holds its module-level keys."""

    api_name: str
    fields: tuple[OrgField, ...]
    meta: Mapping[str, Any] = field(compare=False, repr=False)
    id: str = ""
    display_field: str = ""
    by_name: dict[str, OrgField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.api_name: f for f in self.fields})

    def field(self, name: str) -> OrgField | None:
        return self.by_name.get(name)

    @property
    def mandatory(self) -> tuple[str, ...]:
        return tuple(f.api_name for f in self.fields if f.mandatory)

    @property
    def singular(self) -> str:
        return str(self.meta.get("singular_label") or self.api_name)

    @property
    def records_api(self) -> bool:
        """Does the Records API serve this module?"""
        return bool(self.meta.get("api_supported", True)) and (
            self.meta.get("generated_type") != "subform"
        )

    def with_field(self, f: OrgField) -> OrgModule:
        return OrgModule(self.api_name, (*self.fields, f), self.meta, self.id, self.display_field)


# ---- metadata dicts ---------------------------------------------------------------------------
def label_of(api_name: str) -> str:
    return api_name.replace("_", " ")


def api_name_of(label: str) -> str:
    """Zoho's api_name for a label left without one: non-word runs become ``_`` (guess)."""
    return re.sub(r"\W+", "_", label.strip()).strip("_")


def field_meta(
    api_name: str,
    data_type: str,
    label: str | None = None,
    *,
    length: int | None = None,
    mandatory: bool = False,
    unique: bool = False,
    writable: bool = True,
    read_only: bool = False,
    custom: bool = False,
    picklist: Iterable[tuple[str, str]] = (),
    lookup: str | None = None,
    lookup_modules: Iterable[str] = (),
    decimal_place: int | None = None,
    formula: Mapping[str, Any] | None = None,
    auto_number: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A field's snapshot keys, filled as Zoho fills them for its type."""
    if decimal_place is None and data_type in ("currency", "double", "percent"):
        decimal_place = 2
    return {
        "api_name": api_name,
        "field_label": label or label_of(api_name),
        "data_type": data_type,
        "json_type": JSON_TYPE.get(
            str((formula or {}).get("return_type")) if data_type == "formula" else data_type,
            "string",
        ),
        "length": length or DEFAULT_LENGTH.get(data_type, 255),
        "decimal_place": decimal_place,
        "system_mandatory": mandatory,
        "read_only": read_only,
        "custom_field": custom,
        "operation_type": {"api_create": writable, "api_update": writable},
        "unique": {"casesensitive": "0"} if unique else {},
        "pick_list_values": [
            {"display_value": shown, "actual_value": actual} for shown, actual in picklist
        ],
        "lookup": {"module": {"api_name": lookup}} if lookup else {},
        "multi_module_lookup": {"modules": [{"api_name": m} for m in lookup_modules]}
        if lookup_modules
        else {},
        "currency": {"precision": 2, "rounding_option": "normal"}
        if data_type == "currency"
        else {},
        "formula": dict(formula or {}),
        "auto_number": dict(auto_number or {}),
    }


def _builtin_field(f: EngineField) -> OrgField:
    return OrgField.of(
        field_meta(
            f.api_name,
            f.data_type,
            length=f.max_length,
            mandatory=f.mandatory,
            unique=f.unique,
            writable=not f.read_only,
            read_only=f.read_only,
            picklist=((v, v) for v in f.picklist),
            lookup=f.lookup,
            lookup_modules=f.lookup_modules,
        )
    )


def module_meta(
    api_name: str,
    singular: str,
    plural: str,
    generated_type: str = "default",
    module_name: str | None = None,
) -> dict[str, Any]:
    return {
        "api_name": api_name,
        "module_name": module_name or MODULE_NAMES.get(api_name, api_name),
        "singular_label": singular,
        "plural_label": plural,
        "generated_type": generated_type,
        "api_supported": True,
        "creatable": True,
        "editable": True,
        "deletable": True,
    }


def module_id(index: int) -> str:
    return str(wire.ID_BASE + 100 + index)


def _builtin_module(mod: EngineModule, index: int) -> OrgModule:
    singular, plural = LABELS.get(mod.api_name, (mod.singular, label_of(mod.api_name)))
    meta = module_meta(mod.api_name, singular or mod.api_name, plural)
    fields = tuple(_builtin_field(f) for f in mod.fields)
    return OrgModule(mod.api_name, fields, meta, module_id(index), mod.display_field)


def builtin_modules() -> list[OrgModule]:
    """The standard modules `zmigrate.schema` knows, as a fresh org has them."""
    return [_builtin_module(m, i) for i, m in enumerate(CRM_MODULES.values())]


def user_meta(index: int, admin_id: str) -> dict[str, Any]:
    """User ``index`` of a generated org: the admin (token owner) first, then others."""
    role = {"name": "CEO", "id": str(wire.ID_BASE + 2)}
    admin = {"name": "Administrator", "id": str(wire.ID_BASE + 3)}
    if index == 0:
        return {
            "id": admin_id,
            "email": "crmsandbox@zmgrt.com",
            "full_name": "Sandbox Admin",
            "status": "active",
            "confirm": True,
            "role": role,
            "profile": admin,
        }
    return {
        "id": str(wire.ID_BASE + 700_000 + index),
        "email": f"sbxuser{index:02d}@zmgrt.com",
        "full_name": f"Sandbox User{index:02d}",
        "status": "active",
        "confirm": True,
        "role": {"name": "Manager", "id": str(wire.ID_BASE + 4)},
        "profile": {"name": "Standard", "id": str(wire.ID_BASE + 6)},
    }


# ---- snapshots --------------------------------------------------------------------------------
def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise SchemaError(f"{where}: expected a JSON {kind.__name__}")
    return value


def snapshot_modules(data: Any) -> list[OrgModule]:
    """The CRM modules of a ``zmigrate.schema/1`` snapshot, or SchemaError naming the place."""
    _expect(data, dict, "snapshot")
    if data.get("format") != SNAPSHOT_FORMAT:
        raise SchemaError(f"format: expected '{SNAPSHOT_FORMAT}', got {data.get('format')!r}")
    crm = _expect(data.get("crm", {}), dict, "crm")
    out: list[OrgModule] = []
    for i, raw in enumerate(_expect(crm.get("modules", []), list, "crm.modules")):
        where = f"crm.modules[{i}]"
        _expect(raw, dict, where)
        name = _expect(raw.get("api_name"), str, f"{where}.api_name")
        meta = {k: v for k, v in raw.items() if k != "fields"}
        fields = []
        for j, f in enumerate(_expect(raw.get("fields", []), list, f"{where}.fields")):
            _expect(f, dict, f"{where}.fields[{j}]")
            _expect(f.get("api_name"), str, f"{where}.fields[{j}].api_name")
            fields.append(OrgField.of(f))
        shown = raw.get("display_field")
        display = shown.get("api_name") if isinstance(shown, dict) else None
        mandatory = (f.api_name for f in fields if f.mandatory and f.data_type == "text")
        display = display or next(mandatory, "Name")
        out.append(OrgModule(name, tuple(fields), meta, module_id(i), display))
    return out


def snapshot_users(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    users = _expect(data.get("crm", {}).get("users", []), list, "crm.users")
    for i, u in enumerate(users):
        _expect(u, dict, f"crm.users[{i}]")
        _expect(u.get("id"), str, f"crm.users[{i}].id")
    return [dict(u) for u in users]
