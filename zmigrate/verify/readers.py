"""Verify's whole-step reads (``bill`` chooses them): a CRM Bulk Read of the module and
Books/Inventory list pages, both kept to the run's ids, page after page checkpointed in the
``ledger`` so a killed verify goes on from the next page and polls the Bulk Read job it
had paid for instead of making another.

A Bulk Read that does not hold a record says it is missing; list entries hold fewer fields
than a record (no line items, custom fields in real Zoho only partly), so a record whose
entry lacks a field the run sent is read by id after all (``execute``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, TypeVar

from zmigrate.client import Zoho
from zmigrate.client.finance import FinanceClient, resource_keys
from zmigrate.errors import RequestRejected, ServerError
from zmigrate.verify.bill import ReadBy
from zmigrate.verify.ledger import Ledger

T = TypeVar("T")
R = TypeVar("R")
GONE, GONE_CODE = 404, "RESOURCE_NOT_FOUND"
"""Zoho's answer for a Bulk Read job (or result) it no longer keeps: read that page again."""


async def bulk_read(
    zoho: Zoho, module: str, names: Sequence[str], ids: Collection[str], ledger: Ledger, step: str
) -> dict[str, dict[str, Any]]:
    """The rows of ``ids`` in a Bulk Read of the whole of ``module``."""
    state = ledger.read_state(step) or ledger.start_read(step, ReadBy.BULK_READ)
    while not state.done:
        job = await _kept(zoho.crm.wait_read, state.job_id)
        rows = await _kept(zoho.crm.read_result, job) if job and not job.failed else None
        if job is None or rows is None:
            job_id = await zoho.crm.create_read_job(
                module, list(names), None, state.page, state.token
            )
            ledger.job_started(step, job_id)
            job = await zoho.crm.wait_read(job_id)
            if job.failed:
                raise ServerError(f"Bulk Read job {job.id} of {module} failed", body=dict(job.raw))
            rows = await zoho.crm.read_result(job)
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            rid = str(row.get("Id") or row.get("id") or "")
            if rid in ids:
                found[rid] = {"id": rid, **{k: v for k, v in row.items() if k != "Id"}}
        state = dataclasses.replace(
            state,
            page=job.page + 1,
            token=job.next_page_token,
            job_id=None,
            done=not job.more_records,
        )
        ledger.page_read(step, found, state)
    return {z: r for z, r in ledger.fetched(step).items() if z in ids}


async def _kept(call: Callable[[T], Awaitable[R]], what: T | None) -> R | None:
    """``call(what)`` for a job an earlier verify made (its status, its result); None when
    there is none, or Zoho no longer keeps it."""
    if what is None:
        return None
    try:
        return await call(what)
    except RequestRejected as exc:
        if exc.status == GONE or exc.code == GONE_CODE:
            return None
        raise


async def list_pages(
    client: FinanceClient,
    product: str,
    module: str,
    ids: Collection[str],
    ledger: Ledger,
    step: str,
) -> dict[str, dict[str, Any]]:
    """List entries of ``ids``, 200 a page, until all are found or the pages have cost as
    many requests as the records still to find (those are then cheaper read by id)."""
    id_field = resource_keys(product, module)[1]
    state = ledger.read_state(step) or ledger.start_read(step, ReadBy.LIST_PAGES)
    found = {z: r for z, r in ledger.fetched(step).items() if z in ids}
    while not state.done and state.spent < len(ids) - len(found):
        result = await client.list_page(module, state.page)
        page = {str(e.get(id_field)): e for e in result.records if str(e.get(id_field)) in ids}
        found.update(page)
        state = dataclasses.replace(
            state,
            page=result.page + 1,
            spent=state.spent + 1,
            done=not result.more or len(found) == len(ids),
        )
        ledger.page_read(step, page, state)
    return found
