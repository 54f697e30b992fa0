"""Books and Inventory settings: taxes, currencies, (Inventory) locations, custom fields.

A new org has its base currency (USD) and EUR enabled (Zoho's has its base currency only:
EUR is there so the sample manifests' euro customers rehearse), one tax and (Inventory) one
primary location; a schema
snapshot's ``books`` / ``inventory`` section replaces them (:meth:`FinanceSettings.load`,
reached through ``FinanceProduct.load_settings``). The same settings serve every org.

Wire shapes are Zoho's: ``GET /settings/taxes`` → ``{"code": 0, "message": "success",
"taxes": [...], "page_context": {...}}``; ``/settings/currencies`` → ``currencies``;
Inventory ``/locations`` → ``locations``. Zoho documents no endpoint listing custom field
definitions; ``GET /settings/preferences`` answers them under ``customfields`` keyed by entity
(``contact``, ``item``, ``invoice``), as a live integration reads them (exact placement a
guess). Records keep custom field values as ``custom_fields`` arrays; a write naming a custom
field the org lacks is answered with code 120100 (recorded live; message a guess).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from aiohttp import web

from zmigrate.errors import UsageError
from zmigrate.quotas import BOOKS_PAGE_MAX
from zmigrate.sandbox.core import Reply, zoho_json
from zmigrate.sandbox.finance_values import DATE_RE, error, invalid, number

CUSTOM_FIELDS = "custom_fields"
UNKNOWN_CUSTOM_FIELD = 120100
BASE_CURRENCY_ID = "460000000000097"
"""The organizations' ``currency_id`` (USD), as ``GET /organizations`` says."""

TAX_TEMPLATE: dict[str, Any] = {
    "tax_id": "",
    "tax_name": "",
    "tax_percentage": 0.0,
    "tax_type": "tax",
    "tax_specific_type": "",
    "tax_authority_id": "",
    "tax_authority_name": "",
    "is_value_added": False,
    "is_default_tax": False,
    "is_editable": True,
}
CURRENCY_TEMPLATE: dict[str, Any] = {
    "currency_id": "",
    "currency_code": "",
    "currency_name": "",
    "currency_symbol": "",
    "price_precision": 2,
    "currency_format": "1,234,567.89",
    "is_base_currency": False,
    "exchange_rate": 1.0,
    "effective_date": "",
}
LOCATION_TEMPLATE: dict[str, Any] = {
    "location_id": "",
    "location_name": "",
    "type": "general",
    "parent_location_id": "",
    "is_primary": False,
    "status": "active",
    "email": "",
    "phone": "",
    "address": {},
    "associated_users": [],
}
CUSTOM_FIELD_TEMPLATE: dict[str, Any] = {
    "customfield_id": "",
    "api_name": "",
    "label": "",
    "data_type": "string",
    "is_mandatory": False,
    "is_active": True,
}
DEFAULTS: dict[str, list[dict[str, Any]]] = {
    "taxes": [
        {"tax_id": "460000000000101", "tax_name": "Sales Tax", "tax_percentage": 10.0,
         "is_default_tax": True},
    ],
    "currencies": [
        {"currency_id": BASE_CURRENCY_ID, "currency_code": "USD",
         "currency_name": "USD- US Dollar", "currency_symbol": "$", "is_base_currency": True},
        {"currency_id": "460000000000099", "currency_code": "EUR", "currency_name": "EUR- Euro",
         "currency_symbol": "€", "exchange_rate": 1.08},
    ],
    "locations": [
        {"location_id": "460000000000111", "location_name": "Head Office", "is_primary": True},
    ],
}  # fmt: skip
LISTS = {"taxes": TAX_TEMPLATE, "currencies": CURRENCY_TEMPLATE, "locations": LOCATION_TEMPLATE}
ID_KEYS = {"taxes": "tax_id", "currencies": "currency_id", "locations": "location_id"}
NUMBER_TYPES = frozenset({"number", "decimal", "amount", "percent"})
REPORT_NAMES = {"taxes": "Taxes", "currencies": "Currencies", "locations": "Locations"}


def _entries(section: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """A snapshot list (taxes, ...) over its template; UsageError names a malformed entry."""
    given = section.get(key, [])
    if not isinstance(given, list):
        raise UsageError(f"schema snapshot: {where}.{key} is not a list; pull the schema again")
    out = []
    for i, entry in enumerate(given):
        id_key = ID_KEYS[key]
        if not isinstance(entry, Mapping) or not entry.get(id_key):
            raise UsageError(
                f"schema snapshot: {where}.{key}[{i}] has no {id_key}; pull the schema again"
            )
        out.append({**LISTS[key], **entry})
    return out


class FinanceSettings:
    """One product's settings (the same for each of its orgs) and its custom fields."""

    def __init__(self, product: str, lists: tuple[str, ...]) -> None:
        """``lists``: the settings lists this product serves (Inventory adds locations)."""
        self.product, self.lists = product, lists
        self.entries = {k: [{**LISTS[k], **e} for e in DEFAULTS[k]] for k in lists}
        self.custom: dict[str, list[dict[str, Any]]] = {}
        """Custom field definitions per module (``contacts``) or other entity (``vendor``)."""

    def load(self, section: Mapping[str, Any]) -> None:
        """Take a snapshot's ``books`` / ``inventory`` section (missing lists keep defaults)."""
        if not isinstance(section, Mapping):
            raise UsageError(f"schema snapshot: {self.product} is not an object")
        for key in self.lists:
            if key in section:
                self.entries[key] = _entries(section, key, self.product)
        fields = section.get(CUSTOM_FIELDS, {})
        if not isinstance(fields, Mapping):
            raise UsageError(f"schema snapshot: {self.product}.custom_fields is not an object")
        self.custom = {}
        for module, defs in fields.items():
            where = f"{self.product}.custom_fields.{module}"
            if not isinstance(defs, list) or not all(
                isinstance(d, Mapping) and d.get("customfield_id") and d.get("api_name")
                for d in defs
            ):
                raise UsageError(
                    f"schema snapshot: {where} needs entries with customfield_id and api_name"
                )
            self.custom[module] = [{**CUSTOM_FIELD_TEMPLATE, **d} for d in defs]

    # ---- wire ----------------------------------------------------------------------------
    def add_routes(
        self, router: web.UrlDispatcher, prefix: str, served: Collection[str] = ()
    ) -> None:
        """The lists' routes, but those ``served`` as modules (Inventory's locations)."""
        for key in self.lists:
            if key in served:
                continue
            path = "/locations" if key == "locations" else f"/settings/{key}"
            router.add_get(prefix + path, self._lister(key))

    def _lister(self, key: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return zoho_json(self.page(key, request.query))

        return handler

    def page(self, key: str, query: Mapping[str, str]) -> dict[str, Any]:
        """One page of a settings list, as Zoho answers it."""
        page, per_page = _page_param(query, "page", 1), _page_param(query, "per_page", 200)
        per_page = min(per_page, BOOKS_PAGE_MAX)
        entries = self.entries[key]
        start = (page - 1) * per_page
        return {
            "code": 0,
            "message": "success",
            key: entries[start : start + per_page],
            "page_context": {
                "page": page,
                "per_page": per_page,
                "has_more_page": len(entries) > start + per_page,
                "report_name": REPORT_NAMES[key],
                "applied_filter": "Status.All",
                "sort_column": "created_time",
                "sort_order": "D",
            },
        }

    def preferences(self, entity_of: Mapping[str, str]) -> dict[str, Any]:
        """``GET /settings/preferences``: custom fields by entity (``entity_of``: module →
        Zoho's entity name, e.g. contacts → contact)."""
        by_entity = {entity_of.get(m, m): defs for m, defs in self.custom.items()}
        return {"code": 0, "message": "success", "customfields": by_entity}

    # ---- records -------------------------------------------------------------------------
    def custom_values(
        self, module: str, given: Any, old: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        """A record's ``custom_fields`` after a write of ``given`` (by ``api_name``,
        ``customfield_id`` or ``label``); an empty value removes the field's entry."""
        if not isinstance(given, list):
            raise invalid(CUSTOM_FIELDS)
        defs = self.custom.get(module, [])
        current = {e["customfield_id"]: e for e in (old or {}).get(CUSTOM_FIELDS) or []}
        for i, entry in enumerate(given):
            if not isinstance(entry, Mapping):
                raise invalid(f"{CUSTOM_FIELDS}[{i}]")
            d = _definition(defs, entry)
            value = entry.get("value")
            if value is None or value == "":
                current.pop(d["customfield_id"], None)
                continue
            current[d["customfield_id"]] = {
                "customfield_id": d["customfield_id"],
                "api_name": d["api_name"],
                "label": d["label"],
                "data_type": d["data_type"],
                "index": defs.index(d) + 1,
                "value": _checked(d, value),
                "value_formatted": str(value),
            }
        return sorted(current.values(), key=lambda e: int(e["index"]))


def _definition(defs: list[dict[str, Any]], entry: Mapping[str, Any]) -> dict[str, Any]:
    """The definition an entry names, or Zoho's 120100 answer."""
    for key in ("customfield_id", "api_name", "label"):
        if key in entry:
            wanted = str(entry[key])
            for d in defs:
                if str(d[key]) == wanted:
                    return d
            raise Reply(error(400, UNKNOWN_CUSTOM_FIELD, f"Invalid custom field {key}: {wanted}"))
    raise Reply(error(400, UNKNOWN_CUSTOM_FIELD, "A custom field needs an api_name"))


def _checked(d: Mapping[str, Any], value: Any) -> Any:
    name = str(d["api_name"])
    kind = str(d["data_type"])
    if kind in NUMBER_TYPES:
        return number(value, name)
    if kind == "check_box":
        if not isinstance(value, bool):
            raise invalid(name)
        return value
    if not isinstance(value, str):
        raise invalid(name)
    if kind == "date" and not DATE_RE.match(value):
        raise invalid(name)
    return value


def _page_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise invalid(name)
    return int(raw)
