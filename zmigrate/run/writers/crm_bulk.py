"""CRM records through Bulk Write: one job per batch (upload, job, poll, per-row result).

The job id is saved in the run store before the job is polled, so a job started by an
earlier attempt or process is polled again, never submitted twice. Rows sent again without
a known job (its acknowledgement was lost, or Zoho no longer knows it) go as an upsert on
the key: whatever the lost job did, they land once. Building the file's rows and reading
the result's verdicts (25,000 rows) happen on a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from zmigrate import quotas
from zmigrate.checkpoint import Batch, StepSpec
from zmigrate.client import BulkJob, RecordOutcome, Zoho
from zmigrate.client.bulk import zip_csv
from zmigrate.errors import RequestRejected
from zmigrate.manifest.model import Operation
from zmigrate.outcomes import Again, Reject, Verdict, record_outcome
from zmigrate.run.items import Item, bulk_cell
from zmigrate.run.writers.base import Target, Writer

KEYED = (Operation.UPSERT, Operation.UPDATE)
"""Operations whose job finds records by the step key (``find_by``)."""


def bulk_file(items: Sequence[Item]) -> tuple[list[str], bytes]:
    """The file's columns (every payload's keys, in order) and the zipped CSV, one row per
    item, written as the rows are made (no second copy of the batch)."""
    header = list(dict.fromkeys(k for i in items for k in i.payload))
    rows = ({k: bulk_cell(v) for k, v in i.payload.items()} for i in items)
    return header, zip_csv(header, rows)


def verdicts(outcomes: Sequence[RecordOutcome], retried: bool) -> list[Verdict]:
    return [record_outcome(o, retried=retried) for o in outcomes]


class CrmBulkWriter(Writer):
    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.jobs: dict[int, str] = {}
        """Jobs created by this process, by batch number: poll them, never resubmit."""

    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        return quotas.CRM_BULK_JOBS_AT_ONCE

    @classmethod
    def held(cls, workers: int) -> int:
        """Only the jobs' own batches: a 25,000-row batch is read in well under a second,
        while a job runs for minutes, so reading ahead would only hold memory."""
        return workers

    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        crm, step = self.target.zoho.crm, self.target.step
        job_id = self.jobs.get(batch.batch_no, batch.job_id)
        job: BulkJob | None = None
        outcomes: list[RecordOutcome] | None = None
        if job_id is not None:
            try:
                job = await crm.wait_write(job_id)
            except RequestRejected:
                self.target.progress.note(f"{step.name}: Zoho no longer knows bulk job {job_id}")
                retried = True
        if job is None:
            keyed = retried and step.operation is Operation.INSERT
            job, outcomes = await self._submit(batch, items, Operation.UPSERT if keyed else None)
        if job.failed and not job.download_url:
            return [Reject("BULK_JOB_FAILED", f"Bulk Write job {job.id} failed") for _ in items]
        if outcomes is None:
            outcomes = await crm.write_result(job)
        if len(outcomes) != len(items):
            return [Again(f"bulk result had {len(outcomes)} rows for {len(items)}")] * len(items)
        return await asyncio.to_thread(verdicts, outcomes, retried)

    async def _submit(
        self, batch: Batch, items: Sequence[Item], operation: Operation | None
    ) -> tuple[BulkJob, list[RecordOutcome]]:
        """The batch as one Bulk Write job (the step's operation unless told otherwise)."""
        step, store = self.target.step, self.target.store
        operation = operation or step.operation
        header, data = await asyncio.to_thread(bulk_file, items)

        async def saved(job_id: str, file_id: str) -> None:
            self.jobs[batch.batch_no] = job_id
            await store.set_bulk_job(step.name, batch.batch_no, job_id, file_id)

        result = await self.target.zoho.crm.bulk_write_file(
            step.target.module or "",
            operation,
            header,
            data,
            len(items),
            find_by=step.key[0] if operation in KEYED else None,
            field_mappings=self._mappings(header),
            on_job=saved,
        )
        return result.job, list(result.outcomes)

    def _mappings(self, header: Sequence[str]) -> list[dict[str, Any]]:
        """Each column by its index; a lookup column names its record by id, a multi-module
        one (``What_Id``) also its ``module`` (the ``$se_module`` column stays unmapped)."""
        step = self.target.step
        mod = step.target.schema
        modules = {lk.target: lk.se_module for lk in step.lookups if lk.se_module}
        mappings = []
        for index, name in enumerate(header):
            if name == "$se_module":
                continue
            mapping: dict[str, Any] = {"api_name": name, "index": index}
            fld = mod.field(name) if mod else None
            if fld is not None and fld.data_type == "lookup":
                mapping["find_by"] = "id"
            if name in modules:
                mapping["module"] = modules[name]
            mappings.append(mapping)
        return mappings
