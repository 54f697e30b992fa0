"""What a plan is: priced phases, per-step and per-product bills, and their stable JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import orjson

from zmigrate.manifest import PRODUCTS, OnDuplicateKey, Operation, Product, Target
from zmigrate.planner.setup import SetupCalls
from zmigrate.sources import KeyCollision

SCHEMA_VERSION = "zmigrate.plan/1"
PRODUCT_ORDER: tuple[str, ...] = tuple(p.value for p in PRODUCTS)
"""Products in the order totals are listed (plain strings: they key the JSON ``totals``)."""

PhaseKind = Literal["read", "write"]


class PhaseMethod(StrEnum):
    """What a phase does: a write is ``bulk`` or ``rest``, a read one of the other three."""

    BULK = "bulk"
    REST = "rest"
    BULK_READ = "bulk_read"
    REST_PAGES = "rest_pages"
    LIST_PAGES = "list_pages"
    SPREAD = "spread"
    """A Books/Inventory write of a shared module, part through each product (spread_shared)."""
    RELATED = "related"
    ATTACH = "attach"


@dataclass(frozen=True)
class Phase:
    """One priced way to read or write a step's records in one product."""

    kind: PhaseKind
    product: Product
    method: PhaseMethod
    records: int
    batch_size: int
    batches: int
    requests: int
    credits: int
    bulk_jobs: int
    seconds: float
    reason: str = ""
    bytes: int = 0
    """Bytes of files uploaded (attachments)."""

    def cost(self, seconds_per_credit: float) -> float:
        return self.seconds + self.credits * seconds_per_credit


@dataclass(frozen=True)
class StepPlan:
    """A step's bill: what it reads and writes, in which batches, for how many requests."""

    name: str
    target: str
    operation: Operation
    source: str
    rows: int
    records: int
    estimated: bool  # records come from the manifest's estimate (a Zoho export)
    depends_on: tuple[str, ...]
    read: Phase | None
    write: Phase | None
    on_duplicate_key: OnDuplicateKey = OnDuplicateKey.ERROR
    collisions: tuple[KeyCollision, ...] = ()
    """Records whose target key an earlier record has (dead-lettered or merged by the run)."""
    spread: Phase | None = None
    """With spread_shared, the part of the write sent through the other product."""

    @property
    def phases(self) -> tuple[Phase, ...]:
        return tuple(p for p in (self.read, self.write, self.spread) if p is not None)

    @property
    def method(self) -> str:
        """``bulk``/``rest`` for a write, the read method for an export, ``a+b`` for both."""
        return "+".join(p.method for p in (self.read, self.write) if p is not None) or "local"

    @property
    def batches(self) -> int:
        return sum(p.batches for p in self.phases)

    @property
    def requests(self) -> int:
        return sum(p.requests for p in self.phases)

    @property
    def credits(self) -> int:
        return sum(p.credits for p in self.phases)

    @property
    def bulk_jobs(self) -> int:
        return sum(p.bulk_jobs for p in self.phases)

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.phases)


@dataclass(frozen=True)
class ProductTotals:
    """One product's share: requests, credits, bulk jobs, active time and days of quota."""

    product: str
    plan: str  # CRM edition or Books/Inventory plan
    requests: int
    credits: int
    bulk_jobs: int
    seconds: float
    days: int
    daily_limit: (
        int | None
    )  # requests/day (Books, Inventory) or credits/24 h (CRM; None: unlimited)
    concurrency: int
    wait_seconds: float = 0.0
    starts_at: float = 0.0
    """Seconds from the run's first call to this product's first; ``seconds`` runs from there
    to its last answer (its whole sequence of calls, see ``planner.timeline``)."""

    @property
    def fits(self) -> bool:
        """True when the product's daily cap (or CRM's 24 h credit budget) covers the run."""
        return self.days <= 1


@dataclass(frozen=True)
class OtherWay:
    """The same migration priced with ``spread_shared`` the other way."""

    spread_shared: bool
    estimated_seconds: float
    seconds: dict[str, float]
    requests: dict[str, int]

    @classmethod
    def of(cls, plan: Plan) -> OtherWay:
        totals = plan.totals.values()
        return cls(
            plan.target.spread_shared,
            plan.estimated_seconds,
            {t.product: t.seconds for t in totals},
            {t.product: t.requests for t in totals},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "spread_shared": self.spread_shared,
            "estimated_seconds": round(self.estimated_seconds, 1),
            "totals": {
                p: {"requests": self.requests[p], "seconds": round(s, 1)}
                for p, s in self.seconds.items()
            },
        }


@dataclass(frozen=True)
class Plan:
    """The whole bill. ``to_dict``/``to_json`` give the documented, stable JSON schema."""

    manifest: str
    target: Target
    steps: tuple[StepPlan, ...]
    totals: dict[str, ProductTotals]
    estimated_seconds: float
    days: int
    token_refreshes: int
    warnings: tuple[str, ...] = field(default=())
    setup: tuple[SetupCalls, ...] = ()
    """Calls before the first write (metadata preflight, field creation), in the totals."""
    scopes: tuple[str, ...] = ()
    """OAuth scopes the run needs (`zoho_scopes.manifest_scopes`); ``run`` checks them first."""
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per step: seconds from the run's first call to its first call and to its last answer."""
    other_way: OtherWay | None = None
    """A manifest writing Books/Inventory contacts or items: the plan with spread_shared
    the other way (None: it writes none)."""

    def step(self, name: str) -> StepPlan:
        return next(s for s in self.steps if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "schema": SCHEMA_VERSION,
            "manifest": self.manifest,
            "target": {
                "data_center": t.data_center,
                "crm_edition": t.crm_edition,
                "crm_users": t.crm_users,
                "crm_daily_credits": t.crm_daily_credits,
                "crm_concurrency": t.edition.concurrency,
                "books_plan": t.books_plan,
                "books_daily_limit": t.books.daily_limit,
                "inventory_plan": t.inventory_plan,
                "inventory_daily_limit": t.inventory.daily_limit,
            },
            "steps": [_step_dict(s, self.spans.get(s.name)) for s in self.steps],
            "totals": {p: _totals_dict(v) for p, v in self.totals.items()},
            "estimated_seconds": round(self.estimated_seconds, 1),
            "days": self.days,
            "token_refreshes": self.token_refreshes,
            "warnings": list(self.warnings),
            "setup": [c.as_dict() for c in self.setup],
            "scopes": list(self.scopes),
            "spread_shared": None
            if self.other_way is None
            else {"on": t.spread_shared, "other_way": self.other_way.to_dict()},
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2).decode()


def _phase_dict(p: Phase) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "product": p.product,
        "method": p.method,
        "records": p.records,
        "batch_size": p.batch_size,
        "batches": p.batches,
        "requests": p.requests,
        "credits": p.credits,
        "bulk_jobs": p.bulk_jobs,
        "seconds": round(p.seconds, 1),
        "reason": p.reason,
        "bytes": p.bytes,
    }


def _step_dict(s: StepPlan, span: tuple[float, float] | None) -> dict[str, Any]:
    start, end = span or (0.0, 0.0)
    return {
        "name": s.name,
        "target": s.target,
        "operation": s.operation,
        "source": s.source,
        "rows": s.rows,
        "records": s.records,
        "records_estimated": s.estimated,
        "depends_on": list(s.depends_on),
        "method": s.method,
        "batches": s.batches,
        "requests": s.requests,
        "credits": s.credits,
        "bulk_jobs": s.bulk_jobs,
        "seconds": round(s.seconds, 1),
        "phases": [_phase_dict(p) for p in s.phases],
        "on_duplicate_key": s.on_duplicate_key,
        "duplicate_keys": len(s.collisions),
        "starts_at": round(start, 1),
        "ends_at": round(end, 1),
    }


def _totals_dict(t: ProductTotals) -> dict[str, Any]:
    return {
        "plan": t.plan,
        "requests": t.requests,
        "credits": t.credits,
        "bulk_jobs": t.bulk_jobs,
        "seconds": round(t.seconds, 1),
        "days": t.days,
        "daily_limit": t.daily_limit,
        "concurrency": t.concurrency,
        "wait_seconds": round(t.wait_seconds, 1),
        "fits": t.fits,
        "starts_at": round(t.starts_at, 1),
    }
