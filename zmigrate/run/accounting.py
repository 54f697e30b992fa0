"""What each step spent and did: requests, credits, time on the wire, and the spend observer
that charges every attempt to its product (in the run store) and to its step (in a tally)."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from zmigrate.checkpoint import RunStore
from zmigrate.client import Zoho
from zmigrate.client.http import Attempt
from zmigrate.client.models import Product
from zmigrate.report import REPORT_FILE


@dataclass
class Tally:
    """What one step spent and did: requests, credits, time on the wire and wall time.

    ``earlier_seconds`` carries the wall time of the run's earlier processes (a resume), whose
    figures are seeded from their report by :func:`carry_over`.
    """

    requests: int = 0
    credits: int = 0
    busy: float = 0.0
    first: float | None = None
    last: float | None = None
    earlier_seconds: float = 0.0
    ready: float | None = None
    """When this process started the step (its lookups done) and when it ended: while it runs
    its product has work ready."""
    ended: float | None = None

    def add(self, started: float, ended: float, credits: int) -> None:
        self.requests += 1
        self.credits += credits
        self.busy += max(0.0, ended - started)
        self.first = started if self.first is None else min(self.first, started)
        self.last = ended if self.last is None else max(self.last, ended)

    @property
    def seconds(self) -> float:
        here = self.last - self.first if self.first is not None and self.last is not None else 0
        return self.earlier_seconds + here


def carry_over(run_dir: Path, tallies: Mapping[str, Tally]) -> None:
    """Seed per-step figures from the run's last report, so a resumed run reports them all.

    A process killed before writing its report (SIGKILL, power loss) leaves its requests out
    of the per-step figures; the per-product totals come from the store and are complete.
    """
    try:
        previous = orjson.loads((run_dir / REPORT_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return
    for step in previous.get("steps") or []:
        tally = tallies.get(step.get("name"))
        if tally is not None:
            tally.requests += int(step.get("requests") or 0)
            tally.credits += int(step.get("credits") or 0)
            tally.busy += float(step.get("busy_seconds") or 0.0)
            tally.earlier_seconds += float(step.get("seconds") or 0.0)


@dataclass
class ProductCalls:
    """One product's calls in this process: first sent, last answered, and (Books/Inventory,
    whose windows the report judges; at most their daily cap) when each was sent."""

    first: float | None = None
    last: float | None = None
    count: int = 0
    sends: list[float] = field(default_factory=list)

    def add(self, attempt: Attempt) -> None:
        self.count += 1
        self.first = attempt.started if self.first is None else min(self.first, attempt.started)
        self.last = attempt.ended if self.last is None else max(self.last, attempt.ended)
        if attempt.product in (Product.BOOKS, Product.INVENTORY):
            self.sends.append(attempt.started)


STEP_TALLY: ContextVar[Tally | None] = ContextVar("zmigrate_step_tally", default=None)
"""The tally of the step whose task is running: each step task sets its own."""


class Spend:
    """Charges every attempt (retries included) to its product in the store, and to the step
    task that sent it: Zoho's own counters are per product, the report is per step. Exports
    run before the store exists: their counts wait here until it does."""

    def __init__(self) -> None:
        self.store: RunStore | None = None
        self.waiting: list[tuple[str, int]] = []
        self.calls: dict[str, ProductCalls] = {}

    def observe(self, attempt: Attempt) -> None:
        self.calls.setdefault(attempt.product, ProductCalls()).add(attempt)
        if self.store is None:
            self.waiting.append((attempt.product, attempt.credits))
        else:
            self.store.spend(attempt.product, 1, attempt.credits)
        tally = STEP_TALLY.get()
        if tally is not None:
            tally.add(attempt.started, attempt.ended, attempt.credits)

    def attach(self, store: RunStore) -> None:
        self.store = store
        for product, credits in self.waiting:
            store.spend(product, 1, credits)
        self.waiting.clear()


def spend_now(zoho: Zoho) -> dict[str, tuple[int, int]]:
    """Requests and credits spent so far, per product that sent any (the progress line)."""
    usage = zoho.usage()
    return {
        p: (int(u["requests"]), int(u["credits"]))  # type: ignore[call-overload]
        for p, u in usage.items()
        if u["requests"]
    }
