"""Quota pacing in Zoho time: a sliding-window pacer, concurrency gates and the CRM credit ledger.

Why not ``aiolimiter.AsyncLimiter(100, 60)``: a leaky bucket starts full, so it lets 100
calls through at once and then leaks at 100/min; the first minute carries ~200 calls and a
per-minute cap answers code 44. It also reads ``loop.time()``, not the sandbox's Zoho clock.

:class:`WindowPacer` instead holds one *slot* per call. A slot is taken when the call is
sent and is stamped with the time its answer *came back*; it frees ``period`` Zoho seconds
after that stamp. Zoho counts a call when it arrives, which is after we sent it and before
its answer reached us, so two calls sharing a slot always arrive more than ``period`` apart:
no window of ``period`` seconds, fixed or sliding, can see more than ``cap`` calls, whatever
the latency and its jitter. The price is one latency per slot cycle (150 ms of 60 s, 0.25%).
Stamping at send time instead would let jitter push cap+1 arrivals into one window.

Everything here reads time from :class:`zmigrate.clock.Clock` (or takes ``now`` as an
argument), so a fast sandbox clock shrinks every wait by the same factor.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from zmigrate.clock import Clock
from zmigrate.errors import QuotaExhausted
from zmigrate.quotas import DAY


class WindowPacer:
    """At most ``cap`` calls in any ``period`` Zoho seconds, stamped at completion (see module)."""

    def __init__(self, cap: int, period: float, clock: Clock, margin: float = 0.0) -> None:
        if cap < 1 or period <= 0:
            raise ValueError(f"pacer needs cap >= 1 and period > 0, got {cap}, {period}")
        self.cap, self.period, self.clock, self.margin = cap, period, clock, margin
        self._done: deque[float] = deque()  # completion stamps still inside the window
        self._in_flight = 0
        self._blocked_until = 0.0
        self._turn = asyncio.Lock()  # waiters take turns: first come, first served
        self._released = asyncio.Event()

    def used(self, now: float) -> int:
        """Slots taken at ``now``: calls in flight plus calls answered within the window."""
        self._expire(now)
        return self._in_flight + len(self._done)

    def block_until(self, until: float) -> None:
        """Send nothing before ``until`` (Zoho time): Zoho said the window is full (code 44)."""
        self._blocked_until = max(self._blocked_until, until)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for one call; it is stamped when the block exits, however it exits."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def acquire(self) -> None:
        """Wait until a call may be sent without overfilling any window, and take its slot."""
        async with self._turn:
            while True:
                now = self.clock.now()
                if now < self._blocked_until:
                    await self.clock.sleep(self._blocked_until - now)
                    continue
                if self.used(now) < self.cap:
                    self._in_flight += 1
                    return
                if self._done:
                    await self.clock.sleep(self._done[0] + self.period + self.margin - now)
                else:  # every slot is in flight: wait for one to come back
                    self._released.clear()
                    await self._released.wait()

    def release(self) -> None:
        """The call taking a slot has finished (answered, failed or cancelled): stamp it now."""
        self._in_flight -= 1
        self._done.append(self.clock.now())
        self._released.set()

    def _expire(self, now: float) -> None:
        horizon = now - self.period - self.margin
        while self._done and self._done[0] <= horizon:
            self._done.popleft()


class Gate:
    """A semaphore whose size can shrink when Zoho says too many calls are in flight (1070).

    After ``regrow_after`` successes in a row it grows back by one, up to its initial size,
    so one transient 1070 does not halve throughput for the rest of a run.
    """

    def __init__(self, limit: int, regrow_after: int = 200) -> None:
        if limit < 1:
            raise ValueError(f"gate needs limit >= 1, got {limit}")
        self.max_limit = self.limit = limit
        self.regrow_after = regrow_after
        self.active = 0
        self.peak = 0
        self._streak = 0
        self._cond = asyncio.Condition()

    async def __aenter__(self) -> Gate:
        async with self._cond:
            await self._cond.wait_for(lambda: self.active < self.limit)
            self.active += 1
            self.peak = max(self.peak, self.active)
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self.active -= 1
            self._cond.notify_all()

    def shrink(self) -> None:
        """One parallel call fewer (never below one)."""
        self.limit = max(1, self.limit - 1)
        self._streak = 0

    def succeeded(self) -> None:
        """Count a success; after a long enough streak, allow one more parallel call."""
        self._streak += 1
        if self._streak >= self.regrow_after and self.limit < self.max_limit:
            self.limit += 1
            self._streak = 0


@dataclass
class Reservation:
    """Credits set aside for one CRM call before it is sent."""

    credits: int
    settled: bool = False


@dataclass
class CreditLedger:
    """CRM credits over a rolling window (24 h): reserve before a call, never overdraw.

    A charge counts from the moment its call completes (as in :class:`WindowPacer`, Zoho
    starts the 24 h no earlier than that), and pending reservations count as spent now.
    ``history`` seeds charges made before this process started (a resumed run), as
    ``(zoho_time, credits)`` pairs. ``budget=None`` is an unlimited edition: only counted.
    """

    budget: int | None
    window: float = DAY
    history: list[tuple[float, int]] = field(default_factory=list)
    spent_total: int = 0
    _charges: deque[tuple[float, int]] = field(init=False, repr=False)
    _pending: int = field(default=0, init=False, repr=False)
    _in_window: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._charges = deque(sorted(self.history))
        self._in_window = sum(c for _, c in self._charges)

    def used(self, now: float) -> int:
        """Credits charged within the window ending ``now``, plus those reserved."""
        horizon = now - self.window
        while self._charges and self._charges[0][0] <= horizon:
            self._in_window -= self._charges.popleft()[1]
        return self._in_window + self._pending

    def available(self, now: float) -> int | None:
        """Credits that can still be reserved at ``now`` (None: unlimited)."""
        return None if self.budget is None else max(0, self.budget - self.used(now))

    def reserve(self, credits: int, now: float) -> Reservation:
        """Set ``credits`` aside, or raise QuotaExhausted saying when enough will have freed."""
        if self.budget is not None and self.used(now) + credits > self.budget:
            raise QuotaExhausted(
                f"CRM credits: {credits} needed, {self.available(now)} of {self.budget} left "
                "in the rolling 24 h window; resume the run after the reset time",
                resets_at=self.frees_at(credits, now),
            )
        self._pending += credits
        return Reservation(credits)

    def settle(self, reservation: Reservation, now: float, charged: bool = True) -> None:
        """The call is over: keep its credits as a charge at ``now``, or give them back."""
        if reservation.settled:
            return
        reservation.settled = True
        self._pending -= reservation.credits
        if charged and reservation.credits:
            self._charges.append((now, reservation.credits))
            self._in_window += reservation.credits
            self.spent_total += reservation.credits

    def frees_at(self, credits: int, now: float) -> float:
        """Earliest Zoho time at which ``credits`` more would fit in the budget."""
        excess = self.used(now) + credits - (self.budget or 0)
        for when, charged in self._charges:
            excess -= charged
            if excess <= 0:
                return when + self.window
        return now + self.window  # only pending reservations block: they count from now

    def charges(self) -> list[tuple[float, int]]:
        """Charges still inside the window, for a checkpoint to save and a resume to seed."""
        return list(self._charges)
