"""The run store for the event loop: every call on one writer thread, in call order; the
calls queued together committed together (one fsync), and a large batch's rows in slices
that other steps' small calls fit between."""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

from zmigrate.checkpoint.before import BeforeImage
from zmigrate.checkpoint.records import Batch, DeadLetter, RunStatus, XrefRow
from zmigrate.checkpoint.store import Done, RunStore
from zmigrate.checkpoint.summary import RunSummary

T = TypeVar("T")
P = ParamSpec("P")

ROWS_PER_COMMIT = 1_000
"""Cross-reference rows and dead letters per transaction: a 25,000-row Bulk Write batch's
commit (hundreds of ms with its WAL checkpoint) would otherwise hold every Books or Inventory
call queued behind it on the one writer thread."""

GROUP_CALLS = 64
"""Most calls committed in one transaction (each a few rows, or one slice)."""


@dataclass(frozen=True)
class _Call:
    """One store call waiting for the writer thread, and where its answer goes."""

    fn: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    alone: bool = False
    """Run outside any group (closing the store)."""


def groups(calls: Iterable[_Call | None]) -> list[list[_Call | None]]:
    """The queue's calls, in order, as the writer thread runs them: runs of calls together,
    at most ``GROUP_CALLS``; a call that runs ``alone`` (and the end mark ``None``) by itself."""
    out: list[list[_Call | None]] = []
    for call in calls:
        last = out[-1] if out else None
        if _single(call) or last is None or len(last) >= GROUP_CALLS or _single(last[-1]):
            out.append([call])
        else:
            last.append(call)
    return out


def _single(call: _Call | None) -> bool:
    return call is None or call.alone


def _answer(future: asyncio.Future[Any], done: Done) -> None:
    if future.cancelled():
        return
    ok, value = done
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def commit_slices(
    xref: Sequence[XrefRow], dead: Sequence[DeadLetter], size: int = ROWS_PER_COMMIT
) -> list[tuple[list[XrefRow], list[DeadLetter]]]:
    """``xref`` then ``dead`` cut into transactions of at most ``size`` rows, in order;
    always at least one (the last carries the batch's state change)."""
    rows: list[XrefRow | DeadLetter] = [*xref, *dead]
    cut = [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
    return [
        (
            [r for r in part if not isinstance(r, DeadLetter)],
            [r for r in part if isinstance(r, DeadLetter)],
        )
        for part in cut
    ]


class AsyncRunStore:
    """:class:`RunStore` for the event loop: every call runs, in order, on one writer thread.

    A batch's rows are written in slices (:func:`commit_slices`), each its own call, with
    the batch's ``done`` or ``failed`` in the last one: calls made meanwhile run between the
    slices. A crash between slices leaves the batch ``in_flight`` with part of its rows
    kept; those rows landed (or were refused) and are settled, so the resumed batch skips
    them and verifies the rest, as after any crash in flight.
    """

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="zmigrate-store", daemon=True)
        self._thread.start()
        self._reader = RunStore.open(store.run_dir, readonly=True)
        """Its own connection on its own thread for the hot reads (settled keys, lookups):
        they see what is committed without waiting in line behind commits."""
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zmigrate-store-read")

    async def _call(self, fn: Callable[P, T], *args: P.args, **kw: P.kwargs) -> T:
        return cast(T, await self._enqueue(functools.partial(fn, *args, **kw)))

    def _enqueue(self, fn: Callable[[], Any], alone: bool = False) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Call(fn, loop, future, alone))
        return future

    def _serve(self) -> None:
        """The writer thread: whatever is queued, in order, in groups (:func:`groups`)."""
        held: deque[list[_Call | None]] = deque()
        while True:
            if not held:
                waiting = [self._queue.get()]
                while len(waiting) < GROUP_CALLS:
                    try:
                        waiting.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                held.extend(groups(waiting))
            group = held.popleft()
            if group == [None]:
                return
            calls = [c for c in group if c is not None]
            for call, done in zip(calls, self._run(calls), strict=True):
                call.loop.call_soon_threadsafe(_answer, call.future, done)

    def _run(self, calls: list[_Call]) -> list[Done]:
        """One call as it is; several in one transaction. A failed commit fails them all."""
        try:
            if len(calls) == 1:
                return [(True, calls[0].fn())]
            return self.store.run_together([c.fn for c in calls])
        except BaseException as e:  # handed to every caller; the thread serves on
            return [(False, e)] * len(calls)

    def spend(self, product: str, requests: int = 1, credits: int = 0) -> None:
        self.store.spend(product, requests, credits)

    async def together(self, fn: Callable[[RunStore], T]) -> T:
        """``fn(store)`` as one call on the writer thread: no other call runs between its
        reads and its writes."""
        return await self._call(fn, self.store)

    async def recover(self) -> list[Batch]:
        return await self._call(self.store.recover)

    async def pending_batches(self, step: str) -> list[Batch]:
        return await self._call(self.store.pending_batches, step)

    async def batch(self, step: str, batch_no: int) -> Batch:
        return await self._call(self.store.batch, step, batch_no)

    async def mark_in_flight(self, step: str, batch_no: int) -> Batch:
        return await self._call(self.store.mark_in_flight, step, batch_no)

    async def set_bulk_job(
        self, step: str, batch_no: int, job_id: str, file_id: str | None = None
    ) -> None:
        await self._call(self.store.set_bulk_job, step, batch_no, job_id, file_id)

    async def keep_before(self, step: str, images: Iterable[BeforeImage]) -> None:
        await self._call(self.store.keep_before, step, list(images))

    async def imaged(self, step: str, keys: Iterable[str]) -> dict[str, str | None]:
        return await self._call(self.store.imaged, step, list(keys))

    async def mark_done(
        self,
        step: str,
        batch_no: int,
        xref: Iterable[XrefRow] = (),
        dead: Iterable[DeadLetter] = (),
    ) -> None:
        x, d = await self._write_slices(step, list(xref), list(dead))
        await self._call(self.store.mark_done, step, batch_no, x, d)

    async def mark_failed(
        self, step: str, batch_no: int, error: str, dead: Iterable[DeadLetter] = ()
    ) -> None:
        _, d = await self._write_slices(step, [], list(dead))
        await self._call(self.store.mark_failed, step, batch_no, error, d)

    async def _write_slices(
        self, step: str, xref: list[XrefRow], dead: list[DeadLetter]
    ) -> tuple[list[XrefRow], list[DeadLetter]]:
        """Commit every slice but the last (one call each); the last is returned."""
        *first, last = commit_slices(xref, dead)
        for x, d in first:
            await self._call(self.store.write_rows, step, x, d)
        return last

    async def _read(self, fn: Callable[P, T], *args: P.args, **kw: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reads, functools.partial(fn, *args, **kw))

    async def lookup_many(self, step: str, keys: Iterable[str]) -> dict[str, str]:
        """Ids of keys of a step committed before the call (the reading connection)."""
        return await self._read(self._reader.lookup_many, step, list(keys))

    async def id_owners(
        self, step: str, zoho_ids: Iterable[str]
    ) -> dict[str, tuple[str, int | None]]:
        return await self._call(self.store.id_owners, step, list(zoho_ids))

    async def settled_keys(self, step: str, keys: Iterable[str]) -> set[str]:
        """Keys settled by commits made before the call (the reading connection)."""
        return await self._read(self._reader.settled_keys, step, list(keys))

    async def flush(self) -> None:
        await self._call(self.store.flush)

    async def pause(self, until: float, reason: str) -> None:
        await self._call(self.store.pause, until, reason)

    async def set_status(self, status: RunStatus) -> None:
        await self._call(self.store.set_status, status)

    async def record_error(self, text: str) -> None:
        await self._call(self.store.record_error, text)

    async def summary(self) -> RunSummary:
        return await self._call(self.store.summary)

    async def aclose(self) -> None:
        """Finish queued writes, then close the store (releasing the lock)."""
        await self._read(self._reader.close)
        self._reads.shutdown(wait=True)
        await self._enqueue(self.store.close, alone=True)
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)
