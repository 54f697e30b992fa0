"""The end-of-run report (what landed, what failed, what it cost, how close to the cap it ran)
and the dead-letter file.

Built from plain numbers the executor gathers (from the run store, so a resumed run reports
its whole history), rendered for humans and written as JSON in the run directory. Pure apart
from ``write_report`` and ``write_dead_letters``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from zmigrate.checkpoint import DeadLetter
from zmigrate.manifest import Product
from zmigrate.quotas import PER_MINUTE_CAP
from zmigrate.report_pace import (
    ProductPace,
    StepPace,
    machine_seconds,
    paced_by_machine,
    step_pace,
)
from zmigrate.scrub import scrub, scrub_data

REPORT_FILE = "report.json"
DEAD_LETTER_FILE = "dead_letters.jsonl"

OUTCOMES = {
    "done": 0,
    "failed_records": 1,
    "stopped": 1,
    "usage": 2,
    "paused": 3,
    "interrupted": 130,
}
"""Run outcome → process exit code (the README lists them under "Running"). ``stopped``: an
error ended the run early (retries exhausted, token refused); ``usage``: the setup is wrong
(credentials, organization). Either way the run directory can be resumed once the cause is
fixed."""


@dataclass(frozen=True)
class StepReport:
    """One step's result: records, requests and credits, against what the plan said."""

    name: str
    product: str
    module: str
    method: str
    records: int
    landed: int
    failed: int
    requests: int
    planned_requests: int
    credits: int = 0
    planned_credits: int = 0
    seconds: float = 0.0
    """Zoho seconds between the step's first call and its last answer."""
    busy_seconds: float = 0.0
    """Sum of the step's call durations (Zoho seconds): how much of the concurrency it used."""
    concurrency: int = 0
    """Concurrent calls the step could hold (CRM rate is judged against this: the edition's
    concurrency, or the pool of 10 for writes of more than 10 records)."""
    batches: int = 0
    """Batches the step is cut into (a Bulk step's jobs)."""
    merged: int = 0
    """Records Zoho answered with the id of an earlier record of the step (``on_duplicate_key
    = "merge"``): ``landed`` counts distinct Zoho records, these are not among them."""

    @property
    def pending(self) -> int:
        """Records neither landed, merged nor dead-lettered (work left for a resume)."""
        return max(0, self.records - self.landed - self.merged - self.failed)

    @property
    def pace(self) -> StepPace | None:
        """The figure the step is judged by (never above the cap it judges: ``report_pace``)."""
        return step_pace(
            self.product,
            self.method,
            self.requests,
            self.seconds,
            self.busy_seconds,
            self.concurrency,
            self.landed + self.merged + self.failed,
            self.batches,
        )


@dataclass(frozen=True)
class ProductSpend:
    """Quota spent on one product during the run (requests; CRM credits)."""

    product: str
    requests: int
    credits: int = 0
    planned_requests: int = 0
    planned_credits: int = 0


@dataclass(frozen=True)
class RunReport:
    """Everything a user needs after a run: outcome, next step, and the per-step figures."""

    run_dir: str
    manifest: str
    outcome: str
    message: str
    steps: tuple[StepReport, ...]
    spend: tuple[ProductSpend, ...] = ()
    zoho_seconds: float = 0.0
    real_seconds: float = 0.0
    clock_speed: float = 1.0
    dead_letter_file: str | None = None
    resets_at: float | None = None
    products: tuple[ProductPace, ...] = ()
    """Per product: this process's calls, their time against the plan's, window fill."""
    cpu_seconds: float = 0.0
    """CPU seconds this process used (the engine's work; a rehearsal's sandbox's too)."""

    @property
    def machine_seconds(self) -> float:
        """Zoho seconds this process's own work took (its CPU at the clock's speed)."""
        return machine_seconds(self.cpu_seconds, self.clock_speed)

    def machine_paced(self, product: ProductPace) -> bool:
        return paced_by_machine(product.planned_seconds, product.seconds, self.machine_seconds)

    @property
    def exit_code(self) -> int:
        return OUTCOMES[self.outcome]

    @property
    def landed(self) -> int:
        return sum(s.landed for s in self.steps)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.steps)

    @property
    def merged(self) -> int:
        return sum(s.merged for s in self.steps)

    def to_json(self) -> dict[str, object]:
        """The report as JSON-ready data (with derived rates, so readers need no code), scrubbed
        of credentials (its message may quote a Zoho error that echoed one)."""
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["landed"], data["failed"] = self.landed, self.failed
        data["merged"] = self.merged
        for step, out in zip(self.steps, data["steps"], strict=True):
            out["pending"] = step.pending
            pace = step.pace
            out["pace"] = None if pace is None else _pace_json(pace)
        for product, out in zip(self.products, data["products"], strict=True):
            fill, ratio = product.fill, product.estimate_ratio
            out["fill"] = None if fill is None else round(fill, 3)
            out["estimate_ratio"] = None if ratio is None else round(ratio, 3)
            out["paced_by_machine"] = self.machine_paced(product)
        data["machine_seconds"] = round(self.machine_seconds, 1)
        if self.resets_at is not None:
            data["resets_at_utc"] = _utc(self.resets_at)
        return scrub_data(data)  # type: ignore[no-any-return]

    def render(self) -> str:
        """Human summary: a table of steps, the quota bill, and the outcome with what to do."""
        head: tuple[str, ...] = ("step", "product", "method", "landed", "failed", "left")
        head += ("requests", "credits", "time", "pace")
        rows = [head]
        for s in self.steps:
            pace = s.pace
            rows.append(
                (
                    s.name,
                    f"{s.product}/{s.module}",
                    s.method,
                    str(s.landed),
                    str(s.failed),
                    str(s.pending),
                    f"{s.requests}/{s.planned_requests}",
                    f"{s.credits}/{s.planned_credits}" if s.product == Product.CRM else "-",
                    _duration(s.seconds),
                    "-" if pace is None else pace.text(),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append("")
        for p in self.spend:
            bill = f"{p.product}: {p.requests} requests (planned {p.planned_requests})"
            if p.product == Product.CRM:
                bill += f", {p.credits} credits (planned {p.planned_credits})"
            lines.append(bill)
        lines += [_product_line(p, self.machine_paced(p)) for p in self.products]
        if any(self.machine_paced(p) for p in self.products):
            lines.append(
                f"this machine: {_duration(self.cpu_seconds)} of CPU in this process = "
                f"{_duration(self.machine_seconds)} Zoho time at clock speed "
                f"{self.clock_speed:g} (the engine's own work, and the sandbox's in a "
                "rehearsal); a lower --clock-speed shows Zoho's pace"
            )
        speed = f" at clock speed {self.clock_speed:g}" if self.clock_speed != 1 else ""
        lines.append(
            f"wall time: {_duration(self.zoho_seconds)} Zoho time, "
            f"{_duration(self.real_seconds)} real{speed}"
        )
        merged = f", merged {self.merged}" if self.merged else ""
        lines.append(f"landed {self.landed}, failed {self.failed}{merged}")
        if self.dead_letter_file and self.failed:
            lines.append(f"dead letters: {self.dead_letter_file}")
        lines.append(f"{self.outcome}: {self.message}")
        return scrub("\n".join(lines))


def _pace_json(pace: StepPace) -> dict[str, object]:
    value = round(pace.value, 2)
    return {"kind": pace.kind, "value": value, "limit": pace.limit, "jobs": pace.jobs}


def _product_line(p: ProductPace, machine: bool = False) -> str:
    """``books: 800 calls, first to last 7m09s, plan 7m05s (estimate ÷ actual 0.99); 7 full
    windows with work ready, at 99% of 100``; ``machine``: the machine, not Zoho, set it."""
    line = f"{p.product}: {p.calls} calls, first to last {_duration(p.seconds)}"
    ratio = p.estimate_ratio
    if p.planned_seconds is not None and ratio is not None:
        why = ": paced by this machine, not by Zoho" if machine else ""
        line += f", plan {_duration(p.planned_seconds)} (estimate ÷ actual {ratio:.2f}{why})"
    fill = p.fill
    if fill is not None:
        line += f"; {p.windows} full windows with work ready, at {fill:.0%} of {PER_MINUTE_CAP}"
    return line


def write_report(run_dir: Path, report: RunReport) -> Path:
    """Write ``report.json`` into the run directory (atomically) and return its path."""
    path = Path(run_dir) / REPORT_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2))
    tmp.chmod(0o600)  # beside the run store, as private as it is
    tmp.replace(path)
    return path


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def write_dead_letters(run_dir: Path, letters: Iterable[DeadLetter]) -> Path:
    """``dead_letters.jsonl``: one refused record a line, with its source row and Zoho's word,
    each through the scrubber; ``letters`` is consumed as it comes (a stream from the store)."""
    path = run_dir / DEAD_LETTER_FILE
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "wb") as out:
        for d in letters:
            line = scrub_data(
                {
                    "step": d.step,
                    "line": d.row_no,
                    "key": d.source_key,
                    "code": d.code,
                    "message": d.message,
                    "row": d.row,
                }
            )
            out.write(orjson.dumps(line) + b"\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path
