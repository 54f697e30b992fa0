"""The run store for the event loop: every call on one writer thread, in call order; a
large batch's rows committed in slices that other steps' small commits fit between."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from zmigrate.checkpoint.before import BeforeImage
from zmigrate.checkpoint.records import Batch, DeadLetter, RunStatus, XrefRow
from zmigrate.checkpoint.store import RunStore
from zmigrate.checkpoint.summary import RunSummary

T = TypeVar("T")
P = ParamSpec("P")

ROWS_PER_COMMIT = 1_000
"""Cross-reference rows and dead letters per transaction: a 25,000-row Bulk Write batch's
commit (hundreds of ms with its WAL checkpoint) would otherwise hold every Books or Inventory
call queued behind it on the one writer thread."""


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
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zmigrate-store")

    async def _call(self, fn: Callable[P, T], *args: P.args, **kw: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kw))

    def spend(self, product: str, requests: int = 1, credits: int = 0) -> None:
        self.store.spend(product, requests, credits)

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

    async def lookup_many(self, step: str, keys: Iterable[str]) -> dict[str, str]:
        return await self._call(self.store.lookup_many, step, list(keys))

    async def id_owners(
        self, step: str, zoho_ids: Iterable[str]
    ) -> dict[str, tuple[str, int | None]]:
        return await self._call(self.store.id_owners, step, list(zoho_ids))

    async def settled_keys(self, step: str, keys: Iterable[str]) -> set[str]:
        return await self._call(self.store.settled_keys, step, list(keys))

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
        await self._call(self.store.close)
        self._pool.shutdown(wait=True)
