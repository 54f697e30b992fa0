"""The run: execute a manifest's plan against Zoho exactly once, at the quota ceiling.

Shape (a resume runs the same code on an existing run directory)::

    export Zoho sources once (RUN_DIR/exports) → open/create the run store → recover
    in-flight batches (verify them) → run the steps, each as soon as the steps it looks up
    are done, their batches concurrently within the quotas → dead-letter file and report

Every batch goes ``pending → in_flight`` (committed before its first request) ``→ done``
with its id cross-reference rows and dead letters in one transaction. A batch that may have
landed before a crash or a lost answer is *verified* before it is sent again: CRM upserts
are resent (idempotent on their key); CRM inserts first look their keys up (COQL); a Bulk
Write job is polled by its saved id, and rows resent without one go as an upsert on the key;
Books/Inventory creates first look the record up by its key. Pacing, token renewal and
every retry live in ``zmigrate.client`` (one policy, ``zmigrate.retry``); the engine only
verifies and resends a write the transport reports ``Unconfirmed``, within the same cap.
What to do with a failed batch or a refused record is decided by ``zmigrate.outcomes``.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import os
import random
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from zmigrate import quotas, schema
from zmigrate.auth import Credentials
from zmigrate.checkpoint import (
    AsyncRunStore,
    Batch,
    DeadLetter,
    RunStatus,
    RunStore,
    StepSpec,
    hash_bytes,
    hash_file,
)
from zmigrate.client import Limits, Zoho, open_zoho
from zmigrate.client.bulk import zip_csv
from zmigrate.client.crm import HEAVY_WRITE_OVER, coql_literal
from zmigrate.client.finance import FinanceClient, resource_keys
from zmigrate.client.http import Attempt
from zmigrate.client.models import RecordOutcome
from zmigrate.clock import Clock
from zmigrate.errors import (
    ConfigError,
    RequestRejected,
    StoreError,
    Unconfirmed,
    ZmigrateError,
    ZohoError,
)
from zmigrate.manifest import Manifest, OnDuplicateKey, SourceSpec, Step, load_manifest
from zmigrate.mapping import MappingError, map_record
from zmigrate.outcomes import (
    FINANCE_DUPLICATE_CODES,
    Again,
    Claim,
    Landed,
    Pause,
    Reject,
    Stop,
    Verdict,
    chunked,
    decide,
    ready_steps,
    record_outcome,
    split_shared,
)
from zmigrate.planner import Plan, choose_method, plan
from zmigrate.progress import Progress
from zmigrate.report import (
    REPORT_FILE,
    ProductSpend,
    RunReport,
    StepReport,
    write_dead_letters,
    write_report,
)
from zmigrate.retry import RetryPolicy
from zmigrate.sandbox import Sandbox, SandboxConfig, start_sandbox
from zmigrate.scrub import register
from zmigrate.sources import (
    KEY_SEPARATOR,
    KeyCollision,
    SourceRecord,
    file_source,
    iter_records,
    read_columns,
    row_key,
    scan,
)

T = TypeVar("T")

EXPORTS_DIR = "exports"
REHEARSAL_SPEED = 60.0
"""Default clock speed of `zmigrate run --sandbox`: a Zoho minute in a real second."""
SANDBOX_LATENCY_MS = 150.0
"""Latency of the embedded sandbox (Zoho milliseconds): a rehearsal paces like real Zoho."""
INTERRUPT_GRACE = 2.0
"""Real seconds that calls in flight get to answer after Ctrl-C before they are cancelled."""
AGAIN_ROUNDS = 3
"""Times a record Zoho left unprocessed (not refused) is sent again before it is given up."""


# --- per-step accounting --------------------------------------------------------------------


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


_STEP_TALLY: ContextVar[Tally | None] = ContextVar("zmigrate_step_tally", default=None)


class _Spend:
    """Charges every attempt (retries included) to its product in the store, and to the step
    task that sent it: Zoho's own counters are per product, the report is per step. Exports
    run before the store exists: their counts wait here until it does."""

    def __init__(self) -> None:
        self.store: RunStore | None = None
        self.waiting: list[tuple[str, int]] = []

    def observe(self, attempt: Attempt) -> None:
        if self.store is None:
            self.waiting.append((attempt.product, attempt.credits))
        else:
            self.store.spend(attempt.product, 1, attempt.credits)
        tally = _STEP_TALLY.get()
        if tally is not None:
            tally.add(attempt.started, attempt.ended, attempt.credits)

    def attach(self, store: RunStore) -> None:
        self.store = store
        for product, credits in self.waiting:
            store.spend(product, 1, credits)
        self.waiting.clear()


# --- preparing a run ------------------------------------------------------------------------


def limits_for(manifest: Manifest) -> Limits:
    """The client's quota settings from the manifest's [target]."""
    t = manifest.target
    return Limits(
        books_plan=t.books_plan,
        inventory_plan=t.inventory_plan,
        crm_edition=t.crm_edition,
        crm_users=t.crm_users,
    )


def step_specs(local: Manifest, the_plan: Plan) -> list[StepSpec]:
    """How the run store cuts each step into batches, from the plan (dependency order).

    A step writing a file is one batch: the file is written whole, then renamed into place.
    """
    specs = []
    for sp in the_plan.steps:
        step = local.step(sp.name)
        common = {
            "name": sp.name,
            "total_rows": sp.records,
            "key_field": ",".join(step.key),
            "planned_requests": sp.requests,
            "planned_credits": sp.credits,
        }
        if step.target.is_file or sp.write is None:
            spec = StepSpec(
                product="file",
                module=step.target.text.partition(":")[2].strip(),
                method="local",
                batch_size=max(1, sp.records),
                **common,  # type: ignore[arg-type]
            )
        else:
            spec = StepSpec(
                product=step.target.product,
                module=step.target.module or "",
                method=sp.write.method,
                batch_size=max(1, sp.write.batch_size),
                **common,  # type: ignore[arg-type]
            )
        specs.append(spec)
    return specs


def source_hashes(manifest: Manifest) -> dict[str, str]:
    """Hash of every source file (a resume refuses sources that changed)."""
    return {
        str(s.source.path): hash_file(s.source.path)
        for s in manifest.steps
        if s.source.is_file and s.source.path is not None
    }


def open_store(
    manifest: Manifest, local: Manifest, run_dir: Path, *, resume: bool
) -> tuple[RunStore, Plan]:
    """Create the run store for a new run, or open an existing one (refusing changed inputs).

    ``local`` is ``manifest`` with every Zoho source replaced by its export in the run
    directory: batches are cut from the records actually exported, and the plan's figures
    (what the report compares against) are priced on them.
    """
    the_plan = plan(manifest, counts=scan(local.steps))
    manifest_hash = hash_bytes(manifest.path.read_bytes())
    hashes = source_hashes(manifest)
    if not resume:
        store = RunStore.create(
            run_dir,
            manifest_path=str(manifest.path),
            manifest_hash=manifest_hash,
            source_hashes=hashes,
            plan=the_plan.to_dict(),
            steps=step_specs(local, the_plan),
        )
        return store, the_plan
    store = RunStore.open(run_dir)
    changes = store.changed_inputs(manifest_hash, hashes)
    if changes:
        store.close()
        raise StoreError(
            f"the inputs of the run in {run_dir} changed since it started: "
            + "; ".join(changes)
            + f". Restore them, or re-plan what is left with `zmigrate resume {run_dir} --force`"
        )
    return store, the_plan


def plan_for_run(manifest: Manifest, run_dir: Path) -> tuple[Plan, list[StepSpec]]:
    """The plan and batch cut of ``manifest`` for ``run_dir``, reading its exports (no network).

    What ``open_store`` writes for a new run; ``resume --force`` re-cuts with it.
    """
    local = exported_manifest(manifest, run_dir)
    missing = [s.name for s in local.steps if s.source.kind == "zoho"]
    if missing:
        raise StoreError(f"run {run_dir} has no export for step(s) {missing}; run them first")
    the_plan = plan(manifest, counts=scan(local.steps))
    return the_plan, step_specs(local, the_plan)


def export_path(run_dir: Path, step: str) -> Path:
    return run_dir / EXPORTS_DIR / f"{step}.csv"


def exported_manifest(manifest: Manifest, run_dir: Path) -> Manifest:
    """``manifest`` reading each Zoho source from its export in ``run_dir``, where one exists."""
    steps = []
    for step in manifest.steps:
        path = export_path(run_dir, step.name)
        if step.source.kind == "zoho" and path.exists():
            step = dataclasses.replace(step, source=file_source(path))
        steps.append(step)
    return dataclasses.replace(manifest, steps=tuple(steps))


async def export_sources(
    manifest: Manifest, zoho: Zoho, run_dir: Path, tallies: Mapping[str, Tally], progress: Progress
) -> Manifest:
    """Export every Zoho source not yet exported to ``RUN_DIR/exports/<step>.csv``.

    Exports are a snapshot taken once, at the start of the run: a resume reads the same
    file, so batches keep their rows. CRM uses Bulk Read or GET pages (page_token, never
    stopping at 2,000) as the planner chooses; Books/Inventory their paginated lists.
    """
    for step in manifest.steps:
        src, path = step.source, export_path(run_dir, step.name)
        if src.kind != "zoho" or path.exists():
            continue
        _STEP_TALLY.set(tallies[step.name])
        fields = list(dict.fromkeys(src.fields or step.columns or _all_fields(src)))
        records = src.records or 0
        if src.product == "crm":  # the real size decides GET pages vs Bulk Read, as in the plan
            records = await _crm_count(zoho, src.module or "")
        read = choose_method(
            "read", src.product or "", records, step.method, manifest.target, len(fields)
        )
        progress.note(f"{step.name}: exporting {src.describe()} ({read.method})")
        rows = _export_rows(zoho, src.product or "", src.module or "", fields, read.method)
        count = await _write_csv(path, fields, rows)
        progress.note(f"{step.name}: exported {count} records to {path}")
    _STEP_TALLY.set(None)
    return exported_manifest(manifest, run_dir)


async def _crm_count(zoho: Zoho, module: str) -> int:
    """Records in a CRM module (``GET /{module}/actions/count``, 1 credit)."""
    await zoho.tokens.token()  # the API host is the token's api_domain
    url = f"{zoho.tokens.api_url}{zoho.crm.base}/{module}/actions/count"
    resp = await zoho.transport.request(
        zoho.channels["crm"], "GET", url, credits=quotas.CREDITS_METADATA
    )
    body = resp.body if isinstance(resp.body, dict) else {}
    return int(body.get("count") or 0)


def _all_fields(src: SourceSpec) -> list[str]:
    """Every field of the exported module (a backup that names none takes them all)."""
    mod = schema.module(src.product or "", src.module or "")
    return [f.api_name for f in mod.fields if f.data_type != "subform"] if mod else []


async def _export_rows(
    zoho: Zoho, product: str, module: str, fields: list[str], method: str
) -> AsyncIterator[Mapping[str, Any]]:
    if product != "crm":
        client = zoho.books if product == "books" else zoho.inventory
        async for record in client.iter_all(module):
            yield record
    elif method == "bulk_read":
        async for page in zoho.crm.bulk_read(module, [f for f in fields if f != "id"]):
            for row in page:
                yield row
    else:
        async for record in zoho.crm.iter_records(module, [f for f in fields if f != "id"]):
            yield record


async def _write_csv(path: Path, fields: list[str], rows: AsyncIterator[Mapping[str, Any]]) -> int:
    """Stream ``rows`` into a CSV of ``fields`` (a lookup is its id; Bulk Read's ``Id`` is
    ``id``), written beside and renamed into place so a half export is never read."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    count = 0
    with open(tmp, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(fields)
        async for row in rows:
            folded = {str(k).lower(): v for k, v in row.items()}
            writer.writerow([_csv_cell(folded.get(f.lower())) for f in fields])
            count += 1
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return count


def _csv_cell(value: Any) -> str:
    value = _bulk_cell(value)
    return "" if value is None else str(value)


def write_file(step: Step, items: Sequence[_Item]) -> list[Verdict]:
    """A step whose target is a file: every mapped record into one CSV, renamed into place."""
    path = step.target.path
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    header = list(dict.fromkeys(k for i in items for k in i.payload))
    if not header:  # no records: the columns they would have had
        mapped = [f.target for f in step.fields] + [lk.target for lk in step.lookups]
        header = mapped or read_columns(step.source, step.name)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for item in items:
            writer.writerow([_csv_cell(item.payload.get(h)) for h in header])
    tmp.replace(path)
    return [Landed(f"{path.name}:{n + 2}", "written") for n in range(len(items))]


def default_run_dir(manifest_path: str | Path, now: float) -> Path:
    """``runs/<manifest>-<UTC time>`` under the current directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return Path("runs") / f"{Path(manifest_path).stem}-{stamp}"


# --- the engine -------------------------------------------------------------------------------


@dataclass
class _Item:
    """One target record in a batch: its index in the step, its source, its payload."""

    row_no: int
    source: SourceRecord
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The source key (a step with none, e.g. a backup to a file, keys rows by number)."""
        return self.source.key or f"#{self.row_no}"


def _dead(step: str, batch_no: int, item: _Item, code: str, message: str) -> DeadLetter:
    rows = item.source.rows
    row: dict[str, Any] = dict(rows[0]) if len(rows) == 1 else {"rows": [dict(r) for r in rows]}
    return DeadLetter(step, item.source.line, item.key, row, code, message, batch_no)


def _bulk_cell(value: Any) -> Any:
    """A CRM payload value as a Bulk Write CSV cell (a lookup ``{"id": x}`` is its id)."""
    return value.get("id") if isinstance(value, Mapping) else value


class Engine:
    """Runs the steps of one run directory; see the module docstring for the protocol."""

    def __init__(
        self,
        manifest: Manifest,
        store: AsyncRunStore,
        zoho: Zoho,
        clock: Clock,
        progress: Progress,
        tallies: Mapping[str, Tally],
        collisions: Mapping[str, Sequence[KeyCollision]] | None = None,
    ) -> None:
        self.manifest, self.store, self.zoho, self.clock = manifest, store, zoho, clock
        self.progress = progress
        self.specs = {s.name: s for s in store.store.steps()}
        self.tallies = {name: tallies.get(name) or Tally() for name in self.specs}
        self.landed = dict.fromkeys(self.specs, 0)
        self.failed = dict.fromkeys(self.specs, 0)
        self.merged = dict.fromkeys(self.specs, 0)
        self.collisions = {
            name: {c.record: c for c in found} for name, found in (collisions or {}).items()
        }
        """Records (by index) whose target key an earlier record has, per step (the plan's)."""
        self._id_locks = {name: asyncio.Lock() for name in self.specs}
        """One batch of a step at a time checks its ids against the store and commits them."""
        self.pauses: dict[str, Pause] = {}
        self.stop: Stop | None = None
        self.interrupted = False
        self.completed: set[str] = set()
        self._tasks: dict[str, asyncio.Task[bool]] = {}
        self._jobs: dict[tuple[str, int], str] = {}
        """Bulk jobs created by this process, by (step, batch): poll them, never resubmit."""

    # ---- control ----------------------------------------------------------------------------

    def halted(self, product: str) -> bool:
        """No new batch of ``product`` may start (interrupted, stopped, or its quota paused)."""
        return self.interrupted or self.stop is not None or product in self.pauses

    def interrupt(self) -> None:
        """Ctrl-C: start nothing new; calls already sent get INTERRUPT_GRACE real seconds to
        answer (fewer batches to verify on resume), then whatever still waits is cancelled
        (a throttling wait, a bulk job's polls): the store knows what was in flight."""
        if self.interrupted:
            return
        self.interrupted = True
        self.progress.note("interrupted: stopping; in-flight batches are verified on resume")
        asyncio.get_running_loop().call_later(INTERRUPT_GRACE, self._cancel_steps)

    def _cancel_steps(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    def _pause(self, product: str, action: Pause) -> None:
        if product not in self.pauses:
            self.pauses[product] = action
            when = action.resets_at
            at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when)) if when else "later"
            self.progress.note(f"{product}: quota spent, pausing until {at}: {action.reason}")

    def _stop(self, action: Stop) -> None:
        if self.stop is None:
            self.stop = action
            self.progress.note(f"stopping: {action.reason}")

    # ---- steps ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Start each step once its dependencies are complete; wait for all of them."""
        order = [s.name for s in self.manifest.ordered()]
        deps = {s.name: s.depends_on for s in self.manifest.steps}
        summary = await self.store.summary()
        settled = {s.step: s.settled for s in summary.steps}
        for name in order:
            if not await self.store.pending_batches(name):
                self.completed.add(name)
                if self.specs[name].product == "file" and not self.specs[name].total_rows:
                    write_file(self.manifest.step(name), [])  # nothing exported: empty file
        while True:
            if not self.interrupted and self.stop is None:
                started = set(self._tasks) | self.completed
                for name in ready_steps(order, deps, self.completed, started):
                    if self.specs[name].product in self.pauses:
                        continue
                    self._tasks[name] = asyncio.create_task(
                        self._run_step(name, settled.get(name, 0)), name=f"step {name}"
                    )
            running = [t for t in self._tasks.values() if not t.done()]
            if not running:
                break
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            done = [t for t in self._tasks.values() if t.done() and not t.cancelled()]
            failed = [error for t in done if (error := t.exception()) is not None]
            if failed:  # stop the other steps and retrieve their errors too (else asyncio
                self._cancel_steps()  # prints each: "Task exception was never retrieved")
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
                raise failed[0]
            self.completed |= {name for name, t in self._tasks.items() if t in done and t.result()}

    async def _run_step(self, name: str, already: int) -> bool:
        """All pending batches of one step; True when none is left."""
        _STEP_TALLY.set(self.tallies[name])
        spec, step = self.specs[name], self.manifest.step(name)
        self.progress.start_step(name, spec.total_rows, already)
        pending = await self.store.pending_batches(name)
        workers = self._workers(spec)
        queue: asyncio.Queue[tuple[Batch, list[_Item]] | None] = asyncio.Queue(workers * 2)

        async def work() -> None:
            while (got := await queue.get()) is not None:
                await self._batch(step, spec, *got)

        async def feed() -> None:
            await self._produce(step, spec, pending, queue)
            for _ in range(workers):
                await queue.put(None)

        # one task list: a worker that fails takes the feeder down too (no put blocks forever)
        tasks = [asyncio.create_task(feed())] + [
            asyncio.create_task(work()) for _ in range(workers)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # retrieve every exception
        left = await self.store.pending_batches(name)
        self.progress.finish_step(name, self.landed[name], self.failed[name])
        return not left

    def _workers(self, spec: StepSpec) -> int:
        if spec.product == "file":
            return 1
        if spec.product == "crm":
            edition = self.zoho.limits.crm()
            return quotas.CRM_BULK_JOBS_AT_ONCE if spec.method == "bulk" else edition.concurrency
        return self.zoho.channels[spec.product].gate.max_limit

    async def _produce(
        self,
        step: Step,
        spec: StepSpec,
        pending: Sequence[Batch],
        queue: asyncio.Queue[tuple[Batch, list[_Item]] | None],
    ) -> None:
        """Read the source once, handing each pending batch its records in order."""
        if not pending:
            return
        batches = iter(pending)
        current = next(batches)
        items: list[_Item] = []
        for row_no, record in enumerate(iter_records(step)):
            if self.halted(spec.product):
                return
            while current is not None and row_no >= current.last_row:
                await queue.put((current, items))
                items, current = [], next(batches, None)
            if current is None:
                return
            if row_no >= current.first_row:
                items.append(_Item(row_no, record))
        if current is not None:
            await queue.put((current, items))

    # ---- one batch --------------------------------------------------------------------------

    async def _batch(self, step: Step, spec: StepSpec, batch: Batch, items: list[_Item]) -> None:
        if self.halted(spec.product):
            return
        settled = await self.store.settled_keys(step.name, [i.key for i in items])
        todo = [i for i in items if i.key not in settled]
        dead: list[DeadLetter] = []
        xref: list[tuple[str, str, int | None]] = []
        if step.on_duplicate_key is OnDuplicateKey.DEAD_LETTER:
            todo = self._drop_repeated_keys(step, batch, todo, dead)
        todo = await self._map(step, batch, todo, dead)
        retried = batch.verify
        unconfirmed = 0  # sends of writes that may have landed: verified, then resent
        rounds = 0
        while todo:
            if self.halted(spec.product):
                return
            await self.store.mark_in_flight(step.name, batch.batch_no)
            try:
                verdicts = await self._send(step, spec, batch, todo, retried)
            except Unconfirmed as exc:
                unconfirmed += exc.sends
                if unconfirmed < self.zoho.transport.policy.attempts:
                    self.progress.note(f"{step.name} batch {batch.batch_no}: {exc}")
                    retried = True  # look the keys up before sending again
                    continue
                why = f"a write stayed unconfirmed after {unconfirmed} sends: {exc.cause}"
                self._stop(Stop(why))
                return
            except ZohoError as exc:
                action = decide(exc)
                if isinstance(action, Pause):
                    self._pause(spec.product, action)
                elif isinstance(action, Stop):
                    self._stop(action)
                else:
                    dead += [
                        _dead(step.name, batch.batch_no, i, action.code, action.message)
                        for i in todo
                    ]
                    break
                return
            except ZmigrateError as exc:  # credentials refused, organization missing, ...
                self._stop(Stop(str(exc), usage=exc.exit_code == 2))
                return
            again: list[_Item] = []
            for item, verdict in zip(todo, verdicts, strict=True):
                if isinstance(verdict, Landed):
                    xref.append((item.key, verdict.zoho_id, item.source.line))
                elif isinstance(verdict, Reject):
                    dead.append(
                        _dead(step.name, batch.batch_no, item, verdict.code, verdict.message)
                    )
                else:
                    again.append(item)
            todo, retried = again, True
            rounds += 1
            if todo and rounds > AGAIN_ROUNDS:
                why = f"Zoho left the record unprocessed {rounds} times"
                dead += [_dead(step.name, batch.batch_no, i, "UNPROCESSED", why) for i in todo]
                break
        async with self._id_locks[step.name]:
            xref, landed, merged = await self._distinct_ids(step, batch, items, xref, dead)
            await self.store.mark_done(step.name, batch.batch_no, xref, dead)
        self.landed[step.name] += landed
        self.merged[step.name] += merged
        self.failed[step.name] += len(dead)
        self.progress.advance(step.name, len(xref) + len(dead))
        self.progress.quota(self.spend_now())

    def _drop_repeated_keys(
        self, step: Step, batch: Batch, items: list[_Item], dead: list[DeadLetter]
    ) -> list[_Item]:
        """``on_duplicate_key = "dead-letter"``: a repeated key's later records stay unsent."""
        repeated = self.collisions.get(step.name, {})
        keep = []
        for item in items:
            c = repeated.get(item.row_no)
            if c is None:
                keep.append(item)
                continue
            why = (
                f"{c.field} '{c.value.replace(KEY_SEPARATOR, ', ')}' is also on line "
                f"{c.first_line} (as Zoho compares it); on_duplicate_key = 'dead-letter' sends "
                "only the first row with a key"
            )
            dead.append(_dead(step.name, batch.batch_no, item, "DUPLICATE_KEY", why))
        return keep

    async def _distinct_ids(
        self,
        step: Step,
        batch: Batch,
        items: list[_Item],
        xref: list[tuple[str, str, int | None]],
        dead: list[DeadLetter],
    ) -> tuple[list[tuple[str, str, int | None]], int, int]:
        """Count records by distinct Zoho ids: ``(xref to commit, new ids, merged)``.

        A record answered with an id an earlier record of the step holds is one Zoho record
        with it: merged when the step says ``on_duplicate_key = "merge"``, else dead-lettered
        naming the earlier row (never a second "landed").
        """
        owners = await self.store.id_owners(step.name, [z for _, z, _ in xref])
        firsts, shared = split_shared([Claim(*x) for x in xref], owners)
        keep = [(c.key, c.zoho_id, c.line) for c in firsts]
        landed = sum(1 for c in firsts if c.zoho_id not in owners)
        if step.on_duplicate_key is OnDuplicateKey.MERGE:
            keep += [(m.claim.key, m.claim.zoho_id, m.claim.line) for m in shared]
            return keep, landed, len(shared)
        by_key = {i.key: i for i in items}
        for s in shared:
            why = (
                f"Zoho answered with id {s.claim.zoho_id}, the record of line {s.earlier_line} "
                f"(key '{s.earlier_key.replace(KEY_SEPARATOR, ', ')}'): both rows went to one "
                f"Zoho record ({', '.join(step.key)} matched it); make the keys differ, or set "
                "on_duplicate_key = 'merge' to accept that"
            )
            dead.append(_dead(step.name, batch.batch_no, by_key[s.claim.key], "SAME_RECORD", why))
        return keep, landed, 0

    async def _map(
        self, step: Step, batch: Batch, items: list[_Item], dead: list[DeadLetter]
    ) -> list[_Item]:
        """Payloads for ``items`` (lookups read from the store); unmappable ones dead-lettered."""
        ids: dict[tuple[str, str], str] = {}
        for lk in step.lookups:
            keys = {row_key(lk.columns, row) for item in items for row in item.source.rows}
            found = await self.store.lookup_many(lk.step, keys)
            ids.update(((lk.step, k), v) for k, v in found.items())

        def resolve(step_name: str, key: str) -> str | None:
            return ids.get((step_name, key))

        ready = []
        for item in items:
            try:
                item.payload = map_record(step, item.source.rows, resolve)
            except MappingError as exc:
                dead.append(_dead(step.name, batch.batch_no, item, "MAPPING", str(exc)))
                continue
            ready.append(item)
        return ready

    async def _send(
        self, step: Step, spec: StepSpec, batch: Batch, items: list[_Item], retried: bool
    ) -> list[Verdict]:
        if spec.product == "file":
            return write_file(step, items)
        if spec.product == "crm":
            if spec.method == "bulk":
                return await self._crm_bulk(step, batch, items, retried)
            return await self._crm_rest(step, items, retried)
        return [await self._finance_one(step, item, retried) for item in items]

    # ---- CRM --------------------------------------------------------------------------------

    async def _crm_rest(self, step: Step, items: list[_Item], retried: bool) -> list[Verdict]:
        crm, module = self.zoho.crm, step.target.module or ""
        if step.operation == "upsert":
            outcomes = await crm.upsert(module, [i.payload for i in items], step.key)
            return [record_outcome(o, retried=retried) for o in outcomes]
        verdicts: list[Verdict | None] = [None] * len(items)
        send = list(range(len(items)))
        if step.operation == "update" or retried:
            existing = await self._crm_existing(step, items)
            send = []
            for n, item in enumerate(items):
                found = existing.get(self._key_value(step, item))
                if step.operation == "update":
                    if found is None:
                        why = f"no {module} record has this {', '.join(step.key)}"
                        verdicts[n] = Reject("NOT_FOUND", why)
                        continue
                    item.payload = {**item.payload, "id": found}
                    send.append(n)
                elif found is not None:
                    verdicts[n] = Landed(found, "found")
                else:
                    send.append(n)
        for part in chunked(send, quotas.CRM_WRITE_MAX):
            records = [items[n].payload for n in part]
            if step.operation == "update":
                outcomes = await crm.update(module, records)
            else:
                outcomes = await crm.insert(module, records)
            for n, o in zip(part, outcomes, strict=True):
                verdicts[n] = record_outcome(o, retried=retried)
        return [v if v is not None else Again("not sent") for v in verdicts]

    def _key_value(self, step: Step, item: _Item) -> str:
        return "\x1f".join(str(_bulk_cell(item.payload.get(k, ""))) for k in step.key)

    async def _crm_existing(self, step: Step, items: list[_Item]) -> dict[str, str]:
        """Ids of records that already hold these items' keys (COQL, 1 credit per 200)."""
        module, first = step.target.module or "", step.key[0]
        values = sorted({str(_bulk_cell(i.payload.get(first))) for i in items} - {"", "None"})
        found: dict[str, str] = {}
        for part in chunked(values, 50):
            fields = ", ".join(dict.fromkeys(["id", *step.key]))
            where = f"{first} in ({', '.join(coql_literal(v) for v in part)})"
            page = await self.zoho.crm.coql(f"select {fields} from {module} where {where}")
            for rec in page.records:
                key = "\x1f".join(str(_bulk_cell(rec.get(k, ""))) for k in step.key)
                found[key] = str(rec["id"])
        return found

    async def _crm_bulk(
        self, step: Step, batch: Batch, items: list[_Item], retried: bool
    ) -> list[Verdict]:
        """One Bulk Write job: upload, create (job id saved before polling), wait, row outcomes.

        A job saved by an earlier attempt or process is polled, not submitted again. Rows sent
        again without a known job (its acknowledgement was lost, or Zoho no longer knows it)
        go as an upsert on the key: whatever the lost job did, they land once.
        """
        crm = self.zoho.crm
        job_id = self._jobs.get((step.name, batch.batch_no), batch.job_id)
        job = None
        if job_id is not None:
            try:
                job = await crm.wait_write(job_id)
            except RequestRejected:
                self.progress.note(f"{step.name}: Zoho no longer knows bulk job {job_id}")
                retried = True
        if job is None:
            operation = "upsert" if retried and step.operation == "insert" else step.operation
            job_id = await self._submit_bulk(step, batch, items, operation)
            job = await crm.wait_write(job_id)
        if job.failed and not job.download_url:
            return [Reject("BULK_JOB_FAILED", f"Bulk Write job {job.id} failed") for _ in items]
        outcomes = await crm.write_result(job)
        if len(outcomes) != len(items):
            return [Again(f"bulk result had {len(outcomes)} rows for {len(items)}")] * len(items)
        return [record_outcome(o, retried=retried) for o in outcomes]

    async def _submit_bulk(
        self, step: Step, batch: Batch, items: list[_Item], operation: str
    ) -> str:
        """Upload the batch as a zipped CSV and start its job; the job id is saved at once."""
        crm, module = self.zoho.crm, step.target.module or ""
        header = list(dict.fromkeys(k for i in items for k in i.payload))
        rows = [{k: _bulk_cell(v) for k, v in i.payload.items()} for i in items]
        mod = schema.module("crm", module)
        mappings = []
        for index, name in enumerate(header):
            mapping: dict[str, Any] = {"api_name": name, "index": index}
            fld = mod.field(name) if mod else None
            if fld is not None and fld.data_type == "lookup":
                mapping["find_by"] = "id"
            mappings.append(mapping)
        file_id = await crm.upload(zip_csv(header, rows))
        find_by = step.key[0] if operation in ("upsert", "update") else None
        job_id = await crm.create_write_job(module, operation, file_id, mappings, find_by)
        self._jobs[(step.name, batch.batch_no)] = job_id
        await self.store.set_bulk_job(step.name, batch.batch_no, job_id, file_id)
        return job_id

    # ---- Books / Inventory ------------------------------------------------------------------

    async def _finance_one(self, step: Step, item: _Item, retried: bool) -> Verdict:
        """One record, one request: create; an existing key is updated (upsert) or refused.

        On a retried record (its answer was lost, or a crash left it in flight) the key is
        looked up first: a create that landed is adopted, never made twice.
        """
        client = self.zoho.books if step.target.product == "books" else self.zoho.inventory
        module = step.target.module or ""
        key = step.key[0] if len(step.key) == 1 else None
        value = item.payload.get(key) if key else None
        if step.operation == "update" or (retried and value not in (None, "")):
            found = await client.find_by(module, key, value) if key and value else None
            if found is not None and step.operation == "insert":
                return Landed(str(found.get(_id_field(step, module))), "found")
            if found is not None or step.operation == "update":
                return await self._finance_update(step, client, key, item, found)
        outcome = await client.create(module, item.payload, unique=key)
        if outcome.ok and outcome.id:
            return Landed(outcome.id, outcome.action or "insert")
        if outcome.code in FINANCE_DUPLICATE_CODES and step.operation == "upsert" and key:
            found = await client.find_by(module, key, value)
            return await self._finance_update(step, client, key, item, found)
        return _finance_reject(outcome)

    async def _finance_update(
        self,
        step: Step,
        client: FinanceClient,
        key: str | None,
        item: _Item,
        found: Mapping[str, Any] | None,
    ) -> Verdict:
        """Update the record ``found`` by the item's key (upsert's second half, update)."""
        module = step.target.module or ""
        if key is None:
            return Reject("NO_KEY", "an update needs a step key of one field")
        if found is None:
            return Reject("NOT_FOUND", f"no {module} record with {key} = {item.payload.get(key)!r}")
        record_id = str(found.get(_id_field(step, module)))
        outcome = await client.update(module, record_id, item.payload)
        if outcome.ok and outcome.id:
            return Landed(outcome.id, "update")
        return _finance_reject(outcome)

    # ---- figures ----------------------------------------------------------------------------

    def spend_now(self) -> dict[str, tuple[int, int]]:
        usage = self.zoho.usage()
        return {
            p: (int(u["requests"]), int(u["credits"]))  # type: ignore[call-overload]
            for p, u in usage.items()
            if u["requests"]
        }


def _id_field(step: Step, module: str) -> str:
    return resource_keys(step.target.product, module)[1]


def _finance_reject(outcome: RecordOutcome) -> Reject:
    return Reject(str(outcome.code if outcome.code is not None else "REJECTED"), outcome.message)


# --- the whole run ----------------------------------------------------------------------------


async def execute(
    manifest_path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str],
    credentials: Credentials,
    clock: Clock,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    policy: RetryPolicy | None = None,
    interrupt: asyncio.Event | None = None,
    seed: int | None = None,
) -> RunReport:
    """Run (or, with ``resume``, continue) a migration; returns the report it also writes.

    ``interrupt`` set (Ctrl-C) stops the run cleanly: nothing new starts, in-flight work is
    cancelled and verified on resume. Raises UsageError/StoreError/ConfigError before any
    record is sent when the manifest, run directory or credentials are wrong.
    """
    real0, zoho0 = time.monotonic(), clock.now()
    register(credentials.client_secret, credentials.refresh_token)
    manifest = load_manifest(manifest_path)
    org = manifest.target.books_organization_id or manifest.target.inventory_organization_id
    if credentials.organization_id is None and org:
        credentials = dataclasses.replace(credentials, organization_id=org)
    check_organization(manifest, credentials)
    run_path = Path(run_dir)
    if not resume and RunStore.exists(run_path):
        raise StoreError(
            f"{run_path} already holds a run; use `zmigrate resume {run_path}` or a new --run-dir"
        )
    progress = progress or Progress()
    tallies = {s.name: Tally() for s in manifest.steps}
    if resume:
        carry_over(run_path, tallies)
    spend = _Spend()
    rng = random.Random(seed)
    async with open_zoho(credentials, clock, limits_for(manifest), policy, rng=rng) as zoho:
        zoho.transport.observers.append(spend.observe)
        try:
            local = await export_sources(manifest, zoho, run_path, tallies, progress)
            store, the_plan = open_store(manifest, local, run_path, resume=resume)
        except BaseException:
            progress.close()
            raise
        spend.attach(store)
        astore = AsyncRunStore(store)
        try:
            await astore.recover()
            await astore.set_status(RunStatus.RUNNING)
            collisions = {s.name: s.collisions for s in the_plan.steps}
            engine = Engine(local, astore, zoho, clock, progress, tallies, collisions)
            watcher = asyncio.create_task(_watch(interrupt, engine)) if interrupt else None
            try:
                await engine.run()
            finally:
                if watcher is not None:
                    watcher.cancel()
            progress.quota(engine.spend_now())
            return await _finish(engine, astore, manifest, run_path, clock, zoho0, real0)
        finally:
            progress.close()
            await astore.aclose()


def check_organization(manifest: Manifest, credentials: Credentials) -> None:
    """Books and Inventory need an organization id on every call: refuse before the first one
    (a CRM step would otherwise have been sent before the first Books call found it missing)."""
    products = {s.target.product for s in manifest.steps}
    products |= {s.source.product or "" for s in manifest.steps if s.source.kind == "zoho"}
    needs = sorted(p for p in products if p in ("books", "inventory"))
    if needs and not credentials.organization_id:
        raise ConfigError(
            f"{manifest.path.name}: step(s) write to or read from {' and '.join(needs)}, which "
            "need an organization id; set organization_id under [target] in the manifest or "
            "ZOHO_ORGANIZATION_ID (GET /books/v3/organizations lists yours)"
        )


async def _watch(interrupt: asyncio.Event, engine: Engine) -> None:
    await interrupt.wait()
    engine.interrupt()


def _outcome(engine: Engine, failed: int) -> str:
    if engine.interrupted:
        return "interrupted"
    if engine.stop is not None:
        return "usage" if engine.stop.usage else "stopped"
    if engine.pauses:
        return "paused"
    return "failed_records" if failed else "done"


async def _finish(
    engine: Engine,
    store: AsyncRunStore,
    manifest: Manifest,
    run_dir: Path,
    clock: Clock,
    zoho0: float,
    real0: float,
) -> RunReport:
    """Status, pause and dead-letter file into the run directory; the report built and saved."""
    summary = await store.summary()
    dead_file = write_dead_letters(run_dir, store.store.dead_letters())
    steps = []
    for s in summary.steps:
        spec, tally = engine.specs[s.step], engine.tallies[s.step]
        channel = engine.zoho.channels.get(spec.product)
        gate = channel.gate if channel is not None else None
        if channel is not None and spec.method == "rest" and spec.batch_size > HEAVY_WRITE_OVER:
            gate = channel.heavy_gate or gate  # CRM writes of over 10 records: the pool of 10
        concurrency = gate.max_limit if gate is not None else 0
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
                concurrency=concurrency,
            )
        )
    planned = store.store.plan().get("totals", {})  # per product, reads included
    spend = tuple(
        ProductSpend(
            p,
            summary.quota_of(p).requests,
            summary.quota_of(p).credits,
            planned.get(p, {}).get("requests", 0),
            planned.get(p, {}).get("credits", 0),
        )
        for p in sorted((set(summary.quota) | set(planned)) - {"file"})
    )
    failed = sum(s.failed for s in steps)
    outcome = _outcome(engine, failed)
    resets_at = max((p.resets_at or 0.0 for p in engine.pauses.values()), default=0.0) or None
    message = _message(outcome, engine, run_dir, failed, dead_file, resets_at)
    if outcome == "paused":
        reason = "; ".join(f"{p}: {a.reason}" for p, a in engine.pauses.items())
        await store.pause(resets_at or clock.now(), reason)
    else:
        status = {
            "done": RunStatus.DONE,
            "failed_records": RunStatus.DONE,
            "interrupted": RunStatus.INTERRUPTED,
        }
        await store.set_status(status.get(outcome, RunStatus.FAILED))
        if engine.stop is not None:
            await store.record_error(engine.stop.reason)
    report = RunReport(
        run_dir=str(run_dir),
        manifest=str(manifest.path),
        outcome=outcome,
        message=message,
        steps=tuple(steps),
        spend=spend,
        zoho_seconds=clock.now() - zoho0,
        real_seconds=time.monotonic() - real0,
        clock_speed=clock.speed,
        dead_letter_file=str(dead_file),
        resets_at=resets_at,
    )
    write_report(run_dir, report)
    return report


def _message(
    outcome: str,
    engine: Engine,
    run_dir: Path,
    failed: int,
    dead_file: Path,
    resets_at: float | None,
) -> str:
    resume = f"`zmigrate resume {run_dir}`"
    if outcome == "done":
        merged = sum(engine.merged.values())
        note = f" ({merged} merged into another row's record, as declared)" if merged else ""
        return f"every record landed{note}; report in {run_dir / 'report.json'}"
    if outcome == "failed_records":
        return (
            f"{failed} record(s) refused, each in {dead_file} with Zoho's reason; fix them "
            "and migrate them with a manifest over those rows"
        )
    if outcome == "paused":
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(resets_at)) if resets_at else ""
        products = ", ".join(engine.pauses)
        return f"{products} quota spent until {when or 'it resets'}; run {resume} after that"
    if outcome == "interrupted":
        return f"interrupted; run {resume} to continue where it stopped"
    reason = engine.stop.reason if engine.stop else "stopped"
    return f"{reason}; fix the cause, then run {resume}"


# --- entry points for the command line ----------------------------------------------------------


def zoho_credentials(manifest_path: str | os.PathLike[str], env: Mapping[str, str]) -> Credentials:
    """Credentials for a run against Zoho: ``ZOHO_*`` from ``env``, and the manifest's
    organization_id, when it names one, over ``ZOHO_ORGANIZATION_ID`` (DESIGN.md)."""
    credentials = Credentials.from_env(env)
    target = load_manifest(manifest_path).target
    org = target.books_organization_id or target.inventory_organization_id
    return dataclasses.replace(credentials, organization_id=org) if org else credentials


def sandbox_credentials(sandbox: Sandbox) -> Credentials:
    """Credentials pointing at an embedded sandbox (its URLs override the data center's)."""
    c = sandbox.credentials
    return Credentials(
        client_id=c.client_id,
        client_secret=c.client_secret,
        refresh_token=c.refresh_token,
        dc=c.data_center,
        organization_id=c.organization_id,
        accounts_url=sandbox.urls["accounts"],
        api_url=sandbox.urls["api"],
        content_url=sandbox.urls["content"],
    )


async def execute_in_sandbox(
    manifest_path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str],
    *,
    clock_speed: float,
    clock_start: float | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    interrupt: asyncio.Event | None = None,
    **sandbox_options: Any,
) -> RunReport:
    """Rehearse against an embedded sandbox on the manifest's plans, sharing one clock.

    The sandbox keeps its state in ``RUN_DIR/sandbox``, every write durable before it is
    answered, so a resumed rehearsal, even of a run killed with `kill -9`, continues against
    the same records, quotas and clock (moved up to its last committed time; ``clock_start``
    sets it later still: `resume --wait` jumps to a quota's reset).
    """
    manifest = load_manifest(manifest_path)
    t = manifest.target
    clock = Clock(clock_speed, start=clock_start)
    options: dict[str, Any] = {
        "books_plan": t.books_plan,
        "inventory_plan": t.inventory_plan,
        "crm_edition": t.crm_edition,
        "crm_users": t.crm_users,
        "data_center": t.data_center,
        "latency_ms": SANDBOX_LATENCY_MS,
        "state_dir": str(Path(run_dir) / "sandbox"),
        **sandbox_options,
    }
    async with start_sandbox(SandboxConfig(clock_speed=clock_speed, **options), clock) as sb:
        return await execute(
            manifest_path,
            run_dir,
            sandbox_credentials(sb),
            clock,
            resume=resume,
            progress=progress,
            interrupt=interrupt,
        )


def run_interruptible(start: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run ``start(interrupt)`` on a fresh event loop; SIGINT/SIGTERM set ``interrupt``."""

    async def main() -> T:
        interrupt = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt.set)
        try:
            return await start(interrupt)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    return asyncio.run(main())
