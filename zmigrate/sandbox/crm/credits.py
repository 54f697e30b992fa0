"""CRM API credits over a rolling 24 h window, and the two concurrency pools.

Costs come from `zmigrate.quotas` (the card's table); budgets from the edition and user
count. A call reserves its credits when it is admitted; the window rolls in Clock time.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from zmigrate import quotas
from zmigrate.clock import Clock
from zmigrate.sandbox.journal import Journal

CREDITS_CREATE_MODULE = 500
"""Zoho's price of ``POST /settings/modules`` (one of the API's listed exceptions)."""


def operation_cost(operation: str, records: int = 0, limit: int = 0) -> int:
    """Credits one call costs, by the card's table."""
    if operation in ("insert", "update", "upsert"):
        return quotas.write_credits(records)
    if operation == "coql":
        return quotas.coql_credits(limit)
    return {
        "convert": quotas.CREDITS_CONVERT_LEAD,
        "bulk_read": quotas.CREDITS_BULK_READ,
        "bulk_write": quotas.CREDITS_BULK_WRITE,
        "create_module": CREDITS_CREATE_MODULE,
    }.get(operation, quotas.CREDITS_GET)


@dataclass
class CreditLedger:
    """Credits spent in the last 24 h of Zoho time, against the edition's budget."""

    clock: Clock
    budget: int | None  # None: unlimited (Ultimate)
    journal: Journal = field(default_factory=lambda: Journal(None))
    spent: deque[tuple[float, int]] = field(default_factory=deque)
    in_window: int = 0
    total: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    entries: int = 0
    """Reservations ever made: the journal's key of the next one."""

    def _roll(self, now: float) -> None:
        while self.spent and self.spent[0][0] <= now - quotas.DAY:
            self.in_window -= self.spent.popleft()[1]

    def used(self) -> int:
        self._roll(self.clock.now())
        return self.in_window

    def reserve(self, operation: str, cost: int) -> float | None:
        """Spend ``cost`` credits; None if done, else the time when enough will have rolled off."""
        now = self.clock.now()
        self._roll(now)
        if self.budget is not None and self.in_window + cost > self.budget:
            freed = self.in_window
            for stamp, credits in self.spent:
                freed -= credits
                if freed + cost <= self.budget:
                    return stamp + quotas.DAY
            return now + quotas.DAY
        self.spent.append((now, cost))
        self.in_window += cost
        self.total += cost
        self.by_operation[operation] += cost
        self.entries += 1
        self.journal.put("crm.credit", f"{self.entries:012d}", (now, cost))
        self.journal.put("crm.meta", "credits", {"total": self.total, "by": self.by_operation})
        return None

    def restore(self) -> None:
        """Take back the journal's reservations (those of the last 24 h count)."""
        rows = sorted(self.journal.rows("crm.credit"))
        self.entries = int(rows[-1][0]) if rows else 0
        for _, (stamp, credits) in rows:
            self.spent.append((stamp, credits))
            self.in_window += credits
        self._roll(self.clock.now())
        totals = self.journal.get("crm.meta", "credits", {"total": 0, "by": {}})
        self.total = totals["total"]
        self.by_operation = Counter(totals["by"])


@dataclass
class Pool:
    """Calls in flight against one limit, with the peak seen."""

    limit: int
    current: int = 0
    peak: int = 0

    def try_take(self) -> bool:
        if self.current >= self.limit:
            return False
        self.current += 1
        self.peak = max(self.peak, self.current)
        return True

    def release(self) -> None:
        self.current = max(0, self.current - 1)


def is_heavy(operation: str, records: int = 0, sorted_get: bool = False) -> bool:
    """Zoho's resource-intensive calls, which also take from the sub-concurrency pool:
    Search, COQL, Convert Lead, Get Records with sort_by/cvid, writes of over 10 records."""
    if operation in ("search", "coql", "convert"):
        return True
    if operation == "get" and sorted_get:
        return True
    return operation in ("insert", "update", "upsert") and records > quotas.CRM_HEAVY_WRITE_OVER
