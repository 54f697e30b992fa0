"""The run store for the event loop: every call on one writer thread, in call order."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from zmigrate.checkpoint.before import BeforeImage
from zmigrate.checkpoint.records import Batch, DeadLetter, RunStatus, XrefRow
from zmigrate.checkpoint.store import RunStore
from zmigrate.checkpoint.summary import RunSummary

T = TypeVar("T")
P = ParamSpec("P")


class AsyncRunStore:
    """:class:`RunStore` for the event loop: every call runs, in order, on one writer thread."""

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
        await self._call(self.store.mark_done, step, batch_no, list(xref), list(dead))

    async def mark_failed(
        self, step: str, batch_no: int, error: str, dead: Iterable[DeadLetter] = ()
    ) -> None:
        await self._call(self.store.mark_failed, step, batch_no, error, list(dead))

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
