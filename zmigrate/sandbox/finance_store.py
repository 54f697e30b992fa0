"""What Books and Inventory keep per organization: records with their unique-value indexes
and document numbers (shared by both products, journaled), and each product's quota pools
(per-minute window and its block, the org's day count, calls in flight)."""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zmigrate.quotas import MINUTE, FinancePlan, local_day, next_local_midnight
from zmigrate.sandbox.journal import Journal

FIRST_ID = 460_000_000_026_049
"""Zoho Books ids are long numeric strings; the sandbox counts up from one like theirs."""


# ---- storage shared by Books and Inventory -----------------------------------------------
class FinanceStore:
    """Records per org and module, with unique-value indexes (lower-cased)."""

    def __init__(self, org_ids: tuple[str, ...], journal: Journal) -> None:
        self.org_ids = org_ids
        self.journal = journal
        self.records: dict[str, dict[str, dict[str, dict[str, Any]]]] = {o: {} for o in org_ids}
        self.unique: dict[tuple[str, str, str], dict[str, str]] = {}
        self.numbers: dict[tuple[str, str], int] = {}
        self.next_id = FIRST_ID

    def clear(self, modules: tuple[str, ...]) -> None:
        """Forget the records of ``modules`` in every org (ids keep counting up)."""
        for org in self.org_ids:
            for name in modules:
                self.records[org][name] = {}
                for key in [k for k in self.unique if k[0] == org and k[1] == name]:
                    del self.unique[key]
                self.numbers.pop((org, name), None)
        for name in modules:
            self.journal.clear(f"fin.row/{name}")
            self.journal.clear(f"fin.number/{name}")

    def save(self, org: str, module: str, row_id: str, row: dict[str, Any]) -> None:
        self.table(org, module)[row_id] = row
        self.journal.put(f"fin.row/{module}", f"{org}/{row_id}", row)

    def drop(self, org: str, module: str, row_id: str) -> None:
        del self.table(org, module)[row_id]
        self.journal.delete(f"fin.row/{module}", f"{org}/{row_id}")

    def table(self, org: str, module: str) -> dict[str, dict[str, Any]]:
        return self.records[org].setdefault(module, {})

    def new_id(self) -> str:
        self.next_id += 1
        self.journal.put("fin.meta", "next_id", self.next_id)
        return str(self.next_id)

    def next_number(self, org: str, module: str, prefix: str) -> str:
        n = self.numbers.get((org, module), 0) + 1
        self.numbers[(org, module)] = n
        self.journal.put(f"fin.number/{module}", org, n)
        return f"{prefix}{n:06d}"

    def index(self, org: str, module: str, field_name: str) -> dict[str, str]:
        return self.unique.setdefault((org, module, field_name), {})

    def restore(self, modules: tuple[str, ...], uniques: Mapping[str, tuple[str, ...]]) -> None:
        """Take back the rows of ``modules`` (in id order), their indexes and numbers."""
        self.next_id = max(self.next_id, self.journal.get("fin.meta", "next_id", FIRST_ID))
        for name in modules:
            rows = sorted(self.journal.rows(f"fin.row/{name}"), key=lambda kv: _id_order(kv[0]))
            for key, row in rows:
                org, _, rid = key.partition("/")
                if org not in self.records:
                    continue
                self.table(org, name)[rid] = row
                self.next_id = max(self.next_id, _id_order(key)[0])
                for fname in uniques.get(name, ()):
                    if isinstance(row.get(fname), str):
                        self.index(org, name, fname)[row[fname].lower()] = rid
            for org, n in self.journal.rows(f"fin.number/{name}"):
                self.numbers[(org, name)] = n


def _id_order(key: str) -> tuple[int, str]:
    """Rows in the order they were created: ids count up."""
    rid = key.rpartition("/")[2]
    return (int(rid), "") if rid.isdigit() else (0, rid)


# ---- quotas --------------------------------------------------------------------------------
DEFAULT_BLOCK_SECONDS = 1800.0
"""How long Zoho blocks an organization that exceeded the per-minute cap (code 44 comes with
``Retry-After: 1800`` in live captures)."""


@dataclass
class OrgQuota:
    """One (product, org) pool: a sliding minute and its block, the org's day count, calls in
    flight."""

    minute: deque[float] = field(default_factory=deque)
    day: int = 0
    used_today: int = 0
    blocked_until: float = 0.0
    in_flight: int = 0
    peak: int = 0


class FinanceQuota:
    """Per-minute, daily and concurrency caps of one product's plan, per org.

    A call over the per-minute cap blocks the org for ``block_seconds`` (code 44 until then);
    the daily count restarts at midnight in the org's time zone ``zone``.
    """

    def __init__(
        self,
        plan: FinancePlan,
        block_seconds: float = DEFAULT_BLOCK_SECONDS,
        zone: dt.tzinfo = dt.UTC,
    ) -> None:
        self.plan = plan
        self.block_seconds = block_seconds
        self.zone = zone
        self.orgs: dict[str, OrgQuota] = {}

    def admit(self, org: str, now: float) -> int | None:
        """Take a slot for a request at ``now``: None, or the Zoho code refusing it."""
        q = self.orgs.setdefault(org, OrgQuota())
        day = local_day(now, self.zone)
        if day != q.day:
            q.day, q.used_today = day, 0
        window = q.minute
        while window and window[0] <= now - MINUTE:
            window.popleft()
        if now < q.blocked_until:
            return 44
        if q.used_today >= self.plan.daily_limit:
            return 45
        if len(window) >= self.plan.per_minute:
            q.blocked_until = now + self.block_seconds
            return 44
        if q.in_flight >= self.plan.concurrency:
            return 1070
        q.used_today += 1
        window.append(now)
        q.in_flight += 1
        q.peak = max(q.peak, q.in_flight)
        return None

    def release(self, org: str) -> None:
        self.orgs[org].in_flight -= 1

    def retry_after(self, org: str, now: float) -> int:
        """Whole seconds left of the org's block (what ``Retry-After`` says with code 44)."""
        return max(1, math.ceil(self.orgs[org].blocked_until - now))

    def headers(self, org: str, now: float) -> dict[str, str]:
        q = self.orgs[org]
        reset = math.ceil(next_local_midnight(now, self.zone) - now)
        return {
            "X-Rate-Limit-Limit": str(self.plan.daily_limit),
            "X-Rate-Limit-Remaining": str(max(0, self.plan.daily_limit - q.used_today)),
            "X-Rate-Limit-Reset": str(reset),
        }

    def state(self, now: float) -> dict[str, Any]:
        return {
            "plan": self.plan.name,
            "daily_limit": self.plan.daily_limit,
            "per_minute": self.plan.per_minute,
            "concurrency": self.plan.concurrency,
            "orgs": {
                org: {
                    "used_today": q.used_today if q.day == local_day(now, self.zone) else 0,
                    "last_minute": sum(1 for t in q.minute if t > now - MINUTE),
                    "blocked_until": q.blocked_until if q.blocked_until > now else None,
                    "in_flight": q.in_flight,
                    "peak_concurrency": q.peak,
                }
                for org, q in self.orgs.items()
            },
        }

    def snapshot(self, org: str) -> dict[str, Any]:
        """One org's pool as the journal keeps it (calls in flight are not kept)."""
        q = self.orgs[org]
        return {
            "minute": list(q.minute),
            "day": q.day,
            "used_today": q.used_today,
            "blocked_until": q.blocked_until,
        }

    def restore(self, data: Mapping[str, dict[str, Any]]) -> None:
        for org, q in data.items():
            blocked = float(q.get("blocked_until", 0.0))
            self.orgs[org] = OrgQuota(deque(q["minute"]), q["day"], q["used_today"], blocked)
