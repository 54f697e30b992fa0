"""The store's writer thread: calls queued together commit together, a large batch's commit
goes in slices other steps' small calls fit between, and a crash between slices leaves a
store that resumes exactly once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from test_checkpoint import new_store

from zmigrate.checkpoint import AsyncRunStore, BatchState, DeadLetter, RunStore, async_store
from zmigrate.checkpoint.async_store import commit_slices
from zmigrate.errors import StoreError


def _dead(n: int) -> DeadLetter:
    return DeadLetter("accounts", n, f"d{n}", {"n": n}, "INVALID_DATA", "bad", batch_no=0)


def test_commit_slices_cut_xref_then_dead_letters_in_order() -> None:
    xref = [(f"k{i}", str(i), i) for i in range(5)]
    dead = [_dead(i) for i in range(3)]
    cut = commit_slices(xref, dead, size=3)
    assert [len(x) + len(d) for x, d in cut] == [3, 3, 2]
    assert [r for x, _ in cut for r in x] == xref
    assert [r for _, d in cut for r in d] == dead
    assert cut[1] == (xref[3:], dead[:1])
    assert commit_slices([], []) == [([], [])]


async def test_a_small_call_runs_between_the_slices_of_a_large_commit(tmp_path: Path) -> None:
    store = AsyncRunStore(new_store(tmp_path / "run"))
    await store.mark_in_flight("accounts", 0)
    order: list[str] = []

    async def big() -> None:
        xref = [(f"k{i}", str(i), i) for i in range(5_000)]
        await store.mark_done("accounts", 0, xref, [_dead(i) for i in range(5_000, 5_100)])
        order.append("big")

    async def small() -> None:
        await store.mark_in_flight("contacts", 0)
        order.append("small")

    await asyncio.gather(big(), small())
    assert order == ["small", "big"]
    assert (await store.batch("accounts", 0)).state is BatchState.DONE
    assert len(await store.settled_keys("accounts", ["k0", "k4999", "d5050", "x"])) == 3
    await store.aclose()


def test_a_crash_between_slices_resumes_with_the_kept_rows_settled(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with new_store(run_dir) as store:
        store.mark_in_flight("accounts", 0)
        store.write_rows("accounts", [("k0", "1", 0), ("k1", "2", 1)], [_dead(2)])
    with RunStore.open(run_dir) as store:  # the process died before the last slice
        [batch] = store.recover()
        assert (batch.state, batch.verify) == (BatchState.PENDING, True)
        assert store.settled_keys("accounts", ["k0", "k1", "d2", "k3"]) == {"k0", "k1", "d2"}
        store.mark_done("accounts", 0, [("k3", "4", 3)])
        assert store.lookup_many("accounts", ["k0", "k3"]) == {"k0": "1", "k3": "4"}
        assert store.batch("accounts", 0).state is BatchState.DONE


def test_groups_keep_order_cap_their_size_and_run_closing_alone() -> None:
    loop = asyncio.new_event_loop()
    try:

        def call(alone: bool = False) -> async_store._Call:
            return async_store._Call(lambda: None, loop, loop.create_future(), alone)

        calls = [call() for _ in range(async_store.GROUP_CALLS + 2)]
        close, tail = call(alone=True), call()
        cut = async_store.groups([*calls, close, tail, None])
        assert cut == [
            calls[: async_store.GROUP_CALLS],
            calls[async_store.GROUP_CALLS :],
            [close],
            [tail],
            [None],
        ]
    finally:
        loop.close()


async def test_calls_queued_together_commit_together_and_fail_alone(tmp_path: Path) -> None:
    store = AsyncRunStore(new_store(tmp_path / "run"))
    groups: list[int] = []
    real = store.store.run_together

    def spy(calls):  # type: ignore[no-untyped-def]
        groups.append(len(calls))
        return real(calls)

    store.store.run_together = spy  # type: ignore[method-assign]
    busy = threading.Event()
    first = asyncio.ensure_future(store._call(busy.wait))
    await asyncio.sleep(0.05)  # the writer thread is busy
    marks = [asyncio.ensure_future(store.mark_in_flight("accounts", n)) for n in (0, 1, 99, 2)]
    await asyncio.sleep(0.05)
    busy.set()
    await first
    done = await asyncio.gather(*marks, return_exceptions=True)
    assert groups == [4]  # one transaction, one fsync
    assert isinstance(done[2], StoreError)  # no batch 99: undone alone
    assert [b.state for b in done if not isinstance(b, BaseException)] == [BatchState.IN_FLIGHT] * 3
    await store.aclose()
    with RunStore.open(tmp_path / "run") as reopened:
        assert len(reopened.recover()) == 3


async def test_together_reads_and_writes_with_no_call_between(tmp_path: Path) -> None:
    store = AsyncRunStore(new_store(tmp_path / "run"))
    seen: list[dict[str, str]] = []

    def check_then_commit(s: RunStore) -> str:
        seen.append(s.lookup_many("accounts", ["a"]))
        s.mark_done("accounts", 0, [("a", "1", 0)])
        return threading.current_thread().name

    names = await asyncio.gather(
        store.together(check_then_commit), store.together(check_then_commit)
    )
    assert names == ["zmigrate-store", "zmigrate-store"]
    assert seen == [{}, {"a": "1"}]  # the second saw the first's commit
    await store.aclose()
