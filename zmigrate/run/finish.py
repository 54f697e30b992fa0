"""The end of a run process: its outcome, the status and pause it leaves in the store, the
dead-letter file and the report (per step from the engine's tallies, per product from the
store, so a resumed run reports every process)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from zmigrate.checkpoint import AsyncRunStore, RunSummary, StepSpec, StepSummary
from zmigrate.clock import Clock
from zmigrate.manifest import Manifest
from zmigrate.manifest.model import Product
from zmigrate.outcomes import PauseKind
from zmigrate.planner.spread import other_product
from zmigrate.report import (
    REPORT_FILE,
    ProductSpend,
    RunReport,
    StepReport,
    write_dead_letters,
    write_report,
)
from zmigrate.report_pace import ProductPace, full_windows
from zmigrate.run.accounting import ProductCalls
from zmigrate.run.scheduler import Engine
from zmigrate.run.vocab import Outcome, WriteMethod
from zmigrate.run.writers import writer_for


def outcome(engine: Engine, failed: int) -> Outcome:
    """How the run process ended, the most pressing first."""
    control = engine.control
    if control.interrupted:
        return Outcome.INTERRUPTED
    if control.stopped is not None:
        return Outcome.USAGE if control.stopped.usage else Outcome.STOPPED
    if control.pauses:
        return Outcome.PAUSED
    return Outcome.FAILED_RECORDS if failed else Outcome.DONE


async def finish(
    engine: Engine,
    store: AsyncRunStore,
    manifest: Manifest,
    run_dir: Path,
    clock: Clock,
    zoho0: float,
    real0: float,
    calls: Mapping[str, ProductCalls] | None = None,
    cpu0: float | None = None,
) -> RunReport:
    """Status, pause and dead-letter file into the run directory; the report built and saved.

    ``calls``: this process's calls per product (their times and the windows' fill);
    ``cpu0``: the process's CPU time at the start (``time.process_time``)."""
    summary = await store.summary()
    dead_file = write_dead_letters(run_dir, store.store.iter_dead_letters())
    steps = step_reports(engine, summary.steps)
    planned = store.store.plan().get("totals", {})
    spend = product_spend(summary, planned)
    failed = sum(s.failed for s in steps)
    ended = outcome(engine, failed)
    pauses = engine.control.pauses
    resets_at = max((p.resets_at or 0.0 for p in pauses.values()), default=0.0) or None
    text = message(ended, engine, run_dir, failed, dead_file, resets_at)
    if ended is Outcome.PAUSED:
        reason = "; ".join(f"{p}: {a.reason}" for p, a in pauses.items())
        await store.pause(resets_at or clock.now(), reason)
    else:
        await store.set_status(ended.status)
        if engine.control.stopped is not None:
            await store.record_error(engine.control.stopped.reason)
    report = RunReport(
        run_dir=str(run_dir),
        manifest=str(manifest.path),
        outcome=ended,
        message=text,
        steps=tuple(steps),
        spend=spend,
        zoho_seconds=clock.now() - zoho0,
        real_seconds=time.monotonic() - real0,
        clock_speed=clock.speed,
        dead_letter_file=str(dead_file),
        resets_at=resets_at,
        products=product_paces(engine, calls or {}, planned),
        cpu_seconds=0.0 if cpu0 is None else time.process_time() - cpu0,
    )
    write_report(run_dir, report)
    return report


def step_reports(engine: Engine, summary: Sequence[StepSummary]) -> list[StepReport]:
    """Per step: the store's counts, the engine's tallies, the writer's concurrency."""
    steps = []
    for s in summary:
        spec, tally = engine.specs[s.step], engine.tallies[s.step]
        steps.append(
            StepReport(
                name=spec.name,
                product=spec.product,
                module=spec.module,
                method=spec.method,
                records=spec.total_rows,
                landed=s.done,
                failed=s.failed,
                merged=s.merged,
                requests=tally.requests,
                planned_requests=spec.planned_requests,
                credits=tally.credits,
                planned_credits=spec.planned_credits,
                seconds=tally.seconds,
                busy_seconds=tally.busy,
                concurrency=writer_for(spec).concurrency(engine.zoho, spec),
                batches=spec.batch_count,
            )
        )
    return steps


def product_paces(
    engine: Engine, calls: Mapping[str, ProductCalls], planned: Mapping[str, Mapping[str, float]]
) -> tuple[ProductPace, ...]:
    """Per product that made calls: their time against the plan's, and (Books/Inventory) the
    full windows while one of its steps was running (had work ready)."""
    out = []
    for product in sorted(calls):
        seen = calls[product]
        if seen.first is None or seen.last is None:
            continue
        ready = [
            (t.ready, t.ended)
            for name, t in engine.tallies.items()
            if product in _products_of(engine.specs[name]) and t.ready is not None and t.ended
        ]
        window_calls, windows = full_windows(seen.sends, ready)
        plan_seconds = planned.get(product, {}).get("seconds")
        out.append(
            ProductPace(
                product,
                seen.count,
                seen.last - seen.first,
                None if plan_seconds is None else float(plan_seconds),
                window_calls,
                windows,
            )
        )
    return tuple(out)


def _products_of(spec: StepSpec) -> tuple[str, ...]:
    """The products a step calls (a spread step: both Books and Inventory)."""
    if spec.method == WriteMethod.SPREAD:
        return (spec.product, other_product(spec.product))
    return (spec.product,)


def product_spend(
    summary: RunSummary, planned: Mapping[str, Mapping[str, int]]
) -> tuple[ProductSpend, ...]:
    """Per Zoho product: requests and credits spent (every process) against the plan."""
    return tuple(
        ProductSpend(
            p,
            summary.quota_of(p).requests,
            summary.quota_of(p).credits,
            planned.get(p, {}).get("requests", 0),
            planned.get(p, {}).get("credits", 0),
        )
        for p in sorted((set(summary.quota) | set(planned)) - {Product.FILE})
    )


def message(
    ended: Outcome,
    engine: Engine,
    run_dir: Path,
    failed: int,
    dead_file: Path,
    resets_at: float | None,
) -> str:
    """The report's one line: what happened and what to do next."""
    resume = f"`zmigrate resume {run_dir}`"
    if ended is Outcome.DONE:
        merged = sum(c.merged for c in engine.counts.values())
        note = f" ({merged} merged into another row's record, as declared)" if merged else ""
        return f"every record landed{note}; report in {run_dir / REPORT_FILE}"
    if ended is Outcome.FAILED_RECORDS:
        return (
            f"{failed} record(s) refused, each in {dead_file} with Zoho's reason; fix them "
            "and migrate them with a manifest over those rows"
        )
    if ended is Outcome.PAUSED:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(resets_at)) if resets_at else ""
        pauses = engine.control.pauses
        why = " / ".join(dict.fromkeys(p.kind for p in pauses.values())) or PauseKind.QUOTA
        return f"{', '.join(pauses)} {why} until {when or 'it resets'}; run {resume} after that"
    if ended is Outcome.INTERRUPTED:
        return f"interrupted; run {resume} to continue where it stopped"
    stopped = engine.control.stopped
    return f"{stopped.reason if stopped else 'stopped'}; fix the cause, then run {resume}"
