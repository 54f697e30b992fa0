"""Peak memory of writing 1,000,000 dead letters to ``dead_letters.jsonl`` at a run's end.

A run store is filled with refused rows (a realistic source row each, one field holding a
token-like value the scrubber must mask), then a child process (its peak RSS, VmHWM, is its
own) opens the store and writes the file the way ``zmigrate.run.finish`` does: streamed from
the store in chunks (target < 150 MB), or, with ``--whole``, loaded whole first (the old way).

    python benchmarks/bench_dead_letters.py [--records 1000000] [--whole]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zmigrate.checkpoint import RunStore
from zmigrate.checkpoint.hashing import hash_bytes
from zmigrate.checkpoint.records import DeadLetter, StepSpec
from zmigrate.report import DEAD_LETTER_FILE, write_dead_letters

BATCH = 10_000
SECRET = "1000." + "ab12" * 8 + "." + "cd34" * 8
"""A refresh-token-shaped value in every row: the file must carry it masked."""


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited on exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fill(run_dir: Path, records: int) -> None:
    """A run store whose one step refused ``records`` rows, a batch of 10,000 at a time."""
    step = StepSpec("leads", "crm", "Leads", "upsert", records, BATCH, "Email")
    store = RunStore.create(
        run_dir,
        manifest_path="bench.toml",
        manifest_hash=hash_bytes(b"bench"),
        source_hashes={},
        plan={"steps": ["leads"]},
        steps=[step],
    )
    try:
        for batch_no in range(step.batch_count):
            first = batch_no * BATCH
            dead = [
                DeadLetter(
                    "leads",
                    i + 2,
                    f"r{i}@bench.io",
                    {
                        "name": f"Record {i:07}",
                        "email": f"r{i}@bench.io",
                        "company": f"Company {i % 997}",
                        "city": "Springfield",
                        "note": f"token {SECRET}",
                    },
                    "INVALID_DATA",
                    "invalid data (Email)",
                    batch_no,
                )
                for i in range(first, min(records, first + BATCH))
            ]
            store.mark_failed("leads", batch_no, "refused", dead)
    finally:
        store.close()


def child(run_dir: Path, whole: bool) -> dict[str, float]:
    store = RunStore.open(run_dir)
    try:
        before = peak_rss_mb()
        t0 = time.monotonic()
        letters = store.dead_letters() if whole else store.iter_dead_letters()
        path = write_dead_letters(run_dir, letters)
        seconds = time.monotonic() - t0
    finally:
        store.close()
    return {
        "before_mb": before,
        "peak_mb": peak_rss_mb(),
        "seconds": seconds,
        "bytes": path.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--whole", action="store_true", help="load them whole (the old way)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child), args.whole)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        t0 = time.monotonic()
        fill(run_dir, args.records)
        filled = time.monotonic() - t0
        cmd = [sys.executable, __file__, "--child", str(run_dir)] + (
            ["--whole"] if args.whole else []
        )
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        with open(run_dir / DEAD_LETTER_FILE, "rb") as f:
            lines = sum(1 for _ in f)
            f.seek(0)
            first = f.readline().decode()
    way = "loaded whole" if args.whole else "streamed from the store"
    print(f"dead letters {way}: {args.records:,} refused rows (store filled in {filled:.0f} s)\n")
    print("| records | lines written | file | write time | peak RSS | before the write | target |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    print(
        f"| {args.records:,} | {lines:,} | {r['bytes'] / 2**20:.0f} MB | {r['seconds']:.1f} s "
        f"| **{r['peak_mb']:.0f} MB** | {r['before_mb']:.0f} MB | < 150 MB |"
    )
    masked = SECRET not in first and "1000." not in first
    print(f"\nsecret in the file: {'no (scrubbed)' if masked else 'YES'}")


if __name__ == "__main__":
    main()
