"""The plan as a human reads it: a table per step, one per product, totals, reasons, warnings.

Used by ``zmigrate plan`` and ``zmigrate run --dry-run`` so both print the same thing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from zmigrate.manifest import Product
from zmigrate.planner import Plan, duration
from zmigrate.planner.model import OtherWay

_PLAN_NAMES: dict[str, str] = {
    Product.CRM: "CRM",
    Product.BOOKS: "Books",
    Product.INVENTORY: "Inventory",
}


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        out = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def render(plan: Plan) -> str:
    """The plan as text: target, steps, products, estimate, method choices and warnings."""
    lines = [*_header(plan), "", "Steps (in run order)", *_steps(plan)]
    lines += ["", "Per product", *_products(plan)]
    lines += [
        "",
        f"Estimated wall time: {duration(plan.estimated_seconds)} "
        f"(from the first call to the last answer, steps overlapping where lookups allow; "
        f"includes waits for daily caps) | days: {plan.days} | "
        f"access tokens: {plan.token_refreshes}",
        "",
        "Method choices",
        *_reasons(plan),
    ]
    lines += ["", "OAuth scopes needed (the token must grant each; run checks them first)"]
    lines += textwrap.wrap(", ".join(plan.scopes), 96, initial_indent="  ", subsequent_indent="  ")
    lines += _spread(plan)
    lines += ["", "Warnings" if plan.warnings else "Warnings: none; it fits the quotas."]
    lines += [f"  - {w}" for w in plan.warnings]
    return "\n".join(lines)


def _header(plan: Plan) -> list[str]:
    t = plan.target
    credits = "unlimited" if t.crm_daily_credits is None else f"{t.crm_daily_credits:,}"
    return [
        f"Plan for {plan.manifest}",
        f"  data center {t.data_center} | CRM {t.crm_edition}, {t.crm_users} users: {credits} "
        f"credits/24 h, {t.edition.concurrency} concurrent | Books {t.books_plan}: "
        f"{t.books.daily_limit:,} requests/day | Inventory {t.inventory_plan}: "
        f"{t.inventory.daily_limit:,} requests/day",
    ]


_STEP_HEAD = (
    "#",
    "step",
    "target",
    "op",
    "records",
    "method",
    "batches",
    "requests",
    "credits",
    "bulk jobs",
    "time",
)


def _steps(plan: Plan) -> list[str]:
    """One row per step and a total row."""
    rows = [
        [
            str(i),
            s.name,
            s.target,
            s.operation,
            f"{s.records:,}" + ("~" if s.estimated else ""),
            s.method,
            _n(s.batches),
            _n(s.requests),
            _n(s.credits),
            _n(s.bulk_jobs),
            duration(s.seconds),
        ]
        for i, s in enumerate(plan.steps, 1)
    ]
    total = [
        "",
        "total",
        "",
        "",
        f"{sum(s.records for s in plan.steps):,}",
        "",
        _n(sum(s.batches for s in plan.steps)),
        _n(sum(s.requests for s in plan.steps)),
        _n(sum(s.credits for s in plan.steps)),
        _n(sum(s.bulk_jobs for s in plan.steps)),
        duration(sum(s.seconds for s in plan.steps)),
    ]
    return _table(_STEP_HEAD, [*rows, total], {0, 4, 6, 7, 8, 9, 10})


_PRODUCT_HEAD = (
    "product",
    "plan",
    "requests",
    "credits",
    "bulk jobs",
    "starts at",
    "time",
    "daily cap",
    "concurrent",
    "days",
    "fits daily cap",
)


def _products(plan: Plan) -> list[str]:
    """One row per Zoho product: its spend against its caps."""
    rows = []
    for p in plan.totals.values():
        unit = "credits/24 h" if p.product == Product.CRM else "requests/day"
        cap = "unlimited" if p.daily_limit is None else f"{p.daily_limit:,} {unit}"
        rows.append(
            [
                _PLAN_NAMES[p.product],
                p.plan,
                _n(p.requests),
                _n(p.credits),
                _n(p.bulk_jobs),
                duration(p.starts_at),
                duration(p.seconds),
                cap,
                str(p.concurrency),
                str(p.days),
                "yes" if p.fits else "no",
            ]
        )
    lines = _table(_PRODUCT_HEAD, rows, {2, 3, 4, 5, 6, 8, 9})
    return [
        *lines,
        "  time: from the product's first call to its last answer, all its steps in the run's",
        "  order (a step's calls go in the windows the step before it left, after the steps it",
        "  looks up); starts at: seconds from the run's first call",
    ]


def _spread(plan: Plan) -> list[str]:
    """Both ways of writing the contacts and items Books and Inventory share."""
    other = plan.other_way
    if other is None:
        return []
    here = OtherWay.of(plan)
    on, off = (here, other) if plan.target.spread_shared else (other, here)

    def way(w: OtherWay) -> str:
        products = ", ".join(
            f"{_PLAN_NAMES[p]} {w.requests[p]:,} requests, {duration(w.seconds[p])}"
            for p in w.seconds
            if p != Product.CRM
        )
        this = " (this plan)" if w is here else ""
        flag = str(w.spread_shared).lower()
        return f"  spread_shared = {flag}{this}: {duration(w.estimated_seconds)}; {products}"

    return [
        "",
        "Contacts and items Books and Inventory share ([target] spread_shared; assumes one",
        "integrated organization, whose two APIs serve the same records, each on its own quota)",
        way(on),
        way(off),
    ]


def _reasons(plan: Plan) -> list[str]:
    """Why each phase goes as it does, and what is done before the first write."""
    lines = [
        f"  {s.name} ({ph.kind}, {ph.method}): {ph.reason}" for s in plan.steps for ph in s.phases
    ]
    if plan.setup:
        lines += ["", "Before the first write (in the per-product totals)"]
    for c in plan.setup:
        unit = f", {c.credits:,} credits" if c.product == Product.CRM else ""
        lines.append(f"  {c.kind} ({c.product}): {c.requests:,} requests{unit}: {c.reason}")
    if any(s.estimated for s in plan.steps):
        lines.append("  ~ records of a Zoho export are the manifest's estimate")
    return lines
