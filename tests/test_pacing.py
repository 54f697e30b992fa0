"""Pacer, gates and credit ledger without a network: the quota arithmetic must hold exactly."""

from __future__ import annotations

import asyncio
import random

import pytest
from fixed_time import T0

from zmigrate.clock import Clock
from zmigrate.errors import QuotaExhausted
from zmigrate.pacing import CreditLedger, Gate, WindowPacer


def max_in_window(times: list[float], period: float) -> int:
    """The most events any half-open window [t, t + period) holds (sliding, so fixed too)."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - period:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def test_pacer_never_overfills_a_window_whatever_the_latency() -> None:
    clock = Clock(speed=1200, start=T0)
    pacer = WindowPacer(cap=10, period=60.0, clock=clock)
    rng = random.Random(7)
    arrivals: list[float] = []
    sends: list[float] = []

    async def call() -> None:
        async with pacer.slot():
            sent = clock.now()
            sends.append(sent)
            latency = rng.uniform(0.05, 3.0)  # Zoho seconds, wildly jittered
            arrive_after = rng.uniform(0.0, latency)
            await clock.sleep(arrive_after)
            arrivals.append(clock.now())
            await clock.sleep(latency - arrive_after)

    await asyncio.gather(*(call() for _ in range(35)))
    assert max_in_window(arrivals, 60.0) <= 10
    assert max_in_window(sends, 60.0) <= 10
    # 35 calls at 10 a minute need three full windows after the first burst
    assert max(sends) - min(sends) >= 180.0


async def test_naive_leaky_bucket_start_would_fail_the_same_check() -> None:
    """The check above can fail: a burst of cap then a steady cap/min breaks it."""
    burst = [0.0] * 10
    leak = [6.0 * i for i in range(1, 11)]  # 10/min after a full first burst
    assert max_in_window(burst + leak, 60.0) > 10


async def test_pacer_block_until_holds_every_send() -> None:
    clock = Clock(speed=1200, start=T0)
    pacer = WindowPacer(cap=100, period=60.0, clock=clock)
    until = clock.now() + 30.0
    pacer.block_until(until)
    async with pacer.slot():
        assert clock.now() >= until


async def test_pacer_waits_for_in_flight_calls_when_all_slots_are_taken() -> None:
    clock = Clock(speed=1200, start=T0)
    pacer = WindowPacer(cap=2, period=60.0, clock=clock)
    await pacer.acquire()
    await pacer.acquire()
    waiter = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    pacer.release()
    released_at = clock.now()
    await asyncio.wait_for(waiter, timeout=5)
    assert clock.now() >= released_at + 60.0
    assert pacer.used(clock.now()) == 2


async def test_gate_limits_parallel_calls_and_shrinks_on_request() -> None:
    gate = Gate(3, regrow_after=2)
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        async with gate:
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.001)
            running -= 1

    await asyncio.gather(*(work() for _ in range(12)))
    assert peak == 3 == gate.peak
    gate.shrink()
    gate.shrink()
    gate.shrink()
    assert gate.limit == 1
    gate.succeeded()
    gate.succeeded()
    assert gate.limit == 2


def test_ledger_reserves_settles_and_refuses_to_overdraw() -> None:
    ledger = CreditLedger(budget=100)
    first = ledger.reserve(60, now=1_000.0)
    assert ledger.available(1_000.0) == 40
    ledger.settle(first, now=1_010.0)
    second = ledger.reserve(40, now=2_000.0)
    ledger.settle(second, now=2_000.0)
    with pytest.raises(QuotaExhausted) as info:
        ledger.reserve(10, now=3_000.0)
    # the first charge (settled at 1010) rolls off 24 h later and frees 60
    assert info.value.resets_at == pytest.approx(1_010.0 + 86_400.0)
    assert ledger.spent_total == 100
    assert ledger.available(1_010.0 + 86_400.0) == 60


def test_ledger_gives_back_refused_calls_and_seeds_history() -> None:
    ledger = CreditLedger(budget=50, history=[(0.0, 45)])
    assert ledger.available(10.0) == 5
    res = ledger.reserve(5, now=10.0)
    ledger.settle(res, now=11.0, charged=False)
    ledger.settle(res, now=12.0)  # settling twice changes nothing
    assert ledger.available(12.0) == 5
    assert ledger.spent_total == 0
    assert ledger.charges() == [(0.0, 45)]


def test_unlimited_ledger_only_counts() -> None:
    ledger = CreditLedger(budget=None)
    ledger.settle(ledger.reserve(10_000_000, now=0.0), now=1.0)
    assert ledger.available(2.0) is None
    assert ledger.spent_total == 10_000_000
