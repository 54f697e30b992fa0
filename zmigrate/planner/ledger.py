"""What a Books ledger step costs beyond one request per document. Pure.

A run whose Books/Inventory steps name taxes (``line_items[].tax_name``) or currencies
(``currency_code``) reads the org's list of each once per product (one request each, or more
for over 200 entries). A document is one request with its nested arrays (line items, contact
persons, a payment's ``invoices``): those are free. A module whose applications take their
own request (a credit note's ``invoices``: ``POST /creditnotes/{id}/invoices``) costs one more
request per record when the step maps them.
"""

from __future__ import annotations

import dataclasses

from zmigrate.manifest import ARRAY_MARK, Manifest, Product, Step
from zmigrate.planner.model import Phase
from zmigrate.planner.pricing import finance_seconds
from zmigrate.planner.setup import SetupCalls, SetupKind
from zmigrate.quotas import FinancePlan
from zmigrate.schema.finance import resource


def with_applications(step: Step, phase: Phase, plan: FinancePlan) -> Phase:
    """``phase`` plus one request per record for separately applied arrays, and one per
    record whose lines name its parent document's lines by item (a package's order, read)."""
    entry = resource(step.target.product, step.target.module or "")
    if entry is None:
        return phase
    if entry.applied and entry.applied in step.arrays:
        extra = f"apply its {entry.applied} (POST /{entry.module}/{{id}}/{entry.applied})"
    elif entry.lines_of and f"line_items{ARRAY_MARK}item_id" in {
        *(f.target for f in step.fields),
        *(lk.target for lk in step.lookups),
    }:
        extra = f"read its order's lines (GET /{entry.lines_of}/{{id}})"
    else:
        return phase
    requests = phase.requests + phase.records
    return dataclasses.replace(
        phase,
        requests=requests,
        seconds=finance_seconds(requests, plan),
        reason=f"{phase.reason}; +1 request per record to {extra}",
    )


def org_list_reads(manifest: Manifest) -> tuple[SetupCalls, ...]:
    """The org's taxes and currencies, read once per product before the first write."""
    lists: dict[str, set[str]] = {}
    for s in manifest.steps:
        if s.target.product not in (Product.BOOKS, Product.INVENTORY):
            continue
        names = {f.target.partition(ARRAY_MARK)[2] or f.target for f in s.fields}
        wanted = lists.setdefault(s.target.product, set())
        wanted |= {"taxes"} if "tax_name" in names else set()
        wanted |= {"currencies"} if "currency_code" in names else set()
    return tuple(
        SetupCalls(
            SetupKind.ORG_LISTS,
            Product(product),
            len(wanted),
            0,
            f"the org's {' and '.join(sorted(wanted))}, read once to send their ids and rates",
        )
        for product, wanted in lists.items()
        if wanted
    )
