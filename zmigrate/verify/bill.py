"""What reading a run's records back costs, before anything is sent. Pure.

CRM: COQL by ids, 50 ids a query (COQL's ``in`` limit), 1 credit each (a limit of 200 or
less), 50 fields a query: 10,000 records are 200 queries and 200 credits. A Bulk Read
(50 credits a job) reads a whole module, the run's records and everyone else's, so it is
only cheaper when the module holds little besides the run's records, which the run cannot
know; :func:`bulk_read_floor` says what it would cost, for comparison.

Books and Inventory: one ``GET`` by id a record. Their list pages (200 a request) leave
out fields a run writes (line items, custom fields), so a record's values need its own GET.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from zmigrate import quotas
from zmigrate.manifest import Product, Target
from zmigrate.planner.pricing import crm_bulk_read, finance_seconds, latency

COQL_IDS = quotas.COQL_IN_VALUES_MAX
"""Ids in one COQL ``where id in (...)``."""
COQL_FIELDS = 49
"""Fields one COQL query selects besides ``id`` (Zoho takes 50 columns)."""
COQL_LIMIT = quotas.CRM_PAGE_MAX
"""The limit each query asks for: 200 rows is the 1-credit tier."""


@dataclass(frozen=True)
class StepBill:
    """Reading one step's records back."""

    step: str
    product: str
    module: str
    records: int
    method: str  # coql | get
    requests: int
    credits: int
    seconds: float


def price_step(
    step: str, product: str, module: str, records: int, fields: int, target: Target
) -> StepBill:
    """The bill of reading ``records`` of one step, each with ``fields`` mapped fields."""
    if product == Product.CRM:
        passes = max(1, math.ceil(fields / COQL_FIELDS))
        requests = math.ceil(records / COQL_IDS) * passes
        credits = requests * quotas.coql_credits(COQL_LIMIT)
        rounds = math.ceil(requests / target.edition.sub_concurrency)
        return StepBill(
            step, product, module, records, "coql", requests, credits, rounds * latency(product)
        )
    seconds = finance_seconds(records, target.finance_plan(product))
    return StepBill(step, product, module, records, "get", records, 0, seconds)


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
