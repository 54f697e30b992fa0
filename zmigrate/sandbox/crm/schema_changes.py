"""The org's schema changed through the API: custom fields, custom modules and users.

Each function checks a request body the way Zoho's create APIs do and answers
``(HTTP status, body)``; on success the change is made in the store (which journals it).
A call is all or nothing: if one field of a ``POST /settings/fields`` is refused, none is
created and the answer lists the refusals (guess: Zoho's doc shows one error at a time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import wire
from .catalog import (
    CREATABLE_TYPES,
    LENGTHS,
    UNIQUE_FIELDS_MAX,
    OrgField,
    OrgModule,
    api_name_of,
    field_meta,
    module_id,
    module_meta,
)
from .metadata import field_id
from .store import CrmStore

FIELDS_PER_CALL = 5
API_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
"""Zoho's api_name rule: starts with a letter, letters/digits/_, no ``__``, no trailing ``_``."""
MODULE_LABEL = re.compile(r"^[A-Za-z0-9 ]{1,25}$")
TEXTAREA_LENGTHS = {"small": 2_000, "large": 32_000, "rich_text": 50_000}
MODULE_EDITIONS = frozenset(("enterprise", "ultimate"))
"""Editions that may create custom modules (Zoho: Enterprise and up)."""

Answer = tuple[int, dict[str, Any]]


def _error(
    code: str, api_name: str, path: str, message: str = wire.MSG_INVALID_DATA
) -> dict[str, Any]:
    return wire.error(code, message, {"api_name": api_name, "json_path": path})


class _Refusal(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        super().__init__(body["code"])


def _picklist(raw: Any, where: str) -> list[tuple[str, str]]:
    values = raw.get("pick_list_values")
    if not isinstance(values, list) or not values:
        raise _Refusal(_error("MANDATORY_NOT_FOUND", "pick_list_values", where, wire.MSG_MANDATORY))
    out: list[tuple[str, str]] = []
    for i, v in enumerate(values):
        shown = v.get("display_value") if isinstance(v, dict) else None
        if not isinstance(shown, str) or not shown:
            raise _Refusal(_error("INVALID_DATA", "display_value", f"{where}[{i}].display_value"))
        actual = v.get("actual_value") or shown
        if any(actual.lower() == a.lower() for _, a in out):
            raise _Refusal(
                _error("DUPLICATE_DATA", "actual_value", f"{where}[{i}]", "duplicate data")
            )
        out.append((shown, str(actual)))
    return out


def _length(raw: dict[str, Any], data_type: str, where: str) -> int | None:
    """The length asked for, checked against the type's range (None: the type's default)."""
    if data_type == "textarea":
        kind = (raw.get("textarea") or {}).get("type", "large")
        if kind not in TEXTAREA_LENGTHS:
            raise _Refusal(_error("INVALID_DATA", "textarea", f"{where}.textarea.type"))
        return TEXTAREA_LENGTHS[kind]
    length = raw.get("length")
    if length is None or data_type not in LENGTHS:
        return None
    low, high = LENGTHS[data_type]
    if isinstance(length, bool) or not isinstance(length, int) or not low <= length <= high:
        body = wire.error(
            "INVALID_DATA",
            wire.MSG_INVALID_DATA,
            {"api_name": "length", "json_path": f"{where}.length", "maximum_length": high},
        )
        raise _Refusal(body)
    return length


def _required(raw: dict[str, Any], key: str, where: str) -> str:
    """A key a create call must carry as non-empty text, or MANDATORY_NOT_FOUND."""
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Refusal(_error("MANDATORY_NOT_FOUND", key, f"{where}.{key}", wire.MSG_MANDATORY))
    return value


def _check_names_free(
    mod: OrgModule, taken: list[dict[str, Any]], label: str, api_name: str, where: str
) -> None:
    """A label or api name already in the module (or earlier in the call): DUPLICATE_DATA."""
    existing = [
        {"api_name": f.api_name, "field_label": f.meta.get("field_label")} for f in mod.fields
    ]
    for other in existing + taken:
        if str(other.get("field_label") or "").lower() == label.lower():
            raise _Refusal(
                _error("DUPLICATE_DATA", "field_label", f"{where}.field_label", "duplicate data")
            )
        if str(other["api_name"]).lower() == api_name.lower():
            raise _Refusal(
                _error("DUPLICATE_DATA", "api_name", f"{where}.api_name", "duplicate data")
            )


def _check_unique_limit(mod: OrgModule, taken: list[dict[str, Any]], where: str) -> None:
    """At most UNIQUE_FIELDS_MAX unique fields a module: LIMIT_EXCEEDED beyond."""
    count = sum(1 for f in mod.fields if f.unique) + sum(1 for t in taken if t["unique"])
    if count >= UNIQUE_FIELDS_MAX:
        due_to = [{"api_name": "unique", "json_path": f"{where}.unique"}]
        details = {"limit": UNIQUE_FIELDS_MAX, "limit_due_to": due_to}
        raise _Refusal(wire.error("LIMIT_EXCEEDED", "limit exceeded", details))


def _lookup_target(store: CrmStore, raw: dict[str, Any], where: str) -> str:
    """The module a new lookup field points to (it must exist)."""
    target = ((raw.get("lookup") or {}).get("module") or {}).get("api_name")
    found = store.module(target) if isinstance(target, str) else None
    if found is None:
        raise _Refusal(_error("INVALID_DATA", "lookup", f"{where}.lookup.module"))
    return found.api_name


def _formula(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """A formula field's ``formula`` object; its ``return_type`` is mandatory."""
    formula = raw.get("formula")
    if not (isinstance(formula, dict) and formula.get("return_type")):
        raise _Refusal(
            _error("MANDATORY_NOT_FOUND", "formula", f"{where}.formula", wire.MSG_MANDATORY)
        )
    return formula


def _new_field(
    store: CrmStore, mod: OrgModule, raw: Any, where: str, taken: list[dict[str, Any]]
) -> dict[str, Any]:
    """The metadata of one field a create call asks for, or _Refusal."""
    if not isinstance(raw, dict):
        raise _Refusal(_error("INVALID_DATA", "fields", where))
    label = _required(raw, "field_label", where).strip()
    data_type = _required(raw, "data_type", where)
    if data_type not in CREATABLE_TYPES:
        raise _Refusal(_error("INVALID_DATA", "data_type", f"{where}.data_type"))
    api_name = raw.get("api_name") or api_name_of(label)
    if not isinstance(api_name, str) or len(api_name) > 50 or not API_NAME.match(api_name):
        raise _Refusal(_error("INVALID_DATA", "api_name", f"{where}.api_name"))
    _check_names_free(mod, taken, label, api_name, where)
    unique = bool(raw.get("unique"))
    if unique:
        _check_unique_limit(mod, taken, where)
    picklist: list[tuple[str, str]] = []
    if data_type in ("picklist", "multiselectpicklist"):
        picklist = _picklist(raw, f"{where}.pick_list_values")
    return field_meta(
        api_name,
        data_type,
        label,
        length=_length(raw, data_type, where),
        unique=unique,
        writable=data_type != "formula",
        read_only=data_type == "formula",
        custom=True,
        picklist=picklist,
        lookup=_lookup_target(store, raw, where) if data_type == "lookup" else None,
        decimal_place=raw.get("decimal_place"),
        formula=_formula(raw, where) if data_type == "formula" else None,
    )


def create_fields(store: CrmStore, module: str | None, body: Any) -> Answer:
    """``POST /crm/v8/settings/fields?module=``: up to 5 custom fields, all or none."""
    if not module:
        details = {"param_name": "module", "param": "module"}
        return 400, wire.error("REQUIRED_PARAM_MISSING", wire.MSG_PARAM_MISSING, details)
    mod = store.module(module)
    if mod is None:
        details = {"param_name": "module", "param": module}
        return 400, wire.error("INVALID_DATA", wire.MSG_INVALID_DATA, details)
    rows = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows:
        return 400, {
            "fields": [_error("MANDATORY_NOT_FOUND", "fields", "$.fields", wire.MSG_MANDATORY)]
        }
    if len(rows) > FIELDS_PER_CALL:
        limit = {
            "limit": FIELDS_PER_CALL,
            "limit_due_to": [{"api_name": "fields", "json_path": "$.fields"}],
        }
        return 400, {"fields": [wire.error("LIMIT_EXCEEDED", "limit exceeded", limit)]}
    metas: list[dict[str, Any]] = []
    refusals = []
    for i, raw in enumerate(rows):
        try:
            metas.append(_new_field(store, mod, raw, f"$.fields[{i}]", metas))
        except _Refusal as exc:
            refusals.append(exc.body)
    if refusals:
        return 400, {"fields": refusals}
    out = []
    for meta in metas:
        f = store.add_field(mod.api_name, meta)
        created = store.modules[mod.api_name]
        fid = field_id(created, created.fields.index(f))
        out.append(
            {
                "code": "SUCCESS",
                "details": {"id": fid},
                "message": "field created",
                "status": "success",
            }
        )
    return 201, {"fields": out}


def _module_labels(raw: dict[str, Any]) -> tuple[str, str, str]:
    """(singular, plural, api_name) of a module create call, checked; or _Refusal."""
    for key in ("singular_label", "plural_label", "profiles"):
        if not raw.get(key):
            path = f"$.modules[0].{key}"
            raise _Refusal(_error("MANDATORY_NOT_FOUND", key, path, wire.MSG_MANDATORY))
    singular, plural = raw["singular_label"], raw["plural_label"]
    for key, label in (("singular_label", singular), ("plural_label", plural)):
        if not isinstance(label, str) or not MODULE_LABEL.match(label):
            raise _Refusal(_error("INVALID_DATA", key, f"$.modules[0].{key}"))
    api_name = raw.get("api_name") or api_name_of(plural)
    if not isinstance(api_name, str) or len(api_name) > 50 or not API_NAME.match(api_name):
        raise _Refusal(_error("INVALID_DATA", "api_name", "$.modules[0].api_name"))
    return singular, plural, api_name


def _check_module_free(store: CrmStore, singular: str, plural: str, api_name: str) -> None:
    """An api name or label another module has: DUPLICATE_DATA."""
    for other in store.modules.values():
        labels = {str(other.meta.get(k, "")).lower() for k in ("singular_label", "plural_label")}
        if other.api_name.lower() == api_name.lower():
            path = "$.modules[0].api_name"
            raise _Refusal(_error("DUPLICATE_DATA", "api_name", path, "duplicate data"))
        if singular.lower() in labels or plural.lower() in labels:
            path = "$.modules[0].plural_label"
            raise _Refusal(_error("DUPLICATE_DATA", "plural_label", path, "duplicate data"))


def _name_field(raw: dict[str, Any]) -> dict[str, Any]:
    """The new module's record name: text, or an autonumber when its display field says so."""
    shown = raw.get("display_field")
    display: dict[str, Any] = shown if isinstance(shown, dict) else {}
    label = str(display.get("field_label") or "Name")
    if display.get("data_type") == "autonumber":
        return field_meta("Name", "autonumber", label, writable=False, read_only=True)
    return field_meta("Name", "text", label, length=120, mandatory=True)


def create_module(store: CrmStore, body: Any, edition: str) -> Answer:
    """``POST /crm/v8/settings/modules``: one custom module (Enterprise and up)."""
    if edition not in MODULE_EDITIONS:
        message = "Module creation is not supported for the current edition"
        return 400, wire.error("NOT_SUPPORTED", message, {"resource_path_index": 0})
    rows = body.get("modules") if isinstance(body, dict) else None
    if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
        return 400, {"modules": [_error("INVALID_DATA", "modules", "$.modules")]}
    try:
        singular, plural, api_name = _module_labels(rows[0])
        _check_module_free(store, singular, plural, api_name)
    except _Refusal as exc:
        return 400, {"modules": [exc.body]}
    customs = sum(1 for m in store.modules.values() if m.meta.get("generated_type") == "custom")
    index = len(store.modules)
    meta = module_meta(api_name, singular, plural, "custom", f"CustomModule{customs + 1}")
    fields = tuple(OrgField.of(m) for m in (_name_field(rows[0]), *_system_fields()))
    store.add_module(OrgModule(api_name, fields, meta, module_id(index), "Name"))
    item = {
        "code": "SUCCESS",
        "details": {"id": module_id(index)},
        "message": "module created",
        "status": "success",
    }
    return 200, {"modules": [item]}


def _system_fields() -> list[dict[str, Any]]:
    """The fields a new custom module has besides its name (owner, e-mail, audit stamps)."""
    stamps = [("Created_Time", "datetime"), ("Modified_Time", "datetime")]
    stamps += [("Created_By", "ownerlookup"), ("Modified_By", "ownerlookup")]
    return [
        field_meta("Owner", "ownerlookup"),
        field_meta("Email", "email"),
        field_meta("Description", "textarea", length=32_000),
        *(field_meta(n, t, writable=False, read_only=True) for n, t in stamps),
    ]


def create_users(store: CrmStore, body: Any, licensed: int) -> Answer:
    """``POST /crm/v8/users``: add users (each takes a license; role/profile by id)."""
    rows = body.get("users") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows:
        return 400, _error("MANDATORY_NOT_FOUND", "users", "$.users", wire.MSG_MANDATORY)
    out: list[dict[str, Any]] = []
    active = sum(1 for u in store.users if u.get("status") == "active")
    for i, raw in enumerate(rows):
        where = f"$.users[{i}]"
        answer = _new_user(store, raw, where, lambda: active + len(out) < licensed)
        if answer["status"] == "success":
            out.append(answer)
        else:
            return 400, {"users": [answer]}
    return 201, {"users": out}


def _new_user(
    store: CrmStore, raw: Any, where: str, license_free: Callable[[], bool]
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return _error("INVALID_DATA", "users", where)
    for key in ("last_name", "email", "role", "profile"):
        if not raw.get(key):
            return _error("MANDATORY_NOT_FOUND", key, f"{where}.{key}", wire.MSG_MANDATORY)
    email = str(raw["email"])
    if "@" not in email:
        return _error("INVALID_DATA", "email", f"{where}.email")
    if any(str(u.get("email", "")).lower() == email.lower() for u in store.users):
        return _error("DUPLICATE_DATA", "email", f"{where}.email", "duplicate data")
    if not license_free():
        return _error("INVALID_DATA", "email", f"{where}.email", "no license available")

    def ref(value: Any, names: dict[str, str]) -> dict[str, str]:
        rid = str(value.get("id") if isinstance(value, dict) else value)
        return {"name": names.get(rid, ""), "id": rid}

    roles = {str(u["role"]["id"]): u["role"]["name"] for u in store.users if u.get("role")}
    profiles = {
        str(u["profile"]["id"]): u["profile"]["name"] for u in store.users if u.get("profile")
    }
    full = " ".join(str(raw.get(k) or "") for k in ("first_name", "last_name")).strip()
    uid = str(wire.ID_BASE + 700_000 + len(store.users))
    store.add_user(
        {
            "id": uid,
            "email": email,
            "full_name": full,
            "status": "active",
            "confirm": False,
            "role": ref(raw["role"], roles),
            "profile": ref(raw["profile"], profiles),
            "last_name": str(raw["last_name"]),
            **({"first_name": str(raw["first_name"])} if raw.get("first_name") else {}),
        }
    )
    return {"code": "SUCCESS", "details": {"id": uid}, "message": "User added", "status": "success"}


def page_of(items: list[Any], page: int, per_page: int) -> tuple[list[Any], bool]:
    """One page of a listing and whether more follow."""
    start = (page - 1) * per_page
    return items[start : start + per_page], start + per_page < len(items)
