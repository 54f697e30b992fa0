"""Rolling attachments back: an attachment is deleted through its parent
(``DELETE /crm/v8/{module}/{parent}/Attachments/{id}``), so each one's parent is found
first, from the run's own records: the source row's parent key and the parent step's ids
(no call to Zoho)."""

from __future__ import annotations

from zmigrate.checkpoint import RunStore
from zmigrate.client import RecordOutcome, Zoho
from zmigrate.client.crm_related import delete_attachment
from zmigrate.manifest import Manifest, Step
from zmigrate.schema.related import PARENT, Related
from zmigrate.sources import iter_records, row_key

Parents = dict[str, tuple[str, str]]
"""Attachment id → (parent module, parent id)."""


def is_attachments(step: Step) -> bool:
    return step.target.module == Related.ATTACHMENTS


def attachment_parents(local: Manifest, store: RunStore, step: Step) -> Parents:
    """The parent of every attachment ``step`` landed (read from the run, not from Zoho)."""
    lk = next((lk for lk in step.lookups if lk.target == PARENT), None)
    if lk is None:
        return {}
    landed = {r.key: r.zoho_id for r in store.landed(step.name)}
    found: list[tuple[str, str]] = []
    for n, rec in enumerate(iter_records(local.step(step.name))):
        zoho_id = landed.get(rec.key or f"#{n}")
        if zoho_id is not None:
            found.append((zoho_id, row_key(lk.columns, rec.rows[0])))
    ids = store.lookup_many(lk.step, {key for _, key in found})
    module = lk.se_module or ""
    return {z: (module, ids[key]) for z, key in found if key in ids}


async def delete_attachments(zoho: Zoho, ids: list[str], parents: Parents) -> list[RecordOutcome]:
    """Each attachment deleted through its parent; one whose parent is unknown is refused."""
    out = []
    for n, att_id in enumerate(ids):
        if att_id not in parents:
            why = "its parent is not among the run's records"
            out.append(RecordOutcome(n, False, code="NO_PARENT", message=why))
            continue
        outcome = await delete_attachment(zoho.crm, *parents[att_id], att_id)
        out.append(
            RecordOutcome(
                n,
                outcome.ok,
                outcome.id,
                outcome.action,
                outcome.code,
                outcome.message,
                outcome.details,
            )
        )
    return out
