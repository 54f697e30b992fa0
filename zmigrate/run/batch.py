"""The batch state machine: one batch of one step, from its source rows to ``done``.

``pending → in_flight`` (committed before each send) ``→ done`` with its id cross-reference
rows and dead letters in one transaction. Rows already settled are skipped; a repeated key
is dead-lettered when the step says so; rows that cannot be mapped are dead-lettered; the
rest go to the step's writer, again (looked up first) when a write stayed unconfirmed or
Zoho left records unprocessed. An error answer pauses the product, stops the run or
dead-letters the batch, as ``zmigrate.outcomes.decide`` says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from zmigrate.checkpoint import AsyncRunStore, Batch, DeadLetter, RunStore, WriteAction
from zmigrate.errors import Unconfirmed, ZmigrateError, ZohoError
from zmigrate.manifest import OnDuplicateKey, Step
from zmigrate.mapping import MappingError, lookup_keys, map_record
from zmigrate.outcomes import Claim, Landed, Pause, Reject, Stop, Verdict, decide, split_shared
from zmigrate.progress import Progress
from zmigrate.run.before_images import read_before
from zmigrate.run.control import Control
from zmigrate.run.items import Item, dead_letter
from zmigrate.run.writers import Writer
from zmigrate.sources import KEY_SEPARATOR, KeyCollision

AGAIN_ROUNDS = 3
"""Times a record Zoho left unprocessed (not refused) is sent again before it is given up."""

XRef = tuple[str, str, int | None, str]
"""(source key, Zoho id, source line, write action): one row of the id cross-reference."""
STORE_SLICE = 1_000
"""Keys per run-store look-up: one store thread serves every step in call order, so a
25,000-row batch asks in slices that other products' calls fit between."""
ON_LOOP = 16
"""Items a batch maps and sorts on the event loop (microseconds each): a thread hop costs
more than that, and a Books call makes several; larger batches go to a thread."""
T = TypeVar("T")


async def off_loop(size: int, fn: Callable[[], T]) -> T:
    """``fn()`` on a thread when it handles more than ``ON_LOOP`` items, else at once."""
    return fn() if size <= ON_LOOP else await asyncio.to_thread(fn)


async def in_slices(ask: Callable[[list[str]], Awaitable[T]], keys: Sequence[str]) -> list[T]:
    """``ask`` about ``keys`` one slice at a time; the answers in order."""
    return [await ask(list(keys[i : i + STORE_SLICE])) for i in range(0, len(keys), STORE_SLICE)]


@dataclass
class StepCounts:
    """Records of one step this process settled: new Zoho records, refused, merged."""

    landed: int = 0
    failed: int = 0
    merged: int = 0


@dataclass
class Settled:
    """What a batch's sends came to: ids to commit and dead letters."""

    xref: list[XRef] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    absent: set[str] = field(default_factory=set)
    """Keys no record held before the run wrote them (their before-images say so)."""


class Batches:
    """Runs the batches of one step through its writer (several at once, one commit at a time)."""

    def __init__(
        self,
        step: Step,
        product: str,
        writer: Writer,
        store: AsyncRunStore,
        control: Control,
        progress: Progress,
        *,
        collisions: Mapping[int, KeyCollision],
        attempts: int,
        spend_now: Callable[[], dict[str, tuple[int, int]]],
        counts: StepCounts,
    ) -> None:
        self.step, self.product, self.writer = step, product, writer
        self.store, self.control, self.progress = store, control, progress
        self.collisions = collisions
        """Records (by index) whose target key an earlier record has (the plan's)."""
        self.attempts = attempts
        """Sends of an unconfirmed write before the run stops (the transport's cap)."""
        self.spend_now, self.counts = spend_now, counts
        self._ids = asyncio.Lock()
        """One batch at a time checks its ids against the store and commits them."""

    async def run(self, batch: Batch, items: list[Item]) -> None:
        """Settle ``batch`` (its ``items`` read from the source), unless the run is halted."""
        if self.control.halted(self.product):
            return
        settled = Settled()
        todo = await self._prepare(batch, items, settled.dead)
        if await self._send(batch, todo, settled):
            await self._commit(batch, items, settled)

    async def _prepare(self, batch: Batch, items: list[Item], dead: list[DeadLetter]) -> list[Item]:
        """The items still to send, mapped: settled ones skipped, repeated keys and
        unmappable rows dead-lettered."""
        name = self.step.name
        keys = [i.key for i in items]
        settled = set().union(*await in_slices(partial(self.store.settled_keys, name), keys))
        todo = [i for i in items if i.key not in settled]
        if self.step.on_duplicate_key is OnDuplicateKey.DEAD_LETTER:
            todo = self._drop_repeated_keys(batch, todo, dead)
        return await self._map(batch, todo, dead)

    async def _send(self, batch: Batch, todo: list[Item], settled: Settled) -> bool:
        """Send until every item has a verdict; False when the run halted (nothing to commit)."""
        retried = batch.verify
        unconfirmed = 0  # sends of writes that may have landed: verified, then resent
        rounds = 0
        if self.step.keep_before_images and not await self._keep_before(batch, todo, settled):
            return False
        while todo:
            if self.control.halted(self.product):
                return False
            await self.store.mark_in_flight(self.step.name, batch.batch_no)
            try:
                verdicts = await self.writer.send(batch, todo, retried)
            except Unconfirmed as exc:
                unconfirmed += exc.sends
                if unconfirmed >= self.attempts:
                    why = f"a write stayed unconfirmed after {unconfirmed} sends: {exc.cause}"
                    self.control.stop(Stop(why))
                    return False
                self.progress.note(f"{self.step.name} batch {batch.batch_no}: {exc}")
                retried = True  # look the keys up before sending again
                continue
            except ZohoError as exc:
                return self._refused(batch, todo, exc, settled.dead)
            except ZmigrateError as exc:  # credentials refused, organization missing, ...
                self.control.stop(Stop(str(exc), usage=exc.exit_code == 2))
                return False
            sort = partial(self._sort, batch, todo, verdicts, settled, retried)
            todo = await off_loop(len(todo), sort)
            retried = True
            rounds += 1
            if todo and rounds > AGAIN_ROUNDS:
                why = f"Zoho left the record unprocessed {rounds} times"
                settled.dead += [self._dead(batch, i, "UNPROCESSED", why) for i in todo]
                break
        return True

    async def _keep_before(self, batch: Batch, todo: list[Item], settled: Settled) -> bool:
        """The records ``todo`` will change, read and committed before the batch goes in
        flight (once a key: a batch read again keeps its first images). False when the read
        met an error that halted the run."""
        seen = await self.store.imaged(self.step.name, [i.key for i in todo])
        settled.absent |= {k for k, zoho_id in seen.items() if zoho_id is None}
        fresh = [i for i in todo if i.key not in seen]
        if not fresh:
            return True
        try:
            images = await read_before(self.writer.target.zoho, self.step, fresh)
        except ZohoError as exc:
            if self._refused(batch, todo, exc, settled.dead):
                todo.clear()  # dead-lettered: nothing left to send
                return True
            return False
        except ZmigrateError as exc:
            self.control.stop(Stop(str(exc), usage=exc.exit_code == 2))
            return False
        await self.store.keep_before(self.step.name, images)
        settled.absent |= {i.key for i in images if i.zoho_id is None}
        return True

    def _refused(
        self, batch: Batch, todo: list[Item], exc: ZohoError, dead: list[DeadLetter]
    ) -> bool:
        """An error answer for the whole call: pause, stop, or dead-letter what was sent."""
        action = decide(exc)
        if isinstance(action, Pause):
            self.control.pause(self.product, action)
        elif isinstance(action, Stop):
            self.control.stop(action)
        else:
            dead += [self._dead(batch, i, action.code, action.message) for i in todo]
            return True
        return False

    def _sort(
        self,
        batch: Batch,
        todo: list[Item],
        verdicts: Sequence[Verdict],
        settled: Settled,
        in_flight: bool,
    ) -> list[Item]:
        """Landed items into the cross-reference, refused ones into dead letters; the rest
        (Zoho left them unprocessed) are returned to send again.

        ``in_flight``: the batch's create was sent before (a lost answer, a kill with the
        batch in flight), so a record found by its key is the run's own: reclaimed; so is one
        an upsert sent again answers "updated" when its key was absent before the run.
        """
        again: list[Item] = []
        for item, verdict in zip(todo, verdicts, strict=True):
            if isinstance(verdict, Landed):
                action = verdict.action
                if in_flight and (
                    action == WriteAction.FOUND
                    or (action == WriteAction.UPDATE and item.key in settled.absent)
                ):
                    action = WriteAction.RECLAIMED.value
                settled.xref.append((item.key, verdict.zoho_id, item.source.line, action))
            elif isinstance(verdict, Reject):
                settled.dead.append(self._dead(batch, item, verdict.code, verdict.message))
            else:
                again.append(item)
        return again

    async def _commit(self, batch: Batch, items: list[Item], settled: Settled) -> None:
        """Ids and dead letters committed with ``done``; the counts and progress advanced.

        A batch of a few rows is checked against the step's ids and committed in one store
        call (no other call runs between the two, and calls queued together share a
        commit); a large one holds the step's lock across its sliced reads and writes."""
        name, dead = self.step.name, settled.dead
        if len(settled.xref) + len(dead) <= STORE_SLICE and not self._ids.locked():
            at_once = partial(self._settle_at_once, batch, items, settled.xref, dead)
            xref, landed, merged = await self.store.together(at_once)
        else:
            async with self._ids:
                ids = [x[1] for x in settled.xref]
                owners = {
                    z: owner
                    for part in await in_slices(partial(self.store.id_owners, name), ids)
                    for z, owner in part.items()
                }
                distinct = partial(self._distinct_ids, batch, items, settled.xref, dead, owners)
                xref, landed, merged = await asyncio.to_thread(distinct)
                await self.store.mark_done(name, batch.batch_no, xref, dead)
        self.counts.landed += landed
        self.counts.merged += merged
        self.counts.failed += len(dead)
        self.progress.advance(name, len(xref) + len(dead))
        self.progress.quota(self.spend_now())

    def _settle_at_once(
        self,
        batch: Batch,
        items: list[Item],
        xref: list[XRef],
        dead: list[DeadLetter],
        store: RunStore,
    ) -> tuple[list[XRef], int, int]:
        """On the store's writer thread: the batch's ids checked, then committed with done."""
        owners = store.id_owners(self.step.name, [x[1] for x in xref])
        keep, landed, merged = self._distinct_ids(batch, items, xref, dead, owners)
        store.mark_done(self.step.name, batch.batch_no, keep, dead)
        return keep, landed, merged

    def _dead(self, batch: Batch, item: Item, code: str, message: str) -> DeadLetter:
        return dead_letter(self.step.name, batch.batch_no, item, code, message)

    def _drop_repeated_keys(
        self, batch: Batch, items: list[Item], dead: list[DeadLetter]
    ) -> list[Item]:
        """``on_duplicate_key = "dead-letter"``: a repeated key's later records stay unsent."""
        keep = []
        for item in items:
            c = self.collisions.get(item.row_no)
            if c is None:
                keep.append(item)
                continue
            why = (
                f"{c.field} '{c.value.replace(KEY_SEPARATOR, ', ')}' is also on line "
                f"{c.first_line} (as Zoho compares it); on_duplicate_key = 'dead-letter' sends "
                "only the first row with a key"
            )
            dead.append(self._dead(batch, item, "DUPLICATE_KEY", why))
        return keep

    def _distinct_ids(
        self,
        batch: Batch,
        items: list[Item],
        xref: list[XRef],
        dead: list[DeadLetter],
        owners: Mapping[str, tuple[str, int | None]],
    ) -> tuple[list[XRef], int, int]:
        """Count records by distinct Zoho ids: ``(xref to commit, new ids, merged)``.

        A record answered with an id an earlier record of the step holds (``owners``: the
        store's) is one Zoho record with it: merged when the step says
        ``on_duplicate_key = "merge"``, else dead-lettered naming the earlier row (never a
        second "landed").
        """
        step = self.step
        claims = [Claim(*x) for x in xref]
        firsts, shared = split_shared(claims, owners)
        keep = [(c.key, c.zoho_id, c.line, c.action) for c in firsts]
        landed = sum(1 for c in firsts if c.zoho_id not in owners)
        if step.on_duplicate_key is OnDuplicateKey.MERGE:
            keep += [(m.claim.key, m.claim.zoho_id, m.claim.line, m.claim.action) for m in shared]
            return keep, landed, len(shared)
        by_key = {i.key: i for i in items}
        for s in shared:
            why = (
                f"Zoho answered with id {s.claim.zoho_id}, the record of line {s.earlier_line} "
                f"(key '{s.earlier_key.replace(KEY_SEPARATOR, ', ')}'): both rows went to one "
                f"Zoho record ({', '.join(step.key)} matched it); make the keys differ, or set "
                "on_duplicate_key = 'merge' to accept that"
            )
            dead.append(self._dead(batch, by_key[s.claim.key], "SAME_RECORD", why))
        return keep, landed, 0

    def _lookup_keys(self, items: list[Item]) -> list[tuple[str, list[str]]]:
        """Each lookup's step and the keys ``items`` name in it."""
        step = self.step
        return [
            (
                lk.step,
                list(
                    {k for i in items for row in i.source.rows for k in lookup_keys(step, lk, row)}
                ),
            )
            for lk in step.lookups
        ]

    async def _map(self, batch: Batch, items: list[Item], dead: list[DeadLetter]) -> list[Item]:
        """Payloads for ``items`` (lookups read from the store), mapped on a thread;
        unmappable ones dead-lettered."""
        step = self.step
        ids: dict[tuple[str, str], str] = {}
        for name, keys in await off_loop(len(items), partial(self._lookup_keys, items)):
            for found in await in_slices(partial(self.store.lookup_many, name), keys):
                ids.update(((name, k), v) for k, v in found.items())

        def resolve(step_name: str, key: str) -> str | None:
            return ids.get((step_name, key))

        def map_all() -> list[Item]:
            ready = []
            for item in self.writer.paced(self.writer.target.zoho, items):
                try:
                    item.payload = map_record(step, item.source.rows, resolve)
                except MappingError as exc:
                    dead.append(self._dead(batch, item, exc.code, str(exc)))
                    continue
                ready.append(item)
            return ready

        return await off_loop(len(items), map_all)  # CPU-bound when large: off the loop
