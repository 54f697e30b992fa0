"""CRM records through Bulk Write: one job per batch (upload, job, poll, per-row result).

The job id is saved in the run store before the job is polled, so a job started by an
earlier attempt or process is polled again, never submitted twice. Rows sent again without
a known job (its acknowledgement was lost, or Zoho no longer knows it) go as an upsert on
the key: whatever the lost job did, they land once. Building the file's rows and reading
the result's verdicts (25,000 rows) happen on a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from zmigrate import quotas
from zmigrate.checkpoint import Batch, StepSpec
from zmigrate.client import BulkJob, RecordOutcome, Zoho
from zmigrate.client.bulk import iter_csv, zip_csv
from zmigrate.errors import RequestRejected
from zmigrate.manifest.model import Operation
from zmigrate.outcomes import Again, Reject, Verdict, record_outcome
from zmigrate.run.items import Item, bulk_cell
from zmigrate.run.writers.base import Target, Writer

T = TypeVar("T")
KEYED = (Operation.UPSERT, Operation.UPDATE)
"""Operations whose job finds records by the step key (``find_by``)."""


@dataclass(frozen=True)
class BulkFile:
    """A batch's zipped CSV and the item (``row_no``) on each of its lines, in order."""

    header: list[str]
    data: bytes
    rows: array[int]


def bulk_file(
    items: Sequence[Item], paced: Callable[[Iterable[Item]], Iterator[Item]] = iter
) -> BulkFile:
    """The file's columns (every payload's keys, in order) and the zipped CSV, one row per
    item, written as the rows are made (no second copy of the batch); ``paced`` lets the
    thread yield to windowed calls between rows."""
    header = list(dict.fromkeys(k for i in items for k in i.payload))
    rows = ({k: bulk_cell(v) for k, v in i.payload.items()} for i in paced(items))
    return BulkFile(header, zip_csv(header, rows), array("q", (i.row_no for i in items)))


def part_of(file: BulkFile, row_nos: Sequence[int]) -> BulkFile:
    """The lines of ``file`` for the items ``row_nos`` (a batch sent again in part)."""
    wanted = set(row_nos)
    lines = zip(file.rows, iter_csv(file.data), strict=True)
    kept = [(n, line) for n, line in lines if n in wanted]
    data = zip_csv(file.header, (line for _, line in kept))
    return BulkFile(file.header, data, array("q", (n for n, _ in kept)))


def verdicts(
    outcomes: Sequence[RecordOutcome],
    retried: bool,
    paced: Callable[[Iterable[RecordOutcome]], Iterator[RecordOutcome]] = iter,
) -> list[Verdict]:
    return [record_outcome(o, retried=retried) for o in paced(outcomes)]


class CrmBulkWriter(Writer):
    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.jobs: dict[int, str] = {}
        """Jobs created by this process, by batch number: poll them, never resubmit."""
        self.files: dict[int, BulkFile] = {}
        """The files of those jobs until their results are read: the items' payloads are let
        go once a job holds them (a bulk step's memory), and a job Zoho forgets is sent
        again from its file."""

    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        return quotas.CRM_BULK_JOBS_AT_ONCE

    @classmethod
    def paced(cls, zoho: Zoho, rows: Iterable[T]) -> Iterator[T]:
        """A 25,000-row batch's reading, mapping, file and verdicts yield to windowed calls."""
        return zoho.transport.foreground.paced(rows)

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
            self.files.pop(batch.batch_no, None)
            return [Reject("BULK_JOB_FAILED", f"Bulk Write job {job.id} failed") for _ in items]
        if outcomes is None:
            outcomes = await crm.write_result(job)
        if len(outcomes) != len(items):
            return [Again(f"bulk result had {len(outcomes)} rows for {len(items)}")] * len(items)
        paced = partial(self.paced, self.target.zoho)
        answers = await asyncio.to_thread(verdicts, outcomes, retried, paced)
        if not any(isinstance(v, Again) for v in answers):
            self.files.pop(batch.batch_no, None)
        return answers

    async def _submit(
        self, batch: Batch, items: Sequence[Item], operation: Operation | None
    ) -> tuple[BulkJob, list[RecordOutcome]]:
        """The batch as one Bulk Write job (the step's operation unless told otherwise)."""
        step, store = self.target.step, self.target.store
        operation = operation or step.operation
        sent = self.files.get(batch.batch_no)
        if sent is not None and not any(i.payload for i in items):  # let go: the file has them
            file = await asyncio.to_thread(part_of, sent, [i.row_no for i in items])
        else:
            file = await asyncio.to_thread(bulk_file, items, partial(self.paced, self.target.zoho))

        async def saved(job_id: str, file_id: str) -> None:
            self.jobs[batch.batch_no] = job_id
            await store.set_bulk_job(step.name, batch.batch_no, job_id, file_id)
            self.files[batch.batch_no] = file
            for item in items:
                item.payload = {}

        result = await self.target.zoho.crm.bulk_write_file(
            step.target.module or "",
            operation,
            file.header,
            file.data,
            len(items),
            find_by=step.key[0] if operation in KEYED else None,
            field_mappings=self._mappings(file.header),
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
