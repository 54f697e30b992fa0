"""`zmigrate schema pull`: the org's schema, read from Zoho's metadata APIs into a snapshot.

The snapshot (format ``zmigrate.schema/1``, README "The schema snapshot") is Zoho's own
answers trimmed to the keys below, so that what a pull stores is what the sandbox serves
back. What it costs is said before the first call that matters: CRM metadata GETs cost one
credit each (one to list the modules, one per record module's fields, one per 200 users);
Books and Inventory settings cost requests against the 100/min and daily caps.

Trimming is pure; :func:`pull` does the calls through the client (pacing, credits,
retries, scrubbing) and reports the bill and progress through callbacks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from zmigrate.auth import Credentials
from zmigrate.client import Limits, Zoho, open_zoho
from zmigrate.client.finance import FinanceClient
from zmigrate.clock import Clock
from zmigrate.errors import ConfigError, UsageError
from zmigrate.manifest.model import Product
from zmigrate.planner.scopes import schema_pull_scopes
from zmigrate.zoho_scopes import missing

FORMAT = "zmigrate.schema/1"
DEFAULT_OUT = "schema.json"
USERS_PER_PAGE = 200
PROGRESS_EVERY = 10
"""Say how far the field reads are every this many modules."""


class Part(enum.StrEnum):
    """What a pull reads: CRM metadata, or one finance product's settings."""

    CRM = "crm"
    BOOKS = "books"
    INVENTORY = "inventory"


FINANCE = (Part.BOOKS, Part.INVENTORY)
Progress = Callable[[str], None]
"""Told one short line as a long pull goes on."""

MODULE_KEYS = (
    "api_name",
    "module_name",
    "singular_label",
    "plural_label",
    "generated_type",
    "api_supported",
    "creatable",
    "editable",
    "deletable",
)
FIELD_SCALARS = (
    "api_name",
    "field_label",
    "data_type",
    "json_type",
    "length",
    "decimal_place",
    "system_mandatory",
    "read_only",
    "custom_field",
)
FIELD_OBJECTS: dict[str, tuple[str, ...] | None] = {
    "operation_type": ("api_create", "api_update"),
    "unique": None,  # kept as Zoho says it: {} or {"casesensitive": "0"}
    "lookup": ("module",),
    "multi_module_lookup": ("modules",),
    "currency": ("precision", "rounding_option"),
    "formula": ("return_type",),
    "auto_number": ("prefix", "start_number"),
}
"""Object keys of a field, with the sub-keys kept (None: all); absent or null → ``{}``."""
PICKLIST_KEYS = ("display_value", "actual_value")
USER_KEYS = ("id", "email", "full_name", "status", "confirm", "role", "profile")
TAX_KEYS = ("tax_id", "tax_name", "tax_percentage", "tax_type")
CURRENCY_KEYS = (
    "currency_id",
    "currency_code",
    "currency_name",
    "exchange_rate",
    "is_base_currency",
)
LOCATION_KEYS = ("location_id", "location_name", "is_primary", "status")
CUSTOM_FIELD_KEYS = ("customfield_id", "api_name", "label", "data_type", "is_mandatory")
ENTITY_MODULES = {
    "contact": "contacts",
    "item": "items",
    "invoice": "invoices",
    "salesorder": "salesorders",
    "purchaseorder": "purchaseorders",
}
"""Books/Inventory preferences name custom fields by entity; the snapshot by module (the
other entities keep Zoho's name)."""
FINANCE_CALLS = {Part.BOOKS: 3, Part.INVENTORY: 4}
"""Requests of a finance pull: taxes, currencies, preferences (+ Inventory locations)."""


# ---- trimming (pure) ------------------------------------------------------------------------
def pick(entry: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``entry`` with exactly ``keys`` (a missing one is None)."""
    return {k: entry.get(k) for k in keys}


def _named(value: object) -> dict[str, Any]:
    """``{"api_name": ...}`` of a module reference."""
    return {"api_name": value.get("api_name")} if isinstance(value, Mapping) else {}


def trim_object(key: str, value: object) -> Any:
    """One object key of a field, trimmed to the snapshot's sub-keys."""
    if not isinstance(value, Mapping) or not value:
        return {}
    if key == "lookup":
        return {"module": _named(value.get("module"))}
    if key == "multi_module_lookup":
        return {"modules": [_named(m) for m in value.get("modules") or []]}
    keep = FIELD_OBJECTS[key]
    return dict(value) if keep is None else pick(value, keep)


def trim_field(f: Mapping[str, Any]) -> dict[str, Any]:
    """A field of ``GET /settings/fields`` as the snapshot keeps it."""
    out = pick(f, FIELD_SCALARS)
    for key in FIELD_OBJECTS:
        out[key] = trim_object(key, f.get(key))
    out["pick_list_values"] = [pick(v, PICKLIST_KEYS) for v in f.get("pick_list_values") or []]
    return out


def trim_module(m: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {**pick(m, MODULE_KEYS), "fields": [trim_field(f) for f in fields]}


def trim_user(u: Mapping[str, Any]) -> dict[str, Any]:
    out = pick(u, USER_KEYS)
    for key in ("role", "profile"):
        out[key] = pick(u.get(key) or {}, ("name", "id"))
    return out


def record_modules(modules: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The modules the API serves (``api_supported``), in Zoho's order."""
    return [m for m in modules if m.get("api_supported")]


def custom_fields(preferences: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Custom field definitions per module from a ``/settings/preferences`` answer."""
    found = preferences.get("customfields")
    if found is None:
        found = (preferences.get("preferences") or {}).get("customfields")
    if not isinstance(found, Mapping):
        return {}
    return {
        ENTITY_MODULES.get(str(entity), str(entity)): [
            pick(f, CUSTOM_FIELD_KEYS) for f in fields or []
        ]
        for entity, fields in found.items()
    }


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the bill ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bill:
    """What a pull costs: before the modules are listed, and once they are (``modules``)."""

    parts: tuple[Part, ...]
    modules: int | None = None
    """API-supported CRM modules (one fields GET each), once listed."""

    def crm_credits(self) -> int | None:
        """1 to list modules + 1 per module + 1 users page (200 users a page)."""
        if Part.CRM not in self.parts or self.modules is None:
            return None
        return 1 + self.modules + 1

    def crm_line(self) -> str:
        if self.modules is None:
            return (
                "crm: 1 credit to list the modules, then 1 per API-supported module "
                "(a typical org has 25-70) and 1 per 200 users"
            )
        return (
            f"crm: {self.crm_credits()} credits in as many requests (1 modules list, "
            f"{self.modules} field lists, 1 users page; +1 per further 200 users)"
        )

    def scopes(self) -> list[str]:
        """The OAuth scopes the pull needs (metadata reads only)."""
        return schema_pull_scopes(Product(str(p)) for p in self.parts)

    def lines(self) -> list[str]:
        out = [self.crm_line()] if Part.CRM in self.parts else []
        for part in FINANCE:
            if part in self.parts:
                out.append(
                    f"{part}: {FINANCE_CALLS[part]} requests of its daily cap "
                    "(+1 per further 200 taxes, currencies or locations)"
                )
        return [*out, f"scopes needed: {', '.join(self.scopes())}"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "crm_credits": self.crm_credits(),
            "crm_modules": self.modules,
            **{f"{p}_requests": FINANCE_CALLS[p] for p in FINANCE if p in self.parts},
            "scopes": self.scopes(),
        }


# ---- the pull ----------------------------------------------------------------------------------
async def pull_crm(
    zoho: Zoho, on_bill: Callable[[Bill], None], parts: tuple[Part, ...], progress: Progress
) -> dict[str, Any]:
    modules = record_modules(await zoho.crm.settings_modules())
    on_bill(Bill(parts, len(modules)))
    done = 0

    async def fields_of(m: Mapping[str, Any]) -> list[dict[str, Any]]:
        nonlocal done
        fields = await zoho.crm.settings_fields(str(m.get("api_name")))
        done += 1
        if done % PROGRESS_EVERY == 0 or done == len(modules):
            progress(f"crm fields {done}/{len(modules)} modules")
        return fields

    all_fields = await asyncio.gather(*(fields_of(m) for m in modules))
    users: list[dict[str, Any]] = []
    page = 1
    while True:
        result = await zoho.crm.users(page, per_page=USERS_PER_PAGE)
        users.extend(trim_user(u) for u in result.records)
        if not result.more:
            break
        page = result.page + 1
        progress(f"crm users: {len(users)} so far")
    return {
        "modules": [trim_module(m, f) for m, f in zip(modules, all_fields, strict=True)],
        "users": users,
    }


async def pull_finance(client: FinanceClient, part: Part) -> dict[str, Any]:
    taxes = await client.settings_list("/settings/taxes", "taxes")
    currencies = await client.settings_list("/settings/currencies", "currencies")
    section: dict[str, Any] = {
        "custom_fields": custom_fields(await client.preferences()),
        "taxes": [pick(t, TAX_KEYS) for t in taxes],
        "currencies": [pick(c, CURRENCY_KEYS) for c in currencies],
    }
    if part is Part.INVENTORY:
        locations = await client.settings_list("/locations", "locations")
        section["locations"] = [pick(x, LOCATION_KEYS) for x in locations]
    return section


async def pull(
    zoho: Zoho,
    parts: tuple[Part, ...],
    data_center: str,
    on_bill: Callable[[Bill], None],
    progress: Progress,
) -> dict[str, Any]:
    """The snapshot of the org behind ``zoho`` (only ``parts``); ``on_bill`` hears the exact
    CRM bill once the modules are listed, before the fields are read."""
    snapshot: dict[str, Any] = {
        "format": FORMAT,
        "pulled_at": iso(zoho.clock.now()),
        "data_center": data_center,
    }
    if Part.CRM in parts:
        snapshot["crm"] = await pull_crm(zoho, on_bill, parts, progress)
    clients = {Part.BOOKS: zoho.books, Part.INVENTORY: zoho.inventory}
    for part in FINANCE:
        if part in parts:
            progress(f"reading {part} settings")
            snapshot[str(part)] = await pull_finance(clients[part], part)
    return snapshot


# ---- the command -----------------------------------------------------------------------------
def choose_parts(asked: str | None, organization_id: str | None) -> tuple[Part, ...]:
    """``--products`` (default: CRM, plus Books and Inventory when an organization id is set)."""
    if asked is None:
        return (Part.CRM, *FINANCE) if organization_id else (Part.CRM,)
    names = [n.strip().lower() for n in asked.split(",") if n.strip()]
    unknown = [n for n in names if n not in {p.value for p in Part}]
    if unknown or not names:
        raise UsageError(
            f"--products {asked!r}: name one or more of crm, books, inventory (comma-separated)"
        )
    parts = tuple(p for p in Part if p.value in names)
    needs = [str(p) for p in parts if p in FINANCE]
    if needs and not organization_id:
        raise ConfigError(
            f"{' and '.join(needs)} need an organization id; set ZOHO_ORGANIZATION_ID "
            "(GET /books/v3/organizations lists yours) or leave them out of --products"
        )
    return parts


@dataclass(frozen=True)
class Pulled:
    """A finished pull: where the snapshot went, what it holds, what it cost."""

    out: Path
    bill: Bill
    counts: dict[str, int]
    spent: dict[str, dict[str, int]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "bill": self.bill.as_dict(),
            "counts": self.counts,
            "spent": self.spent,
        }


def counts(snapshot: Mapping[str, Any]) -> dict[str, int]:
    crm = snapshot.get("crm") or {}
    out = {
        "crm_modules": len(crm.get("modules") or []),
        "crm_fields": sum(len(m["fields"]) for m in crm.get("modules") or []),
        "crm_users": len(crm.get("users") or []),
    }
    for part in FINANCE:
        section = snapshot.get(str(part))
        if section is not None:
            out[f"{part}_taxes"] = len(section["taxes"])
            out[f"{part}_currencies"] = len(section["currencies"])
            out[f"{part}_custom_fields"] = sum(len(v) for v in section["custom_fields"].values())
    if "inventory" in snapshot:
        out["inventory_locations"] = len(snapshot["inventory"]["locations"])
    return out


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that cannot be written before spending anything on the pull."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK) or out.is_dir():
        raise UsageError(f"cannot write the snapshot to {out}; choose another --out")


def write_snapshot(snapshot: Mapping[str, Any], out: Path) -> None:
    """Write the snapshot whole (a temporary file renamed into place)."""
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(orjson.dumps(snapshot, option=orjson.OPT_INDENT_2) + b"\n")
        os.replace(tmp, out)
    except OSError as e:
        raise UsageError(
            f"cannot write the snapshot to {out}: {e.strerror}; choose another --out"
        ) from None


def execute(
    credentials: Credentials,
    parts: tuple[Part, ...],
    out: Path,
    clock: Clock,
    on_bill: Callable[[Bill], None],
    progress: Progress,
) -> Pulled:
    """Pull ``parts`` with ``credentials`` and write the snapshot to ``out``."""
    bills: list[Bill] = []

    def billed(bill: Bill) -> None:
        bills.append(bill)
        on_bill(bill)

    async def go() -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
        async with open_zoho(credentials, clock, Limits()) as zoho:
            await zoho.tokens.token()
            lacking = missing(zoho.tokens.granted or (), bills[0].scopes())
            if zoho.tokens.granted is not None and lacking:
                raise ConfigError(
                    f"schema pull: the access token lacks OAuth scopes it needs: "
                    f"{', '.join(lacking)}; generate a new grant with them; nothing was read"
                )
            snapshot = await pull(zoho, parts, credentials.dc, billed, progress)
            usage = zoho.usage()
        spent = {str(p): {"requests": int(str(usage[str(p)]["requests"]))} for p in parts}
        if Part.CRM in parts:
            spent["crm"]["credits"] = int(str(usage["crm"]["credits"]))
        return snapshot, spent

    check_out(out)
    billed(Bill(parts))
    snapshot, spent = asyncio.run(go())
    write_snapshot(snapshot, out)
    return Pulled(out, bills[-1], counts(snapshot), spent)
