"""The OAuth scopes a manifest or a schema pull needs, said before either starts (`plan`
prints them, `run` and `schema pull` refuse a token whose answer lacks one). Pure."""

from __future__ import annotations

from collections.abc import Iterable

from zmigrate.manifest.model import Manifest, Method, Operation, Product, SourceKind, Step
from zmigrate.zoho_scopes import SERVICES, SETTINGS, ScopeOp, crm_module_scope, finance_scope


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
