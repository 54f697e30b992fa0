"""Rollback's decisions, pure: what to delete, in which order, in which calls, what it
costs, and what each answer means.

Only records the run *created* are deleted (``WriteAction.created``): a record it found or
updated was there before and stays, restored from its before-image when the step kept one
(CRM updates of up to 100, 1 credit per 10 records; one PUT each in Books and Inventory),
else listed as left in place. Steps go in reverse
dependency order, children before parents (invoices before customers, deals before
accounts), so no delete is refused for a record that still points at it. CRM deletes up to
100 ids a call (1 credit); Books and Inventory take one record a call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from zmigrate import quotas
from zmigrate.checkpoint import BeforeImage, LandedRecord
from zmigrate.client.crm_related import CREDITS_RELATED
from zmigrate.client.models import RecordOutcome
from zmigrate.manifest import Manifest, Product, Step, Target
from zmigrate.planner.pricing import finance_seconds, latency
from zmigrate.schema.related import Related

CRM_DELETE_MAX = quotas.CRM_WRITE_MAX
"""Ids in one CRM mass delete."""
GONE_CODE = "INVALID_DATA"
"""CRM's answer for an id of no record ("the related id given seems to be invalid")."""
CRM_DELETE_CREDITS = quotas.CREDITS_GET
"""Zoho's credit table names no cost for a delete: the 1 credit of any other call."""


class Deletion(StrEnum):
    """Where one record to delete stands (the values are stored in ``rollback.db``)."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELETED = "deleted"
    GONE = "gone"
    """Already deleted (by an earlier attempt whose answer was lost, or by hand): counted
    as deleted, never as an error."""
    REFUSED = "refused"
    RESTORED = "restored"
    """A record the run updated, its before-image written back."""


class Work(StrEnum):
    """What rollback does to a record: delete one the run created, or restore one it
    updated from its before-image (``keep_before_images``)."""

    DELETE = "delete"
    RESTORE = "restore"


def reverse_order(manifest: Manifest) -> list[Step]:
    """The steps writing to Zoho, children before parents."""
    return [s for s in reversed(manifest.ordered()) if not s.target.is_file]


def split(records: Sequence[LandedRecord]) -> tuple[list[str], list[str]]:
    """(ids the run created, ids it only found or updated), each id once, in source order.

    An id that any key created is created (two keys merged into one record the run made).
    """
    created = list(dict.fromkeys(r.zoho_id for r in records if r.created))
    made = set(created)
    kept = list(dict.fromkeys(r.zoho_id for r in records if r.zoho_id not in made))
    return created, kept


def restores(
    records: Sequence[LandedRecord], images: Sequence[BeforeImage]
) -> dict[str, dict[str, Any]]:
    """Zoho id → the values to write back, for each record the run updated and imaged first
    (the first image of an id: its values before any key of the run touched it)."""
    kept = set(split(records)[1])
    landed = {r.key: r.zoho_id for r in records}
    out: dict[str, dict[str, Any]] = {}
    for image in images:
        if image.zoho_id in kept and landed.get(image.key) == image.zoho_id:
            out.setdefault(image.zoho_id, image.fields)
    return out


def batch_size(product: str) -> int:
    return CRM_DELETE_MAX if product == Product.CRM else 1


def judge(product: str, outcome: RecordOutcome) -> tuple[Deletion, str]:
    """What one record's answer to a delete means, and Zoho's reason when it refused."""
    if outcome.ok:
        return (Deletion.GONE if outcome.action == "gone" else Deletion.DELETED), ""
    details: Mapping[str, Any] = outcome.details or {}
    if product == Product.CRM and outcome.code == GONE_CODE and details.get("id"):
        return Deletion.GONE, ""  # "the related id given seems to be invalid": not there
    return Deletion.REFUSED, f"{outcome.code}: {outcome.message}".strip(": ")


def judge_restore(product: str, outcome: RecordOutcome) -> tuple[Deletion, str]:
    """What one record's answer to the update that restores it means."""
    if outcome.ok:
        return Deletion.RESTORED, ""
    return judge(product, outcome)


@dataclass(frozen=True)
class StepBill:
    """Deleting one step's created records."""

    step: str
    product: str
    module: str
    delete: int
    left_in_place: int
    requests: int
    credits: int
    seconds: float
    restore: int = 0
    """Records the run updated whose before-images are written back."""


def price(
    step: str, product: str, module: str, delete: int, kept: int, target: Target, restore: int = 0
) -> StepBill:
    """The requests, credits and time of deleting ``delete`` records of one step and
    restoring ``restore`` (CRM: updates of 100, 1 credit per 10 records; attachments: one
    delete a file; Books/Inventory: one PUT each); ``kept`` are left in place."""
    left = kept - restore
    if module == Related.ATTACHMENTS:  # one DELETE a file through its parent, one at a time
        credits, seconds = delete * CREDITS_RELATED, delete * latency(product)
        return StepBill(step, product, module, delete, left, delete, credits, seconds)
    if product == Product.CRM:
        calls = math.ceil(delete / CRM_DELETE_MAX)
        updates = [min(CRM_DELETE_MAX, restore - n) for n in range(0, restore, CRM_DELETE_MAX)]
        credits = calls * CRM_DELETE_CREDITS + sum(quotas.write_credits(n) for n in updates)
        rounds = math.ceil((calls + len(updates)) / target.edition.concurrency)
        seconds = rounds * latency(product)
        requests = calls + len(updates)
        return StepBill(step, product, module, delete, left, requests, credits, seconds, restore)
    seconds = finance_seconds(delete + restore, target.finance_plan(product))
    return StepBill(step, product, module, delete, left, delete + restore, 0, seconds, restore)


def bill_dict(steps: Sequence[StepBill]) -> dict[str, Any]:
    totals: dict[str, dict[str, float]] = {}
    for s in steps:
        t = totals.setdefault(str(s.product), {"requests": 0, "credits": 0, "seconds": 0.0})
        t["requests"] += s.requests
        t["credits"] += s.credits
        t["seconds"] += s.seconds
    return {"steps": [asdict(s) for s in steps], "totals": totals}
