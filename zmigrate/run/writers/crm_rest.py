"""CRM records through the REST API: upsert on the key, insert, or update found by key.

An upsert is safe to resend. An insert that may have landed (``retried``) first looks its
keys up (COQL) and adopts what it finds; an update always finds its record by key.

CRM has two limits: the edition's concurrent calls and, inside them, a pool of 10 for heavy
writes (over 10 records). A step fills both: heavy writes of up to 100 records in the pool's
places, light writes of exactly 10 in the edition's other places. Credits are the same
(one per 10 records), so the light writes are records per second for free.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from zmigrate import quotas
from zmigrate.checkpoint import Batch, StepSpec
from zmigrate.client import RecordOutcome, Zoho
from zmigrate.client.crm import HEAVY_WRITE_OVER, coql_literal
from zmigrate.manifest import Step
from zmigrate.manifest.model import Operation
from zmigrate.outcomes import Again, Landed, Reject, Verdict, chunked, record_outcome
from zmigrate.run.items import Item, bulk_cell
from zmigrate.run.writers.base import Target, Writer

COQL_IN_MAX = 50
"""Values in one COQL ``in (...)`` lookup of existing keys."""


def key_value(step: Step, record: Mapping[str, Any]) -> str:
    """The step key of a payload or a found record, as one comparable string."""
    return "\x1f".join(str(bulk_cell(record.get(k, ""))) for k in step.key)


class Lane(StrEnum):
    """A place a write takes: in the heavy pool (up to 100 records) or a light one (10)."""

    HEAVY = "heavy"
    LIGHT = "light"


LANE_RECORDS = {Lane.HEAVY: quotas.CRM_WRITE_MAX, Lane.LIGHT: HEAVY_WRITE_OVER}
"""Records one write takes in each lane: light writes of exactly 10 cost what they would
inside a heavy write (1 credit per 10 records), so a batch costs the minimum either way."""


def lane_sizes(concurrency: int, pool: int) -> dict[Lane, int]:
    """Places per lane: the pool's (at most the edition's) heavy, the edition's rest light."""
    heavy = min(pool, concurrency)
    return {Lane.HEAVY: heavy, Lane.LIGHT: concurrency - heavy}


def choose_lane(
    free: Mapping[Lane, int], started: bool, waiting: Mapping[bool, int]
) -> Lane | None:
    """The place a batch's next write takes, or None to wait; ``waiting`` counts batches
    waiting for a place, by whether they have started.

    A batch not yet started takes a heavy place (its 100 records in one call); a started
    one takes light places, several at once, so the light lanes finish it within one call's
    latency and never leave a heavy call with fewer than 100. Light places go first to
    started batches, heavy ones first to fresh batches: a started batch takes a heavy place
    only when no fresh one waits (the step's tail)."""
    if started:
        if free[Lane.LIGHT]:
            return Lane.LIGHT
        return Lane.HEAVY if free[Lane.HEAVY] and not waiting[False] else None
    if free[Lane.HEAVY]:
        return Lane.HEAVY
    return Lane.LIGHT if free[Lane.LIGHT] and not waiting[True] else None


def _failed(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is not None


class Lanes:
    """The step's writes in flight per lane, handed out by :func:`choose_lane`; waiting
    batches queue by kind, first come first served, and each freed place wakes one."""

    def __init__(self, sizes: Mapping[Lane, int]) -> None:
        self.free = dict(sizes)
        self.queues: dict[bool, deque[asyncio.Future[Lane]]] = {False: deque(), True: deque()}

    def waiting(self) -> dict[bool, int]:
        return {started: len(q) for started, q in self.queues.items()}

    async def take(self, started: bool) -> Lane:
        """A place for a write of a batch that has (or has not yet) ``started`` sending."""
        lane = choose_lane(self.free, started, self.waiting())
        if lane is not None:
            self.free[lane] -= 1
            return lane
        turn: asyncio.Future[Lane] = asyncio.get_running_loop().create_future()
        self.queues[started].append(turn)
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give(turn.result())  # handed a place as it was cancelled: not used
            elif turn in self.queues[started]:
                self.queues[started].remove(turn)
            raise

    def give(self, lane: Lane) -> None:
        self.free[lane] += 1
        handed = True
        while handed:
            handed = False
            for started in (True, False):
                queue = self.queues[started]
                while queue and queue[0].done():  # its task was cancelled while waiting
                    queue.popleft()
                got = choose_lane(self.free, started, self.waiting()) if queue else None
                if got is not None:
                    self.free[got] -= 1
                    queue.popleft().set_result(got)
                    handed = True


class CrmRestWriter(Writer):
    def __init__(self, target: Target) -> None:
        super().__init__(target)
        channel = target.zoho.channels[target.spec.product]
        pool = channel.heavy_gate.max_limit if channel.heavy_gate else channel.gate.max_limit
        self.lanes = Lanes(lane_sizes(channel.gate.max_limit, pool))

    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        """A batch per place, and one more per heavy place ready to take it the moment a
        heavy write ends (a place left empty while the next batch is prepared is lost)."""
        sizes = lane_sizes(zoho.limits.crm().concurrency, zoho.limits.crm().sub_concurrency)
        return sizes[Lane.HEAVY] * 2 + sizes[Lane.LIGHT]

    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        """The batch's records in writes sent side by side, each in the place it takes."""
        step = self.target.step
        verdicts: list[Verdict | None] = [None] * len(items)
        send = list(range(len(items)))
        if step.operation is Operation.UPDATE or (retried and step.operation is Operation.INSERT):
            send = await self._match_existing(items, verdicts)
        parts: list[asyncio.Task[None]] = []
        try:
            while send and not any(_failed(p) for p in parts):
                lane = await self.lanes.take(started=bool(parts))
                part, send = send[: LANE_RECORDS[lane]], send[LANE_RECORDS[lane] :]
                parts.append(asyncio.create_task(self._part(lane, items, part, verdicts, retried)))
            answers = await asyncio.gather(*parts, return_exceptions=True)
        finally:
            for p in parts:  # cancelled itself (the run interrupted): so are its writes
                p.cancel()
        errors = [e for e in answers if isinstance(e, BaseException)]
        if errors:
            raise errors[0]  # the writes sent alongside it have had their answers first
        return [v if v is not None else Again("not sent") for v in verdicts]

    async def _part(
        self,
        lane: Lane,
        items: Sequence[Item],
        part: list[int],
        verdicts: list[Verdict | None],
        retried: bool,
    ) -> None:
        """One write of the items at ``part``, in ``lane``'s place (taken by the caller)."""
        try:
            outcomes = await self._write([items[n].payload for n in part])
        finally:
            self.lanes.give(lane)
        for n, o in zip(part, outcomes, strict=True):
            verdicts[n] = record_outcome(o, retried=retried)

    async def _write(self, records: list[dict[str, Any]]) -> list[RecordOutcome]:
        step = self.target.step
        crm, module = self.target.zoho.crm, step.target.module or ""
        if step.operation is Operation.UPSERT:  # with before-images, a lost answer is told:
            # the batch then knows its create may have landed (rollback's "reclaimed")
            return await crm.upsert(
                module, records, step.key, idempotent=not step.keep_before_images
            )
        if step.operation is Operation.UPDATE:
            return await crm.update(module, records)
        return await crm.insert(module, records)

    async def _match_existing(
        self, items: Sequence[Item], verdicts: list[Verdict | None]
    ) -> list[int]:
        """Look the items' keys up: an update takes the found id (or is refused), an insert
        that landed earlier is adopted. Returns the indexes still to send."""
        step = self.target.step
        existing = await self._existing(items)
        send = []
        for n, item in enumerate(items):
            found = existing.get(key_value(step, item.payload))
            if step.operation is Operation.UPDATE:
                if found is None:
                    why = f"no {step.target.module or ''} record has this {', '.join(step.key)}"
                    verdicts[n] = Reject("NOT_FOUND", why)
                    continue
                item.payload = {**item.payload, "id": found}
                send.append(n)
            elif found is not None:
                verdicts[n] = Landed(found, "found")
            else:
                send.append(n)
        return send

    async def _existing(self, items: Sequence[Item]) -> dict[str, str]:
        """Ids of records that already hold these items' keys (COQL, 1 credit per 200)."""
        step = self.target.step
        module, first = step.target.module or "", step.key[0]
        values = sorted({str(bulk_cell(i.payload.get(first))) for i in items} - {"", "None"})
        found: dict[str, str] = {}
        for part in chunked(values, COQL_IN_MAX):
            fields = ", ".join(dict.fromkeys(["id", *step.key]))
            where = f"{first} in ({', '.join(coql_literal(v) for v in part)})"
            page = await self.target.zoho.crm.coql(f"select {fields} from {module} where {where}")
            for rec in page.records:
                found[key_value(step, rec)] = str(rec["id"])
        return found
