"""The whole bill: every step priced, per-product totals with their daily windows, the time.

Each product's time is its whole sequence of calls laid out by ``timeline`` (windows carried
over from step to step, waits for looked-up steps), and the active time is the run's end.
When a product needs more than its daily cap (requests) or 24 h budget
(credits), the run pauses (exit 3) until the window frees up: ``days`` counts the windows and
the estimate adds the waits of the product that waits longest.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from zmigrate import quotas
from zmigrate.manifest import Manifest, Product, Step, Target, display_path
from zmigrate.planner.before import with_before_images
from zmigrate.planner.ledger import org_list_reads, with_applications
from zmigrate.planner.method import choose_method
from zmigrate.planner.model import (
    PRODUCT_ORDER,
    OtherWay,
    Phase,
    PhaseMethod,
    Plan,
    ProductTotals,
    StepPlan,
)
from zmigrate.planner.pricing import latency
from zmigrate.planner.related import is_related, related_phase
from zmigrate.planner.scopes import manifest_scopes
from zmigrate.planner.setup import SetupCalls, SetupKind, setup_calls
from zmigrate.planner.spread import spread_phases, spreads
from zmigrate.planner.timeline import Span, Timeline, timeline
from zmigrate.planner.warnings import plan_warnings
from zmigrate.sources import StepCount, scan, source_label


def _export_phase(step: Step, count: StepCount, target: Target) -> Phase | None:
    """Reading a Zoho export source; None for a file source."""
    src = step.source
    if src.is_file:
        return None
    fields = len(step.export_fields)
    read = choose_method("read", src.product or "", count.records, step.method, target, fields)
    if src.product != Product.CRM:
        return read
    # The run counts the module first: the real size decides.
    return dataclasses.replace(
        read,
        requests=read.requests + 1,
        credits=read.credits + quotas.CREDITS_METADATA,
        seconds=read.seconds + latency(Product.CRM),
        reason=read.reason + "; +1 request (1 credit) to count the records first",
    )


def plan_step(step: Step, count: StepCount, target: Target) -> StepPlan:
    """Price one step from its counted (or estimated) records."""
    write = None
    if is_related(step):
        write = related_phase(step, count.records, target)
    elif not step.target.is_file:
        write = choose_method(
            "write",
            step.target.product,
            count.records,
            step.method,
            target,
            operation=step.operation,
        )
        if step.target.product != Product.CRM:
            plan = target.finance_plan(step.target.product)
            write = with_applications(step, write, plan)
        if step.keep_before_images:
            write = with_before_images(write, step, count.records, target)
    src = step.source
    spread = None
    if write is not None and spreads(target, step.target.product, step.target.module):
        module = step.target.module or ""
        write, spread = spread_phases(
            step.target.product, module, count.records, target, step.operation
        )
    return StepPlan(
        step.name,
        step.target.text,
        step.operation,
        source_label(src) if src.is_file else src.describe(),
        count.rows,
        count.records,
        count.estimated,
        step.depends_on,
        _export_phase(step, count, target),
        write,
        step.on_duplicate_key,
        count.collisions,
        spread,
    )


def _quota(product: str, target: Target) -> tuple[str, int | None, int]:
    """A product's plan name, daily limit (credits for CRM, requests otherwise), concurrency."""
    if product == Product.CRM:
        return target.crm_edition, target.crm_daily_credits, target.edition.concurrency
    plan = target.finance_plan(product)
    return plan.name, plan.daily_limit, plan.concurrency


def _product_totals(
    steps: tuple[StepPlan, ...],
    target: Target,
    setup: tuple[SetupCalls, ...],
    schedule: Timeline,
) -> dict[str, ProductTotals]:
    out = {}
    for product in PRODUCT_ORDER:
        phases = [p for s in steps for p in s.phases if p.product == product]
        before = [c for c in setup if c.product == product]
        if not phases:
            continue
        requests = sum(p.requests for p in phases) + sum(c.requests for c in before)
        credits = sum(p.credits for p in phases) + sum(c.credits for c in before)
        span = schedule.products.get(product, Span(0.0, 0.0))  # no call at all: nothing
        seconds = span.seconds  # first call to last answer, windows shared with other steps
        name, limit, conc = _quota(product, target)
        used = credits if product == Product.CRM else requests
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
            span.start,
        )
    return out


def plan(
    manifest: Manifest,
    counts: Mapping[str, StepCount] | None = None,
    latency: Mapping[str, float] | None = None,
) -> Plan:
    """The bill of ``manifest``: reads every source once unless ``counts`` are given.

    ``latency``: seconds a call takes per product (a rehearsal's sandbox), else the typical.
    A manifest writing contacts or items of Books/Inventory is also priced with
    ``spread_shared`` the other way (``Plan.other_way``)."""
    counts = counts if counts is not None else scan(manifest.steps)
    bill = _plan(manifest, counts, latency)
    t = manifest.target
    on = dataclasses.replace(t, spread_shared=True)
    if t.books_organization_id != t.inventory_organization_id or not any(
        spreads(on, s.target.product, s.target.module) for s in manifest.steps
    ):
        return bill
    flipped = dataclasses.replace(t, spread_shared=not t.spread_shared)
    other = _plan(dataclasses.replace(manifest, target=flipped), counts, latency)
    return dataclasses.replace(bill, other_way=OtherWay.of(other))


def bulk_org_read(steps: Sequence[StepPlan]) -> tuple[SetupCalls, ...]:
    """``GET /crm/v8/org`` once, before the first Bulk Write upload (an upload names the org
    by its id in ``X-CRM-ORG``): 1 credit, when a step writes by Bulk Write."""
    if not any(s.write is not None and s.write.method is PhaseMethod.BULK for s in steps):
        return ()
    why = "the org's id, read once before the first Bulk Write upload (X-CRM-ORG)"
    return (SetupCalls(SetupKind.BULK_ORG, Product.CRM, 1, quotas.CREDITS_METADATA, why),)


def _plan(
    manifest: Manifest, counts: Mapping[str, StepCount], latency: Mapping[str, float] | None
) -> Plan:
    target = manifest.target
    steps = tuple(plan_step(s, counts[s.name], target) for s in manifest.ordered())
    setup = setup_calls(manifest) + bulk_org_read(steps) + org_list_reads(manifest)
    schedule = timeline(steps, setup, target, latency)
    totals = _product_totals(steps, target, setup, schedule)
    active = schedule.seconds
    wait = max((t.wait_seconds for t in totals.values()), default=0.0)
    days = max((t.days for t in totals.values()), default=1)
    token_life = quotas.TOKEN_LIFETIME - quotas.TOKEN_RENEW_BEFORE
    tokens = max(1, math.ceil(active / token_life)) + (days - 1)
    warnings = tuple(plan_warnings(manifest, steps, totals, target))
    return Plan(
        display_path(manifest.path),
        target,
        steps,
        totals,
        active + wait,
        days,
        tokens,
        warnings,
        setup,
        tuple(manifest_scopes(manifest)),
        {name: (span.start, span.end) for name, span in schedule.steps.items()},
    )
