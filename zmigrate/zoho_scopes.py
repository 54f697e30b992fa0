"""Zoho OAuth scopes: which one a call needs, whether a token's scopes grant it, and which
scopes a whole manifest needs before a run or a schema pull starts. Pure.

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

from zmigrate.manifest.model import Manifest, Method, Operation, Product, SourceKind, Step


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
SERVICES: dict[Product, str] = {
    Product.CRM: "ZohoCRM",
    Product.BOOKS: "ZohoBooks",
    Product.INVENTORY: "ZohoInventory",
}
SETTINGS = "settings"
_AREAS: dict[Product, dict[str, str]] = {
    Product.BOOKS: {
        "items": SETTINGS,
        "organizations": SETTINGS,
        "taxes": SETTINGS,
        "currencies": SETTINGS,
        "preferences": SETTINGS,
        "users": SETTINGS,
        "chartofaccounts": "accountants",
        "journals": "accountants",
        "bankaccounts": "banking",
        "banktransactions": "banking",
    },
    Product.INVENTORY: {
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


def finance_area(product: Product, module: str) -> str:
    """The scope area of a Books/Inventory path's first segment (``items`` → ``settings``
    in Books); a module Zoho scopes by its own name keeps it (``invoices``)."""
    return _AREAS.get(product, {}).get(module, module)


def finance_scope(product: Product, module: str, op: ScopeOp) -> str:
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


def _write_ops(operation: Operation) -> tuple[ScopeOp, ...]:
    if operation is Operation.INSERT:
        return (ScopeOp.CREATE,)
    if operation is Operation.UPDATE:
        return (ScopeOp.UPDATE,)
    return (ScopeOp.CREATE, ScopeOp.UPDATE)


def _crm_target(step: Step, module: str) -> list[str]:
    # Zoho's Upsert page takes CREATE (or WRITE, ALL) for an upsert; Update needs UPDATE
    write = ScopeOp.UPDATE if step.operation is Operation.UPDATE else ScopeOp.CREATE
    need = [crm_module_scope(module, op) for op in (ScopeOp.READ, write)]
    if step.method is not Method.REST:  # Bulk Write: the upload, then the job
        need += ["ZohoFiles.files.CREATE", "ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.READ"]
    if step.create_fields:
        need.append("ZohoCRM.settings.fields.CREATE")
    return need


def _step_scopes(step: Step) -> list[str]:
    need: list[str] = []
    src = step.source
    if src.kind is SourceKind.ZOHO and src.product is Product.CRM and src.module:
        need += [crm_module_scope(src.module, ScopeOp.READ), "ZohoCRM.bulk.READ"]
    elif src.kind is SourceKind.ZOHO and src.product is not None and src.module:
        need.append(finance_scope(src.product, src.module, ScopeOp.READ))
    tgt = step.target
    if tgt.product is Product.CRM and tgt.module:
        need += _crm_target(step, tgt.module)
        need.append("ZohoCRM.coql.READ")  # verification counts and compares by COQL
    elif tgt.product in (Product.BOOKS, Product.INVENTORY) and tgt.module:
        ops = (ScopeOp.READ, *_write_ops(step.operation))
        need += [finance_scope(tgt.product, tgt.module, op) for op in ops]
    return need


def manifest_scopes(manifest: Manifest) -> list[str]:
    """Every scope a run of ``manifest`` needs, sorted: each step's reads and writes, plus the
    metadata the run reads first (CRM fields and users; Books/Inventory organizations, taxes
    and custom fields under ``settings``)."""
    need: list[str] = []
    products = set()
    for step in manifest.steps:
        need += _step_scopes(step)
        products |= {step.target.product, step.source.product}
    if Product.CRM in products:
        need += [
            "ZohoCRM.settings.fields.READ",
            "ZohoCRM.settings.modules.READ",
            "ZohoCRM.users.READ",
            "ZohoCRM.org.READ",
        ]
    for product in (Product.BOOKS, Product.INVENTORY):
        if product in products:
            need.append(f"{SERVICES[product]}.{SETTINGS}.{ScopeOp.READ.value}")
    return sorted(set(need), key=str.lower)


def schema_pull_scopes(products: Iterable[Product]) -> list[str]:
    """The scopes ``zmigrate schema pull`` needs for these products: metadata reads only."""
    need: list[str] = []
    for product in products:
        if product is Product.CRM:
            need += [
                "ZohoCRM.settings.fields.READ",
                "ZohoCRM.settings.modules.READ",
                "ZohoCRM.users.READ",
                "ZohoCRM.org.READ",
            ]
        elif product in SERVICES:
            need.append(f"{SERVICES[product]}.{SETTINGS}.{ScopeOp.READ.value}")
    return need
