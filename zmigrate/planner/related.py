"""Pricing related records: notes and activities without a key, and attachments.

Notes and activities go as REST inserts, priced as any CRM REST write (batches of 100, one
credit per 10 records); a lost answer costs one more look at the parent, which the plan
does not count (like any retry). Attachments are one upload per file (1 credit each, a
guess: Zoho's credit table does not list uploads), ``ATTACH_BATCH`` files a checkpointed
batch; their time is the round trips over the edition's concurrency plus the bytes at
``quotas.UPLOAD_BYTES_PER_SECOND`` spread over the same places.
"""

from __future__ import annotations

import dataclasses
import math

from zmigrate import quotas
from zmigrate.client.crm_related import CREDITS_RELATED
from zmigrate.manifest import Operation, Product, Step, Target
from zmigrate.manifest.related import keyless
from zmigrate.planner.model import Phase, PhaseMethod
from zmigrate.planner.pricing import crm_rest_write, latency
from zmigrate.schema.related import Related, related_kind
from zmigrate.sources.attachments import check_files

ATTACH_BATCH = 10
"""Files per checkpointed batch of an attachment step."""


def is_related(step: Step) -> bool:
    """A step the related-record writers take (notes/activities without a key, attachments)."""
    return keyless(step.target, step.key)


def related_phase(step: Step, records: int, target: Target) -> Phase:
    """The priced write of a related step; an attachment step's files are checked here."""
    if related_kind(step.target.module) is Related.ATTACHMENTS:
        return attachments_phase(step, target)
    rest = crm_rest_write(records, target, Operation.INSERT)
    why = (
        f"{step.target.text} without a key: REST inserts (Bulk Write could not tell a resent "
        "row from a landed one); a lost answer is checked on the parent before resending"
    )
    return dataclasses.replace(rest, method=PhaseMethod.RELATED, reason=why)


def attachments_phase(step: Step, target: Target) -> Phase:
    """One upload per file; refuses (exit 2) a missing file or one over Zoho's limit."""
    found = check_files(step)
    places = target.edition.concurrency
    rounds = math.ceil(found.files / places)
    seconds = rounds * latency(Product.CRM) + found.bytes / (
        quotas.UPLOAD_BYTES_PER_SECOND * places
    )
    why = (
        f"{found.files} file(s), {found.bytes:,} bytes: one upload each to its parent "
        f"({CREDITS_RELATED} credit each), {places} at a time; attachments have no bulk API"
    )
    return Phase(
        "write",
        Product.CRM,
        PhaseMethod.ATTACH,
        found.files,
        ATTACH_BATCH,
        math.ceil(found.files / ATTACH_BATCH),
        found.files,
        found.files * CREDITS_RELATED,
        0,
        seconds,
        why,
        found.bytes,
    )
