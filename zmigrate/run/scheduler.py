"""The scheduler of steps: each step starts once the steps it looks up are done, its
batches fed in source order to as many workers as its writer wants, within the quotas."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice

from zmigrate.checkpoint import AsyncRunStore, Batch, StepSpec
from zmigrate.client import Zoho
from zmigrate.clock import Clock
from zmigrate.manifest import Manifest, Step
from zmigrate.outcomes import ready_steps
from zmigrate.progress import Progress
from zmigrate.run.accounting import STEP_TALLY, Tally, spend_now
from zmigrate.run.batch import Batches, StepCounts
from zmigrate.run.control import Control
from zmigrate.run.items import Item
from zmigrate.run.writers import Target, Writer, writer_for
from zmigrate.sources import KeyCollision, SourceRecord, iter_records

Work = tuple[Batch, list[Item]] | None
"""A batch and its records for a worker; None: no more."""
READ_SLICE = 1_000
"""Source records read per trip to a thread: reading a 25,000-row batch never holds the
event loop (other products' calls keep their pace)."""


def _take(rows: Iterator[tuple[int, SourceRecord]], n: int) -> list[tuple[int, SourceRecord]]:
    return list(islice(rows, n))


class Engine:
    """Runs the steps of one run directory, each batch through its step's writer."""

    def __init__(
        self,
        manifest: Manifest,
        store: AsyncRunStore,
        zoho: Zoho,
        clock: Clock,
        progress: Progress,
        tallies: Mapping[str, Tally],
        collisions: Mapping[str, Sequence[KeyCollision]] | None = None,
    ) -> None:
        self.manifest, self.store, self.zoho, self.clock = manifest, store, zoho, clock
        self.progress = progress
        self.control = Control(progress)
        self.specs = {s.name: s for s in store.store.steps()}
        self.tallies = {name: tallies.get(name) or Tally() for name in self.specs}
        self.counts = {name: StepCounts() for name in self.specs}
        self.collisions = {
            name: {c.record: c for c in found} for name, found in (collisions or {}).items()
        }
        """Records (by index) whose target key an earlier record has, per step (the plan's)."""
        self.completed: set[str] = set()

    def interrupt(self) -> None:
        self.control.interrupt()

    async def run(self) -> None:
        """Start each step once its dependencies are complete; wait for all of them."""
        order = [s.name for s in self.manifest.ordered()]
        deps = {s.name: s.depends_on for s in self.manifest.steps}
        summary = await self.store.summary()
        settled = {s.step: s.settled for s in summary.steps}
        await self._settle_complete(order)
        tasks = self.control.tasks
        while True:
            self._start_ready(order, deps, settled)
            running = [t for t in tasks.values() if not t.done()]
            if not running:
                break
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            done = [t for t in tasks.values() if t.done() and not t.cancelled()]
            failed = [error for t in done if (error := t.exception()) is not None]
            if failed:  # stop the other steps and retrieve their errors too (else asyncio
                self.control.cancel_steps()  # prints each: "Task exception was never retrieved")
                await asyncio.gather(*tasks.values(), return_exceptions=True)
                raise failed[0]
            self.completed |= {name for name, t in tasks.items() if t in done and t.result()}

    async def _settle_complete(self, order: Sequence[str]) -> None:
        """Steps with no batch left are complete before anything starts."""
        for name in order:
            if not await self.store.pending_batches(name):
                self.completed.add(name)
                writer_for(self.specs[name]).settle(self.manifest.step(name), self.specs[name])

    def _start_ready(
        self, order: Sequence[str], deps: Mapping[str, Sequence[str]], settled: Mapping[str, int]
    ) -> None:
        """A task for every step whose dependencies are complete (none once halted)."""
        control = self.control
        if control.interrupted or control.stopped is not None:
            return
        started = set(control.tasks) | self.completed
        for name in ready_steps(order, deps, self.completed, started):
            if self.specs[name].product in control.pauses:
                continue
            control.tasks[name] = asyncio.create_task(
                self._run_step(name, settled.get(name, 0)), name=f"step {name}"
            )

    async def _run_step(self, name: str, already: int) -> bool:
        """All pending batches of one step; True when none is left."""
        tally = self.tallies[name]
        STEP_TALLY.set(tally)
        tally.ready = self.clock.now()
        spec, step = self.specs[name], self.manifest.step(name)
        self.progress.start_step(name, spec.total_rows, already)
        pending = await self.store.pending_batches(name)
        kind = writer_for(spec)
        workers = kind.workers(self.zoho, spec)
        writer = kind(Target(step, spec, self.zoho, self.store, self.progress))
        batches = self._batches(step, spec, writer)
        queue: asyncio.Queue[Work] = asyncio.Queue()
        room = asyncio.Semaphore(kind.held(workers))  # batches read and not yet settled

        async def work() -> None:
            while (got := await queue.get()) is not None:
                try:
                    await batches.run(*got)
                finally:
                    got = None  # the batch's records go before the next one is awaited
                    room.release()

        async def feed() -> None:
            halted = partial(self.control.halted, spec.product)
            source = kind.paced(self.zoho, iter_records(step))
            await read_batches(step, pending, Feed(queue, room), halted, source)
            for _ in range(workers):
                await queue.put(None)

        # one task list: a worker that fails takes the feeder down too (no put blocks forever)
        tasks = [asyncio.create_task(feed())] + [
            asyncio.create_task(work()) for _ in range(workers)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            tally.ended = self.clock.now()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # retrieve every exception
        left = await self.store.pending_batches(name)
        counts = self.counts[name]
        self.progress.finish_step(name, counts.landed, counts.failed)
        return not left

    def _batches(self, step: Step, spec: StepSpec, writer: Writer) -> Batches:
        return Batches(
            step,
            spec.product,
            writer,
            self.store,
            self.control,
            self.progress,
            collisions=self.collisions.get(step.name, {}),
            attempts=self.zoho.transport.policy.attempts,
            spend_now=lambda: spend_now(self.zoho),
            counts=self.counts[step.name],
        )


async def read_batches(
    step: Step,
    pending: Sequence[Batch],
    feed: Feed,
    halted: Callable[[], bool],
    source: Iterator[SourceRecord] | None = None,
) -> None:
    """Read the source once (in slices, on a thread), handing each pending batch its records
    in order; a batch is read only once the step has room for it. ``source``: the step's
    records as its writer paces them (``Writer.paced``), else read as it comes."""
    if not pending:
        return
    batches = iter(pending)
    current: Batch | None = await feed.next(batches)
    items: list[Item] = []
    rows = enumerate(iter_records(step) if source is None else source)
    while records := await asyncio.to_thread(_take, rows, READ_SLICE):
        for row_no, record in records:
            if halted():
                return
            while current is not None and row_no >= current.last_row:
                feed.queue.put_nowait((current, items))
                items, current = [], await feed.next(batches)
            if current is None:
                return
            if row_no >= current.first_row:
                items.append(Item(row_no, record))
    if current is not None:
        feed.queue.put_nowait((current, items))


@dataclass(frozen=True)
class Feed:
    """Where a step's reader hands its batches, and the room that bounds those held."""

    queue: asyncio.Queue[Work]
    room: asyncio.Semaphore

    async def next(self, batches: Iterator[Batch]) -> Batch | None:
        """The next pending batch, once the step may hold one more (None: no more)."""
        batch = next(batches, None)
        if batch is not None:
            await self.room.acquire()
        return batch
