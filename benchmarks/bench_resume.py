"""How long a resume spends on bookkeeping for a 1,000,000-record run (target: under 5 s).

Builds a run store through the public API as a run would leave it when killed: 10 steps of
100,000 records (CRM upsert and bulk, Books and Inventory), with one dead letter a batch and a
bulk job in flight, twice: killed half-way (step 6 of 10) and near the end (step 10 of 10,
about 950,000 ids in the cross-reference).
Then times what `zmigrate resume` does before its first request: open the store (taking the
lock), recover the in-flight batches, list every step's pending batches, find which keys of
the in-flight batches already landed; what `zmigrate status` does (the summary); and what a
later step's lookups cost (one indexed query per 100-record batch, no cache in memory).

    python benchmarks/bench_resume.py [--records 1000000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from zmigrate.checkpoint import DeadLetter, RunStore, StepSpec, hash_bytes


def build_steps(records: int) -> list[StepSpec]:
    per = records // 10
    kinds = [
        ("crm", "Accounts", "upsert", 100),
        ("crm", "Contacts", "upsert", 100),
        ("crm", "Leads", "bulk", 25_000),
        ("books", "contacts", "create", 100),
        ("books", "items", "create", 100),
        ("crm", "Deals", "bulk", 25_000),
        ("inventory", "items", "create", 100),
        ("inventory", "salesorders", "create", 100),
        ("books", "invoices", "create", 100),
        ("crm", "Tasks", "upsert", 100),
    ]
    return [
        StepSpec(f"s{i}_{module.lower()}", product, module, method, per, size, "key", per, 0)
        for i, (product, module, method, size) in enumerate(kinds)
    ]


def build(run_dir: Path, records: int, done_steps: int) -> tuple[float, int]:
    """Fill a store like a run killed in step ``done_steps``; returns (seconds, commits)."""
    steps = build_steps(records)
    t0 = time.perf_counter()
    commits = 0
    with RunStore.create(
        run_dir,
        manifest_path="bench.toml",
        manifest_hash=hash_bytes(b"bench"),
        source_hashes={"bench.csv": hash_bytes(b"rows")},
        plan={"records": records},
        steps=steps,
    ) as store:
        for si, step in enumerate(steps[: done_steps + 1]):
            batches = store.pending_batches(step.name)
            if si == done_steps:
                batches = batches[: len(batches) // 2 + 1]
            for b in batches:
                store.mark_in_flight(step.name, b.batch_no)
                commits += 1
                if si == done_steps and b is batches[-1]:
                    store.set_bulk_job(step.name, b.batch_no, "job-bench")
                    commits += 1
                    continue
                xref = [(f"{step.name}:{r}", f"{4_000_000_000 + r}", r) for r in b.rows]
                dead = [DeadLetter(step.name, xref[-1][2], xref.pop()[0], {"r": 1}, "INVALID")]
                store.mark_done(step.name, b.batch_no, xref, dead)
                store.spend(step.product, 1, len(xref) // 10 if step.product == "crm" else 0)
                commits += 1
        if done_steps + 1 < len(steps):
            books = steps[done_steps + 1]
            for b in store.pending_batches(books.name)[:10]:  # ten Books batches in flight
                store.mark_in_flight(books.name, b.batch_no)
                commits += 1
    return time.perf_counter() - t0, commits


def resume_bookkeeping(run_dir: Path) -> dict[str, float]:
    """Time each part of what a resume does before it sends anything."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    store = RunStore.open(run_dir)
    times["open"] = time.perf_counter() - t0
    t = time.perf_counter()
    changed = store.changed_inputs(hash_bytes(b"bench"), {"bench.csv": hash_bytes(b"rows")})
    assert not changed
    recovered = store.recover()
    times["recover"] = time.perf_counter() - t
    t = time.perf_counter()
    left = {s.name: store.pending_batches(s.name) for s in store.steps()}
    times["pending"] = time.perf_counter() - t
    t = time.perf_counter()
    settled = 0
    for b in recovered:
        settled += len(store.settled_keys(b.step, (f"{b.step}:{r}" for r in b.rows)))
    times["settled_keys"] = time.perf_counter() - t
    times["resume_total"] = time.perf_counter() - t0
    store.close()
    t = time.perf_counter()
    with RunStore.open(run_dir, readonly=True) as ro:
        summary = ro.summary()
        times["status_summary"] = time.perf_counter() - t
        # a later step's lookups: one query per 100-record batch, no cache held in memory
        first = ro.steps()[0].name
        t = time.perf_counter()
        for n in range(1_000):
            keys = [f"{first}:{(n * 7919 + i * 104_729) % 99_000}" for i in range(100)]
            assert len(ro.lookup_many(first, keys)) >= 90
        times["lookup_100_keys"] = (time.perf_counter() - t) / 1_000
    done = sum(s.done for s in summary.steps)
    print(
        f"  recovered {len(recovered)} in-flight batches ({settled:,} of their rows already "
        f"landed), {sum(len(v) for v in left.values()):,} batches left, "
        f"{done:,} records done"
    )
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=None, help="where to build (default: a temp dir)")
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="zmigrate-bench-"))
    run_dir = base / "run"
    try:
        for done_steps in (5, 9):
            shutil.rmtree(run_dir, ignore_errors=True)
            secs, commits = build(run_dir, args.records, done_steps)
            size = sum(p.stat().st_size for p in run_dir.iterdir()) / 1e6
            print(
                f"{args.records:,}-record run killed in step {done_steps + 1} of 10: built with "
                f"{commits:,} durable commits in {secs:.1f} s "
                f"({commits / secs:,.0f}/s), {size:.0f} MB on disk"
            )
            times = resume_bookkeeping(run_dir)
            for name, value in times.items():
                print(f"  {name:<15} {value * 1000:8.1f} ms")
            verdict = "PASS" if times["resume_total"] < 5.0 else "FAIL"
            print(f"  resume bookkeeping {times['resume_total']:.2f} s (target < 5 s): {verdict}")
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
