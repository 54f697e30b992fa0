"""`zmigrate status`: a run's progress from its store, for people (a table) or scripts (JSON).

Pure: :func:`render` turns :meth:`RunStore.summary` (a :class:`RunSummary`) into text; the
command only opens the store read-only (no lock, so it works while the run goes on).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from zmigrate.checkpoint import RunStatus, RunStore, RunSummary
from zmigrate.scrub import scrub, scrub_data

UNFINISHED = frozenset({RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.FAILED})
"""Run statuses `zmigrate resume` continues even with no record left (it writes the report)."""


def iso(ts: float | None) -> str | None:
    """Epoch seconds (Zoho time) as ``YYYY-MM-DD HH:MM:SS UTC``."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def as_json(summary: RunSummary) -> dict[str, Any]:
    """The summary with readable times added beside the epoch ones (scrubbed, as all output)."""
    return scrub_data(  # type: ignore[no-any-return]
        {
            **summary.to_dict(),
            "paused_until_utc": iso(summary.paused_until),
            "updated_utc": iso(summary.updated),
        }
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [
            c.ljust(w) if i < 4 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _quota_cell(requests: int, credits: int, product: str) -> str:
    return f"{requests:,} req / {credits:,} credits" if product == "crm" else f"{requests:,} req"


def render(summary: RunSummary) -> str:
    """The human view: state line, a row per step, quota spent vs plan, the last error."""
    run_dir = summary.run_dir
    status: str = summary.status
    if summary.status is RunStatus.RUNNING:
        pid = summary.active_pid
        status = f"running (pid {pid})" if pid else "stopped (the run's process is gone)"
    head = f"Run {run_dir} ({summary.manifest}): {status}"
    if summary.paused:
        head += f" until {iso(summary.paused_until)}"
        if summary.pause_reason:
            head += f": {summary.pause_reason}"
    lines = [head]
    steps = summary.steps
    rows = [
        [
            s.step,
            s.product,
            s.module,
            s.method,
            f"{s.done:,}",
            f"{s.merged:,}",
            f"{s.failed:,}",
            f"{s.left:,}",
            f"{s.total:,}",
        ]
        for s in steps
    ]
    header = ["step", "product", "module", "method", "done", "merged", "failed", "left", "total"]
    lines += ["", *_table(header, rows)]
    in_flight = sum(s.batches.in_flight for s in steps)
    if in_flight and summary.active_pid:
        lines.append(f"{in_flight} batch(es) in flight")
    elif in_flight:
        lines.append(
            f"{in_flight} batch(es) were in flight when the run stopped; "
            "the resume checks them against Zoho before sending anything again"
        )
    if summary.quota:
        lines += ["", "quota      spent vs plan"]
        for product, q in summary.quota.items():
            spent = _quota_cell(q.requests, q.credits, product)
            plan = _quota_cell(q.planned_requests, q.planned_credits, product)
            lines.append(f"{product:<10} {spent} of {plan} planned")
    if summary.last_error:
        lines += ["", f"last error: {summary.last_error}"]
    step = next_step(summary)
    if step:
        lines += ["", f"next: {step}"]
    return scrub("\n".join(lines))


def next_step(summary: RunSummary) -> str | None:
    """The one command that moves the run on, as the run's last line says it: `resume` for a
    run paused, interrupted, failed or killed (a rehearsal too: its sandbox restarts from the
    run directory); nothing while it runs or once it is done."""
    run_dir = summary.run_dir
    if summary.active_pid:
        return None
    if summary.paused:
        return f"zmigrate resume {run_dir}   (or add --wait to sleep until the reset)"
    left = summary.left
    if left or summary.status in UNFINISHED:
        return f"zmigrate resume {run_dir}   ({left:,} records left)"
    return None


def load(run_dir: str | os.PathLike[str]) -> RunSummary:
    """The summary of the run in ``run_dir``, read without taking the run's lock."""
    with RunStore.open(run_dir, readonly=True) as store:
        return store.summary()
