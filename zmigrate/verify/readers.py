"""Verify's whole-step reads (``bill`` chooses them): a CRM Bulk Read of the module and
Books/Inventory list pages, both kept to the run's ids.

A Bulk Read that does not hold a record says it is missing; list entries hold fewer fields
than a record (no line items, custom fields in real Zoho only partly), so a record whose
entry lacks a field the run sent is read by id after all (``execute``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from zmigrate.client import Zoho
from zmigrate.client.finance import FinanceClient, resource_keys


async def bulk_read(
    zoho: Zoho, module: str, names: Sequence[str], ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """The rows of ``ids`` in a Bulk Read of the whole of ``module``."""
    found: dict[str, dict[str, Any]] = {}
    async for page in zoho.crm.bulk_read(module, list(names)):
        for row in page:
            rid = str(row.get("Id") or row.get("id") or "")
            if rid in ids:
                found[rid] = {"id": rid, **{k: v for k, v in row.items() if k != "Id"}}
    return found


async def list_pages(
    client: FinanceClient, product: str, module: str, ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """List entries of ``ids``, 200 a page, until all are found or the pages have cost as
    many requests as the records still to find (those are then cheaper read by id)."""
    id_field = resource_keys(product, module)[1]
    found: dict[str, dict[str, Any]] = {}
    page, spent = 1, 0
    while spent < len(ids) - len(found):
        result = await client.list_page(module, page)
        spent += 1
        for entry in result.records:
            rid = str(entry.get(id_field))
            if rid in ids:
                found[rid] = entry
        if not result.more or len(found) == len(ids):
            break
        page = result.page + 1
    return found
