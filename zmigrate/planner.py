"""The quota bill of a migration, before it starts: pure arithmetic over the manifest.

:func:`plan` counts every source (one streaming pass per file, see ``sources.scan``), orders
the steps by their lookups, and prices each step in the currency Zoho charges:

- CRM writes: REST batches of at most 100 records (1 credit per 10 records) or Bulk Write
  jobs of at most 25,000 rows (500 credits a job);
- CRM exports: GET pages of 200 (1 credit each; at most 100,000 records) or Bulk Read jobs
  of 200,000 records a page (50 credits a job);
- Books/Inventory: one record per request, list pages of 200; 100 requests a minute and a
  daily cap by plan; no bulk API.

``method = "auto"`` (see :func:`choose_method`, which the executor reuses so both agree)
prices both ways and takes the one with the lower *cost* = seconds + credits x the time the
edition's 24 h window takes to give a credit back (``DAY / daily credits``): the cheaper way
in credits wins unless it costs more time than its saved credits are worth. On an edition
with unlimited credits that is simply the faster way. Ties go to fewer credits.

Time model (``quotas`` holds the pace assumptions), as the executor runs: a step starts when
the steps it looks up are done, and steps of one product share its quotas, so the active time
is the longer of the busiest product's total and the longest chain of dependent steps. Within
a phase, requests run ``concurrency`` at once at ``TYPICAL_LATENCY`` each, Books/Inventory no
faster than 100 in any 60 s window, CRM GET pages one after another (each needs the previous page
token), bulk jobs ``CRM_BULK_JOBS_AT_ONCE`` at a time (queue + rows / pace, seen done at
the next status poll). When a product needs more than its daily cap (requests) or 24 h
budget (credits), the run pauses (exit 3) until the window frees up: ``days`` counts the
windows and the estimate adds the waits of the product that waits longest.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from zmigrate import quotas
from zmigrate.manifest import Manifest, Step, Target, display_path
from zmigrate.sources import KEY_SEPARATOR, KeyCollision, StepCount, scan

SCHEMA_VERSION = "zmigrate.plan/1"
PRODUCT_ORDER = ("crm", "books", "inventory")
CRM_GET_FIELDS_MAX = 50
"""CRM GET list calls take at most 50 fields; more need another pass over the pages."""


def _obj(props: dict[str, Any], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required or props)}


_INT = {"type": "integer", "minimum": 0}
_NUM = {"type": "number", "minimum": 0}
_STR = {"type": "string"}
_PHASE_SCHEMA = _obj(
    {
        "kind": {"enum": ["read", "write"]},
        "product": {"enum": list(PRODUCT_ORDER)},
        "method": {"enum": ["bulk", "rest", "bulk_read", "rest_pages", "list_pages"]},
        "records": _INT,
        "batch_size": _INT,
        "batches": _INT,
        "requests": _INT,
        "credits": _INT,
        "bulk_jobs": _INT,
        "seconds": _NUM,
        "reason": _STR,
    }
)
PLAN_JSON_SCHEMA: dict[str, Any] = _obj(
    {
        "schema": {"const": "zmigrate.plan/1"},
        "manifest": _STR,
        "target": _obj(
            {
                "data_center": _STR,
                "crm_edition": _STR,
                "crm_users": _INT,
                "crm_daily_credits": {"type": ["integer", "null"]},
                "crm_concurrency": _INT,
                "books_plan": _STR,
                "books_daily_limit": _INT,
                "inventory_plan": _STR,
                "inventory_daily_limit": _INT,
            }
        ),
        "steps": {
            "type": "array",
            "items": _obj(
                {
                    "name": _STR,
                    "target": _STR,
                    "operation": {"enum": ["insert", "upsert", "update", "write"]},
                    "source": _STR,
                    "rows": _INT,
                    "records": _INT,
                    "records_estimated": {"type": "boolean"},
                    "depends_on": {"type": "array", "items": _STR},
                    "method": _STR,
                    "batches": _INT,
                    "requests": _INT,
                    "credits": _INT,
                    "bulk_jobs": _INT,
                    "seconds": _NUM,
                    "phases": {"type": "array", "items": _PHASE_SCHEMA},
                    "on_duplicate_key": {"enum": ["error", "dead-letter", "merge"]},
                    "duplicate_keys": _INT,
                }
            ),
        },
        "totals": {
            "type": "object",
            "propertyNames": {"enum": list(PRODUCT_ORDER)},
            "additionalProperties": _obj(
                {
                    "plan": _STR,
                    "requests": _INT,
                    "credits": _INT,
                    "bulk_jobs": _INT,
                    "seconds": _NUM,
                    "days": _INT,
                    "daily_limit": {"type": ["integer", "null"]},
                    "concurrency": _INT,
                    "wait_seconds": _NUM,
                    "fits": {"type": "boolean"},
                }
            ),
        },
        "estimated_seconds": _NUM,
        "days": _INT,
        "token_refreshes": _INT,
        "warnings": {"type": "array", "items": _STR},
    }
)
"""JSON Schema (draft 2020-12) of ``Plan.to_dict()``; the README documents each field."""


@dataclass(frozen=True)
class Phase:
    """One priced way to read or write a step's records in one product."""

    kind: str  # read | write
    product: str  # crm | books | inventory
    method: str  # write: bulk | rest; read: bulk_read | rest_pages | list_pages
    records: int
    batch_size: int
    batches: int
    requests: int
    credits: int
    bulk_jobs: int
    seconds: float
    reason: str = ""

    def cost(self, seconds_per_credit: float) -> float:
        return self.seconds + self.credits * seconds_per_credit


@dataclass(frozen=True)
class StepPlan:
    """A step's bill: what it reads and writes, in which batches, for how many requests."""

    name: str
    target: str
    operation: str
    source: str
    rows: int
    records: int
    estimated: bool  # records come from the manifest's estimate (a Zoho export)
    depends_on: tuple[str, ...]
    read: Phase | None
    write: Phase | None
    on_duplicate_key: str = "error"
    collisions: tuple[KeyCollision, ...] = ()
    """Records whose target key an earlier record has (dead-lettered or merged by the run)."""

    @property
    def phases(self) -> tuple[Phase, ...]:
        return tuple(p for p in (self.read, self.write) if p is not None)

    @property
    def method(self) -> str:
        """``bulk``/``rest`` for a write, the read method for an export, ``a+b`` for both."""
        return "+".join(p.method for p in self.phases) or "local"

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

    @property
    def fits(self) -> bool:
        """True when the product's daily cap (or CRM's 24 h credit budget) covers the run."""
        return self.days <= 1


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
            "steps": [_step_dict(s) for s in self.steps],
            "totals": {p: _totals_dict(v) for p, v in self.totals.items()},
            "estimated_seconds": round(self.estimated_seconds, 1),
            "days": self.days,
            "token_refreshes": self.token_refreshes,
            "warnings": list(self.warnings),
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
    }


def _step_dict(s: StepPlan) -> dict[str, Any]:
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
    }


# -- pricing one phase -------------------------------------------------------------------------
def _latency(product: str) -> float:
    return quotas.TYPICAL_LATENCY[product]


def finance_seconds(requests: int, plan: quotas.FinancePlan) -> float:
    """Books/Inventory time for ``requests``: at most 100 in any 60 s window.

    Each window's 100 calls go as fast as ``concurrency`` / latency allows, then the next
    window opens 60 s after the first; so 90 calls take 4.5 s and 25,000 take ~4.2 h.
    """
    if requests <= 0:
        return 0.0
    burst = plan.concurrency / _latency(plan.product)
    full = (requests - 1) // plan.per_minute
    last = requests - full * plan.per_minute
    return full * max(quotas.MINUTE, plan.per_minute / burst) + last / burst


def crm_rest_write(records: int, target: Target, operation: str = "upsert") -> Phase:
    """CRM writes in batches of 100: ceil(n/10) credits, ``concurrency`` at once.

    An update first finds the records' ids: one COQL query (1 credit) per 50 keys a batch.
    """
    size = quotas.CRM_WRITE_MAX
    batches = math.ceil(records / size)
    sizes = [size] * (records // size) + ([records % size] if records % size else [])
    credits = sum(quotas.write_credits(n) for n in sizes)
    requests = batches
    if operation == "update":
        finds = sum(math.ceil(n / quotas.COQL_IN_VALUES_MAX) for n in sizes)
        requests += finds
        credits += finds * quotas.coql_credits(quotas.CRM_PAGE_MAX)
    calls_per_batch = requests / batches if batches else 1
    rounds = math.ceil(batches / target.edition.concurrency)
    seconds = rounds * calls_per_batch * _latency("crm")
    return Phase("write", "crm", "rest", records, size, batches, requests, credits, 0, seconds)


def bulk_job(rows: int, pace: float) -> tuple[float, int]:
    """Seconds until a bulk job is seen done, and the status polls that takes.

    The job waits ``BULK_QUEUE_SECONDS`` then runs ``rows / pace``; status is polled at
    once and then on the client's growing schedule, so a job is seen done a little late.
    """
    done = quotas.BULK_QUEUE_SECONDS + rows / pace
    seen, polls, delay = 0.0, 1, quotas.BULK_POLL_FIRST
    while seen < done:
        seen += delay
        polls += 1
        delay = min(quotas.BULK_POLL_MAX, delay * quotas.BULK_POLL_FACTOR)
    return seen, polls


def _bulk_rounds(job_seconds: list[float]) -> float:
    """Jobs run ``CRM_BULK_JOBS_AT_ONCE`` at a time, in order: each round waits for its slowest."""
    at_once = quotas.CRM_BULK_JOBS_AT_ONCE
    return sum(max(job_seconds[i : i + at_once]) for i in range(0, len(job_seconds), at_once))


def crm_bulk_write(records: int, target: Target) -> Phase:
    """Bulk Write: one job per 25,000-row file: upload, create (500 credits), polls, result.

    Every call but the create costs 1 credit, as any CRM call does.
    """
    size = quotas.CRM_BULK_WRITE_ROWS
    jobs = math.ceil(records / size)
    sizes = [size] * (records // size) + ([records % size] if records % size else [])
    runs = [bulk_job(n, quotas.BULK_WRITE_ROWS_PER_SECOND) for n in sizes]
    requests = sum(3 + polls for _, polls in runs)
    credits = jobs * quotas.CREDITS_BULK_WRITE + (requests - jobs) * quotas.CREDITS_GET
    seconds = _bulk_rounds([seen + 3 * _latency("crm") for seen, _ in runs])
    return Phase("write", "crm", "bulk", records, size, jobs, requests, credits, jobs, seconds)


def crm_rest_read(records: int, target: Target, fields: int = 1) -> Phase:
    """GET pages of 200 (1 credit each), one after another; > 50 fields need more passes."""
    size = quotas.CRM_PAGE_MAX
    passes = max(1, math.ceil(fields / CRM_GET_FIELDS_MAX))
    pages = max(1, math.ceil(records / size)) * passes
    return Phase(
        "read",
        "crm",
        "rest_pages",
        records,
        size,
        pages,
        pages,
        pages * quotas.CREDITS_GET,
        0,
        pages * _latency("crm"),
    )


def crm_bulk_read(records: int, target: Target) -> Phase:
    """Bulk Read: one job per 200,000-record page: create (50 credits), polls, download."""
    size = quotas.CRM_BULK_READ_PAGE
    jobs = max(1, math.ceil(records / size))
    sizes = [size] * (records // size) + ([records % size] if records % size else [])
    runs = [bulk_job(n, quotas.BULK_READ_ROWS_PER_SECOND) for n in sizes or [0]]
    requests = sum(2 + polls for _, polls in runs)
    credits = jobs * quotas.CREDITS_BULK_READ + (requests - jobs) * quotas.CREDITS_GET
    seconds = _bulk_rounds([seen + 2 * _latency("crm") for seen, _ in runs])
    return Phase("read", "crm", "bulk_read", records, size, jobs, requests, credits, jobs, seconds)


def finance_write(product: str, records: int, target: Target, operation: str = "upsert") -> Phase:
    """Books/Inventory writes: one record per request (no bulk API); an update first finds it.

    Insert and upsert assume new records; each one that already exists costs an upsert two
    more requests (find, update).
    """
    plan = target.finance_plan(product)
    requests = records * (2 if operation == "update" else 1)
    seconds = finance_seconds(requests, plan)
    return Phase("write", product, "rest", records, 1, records, requests, 0, 0, seconds)


def finance_list(product: str, records: int, target: Target) -> Phase:
    """Books/Inventory list pages of 200."""
    plan = target.finance_plan(product)
    pages = max(1, math.ceil(records / quotas.BOOKS_PAGE_MAX))
    return Phase(
        "read",
        product,
        "list_pages",
        records,
        quotas.BOOKS_PAGE_MAX,
        pages,
        pages,
        0,
        0,
        finance_seconds(pages, plan),
    )


def seconds_per_credit(target: Target) -> float:
    """What a credit is worth in time: how long the 24 h window takes to give one back."""
    budget = target.crm_daily_credits
    return 0.0 if budget is None else quotas.DAY / budget


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def _compare(chosen: Phase, other: Phase, spc: float) -> str:
    def name(p: Phase) -> str:
        return {
            "bulk": "Bulk Write",
            "rest": "REST",
            "bulk_read": "Bulk Read",
            "rest_pages": "GET pages",
        }[p.method]

    def bill(p: Phase) -> str:
        unit = "job" if p.bulk_jobs else "request"
        count = p.bulk_jobs or p.requests
        return (
            f"{name(p)} {_fmt(count)} {unit}{'s' if count != 1 else ''} = "
            f"{_fmt(p.credits)} credits, ~{_fmt(p.seconds)} s"
        )

    head = f"{_fmt(chosen.records)} records: {bill(chosen)} vs {bill(other)}"
    if chosen.credits < other.credits:
        saved = other.credits - chosen.credits
        extra = chosen.seconds - other.seconds
        if extra > 0:
            return (
                f"{head}; saves {_fmt(saved)} credits (worth ~{_fmt(saved * spc)} s of the "
                f"24 h window) for ~{_fmt(extra)} s more"
            )
        return f"{head}; cheaper and no slower"
    if chosen.credits == other.credits:
        return f"{head}; same credits, faster"
    if spc == 0:
        return f"{head}; credits are unlimited on this edition, so the faster way wins"
    saved = chosen.credits - other.credits
    extra = other.seconds - chosen.seconds
    return (
        f"{head}; {name(other)} would save {_fmt(saved)} credit{'s' if saved != 1 else ''} "
        f"(worth ~{_fmt(saved * spc)} s of the 24 h window) but take ~{_fmt(extra)} s longer"
    )


def choose_method(
    kind: str,
    product: str,
    records: int,
    method: str,
    target: Target,
    fields: int = 1,
    *,
    operation: str = "upsert",
) -> Phase:
    """The priced phase for reading (``kind="read"``) or writing ``records`` in ``product``.

    ``method`` is the manifest's ``auto``/``bulk``/``rest``. The returned Phase's ``method``
    is what to do (write: ``bulk``/``rest``; read: ``bulk_read``/``rest_pages``/
    ``list_pages``) and ``reason`` says why. The executor calls this too, so plan and run agree.
    """
    if product != "crm":
        if kind == "read":
            phase = finance_list(product, records, target)
            why = f"{product} lists 200 records a page; it has no bulk API"
        else:
            phase = finance_write(product, records, target, operation)
            why = f"{product} takes one record per request; it has no bulk API"
        return _with_reason(phase, why)
    if kind == "read":
        rest, bulk = crm_rest_read(records, target, fields), crm_bulk_read(records, target)
    else:
        rest = crm_rest_write(records, target, operation)
        bulk = crm_bulk_write(records, target)
    spc = seconds_per_credit(target)
    if method == "rest":
        return _with_reason(rest, "method = 'rest' in the manifest; " + _compare(rest, bulk, spc))
    if method == "bulk":
        return _with_reason(bulk, "method = 'bulk' in the manifest; " + _compare(bulk, rest, spc))
    if kind == "read" and records > quotas.CRM_PAGINATION_LIMIT:
        why = (
            f"{_fmt(records)} records: GET pages stop at "
            f"{_fmt(quotas.CRM_PAGINATION_LIMIT)} (PAGINATION_LIMIT_EXCEEDED); Bulk Read "
            f"{bulk.bulk_jobs} job(s) = {_fmt(bulk.credits)} credits"
        )
        return _with_reason(bulk, why)
    rest_cost, bulk_cost = rest.cost(spc), bulk.cost(spc)
    if bulk_cost < rest_cost or (bulk_cost == rest_cost and bulk.credits < rest.credits):
        return _with_reason(bulk, "auto: " + _compare(bulk, rest, spc))
    return _with_reason(rest, "auto: " + _compare(rest, bulk, spc))


def _with_reason(phase: Phase, reason: str) -> Phase:
    return Phase(
        phase.kind,
        phase.product,
        phase.method,
        phase.records,
        phase.batch_size,
        phase.batches,
        phase.requests,
        phase.credits,
        phase.bulk_jobs,
        phase.seconds,
        reason,
    )


def plan_step(step: Step, count: StepCount, target: Target) -> StepPlan:
    """Price one step from its counted (or estimated) records."""
    read = write = None
    src = step.source
    if not src.is_file:
        fields = len(step.export_fields)
        read = choose_method("read", src.product or "", count.records, step.method, target, fields)
        if src.product == "crm":  # the run counts the module first: the real size decides
            read = dataclasses.replace(
                read,
                requests=read.requests + 1,
                credits=read.credits + quotas.CREDITS_METADATA,
                seconds=read.seconds + _latency("crm"),
                reason=read.reason + "; +1 request (1 credit) to count the records first",
            )
    if not step.target.is_file:
        write = choose_method(
            "write",
            step.target.product,
            count.records,
            step.method,
            target,
            operation=step.operation,
        )
    return StepPlan(
        step.name,
        step.target.text,
        step.operation,
        display_path(src.path) if src.path else src.describe(),
        count.rows,
        count.records,
        count.estimated,
        step.depends_on,
        read,
        write,
        step.on_duplicate_key.value,
        count.collisions,
    )


# -- the whole plan ----------------------------------------------------------------------------
def _product_totals(steps: tuple[StepPlan, ...], target: Target) -> dict[str, ProductTotals]:
    out = {}
    for product in PRODUCT_ORDER:
        phases = [p for s in steps for p in s.phases if p.product == product]
        if not phases:
            continue
        requests = sum(p.requests for p in phases)
        credits = sum(p.credits for p in phases)
        seconds = sum(p.seconds for p in phases)
        if product == "crm":
            name, limit, conc = (
                target.crm_edition,
                target.crm_daily_credits,
                target.edition.concurrency,
            )
            used = credits
        else:
            plan = target.finance_plan(product)
            name, limit, conc, used = plan.name, plan.daily_limit, plan.concurrency, requests
        days = 1 if limit is None else max(1, math.ceil(used / limit))
        # Work done before the last window overlaps the waits: only the rest of each day waits.
        earlier = seconds * (days - 1) / days
        wait = max(0.0, (days - 1) * quotas.DAY - earlier)
        out[product] = ProductTotals(
            product,
            name,
            requests,
            credits,
            sum(p.bulk_jobs for p in phases),
            seconds,
            days,
            limit,
            conc,
            wait,
        )
    return out


def plan(manifest: Manifest, counts: Mapping[str, StepCount] | None = None) -> Plan:
    """The bill of ``manifest``: reads every source once unless ``counts`` are given."""
    counts = counts if counts is not None else scan(manifest.steps)
    target = manifest.target
    steps = tuple(plan_step(s, counts[s.name], target) for s in manifest.ordered())
    totals = _product_totals(steps, target)
    active = max(max((t.seconds for t in totals.values()), default=0.0), _critical_path(steps))
    wait = max((t.wait_seconds for t in totals.values()), default=0.0)
    days = max((t.days for t in totals.values()), default=1)
    token_life = quotas.TOKEN_LIFETIME - quotas.TOKEN_RENEW_BEFORE
    tokens = max(1, math.ceil(active / token_life)) + (days - 1)
    warnings = tuple(_warnings(manifest, steps, totals, target))
    return Plan(
        display_path(manifest.path), target, steps, totals, active + wait, days, tokens, warnings
    )


def _critical_path(steps: tuple[StepPlan, ...]) -> float:
    """Seconds of the longest chain of steps that wait for each other's ids."""
    finish: dict[str, float] = {}
    for s in steps:  # in dependency order
        finish[s.name] = max((finish[d] for d in s.depends_on), default=0.0) + s.seconds
    return max(finish.values(), default=0.0)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * quotas.DAY:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / quotas.DAY:.1f} days"


def _warnings(
    manifest: Manifest,
    steps: tuple[StepPlan, ...],
    totals: dict[str, ProductTotals],
    target: Target,
) -> list[str]:
    out: list[str] = []
    for st in manifest.steps:
        if not st.source.is_file and st.source.records is None:
            out.append(
                f"step '{st.name}': {st.source.describe()} has no size estimate, planned as "
                f"0 records; add records = N to its source for a real bill"
            )
    for sp in steps:
        if sp.collisions:
            out.append(_collision_warning(sp))
        for p in sp.phases:
            if p.method == "rest_pages" and p.records > quotas.CRM_PAGINATION_LIMIT:
                out.append(
                    f"step '{sp.name}': GET pages stop at "
                    f"{_fmt(quotas.CRM_PAGINATION_LIMIT)} records, this export has "
                    f"{_fmt(p.records)}; use method = 'bulk' (Bulk Read)"
                )
            if p.method == "rest_pages" and p.requests > math.ceil(p.records / p.batch_size) > 0:
                out.append(
                    f"step '{sp.name}': more than {CRM_GET_FIELDS_MAX} fields make every "
                    f"page a {p.requests // math.ceil(p.records / p.batch_size)}-pass read"
                    f" ({_fmt(p.requests)} requests); read fewer fields"
                )
    for t in totals.values():
        if t.product == "crm":
            out += _crm_warnings(t, steps, target)
        elif t.days > 1:
            out.append(_finance_warning(t, target))
    return out


def _collision_warning(sp: StepPlan) -> str:
    n = len(sp.collisions)
    shown = "; ".join(
        f"{c.field} '{c.value.replace(KEY_SEPARATOR, ', ')}' on lines {c.first_line} and {c.line}"
        for c in sp.collisions[:3]
    ) + ("; ..." if n > 3 else "")
    verb = "record shares" if n == 1 else "records share"
    head = (
        f"step '{sp.name}': {_fmt(n)} {verb} a target key with an earlier record, as Zoho "
        f"compares it ({shown})"
    )
    if sp.on_duplicate_key == "merge":
        return f"{head}; on_duplicate_key = 'merge': Zoho keeps one record per key, {n} merged"
    return f"{head}; on_duplicate_key = 'dead-letter': {n} go to the dead-letter file"


def _crm_warnings(t: ProductTotals, steps: tuple[StepPlan, ...], target: Target) -> list[str]:
    if t.daily_limit is None or t.credits <= t.daily_limit:
        return []
    ed = target.edition
    msg = (
        f"crm: {_fmt(t.credits)} credits exceed the {t.plan} edition's "
        f"{_fmt(t.daily_limit)} per 24 h ({target.crm_users} users): {t.days} windows, "
        f"~{duration(t.wait_seconds)} of waiting"
    )
    helps = []
    rest_writes = [
        p
        for s in steps
        for p in s.phases
        if p.product == "crm" and p.method == "rest" and p.kind == "write"
    ]
    if rest_writes:
        rest = sum(p.credits for p in rest_writes)
        best = sum(min(p.credits, crm_bulk_write(p.records, target).credits) for p in rest_writes)
        if best < rest:
            helps.append(f"Bulk Write for the REST steps ({_fmt(rest)} -> {_fmt(best)} credits)")
    if ed.per_user_credits and (ed.max_credits is None or t.credits <= ed.max_credits):
        users = math.ceil((t.credits - ed.base_credits) / ed.per_user_credits)
        helps.append(f"{_fmt(users)} users on {t.plan} (+{_fmt(ed.per_user_credits)} credits each)")
    for name, other in quotas.CRM_EDITIONS.items():
        budget = other.daily_credits(target.crm_users)
        if other.concurrency > ed.concurrency and (budget is None or budget >= t.credits):
            cap = "unlimited credits" if budget is None else f"{_fmt(budget)} credits/24 h"
            helps.append(f"the {name} edition ({cap} with {target.crm_users} users)")
            break
    return [msg + ("; would help: " + "; or ".join(helps) if helps else "")]


def _finance_warning(t: ProductTotals, target: Target) -> str:
    plans = quotas.BOOKS_PLANS if t.product == "books" else quotas.INVENTORY_PLANS
    msg = (
        f"{t.product}: {_fmt(t.requests)} requests need {t.days} days at the {t.plan} plan's "
        f"{_fmt(t.daily_limit or 0)}/day (~{duration(t.wait_seconds)} of waiting)"
    )
    better: dict[int, str] = {}
    for p in plans.values():
        if p.daily_limit > (t.daily_limit or 0) and p.daily_limit not in better:
            days = math.ceil(t.requests / p.daily_limit)
            better[p.daily_limit] = f"{p.name} ({_fmt(p.daily_limit)}/day): {days} days"
    tail = f"{t.product} has no bulk API, every record is a request"
    if better:
        return f"{msg}; a higher plan's daily cap would help: {'; '.join(better.values())}; {tail}"
    return f"{msg}; this is the highest plan; {tail}: split the migration or import by CSV"
