"""Choosing how a step reads or writes: the cheaper way by time plus credits, with the reason.

``method = "auto"`` prices both ways and takes the one with the lower *cost* = seconds +
credits x the time the edition's 24 h window takes to give a credit back (``DAY / daily
credits``): the cheaper way in credits wins unless it costs more time than its saved credits
are worth. On an edition with unlimited credits that is simply the faster way. Ties go to
fewer credits. The executor calls :func:`choose_method` too, so plan and run agree.
"""

from __future__ import annotations

import dataclasses

from zmigrate import quotas
from zmigrate.manifest import Method, Operation, Product, Target
from zmigrate.planner.model import Phase, PhaseKind, PhaseMethod
from zmigrate.planner.pricing import (
    crm_bulk_read,
    crm_bulk_write,
    crm_rest_read,
    crm_rest_write,
    finance_list,
    finance_write,
    seconds_per_credit,
)
from zmigrate.planner.text import fmt

_METHOD_NAMES = {
    PhaseMethod.BULK: "Bulk Write",
    PhaseMethod.REST: "REST",
    PhaseMethod.BULK_READ: "Bulk Read",
    PhaseMethod.REST_PAGES: "GET pages",
}


def _bill(p: Phase) -> str:
    unit = "job" if p.bulk_jobs else "request"
    count = p.bulk_jobs or p.requests
    return (
        f"{_METHOD_NAMES[p.method]} {fmt(count)} {unit}{'s' if count != 1 else ''} = "
        f"{fmt(p.credits)} credits, ~{fmt(p.seconds)} s"
    )


def _compare(chosen: Phase, other: Phase, spc: float) -> str:
    """Why ``chosen`` over ``other``: both bills, then what the choice saves or costs."""
    head = f"{fmt(chosen.records)} records: {_bill(chosen)} vs {_bill(other)}"
    if chosen.credits < other.credits:
        saved = other.credits - chosen.credits
        extra = chosen.seconds - other.seconds
        if extra > 0:
            return (
                f"{head}; saves {fmt(saved)} credits (worth ~{fmt(saved * spc)} s of the "
                f"24 h window) for ~{fmt(extra)} s more"
            )
        return f"{head}; cheaper and no slower"
    if chosen.credits == other.credits:
        return f"{head}; same credits, faster"
    if spc == 0:
        return f"{head}; credits are unlimited on this edition, so the faster way wins"
    saved = chosen.credits - other.credits
    extra = other.seconds - chosen.seconds
    return (
        f"{head}; {_METHOD_NAMES[other.method]} would save {fmt(saved)} "
        f"credit{'s' if saved != 1 else ''} (worth ~{fmt(saved * spc)} s of the 24 h window) "
        f"but take ~{fmt(extra)} s longer"
    )


def choose_method(
    kind: PhaseKind,
    product: str,
    records: int,
    method: str,
    target: Target,
    fields: int = 1,
    *,
    operation: str = Operation.UPSERT,
) -> Phase:
    """The priced phase for reading (``kind="read"``) or writing ``records`` in ``product``.

    ``method`` is the manifest's ``auto``/``bulk``/``rest``. The returned Phase's ``method``
    is what to do (write: ``bulk``/``rest``; read: ``bulk_read``/``rest_pages``/
    ``list_pages``) and ``reason`` says why. The executor calls this too, so plan and run agree.
    """
    if product != Product.CRM:
        return _finance_phase(kind, product, records, target, operation)
    if kind == "read":
        rest, bulk = crm_rest_read(records, target, fields), crm_bulk_read(records, target)
    else:
        rest = crm_rest_write(records, target, operation)
        bulk = crm_bulk_write(records, target)
    spc = seconds_per_credit(target)
    if method == Method.REST:
        return _with_reason(rest, "method = 'rest' in the manifest; " + _compare(rest, bulk, spc))
    if method == Method.BULK:
        return _with_reason(bulk, "method = 'bulk' in the manifest; " + _compare(bulk, rest, spc))
    if kind == "read" and records > quotas.CRM_PAGINATION_LIMIT:
        why = (
            f"{fmt(records)} records: GET pages stop at "
            f"{fmt(quotas.CRM_PAGINATION_LIMIT)} (PAGINATION_LIMIT_EXCEEDED); Bulk Read "
            f"{bulk.bulk_jobs} job(s) = {fmt(bulk.credits)} credits"
        )
        return _with_reason(bulk, why)
    rest_cost, bulk_cost = rest.cost(spc), bulk.cost(spc)
    if bulk_cost < rest_cost or (bulk_cost == rest_cost and bulk.credits < rest.credits):
        return _with_reason(bulk, "auto: " + _compare(bulk, rest, spc))
    return _with_reason(rest, "auto: " + _compare(rest, bulk, spc))


def _finance_phase(
    kind: PhaseKind, product: str, records: int, target: Target, operation: str
) -> Phase:
    """Books/Inventory have one way each to read and to write: there is nothing to choose."""
    if kind == "read":
        phase = finance_list(product, records, target)
        why = f"{product} lists 200 records a page; it has no bulk API"
    else:
        phase = finance_write(product, records, target, operation)
        why = f"{product} takes one record per request; it has no bulk API"
    return _with_reason(phase, why)


def _with_reason(phase: Phase, reason: str) -> Phase:
    return dataclasses.replace(phase, reason=reason)
