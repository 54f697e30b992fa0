"""Where a CRM REST step's places go: one rehearsal of ``bench_mixed``'s upserts, every write
timed from the place it took to the place it gave back (issue 12).

Each write is followed through the engine (place asked for and taken, sent, answered, place
given back) and the sandbox (admitted, latency slept, handled, released), by a trace header
the engine adds and the sandbox reads; all on the shared Zoho clock (the sandbox in a thread,
as ``run --sandbox`` starts it). Per lane, the places' capacity (places × the step's time, as
``bench_mixed`` measures it: first write admitted to last admitted plus one mean latency) is
split by cause: the drawn latency (the only useful part), the sandbox's lateness waking from
it and its handling, the ramp (places not yet used by the first writes), the tail (places
done before the step's end), and the gaps between one write released and the next admitted
on a place, themselves split into the answer's way back, the engine reading it, the place
waiting for a batch, the hand-over to the next write and the request's way out.

    python benchmarks/bench_rest_trace.py [--rest-speed 0.25] [--rest-records 44000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import itertools
import math
import os
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_mixed as bench

from zmigrate.client.http import Response, Transport
from zmigrate.clock import START_ENV, Clock
from zmigrate.run.writers import crm_rest
from zmigrate.run.writers.crm_rest import CrmRestWriter, Lane, Lanes
from zmigrate.sandbox.app import Sandbox
from zmigrate.sandbox.core import Admission
from zmigrate.sandbox.crm.api import CrmProduct
from zmigrate.sandbox.faults import LATENCY_SIGMA, Faults

HEADER = "X-Zmigrate-Trace"


@dataclass
class Write:
    """One write's moments (Zoho seconds) and its drawn latency."""

    lane: str
    records: int
    asked: float
    taken: float
    times: dict[str, float] = field(default_factory=dict)
    latency: float = 0.0


@dataclass
class Trace:
    clock: Clock | None = None
    writes: dict[str, Write] = field(default_factory=dict)
    gives: list[tuple[str, bool]] = field(default_factory=list)
    """(lane, whether a batch was waiting for a place) at each place given back."""
    admitted: Write | None = None
    """The write the sandbox admitted last (its latency is drawn next, with no await between)."""

    def now(self) -> float:
        assert self.clock is not None
        return self.clock.now()


TRACE = Trace()
CURRENT: contextvars.ContextVar[Write] = contextvars.ContextVar("write")
TAKEN: contextvars.ContextVar[tuple[float, float]] = contextvars.ContextVar("taken")
ids = itertools.count()


def install() -> None:
    """Wrap the few engine and sandbox methods a write passes through (this process only)."""
    take, give, part = Lanes.take, Lanes.give, CrmRestWriter._part
    send, admit, handle, latency = (
        Transport._send,
        CrmProduct.admit,
        Sandbox._handle,
        Faults.latency,
    )

    async def traced_take(self: Lanes, started: bool) -> Lane:
        asked = TRACE.now()
        lane = await take(self, started)
        TAKEN.set((asked, TRACE.now()))  # the batch's task: the write's task copies it
        return lane

    def traced_give(self: Lanes, lane: Lane) -> None:
        write = CURRENT.get(None)
        if write is not None:
            write.times["given"] = TRACE.now()
        waiting = self.waiting()
        TRACE.gives.append((str(lane), bool(waiting[False] or waiting[True])))
        give(self, lane)

    async def traced_part(self: CrmRestWriter, lane: Lane, items: Any, *rest: Any) -> None:
        asked, taken = TAKEN.get()
        write = Write(str(lane), len(rest[0]), asked, taken, {"started": TRACE.now()})
        TRACE.writes[str(next(ids))] = write
        CURRENT.set(write)
        await part(self, lane, items, *rest)

    async def traced_send(
        self: Transport, method: str, url: str, params: Any, body: Any, headers: Any, raw: bool
    ) -> Response:
        write = CURRENT.get(None)
        if write is None:
            return await send(self, method, url, params, body, headers, raw)
        key = next(k for k, w in reversed(TRACE.writes.items()) if w is write)
        write.times["sent"] = TRACE.now()
        response = await send(self, method, url, params, body, {**headers, HEADER: key}, raw)
        write.times["answered"] = TRACE.now()
        return response

    async def traced_admit(self: CrmProduct, request: Any) -> Admission:
        admission = await admit(self, request)
        write = TRACE.writes.get(request.headers.get(HEADER, ""))
        TRACE.admitted = None
        if write is None or admission.rejection is not None:
            return admission
        write.times["admitted"] = TRACE.now()
        TRACE.admitted = write
        release = admission.release

        def traced_release() -> None:
            write.times["released"] = TRACE.now()
            if release is not None:
                release()

        admission.release = traced_release
        return admission

    def traced_latency(self: Faults) -> float:
        drawn = latency(self)
        if TRACE.admitted is not None:
            TRACE.admitted.latency = drawn
        return drawn

    async def traced_handle(self: Sandbox, product: Any, request: Any, handler: Any) -> Any:
        write = TRACE.writes.get(request.headers.get(HEADER, ""))
        if write is not None:
            write.times["handling"] = TRACE.now()
        return await handle(self, product, request, handler)

    Lanes.take = traced_take  # type: ignore[method-assign]
    Lanes.give = traced_give  # type: ignore[method-assign]
    CrmRestWriter._part = traced_part  # type: ignore[method-assign,assignment]
    Transport._send = traced_send  # type: ignore[method-assign]
    CrmProduct.admit = traced_admit  # type: ignore[method-assign]
    Sandbox._handle = traced_handle  # type: ignore[method-assign]
    Faults.latency = traced_latency  # type: ignore[method-assign]
    measure = bench.measure

    async def traced_measure(path: Path, run_dir: Path, credentials: Any, clock: Clock) -> Any:
        TRACE.clock = clock
        return await measure(path, run_dir, credentials, clock)

    bench.measure = traced_measure  # type: ignore[assignment]


def split(writes: Sequence[Write], places: int, start: float, end: float) -> dict[str, float]:
    """Slot-seconds of one lane's places over ``[start, end]``, by cause (they sum to all)."""
    admitted = sorted(w.times["admitted"] for w in writes)
    released = sorted(w.times["released"] for w in writes)
    by_release = sorted(writes, key=lambda w: w.times["released"])[:-places]
    by_admission = sorted(writes, key=lambda w: w.times["admitted"])[places:]

    def total(ws: Sequence[Write], a: str, b: str) -> float:
        return sum(w.times[b] - w.times[a] for w in ws)

    # a place's next write takes the place some earlier write gave back; whichever it was,
    # the sums over all of them are the same
    waiting = sum(w.taken for w in by_admission) - sum(w.times["given"] for w in by_release)
    return {
        "drawn latency (useful)": sum(w.latency for w in writes),
        "sandbox: late waking from the latency": sum(
            w.times["handling"] - w.times["admitted"] - w.latency for w in writes
        ),
        "sandbox: handling, journal": total(writes, "handling", "released"),
        "ramp: before a place's first write": sum(a - start for a in admitted[:places]),
        "tail: after a place's last write": sum(end - r for r in released[-places:]),
        "gap: answer's way back (wire, loops)": total(by_release, "released", "answered"),
        "gap: engine reading the answer": total(by_release, "answered", "given"),
        "gap: place free, no batch taking it": waiting,
        "gap: place taken to request sent": sum(w.times["sent"] - w.taken for w in by_admission),
        "gap: request's way out (wire, loops)": total(by_admission, "sent", "admitted"),
    }


def report(places: Mapping[Lane, int], mean: float, speed: float) -> None:
    done = [w for w in TRACE.writes.values() if {"released", "given"} <= w.times.keys()]
    start = min(w.times["admitted"] for w in done)
    end = max(w.times["admitted"] for w in done) + mean
    print(f"{len(done)} writes traced of {len(TRACE.writes)}; step {end - start:.3f} Zoho s")
    for lane, n in places.items():
        writes = [w for w in done if w.lane == str(lane)]
        capacity = n * (end - start)
        parts = split(writes, n, start, end)
        drawn = statistics.mean(w.latency for w in writes)
        print(
            f"\n{lane}: {n} places, {len(writes)} writes of {sum(w.records for w in writes):,} "
            f"records; capacity {capacity:.2f} slot-s; latency drawn {drawn * 1000:.1f} ms "
            f"(mean of the distribution {mean * 1000:.1f})"
        )
        for cause, seconds in parts.items():
            per = seconds / len(writes) / speed * 1000
            share = seconds / capacity
            print(f"  {cause:40s} {seconds:7.3f} slot-s {share:6.1%} {per:6.2f} real ms/write")
        print(f"  {'(sum)':40s} {sum(parts.values()):7.3f}")
        given = [waited for name, waited in TRACE.gives if name == str(lane)]
        print(f"  places given back: {len(given)}, a batch waiting for one {sum(given)}")


async def rehearse(args: argparse.Namespace) -> None:
    options = argparse.Namespace(
        latency_ms=args.latency_ms, sandbox_process=False, sandbox_on_loop=False
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench.write_data(folder, 0, 0, args.rest_records)
        path = bench.manifest(folder, "rest", bench.REST_STEP)
        run = await bench.rehearse(path, folder / "rest", options, args.rest_speed)
        print(f"{run.outcome}; {run.cpu / run.real:.2f} cores; load average {os.getloadavg()}")
    mean = args.latency_ms / 1000 * math.exp(LATENCY_SIGMA**2 / 2)
    concurrency, pool = 20, 10  # Enterprise, as bench_mixed's manifest says
    report(crm_rest.lane_sizes(concurrency, pool), mean, args.rest_speed)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rest-speed", type=float, default=0.25)
    parser.add_argument("--rest-records", type=int, default=44_000)
    parser.add_argument("--latency-ms", type=float, default=150.0)
    args = parser.parse_args()
    os.environ.setdefault(START_ENV, str(bench.START))
    install()
    asyncio.run(rehearse(args))


if __name__ == "__main__":
    main()
