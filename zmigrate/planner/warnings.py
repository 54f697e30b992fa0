"""What the plan warns about, and what would help: missing estimates, duplicate target keys,
reads that hit CRM's GET limits, and products whose daily quota the run exceeds."""

from __future__ import annotations

import math
from collections.abc import Iterator

from zmigrate import quotas
from zmigrate.manifest import Manifest, OnDuplicateKey, Product, Target
from zmigrate.planner.model import Phase, PhaseMethod, ProductTotals, StepPlan
from zmigrate.planner.pricing import CRM_GET_FIELDS_MAX, crm_bulk_write
from zmigrate.planner.text import duration, fmt
from zmigrate.sources import KEY_SEPARATOR


def plan_warnings(
    manifest: Manifest,
    steps: tuple[StepPlan, ...],
    totals: dict[str, ProductTotals],
    target: Target,
) -> list[str]:
    """Every warning of a plan, in order: estimates, then per step, then per product."""
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
            out += read_warnings(sp.name, p)
    for t in totals.values():
        if t.product == Product.CRM:
            out += _crm_warnings(t, steps, target)
        elif t.days > 1:
            out.append(_finance_warning(t, target))
    return out


def read_warnings(step: str, p: Phase) -> Iterator[str]:
    """CRM GET pages: past the pagination limit, or more fields than one call takes."""
    if p.method != PhaseMethod.REST_PAGES:
        return
    if p.records > quotas.CRM_PAGINATION_LIMIT:
        yield (
            f"step '{step}': GET pages stop at "
            f"{fmt(quotas.CRM_PAGINATION_LIMIT)} records, this export has "
            f"{fmt(p.records)}; use method = 'bulk' (Bulk Read)"
        )
    pages = math.ceil(p.records / p.batch_size)
    reads = p.requests - 1  # a CRM export first counts the module (one request)
    if reads > pages > 0:
        yield (
            f"step '{step}': more than {CRM_GET_FIELDS_MAX} fields make every "
            f"page a {reads // pages}-pass read ({fmt(reads)} requests); read fewer fields"
        )


def _collision_warning(sp: StepPlan) -> str:
    n = len(sp.collisions)
    shown = "; ".join(
        f"{c.field} '{c.value.replace(KEY_SEPARATOR, ', ')}' on lines {c.first_line} and {c.line}"
        for c in sp.collisions[:3]
    ) + ("; ..." if n > 3 else "")
    verb = "record shares" if n == 1 else "records share"
    head = (
        f"step '{sp.name}': {fmt(n)} {verb} a target key with an earlier record, as Zoho "
        f"compares it ({shown})"
    )
    if sp.on_duplicate_key == OnDuplicateKey.MERGE:
        return f"{head}; on_duplicate_key = 'merge': Zoho keeps one record per key, {n} merged"
    return f"{head}; on_duplicate_key = 'dead-letter': {n} go to the dead-letter file"


def _crm_warnings(t: ProductTotals, steps: tuple[StepPlan, ...], target: Target) -> list[str]:
    if t.daily_limit is None or t.credits <= t.daily_limit:
        return []
    msg = (
        f"crm: {fmt(t.credits)} credits exceed the {t.plan} edition's "
        f"{fmt(t.daily_limit)} per 24 h ({target.crm_users} users): {t.days} windows, "
        f"~{duration(t.wait_seconds)} of waiting"
    )
    helps = [
        h
        for h in (
            _bulk_write_help(steps, target),
            _more_users_help(t, target),
            _edition_help(t, target),
        )
        if h
    ]
    return [msg + ("; would help: " + "; or ".join(helps) if helps else "")]


def _bulk_write_help(steps: tuple[StepPlan, ...], target: Target) -> str | None:
    """Bulk Write for the CRM REST writes, when it would spend fewer credits."""
    rest_writes = [
        p
        for s in steps
        for p in s.phases
        if p.product == Product.CRM and p.method == PhaseMethod.REST and p.kind == "write"
    ]
    rest = sum(p.credits for p in rest_writes)
    best = sum(min(p.credits, crm_bulk_write(p.records, target).credits) for p in rest_writes)
    if best < rest:
        return f"Bulk Write for the REST steps ({fmt(rest)} -> {fmt(best)} credits)"
    return None


def _more_users_help(t: ProductTotals, target: Target) -> str | None:
    """Enough users on the same edition, when its credits grow with users up to the need."""
    ed = target.edition
    if ed.per_user_credits and (ed.max_credits is None or t.credits <= ed.max_credits):
        users = math.ceil((t.credits - ed.base_credits) / ed.per_user_credits)
        return f"{fmt(users)} users on {t.plan} (+{fmt(ed.per_user_credits)} credits each)"
    return None


def _edition_help(t: ProductTotals, target: Target) -> str | None:
    """The first faster edition whose 24 h credits cover the run with the same users."""
    ed = target.edition
    for name, other in quotas.CRM_EDITIONS.items():
        budget = other.daily_credits(target.crm_users)
        if other.concurrency > ed.concurrency and (budget is None or budget >= t.credits):
            cap = "unlimited credits" if budget is None else f"{fmt(budget)} credits/24 h"
            return f"the {name} edition ({cap} with {target.crm_users} users)"
    return None


def _finance_warning(t: ProductTotals, target: Target) -> str:
    plans = quotas.BOOKS_PLANS if t.product == Product.BOOKS else quotas.INVENTORY_PLANS
    msg = (
        f"{t.product}: {fmt(t.requests)} requests need {t.days} days at the {t.plan} plan's "
        f"{fmt(t.daily_limit or 0)}/day (~{duration(t.wait_seconds)} of waiting)"
    )
    better: dict[int, str] = {}
    for p in plans.values():
        if p.daily_limit > (t.daily_limit or 0) and p.daily_limit not in better:
            days = math.ceil(t.requests / p.daily_limit)
            better[p.daily_limit] = f"{p.name} ({fmt(p.daily_limit)}/day): {days} days"
    tail = f"{t.product} has no bulk API, every record is a request"
    if better:
        return f"{msg}; a higher plan's daily cap would help: {'; '.join(better.values())}; {tail}"
    return f"{msg}; this is the highest plan; {tail}: split the migration or import by CSV"
