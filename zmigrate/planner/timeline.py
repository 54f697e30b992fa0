"""When each step's calls happen: the run's schedule in Zoho seconds, as the executor runs it.

Pricing a step alone (``pricing``) prices it on empty windows; a run does not give it those.
This module lays every phase on its product's quota in the run's order, so that a product's
time is that of its whole sequence of calls:

- the run reads the org's CRM metadata first (``setup``), then every export, one after
  another, then starts each step once the steps it looks up are done; a Books/Inventory
  org's lists (taxes, currencies) are read on that product's lane by its first write, beside
  the other products' calls;
- Books/Inventory calls fill windows of 100 calls: ``concurrency`` at a time, one latency each,
  and a window's slots free ``period`` seconds after its first answers (the pacer stamps a slot
  when its answer comes back), so 800 calls take 8 windows and a step that follows another
  starts in the other's last window (or waits for the next one when it is full);
- CRM REST calls (writes, GET pages) go one phase after another in rounds of the edition's
  places; Bulk jobs run on their step's own workers (queue + rows / pace, seen by a poll,
  and the calls on a job's path at the given latency);
- a phase's calls flow evenly, but it ends with the slowest of its last calls in flight
  (``straggler``): a step that looks it up waits for that answer.

Steps of one product ready at once are laid one after the other (they share its quota, so the
product's time is the same). Pure and clock-free: times are seconds from the run's first call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from zmigrate import quotas
from zmigrate.manifest import Product, Target
from zmigrate.planner.model import Phase, PhaseMethod, StepPlan
from zmigrate.planner.pricing import bulk_read_seconds, bulk_write_seconds
from zmigrate.planner.setup import SetupCalls, SetupKind


@dataclass(frozen=True)
class Span:
    """From a first call sent to a last answer, in seconds from the run's first call."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Windows:
    """A Books/Inventory product's per-minute window: when it opened, calls in it, and when
    the product's last answer came back."""

    opened: float = 0.0
    used: int = 0
    at: float = 0.0


def finance_calls(
    state: Windows,
    ready: float,
    calls: int,
    concurrency: int,
    latency: float,
    cap: int = quotas.PER_MINUTE_CAP,
    period: float = quotas.MINUTE,
) -> tuple[Windows, Span]:
    """``calls`` ready at ``ready`` laid on the product's windows: the next state and their span.

    Calls go ``concurrency`` at a time (``latency / concurrency`` seconds a call); a full window
    frees its slots ``period`` after its first answers (``opened + latency + period``); a window
    long over (all its slots freed) gives way to a fresh one at ``ready``.
    """
    at = max(ready, state.at)
    opened, used = state.opened, state.used
    if used == 0 or at >= opened + latency + period:
        opened, used = at, 0
    start: float | None = None
    left = calls
    while left > 0:
        if used >= cap:
            opened, used = max(opened + latency + period, at), 0
            at = opened
        start = at if start is None else start
        take = min(left, cap - used)
        at += take * latency / concurrency
        used, left = used + take, left - take
    return Windows(opened, used, at), Span(at if start is None else start, at)


def straggler(calls: int, concurrency: int, latency: float) -> float:
    """How much later than the even flow a phase's last answer comes: its last ``concurrency``
    calls end with the slowest of them (the expected maximum of that many log-normal
    latencies of mean ``latency``, spread ``quotas.LATENCY_SPREAD``, less the mean)."""
    last = min(calls, concurrency)
    if last <= 1:
        return 0.0
    sigma = quotas.LATENCY_SPREAD
    z = NormalDist().inv_cdf((last - 0.375) / (last + 0.25))  # Blom: E[max of n normals]
    return latency * (math.exp(sigma * z - sigma**2 / 2) - 1)


@dataclass(frozen=True)
class Timeline:
    """Every step's span and every product's (first call to last answer), and the run's end."""

    steps: Mapping[str, Span]
    products: Mapping[str, Span]

    @property
    def seconds(self) -> float:
        return max((s.end for s in self.products.values()), default=0.0)


@dataclass(frozen=True)
class _Lanes:
    """Where each product's quota stands: Books/Inventory windows, the CRM REST lane's end."""

    windows: Mapping[str, Windows]
    crm_rest: float = 0.0


def _place(
    lanes: _Lanes, phase: Phase, ready: float, target: Target, latency: Mapping[str, float]
) -> tuple[_Lanes, Span]:
    """One phase laid on its product's lane from ``ready``: the lanes after it and its span."""
    product = phase.product
    if product in (Product.BOOKS, Product.INVENTORY):
        plan = target.finance_plan(product)
        state, span = finance_calls(
            lanes.windows.get(product, Windows()),
            ready,
            phase.requests,
            plan.concurrency,
            latency[product],
            plan.per_minute,
        )
        tail = straggler(phase.requests, plan.concurrency, latency[product])
        return _Lanes({**lanes.windows, product: state}, lanes.crm_rest), Span(
            span.start, span.end + tail
        )
    if phase.method is PhaseMethod.BULK:  # the step's own job workers
        return lanes, Span(ready, ready + bulk_write_seconds(phase.records, latency[product]))
    if phase.method is PhaseMethod.BULK_READ:
        return lanes, Span(ready, ready + bulk_read_seconds(phase.records, latency[product]))
    # CRM REST phases are priced at the typical latency: their time scales with the one given
    seconds = phase.seconds * latency[product] / quotas.TYPICAL_LATENCY[product]
    start = max(ready, lanes.crm_rest)
    tail = straggler(phase.requests, target.edition.concurrency, latency[product])
    return _Lanes(lanes.windows, start + seconds), Span(start, start + seconds + tail)


BY_FIRST_USE = (SetupKind.ORG_LISTS, SetupKind.BULK_ORG)
"""Setup calls made by the first write that needs them, not before the run's first write."""


def _setup(
    setup: Sequence[SetupCalls], latency: Mapping[str, float]
) -> tuple[float, dict[str, list[Span]]]:
    """The calls before the first write (CRM metadata, fields), one after another from 0:
    their end and spans. Those ``BY_FIRST_USE`` are not among them: the first write that
    needs them makes them (``_first_use``)."""
    at, spans = 0.0, dict[str, list[Span]]()
    for calls in setup:
        if calls.kind in BY_FIRST_USE:
            continue
        took = calls.requests * latency[calls.product]
        spans.setdefault(calls.product, []).append(Span(at, at + took))
        at += took
    return at, spans


def _first_use(
    lanes: _Lanes, lists: dict[str, int], phase: Phase, ready: float, target: Target, pace: float
) -> tuple[_Lanes, float, Span | None]:
    """The product's org lists read, one after another, before its first write (once), or
    CRM's org id before its first Bulk Write upload: the lanes after them, when the write can
    start, and their span."""
    if phase.product == Product.CRM:  # the org's id, before the first upload
        calls = lists.pop(phase.product, 0) if phase.method is PhaseMethod.BULK else 0
        end = ready + calls * pace
        return lanes, end, Span(ready, end) if calls else None
    calls = lists.pop(phase.product, 0)
    if not calls:
        return lanes, ready, None
    cap = target.finance_plan(phase.product).per_minute
    state, span = finance_calls(
        lanes.windows.get(phase.product, Windows()), ready, calls, 1, pace, cap
    )
    return _Lanes({**lanes.windows, phase.product: state}, lanes.crm_rest), span.end, span


def _next_ready(
    steps: Sequence[StepPlan], done: Mapping[str, Span], base: float
) -> tuple[StepPlan, float]:
    """The step to lay next: of those whose lookups are laid, the one ready first."""
    ready = [
        (max((done[d].end for d in s.depends_on), default=base), i, s)
        for i, s in enumerate(steps)
        if s.name not in done and all(d in done for d in s.depends_on)
    ]
    at, _, step = min(ready, key=lambda r: (r[0], r[1]))
    return step, at


def timeline(
    steps: Sequence[StepPlan],
    setup: Sequence[SetupCalls],
    target: Target,
    latency: Mapping[str, float] | None = None,
) -> Timeline:
    """The run's schedule: setup, then exports in order, then each step when its lookups are
    done (``steps`` in dependency order); ``latency`` per product, else the typical one."""
    pace = {**quotas.TYPICAL_LATENCY, **(latency or {})}
    at, product_spans = _setup(setup, pace)
    first_use = {str(c.product): c.requests for c in setup if c.kind in BY_FIRST_USE}
    lanes = _Lanes({})
    read_spans: dict[str, Span] = {}
    for s in steps:
        if s.read is not None:
            lanes, span = _place(lanes, s.read, at, target, pace)
            read_spans[s.name], at = span, span.end
            product_spans.setdefault(s.read.product, []).append(span)
    done: dict[str, Span] = {}
    while len(done) < len(steps):
        step, ready = _next_ready(steps, done, at)
        span = read_spans.get(step.name, Span(ready, ready))
        for phase in (step.write, step.spread):  # a spread step writes through both at once
            if phase is not None and phase.requests:
                lanes, start, read = _first_use(
                    lanes, first_use, phase, ready, target, pace[phase.product]
                )
                lanes, wrote = _place(lanes, phase, start, target, pace)
                wrote = wrote if read is None else Span(read.start, wrote.end)
                product_spans.setdefault(phase.product, []).append(wrote)
                span = Span(min(span.start, wrote.start), max(span.end, wrote.end))
        done[step.name] = span
    products = {
        p: Span(min(s.start for s in spans), max(s.end for s in spans))
        for p, spans in product_spans.items()
    }
    return Timeline(done, products)
