"""Which modules and fields exist in the user's Zoho org, as data.

One :class:`OrgSchema` per manifest (``[target] schema = "FILE"``, a snapshot made by
``zmigrate schema pull``; :func:`builtin` without one) for the manifest checker ("that
target field does not exist"), the mapping (types and formats) and the run (lookups, export
columns). The built-in catalogue (``CRM_MODULES``, ``BOOKS_MODULES``, ``INVENTORY_MODULES``,
:func:`module`) is also what the sandbox serves. Field types use CRM's ``data_type`` names;
Books and Inventory fields reuse the same vocabulary.

Modules: ``model`` (the values), ``crm`` and ``finance`` (the built-in modules),
``snapshot`` (format ``zmigrate.schema/1``: read, write, errors located by JSON path).
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType

from zmigrate.schema.crm import CRM_MODULES, DEAL_STAGES, LEAD_STATUSES
from zmigrate.schema.finance import BOOKS_MODULES, INVENTORY_MODULES
from zmigrate.schema.model import (
    MULTI_SEPARATOR,
    NEVER_WRITTEN,
    NUMERIC,
    TEXTUAL,
    AutoNumber,
    Currency,
    CustomField,
    Field,
    FieldType,
    FinanceSettings,
    Location,
    Module,
    Named,
    OrgSchema,
    Tax,
    User,
)
from zmigrate.schema.snapshot import FORMAT, PULL_HINT, from_snapshot, load_snapshot, to_snapshot

PRODUCTS: dict[str, dict[str, Module]] = {
    "crm": CRM_MODULES,
    "books": BOOKS_MODULES,
    "inventory": INVENTORY_MODULES,
}


@cache
def builtin() -> OrgSchema:
    """The schema of a default org: every standard module, no custom field, no users."""
    return OrgSchema(
        crm=MappingProxyType(CRM_MODULES),
        books=MappingProxyType(BOOKS_MODULES),
        inventory=MappingProxyType(INVENTORY_MODULES),
    )


def module(product: str, name: str) -> Module | None:
    """The built-in module ``name`` of ``product`` (names are case-insensitive, as in Zoho)."""
    return builtin().module(product, name)


__all__ = [
    "BOOKS_MODULES",
    "CRM_MODULES",
    "DEAL_STAGES",
    "FORMAT",
    "INVENTORY_MODULES",
    "LEAD_STATUSES",
    "MULTI_SEPARATOR",
    "NEVER_WRITTEN",
    "NUMERIC",
    "PRODUCTS",
    "PULL_HINT",
    "TEXTUAL",
    "AutoNumber",
    "Currency",
    "CustomField",
    "Field",
    "FieldType",
    "FinanceSettings",
    "Location",
    "Module",
    "Named",
    "OrgSchema",
    "Tax",
    "User",
    "builtin",
    "from_snapshot",
    "load_snapshot",
    "module",
    "to_snapshot",
]
