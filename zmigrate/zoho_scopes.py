"""Zoho OAuth scopes: which one a call needs and whether a token's scopes grant it (the
sandbox checks calls with it; `planner.scopes` lists a manifest's). Pure.

A scope is ``Service.scope[.sub].OPERATION`` (Zoho's "OAuth scope" page). Books and Inventory
split it by area: ``ZohoBooks.contacts.CREATE``, ``ZohoBooks.invoices.READ``, items under
``ZohoBooks.settings`` (Books) but ``ZohoInventory.items`` (Inventory), organizations, taxes,
currencies, locations and preferences under ``settings``. A grant covers a need when it names
it, or the same scope with ``ALL``, or the service's ``fullaccess.all``; CRM's
``ZohoCRM.modules.ALL`` (or ``.READ``) also covers each module's ``ZohoCRM.modules.leads.READ``.
Names compare case-insensitively (Zoho writes ``Create`` and ``CREATE``, ``fullaccess.all``
and ``FullAccess.all``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ScopeOp(StrEnum):
    """The operation part of a scope."""

    CREATE = "CREATE"
    READ = "READ"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


HTTP_OPS: dict[str, ScopeOp] = {
    "GET": ScopeOp.READ,
    "HEAD": ScopeOp.READ,
    "POST": ScopeOp.CREATE,
    "PUT": ScopeOp.UPDATE,
    "PATCH": ScopeOp.UPDATE,
    "DELETE": ScopeOp.DELETE,
}
SERVICES: dict[str, str] = {"crm": "ZohoCRM", "books": "ZohoBooks", "inventory": "ZohoInventory"}
"""Scope service of each product (keys match `manifest.Product` values)."""
SETTINGS = "settings"
_AREAS: dict[str, dict[str, str]] = {
    "books": {
        "items": SETTINGS,
        "organizations": SETTINGS,
        "taxes": SETTINGS,
        "currencies": SETTINGS,
        "preferences": SETTINGS,
        "users": SETTINGS,
        "chartofaccounts": "accountants",
        "journals": "accountants",
        "openingbalances": SETTINGS,
        "bankaccounts": "banking",
        "banktransactions": "banking",
    },
    "inventory": {
        "itemgroups": "items",
        "organizations": SETTINGS,
        "taxes": SETTINGS,
        "currencies": SETTINGS,
        "preferences": SETTINGS,
        "locations": SETTINGS,
        "warehouses": SETTINGS,
        "users": SETTINGS,
    },
}


def finance_area(product: str, module: str) -> str:
    """The scope area of a Books/Inventory path's first segment (``items`` → ``settings``
    in Books); a module Zoho scopes by its own name keeps it (``invoices``)."""
    return _AREAS.get(product, {}).get(module, module)


def finance_scope(product: str, module: str, op: ScopeOp) -> str:
    """``ZohoBooks.contacts.CREATE`` for a Books/Inventory module and operation."""
    return f"{SERVICES[product]}.{finance_area(product, module)}.{op.value}"


def crm_module_scope(module: str, op: ScopeOp) -> str:
    """``ZohoCRM.modules.contacts.CREATE`` for a CRM module and operation."""
    return f"ZohoCRM.modules.{module.lower()}.{op.value}"


def _covering(needed: str) -> set[str]:
    """Every scope (lower case) that grants ``needed``."""
    parts = needed.lower().split(".")
    service, op = parts[0], parts[-1]
    cover = {needed.lower(), f"{service}.fullaccess.all"}
    if op in ("create", "update"):  # CRM's WRITE edits records (Upsert and Update pages)
        cover.add(".".join([*parts[:-1], "write"]))
    middle = parts[1:-1]
    for end in range(1, len(middle) + 1):  # modules.leads.read ← modules.read, modules.all
        prefix = ".".join([service, *middle[:end]])
        cover |= {f"{prefix}.all", f"{prefix}.{op}"} if end < len(middle) else {f"{prefix}.all"}
    return cover


def grants(scopes: Iterable[str], needed: str) -> bool:
    """Do the token's ``scopes`` grant ``needed``?"""
    have = {s.strip().lower() for s in scopes}
    return not have.isdisjoint(_covering(needed))


def missing(scopes: Iterable[str], needed: Iterable[str]) -> list[str]:
    """The needed scopes the token's ``scopes`` lack, in order."""
    have = list(scopes)
    return [n for n in needed if not grants(have, n)]
