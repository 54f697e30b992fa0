"""What reading a run's records back costs, before anything is sent. Pure.

CRM, the cheaper of two, priced as the planner prices exports (time plus credits at what
a credit is worth in time):

- COQL by ids, 50 ids a query (COQL's ``in`` limit), 1 credit each (a limit of 200 or
  less), 50 fields a query: 10,000 records are 200 queries and 200 credits;
- Bulk Read of the whole module, 50 credits a job of up to 200,000 rows: 10,000 records
  are one job, about 54 credits. It reads every record of the module, so before a verify
  the bill assumes the module holds only the run's records; verify counts the module first
  (1 credit) and prices again with the real size, as a run does before an export.

Attachments: each parent's Attachments list, a page of 200 a request, once per chunk of 50
attachments that has one on it (as verify reads them); 1 credit a page.

Books and Inventory: list pages of 200 when the step writes no line items (a list entry
lacks them), a record whose entry lacks a field the run sent is then read by id; the pages
stop once every record is found, or once they have cost as many requests as the records
still to find (those are then read by id). Otherwise one ``GET`` by id a record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from zmigrate import quotas
from zmigrate.manifest import Product, Target
from zmigrate.planner.pricing import (
    crm_bulk_read,
    finance_list,
    finance_seconds,
    latency,
    seconds_per_credit,
)
from zmigrate.schema.related import Related

COQL_IDS = quotas.COQL_IN_VALUES_MAX
"""Ids in one COQL ``where id in (...)``."""
COQL_FIELDS = 49
"""Fields one COQL query selects besides ``id`` (Zoho takes 50 columns)."""
COQL_LIMIT = quotas.CRM_PAGE_MAX
"""The limit each query asks for: 200 rows is the 1-credit tier."""


class ReadBy(StrEnum):
    """How verify reads a step's records back."""

    COQL = "coql"
    BULK_READ = "bulk_read"
    LIST_PAGES = "list_pages"
    GET = "get"
    PARENT_LISTS = "parent_lists"


@dataclass(frozen=True)
class StepBill:
    """Reading one step's records back."""

    step: str
    product: str
    module: str
    records: int
    method: ReadBy
    requests: int
    credits: int
    seconds: float
    reason: str = ""


def price_step(
    step: str,
    product: str,
    module: str,
    records: int,
    fields: int,
    target: Target,
    line_items: bool = False,
    module_records: int | None = None,
) -> StepBill:
    """The bill of reading ``records`` of one step, each with ``fields`` mapped fields, the
    cheapest way (``line_items``: the step writes them, which list pages leave out;
    ``module_records``: a CRM module's size when counted, else taken as ``records``)."""
    if product == Product.CRM:
        passes = max(1, math.ceil(fields / COQL_FIELDS))
        requests = math.ceil(records / COQL_IDS) * passes
        credits = requests * quotas.coql_credits(COQL_LIMIT)
        rounds = math.ceil(requests / target.edition.sub_concurrency)
        coql = StepBill(
            step,
            product,
            module,
            records,
            ReadBy.COQL,
            requests,
            credits,
            rounds * latency(product),
        )
        if module == Related.ATTACHMENTS:  # at most one list page an attachment
            return parent_lists(step, module, records, records, target)
        bulk = crm_bulk_read(max(records, module_records or 0), target)
        by_bulk = StepBill(
            step, product, module, records, ReadBy.BULK_READ, bulk.requests, bulk.credits,
            bulk.seconds,
        )  # fmt: skip
        spc = seconds_per_credit(target)
        cheaper, other = sorted((coql, by_bulk), key=lambda b: (_cost(b, spc), b.credits))
        return _why(cheaper, other)
    get = StepBill(
        step, product, module, records, ReadBy.GET, records, 0,
        finance_seconds(records, target.finance_plan(product)),
    )  # fmt: skip
    if line_items or not records:
        return get if not records else _why(get, None, "line items are not in list entries")
    pages = finance_list(product, records, target)
    listed = StepBill(
        step, product, module, records, ReadBy.LIST_PAGES, pages.requests, 0, pages.seconds
    )
    cheaper, other = sorted((listed, get), key=lambda b: b.requests)
    return _why(cheaper, other)


def parent_lists(step: str, module: str, records: int, reads: int, target: Target) -> StepBill:
    """Attachments, which COQL cannot select: ``reads`` pages of their parents' Attachments
    lists (200 a page), 1 credit each (a guess, as for the run's uploads)."""
    rounds = math.ceil(reads / target.edition.sub_concurrency)
    why = "attachments are read through their parents' lists"
    return StepBill(
        step, Product.CRM, module, records, ReadBy.PARENT_LISTS, reads,
        reads * quotas.CREDITS_GET, rounds * latency(Product.CRM), why,
    )  # fmt: skip


def _cost(b: StepBill, spc: float) -> float:
    return b.seconds + b.credits * spc


def _why(chosen: StepBill, other: StepBill | None, reason: str = "") -> StepBill:
    """``chosen`` saying what the other way would have cost."""
    if other is not None:
        reason = (
            f"{other.method} would take {other.requests} requests, {other.credits} credits, "
            f"~{_duration(other.seconds)}"
        )
    return replace(chosen, reason=reason)


def bulk_read_floor(records: int, target: Target) -> tuple[int, int]:
    """(requests, credits) of a Bulk Read of ``records``: the fewest credits a read takes."""
    phase = crm_bulk_read(records, target)
    return phase.requests, phase.credits


@dataclass(frozen=True)
class Bill:
    """Every step's bill; totals per product."""

    steps: tuple[StepBill, ...]

    def totals(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for s in self.steps:
            t = out.setdefault(str(s.product), {"requests": 0, "credits": 0, "seconds": 0.0})
            t["requests"] += s.requests
            t["credits"] += s.credits
            t["seconds"] += s.seconds
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"steps": [asdict(s) for s in self.steps], "totals": self.totals()}

    def lines(self) -> list[str]:
        rows = [
            f"{s.step}: {s.records} records of {s.product}/{s.module} by {s.method}: "
            f"{s.requests} requests, {s.credits} credits, ~{_duration(s.seconds)}"
            + (f" ({s.reason})" if s.reason else "")
            for s in self.steps
        ]
        rows += [
            f"{p}: {int(t['requests'])} requests, {int(t['credits'])} credits, "
            f"~{_duration(t['seconds'])}"
            for p, t in self.totals().items()
        ]
        return rows


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def make_bill(steps: Sequence[StepBill]) -> Bill:
    return Bill(tuple(steps))
