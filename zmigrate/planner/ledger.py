"""What a Books ledger step costs beyond one request per document. Pure.

A document is one request with its nested arrays (line items, contact persons, a payment's
``invoices``): those are free. A module whose applications take their own request (a credit
note's ``invoices``: ``POST /creditnotes/{id}/invoices``) costs one more request per record
when the step maps them.
"""

from __future__ import annotations

import dataclasses

from zmigrate.manifest import Step
from zmigrate.planner.model import Phase
from zmigrate.planner.pricing import finance_seconds
from zmigrate.quotas import FinancePlan
from zmigrate.schema.finance import resource


def with_applications(step: Step, phase: Phase, plan: FinancePlan) -> Phase:
    """``phase`` plus one request per record for separately applied arrays."""
    entry = resource(step.target.product, step.target.module or "")
    if entry is None or not entry.applied or entry.applied not in step.arrays:
        return phase
    requests = phase.requests + phase.records
    return dataclasses.replace(
        phase,
        requests=requests,
        seconds=finance_seconds(requests, plan),
        reason=f"{phase.reason}; +1 request per record to apply its {entry.applied} "
        f"(POST /{entry.module}/{{id}}/{entry.applied})",
    )
