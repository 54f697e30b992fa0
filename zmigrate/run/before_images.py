"""``keep_before_images = true``: read each record an update or upsert is about to change,
so `zmigrate rollback` can put its mapped fields back.

CRM: COQL by each field of the step's key, 50 values and 49 fields a query (1 credit
each); Books and
Inventory: the record found by its key, then read by id (its list entry lacks line items
and custom fields). A key no record holds is kept too, as "absent": what the run then
updates there is its own (an upsert's create whose answer was lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zmigrate import quotas
from zmigrate.checkpoint import BeforeImage
from zmigrate.client import Zoho
from zmigrate.client.crm import coql_literal
from zmigrate.client.finance import resource_keys
from zmigrate.manifest import Product, Step
from zmigrate.outcomes import chunked
from zmigrate.planner.before import FIELDS_PER_QUERY, KEYS_PER_QUERY
from zmigrate.run.items import Item, bulk_cell
from zmigrate.run.writers.finance import finance_client

NOT_FIELDS = frozenset({"id", "$se_module"})


async def read_before(zoho: Zoho, step: Step, items: Sequence[Item]) -> list[BeforeImage]:
    """Each item's record as it is now (before the run writes it), or absent."""
    if step.target.product == Product.CRM:
        return await _crm(zoho, step, items)
    return [await _finance(zoho, step, item) for item in items]


def _names(items: Sequence[Item], step: Step) -> list[str]:
    return sorted({*step.key, *(k for i in items for k in i.payload)} - NOT_FIELDS)


async def _crm(zoho: Zoho, step: Step, items: Sequence[Item]) -> list[BeforeImage]:
    """Records holding any of the items' key values: CRM upsert checks its key fields one
    at a time (``duplicate_check_fields``), trimmed and ignoring case, and updates the first
    record one matches; an item's record is found the same way."""
    module, names = step.target.module or "", _names(items, step)
    by_id: dict[str, dict[str, Any]] = {}
    for field in step.key:
        values = sorted({str(bulk_cell(i.payload.get(field))) for i in items} - {"", "None"})
        for part in chunked(values, KEYS_PER_QUERY):
            where = f"{field} in ({', '.join(coql_literal(v) for v in part)})"
            for columns in chunked(names, FIELDS_PER_QUERY):
                query = f"select {', '.join(['id', *columns])} from {module} where {where}"
                page = await zoho.crm.coql(query, limit=quotas.CRM_PAGE_MAX)
                for rec in page.records:
                    by_id.setdefault(str(rec["id"]), {}).update(rec)
    out = []
    for item in items:
        found = _match(step, item.payload, by_id.values())
        out.append(_image(item, None if found is None else str(found["id"]), found or {}))
    return out


def _match(
    step: Step, payload: Mapping[str, Any], records: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The record Zoho's upsert would update: the first key field any record matches."""
    for field in step.key:
        want = _folded(payload.get(field))
        if want:
            for rec in records:
                if _folded(rec.get(field)) == want:
                    return rec
    return None


def _folded(value: Any) -> str:
    text = "" if value is None else str(bulk_cell(value))
    return text.strip().lower()


async def _finance(zoho: Zoho, step: Step, item: Item) -> BeforeImage:
    client, module = finance_client(zoho, step.target.product), step.target.module or ""
    key = step.key[0]
    value = item.payload.get(key)
    found = await client.find_by(module, key, value) if value not in (None, "") else None
    if found is None:
        return _image(item, None, {})
    record_id = str(found.get(resource_keys(step.target.product, module)[1]))
    return _image(item, record_id, await client.get(module, record_id) or found)


def _image(item: Item, zoho_id: str | None, record: Mapping[str, Any]) -> BeforeImage:
    """The values of the fields the run sends, as an update would put them back."""
    if zoho_id is None:
        return BeforeImage(item.key, None, {})
    values: dict[str, Any] = {}
    for name, sent in item.payload.items():
        if name in NOT_FIELDS:
            continue
        if name == "line_items" and isinstance(sent, list):
            values[name] = _line_items(sent, record.get(name))
            continue
        values[name] = _restorable(record.get(name))
    return BeforeImage(item.key, zoho_id, values)


def _line_items(sent: list[Any], had: Any) -> list[dict[str, Any]]:
    names = {k for line in sent if isinstance(line, Mapping) for k in line}
    lines = had if isinstance(had, list) else []
    return [
        {k: _restorable(line.get(k)) for k in sorted(names) if k in line}
        for line in lines
        if isinstance(line, Mapping)
    ]


def _restorable(value: Any) -> Any:
    """A lookup read back as ``{"name", "id"}`` is written as ``{"id"}``."""
    if isinstance(value, Mapping) and "id" in value:
        return {"id": value["id"]}
    return value
