"""`zmigrate verify RUN_DIR`: read back what a run landed and compare it with its sources.

Each step's sources are read again as the run read them and mapped as the run mapped them
(``mapping.map_record``, lookups from the run's id cross-reference); each landed record is
read back (``bill`` says how) and compared field by field (``compare``). Chunks are
checkpointed (``ledger``), so a killed verify goes on where it stopped. Nothing is written
to Zoho.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zmigrate import quotas
from zmigrate.checkpoint import LandedRecord, RunStore
from zmigrate.client import Zoho
from zmigrate.client.crm import coql_literal
from zmigrate.manifest import Product, Step
from zmigrate.mapping import MappingError, lookup_keys, map_record
from zmigrate.outcomes import chunked
from zmigrate.rollback.attachments import attachment_parents, is_attachments
from zmigrate.run.exports import crm_count
from zmigrate.run.writers.finance import finance_client
from zmigrate.run_target import FinishedRun, load_run, open_run_zoho
from zmigrate.schema.related import Related
from zmigrate.sources import SourceRecord, iter_records
from zmigrate.sources.attachments import file_store
from zmigrate.verify import readers
from zmigrate.verify.attachments import parent_reads, read_attachments
from zmigrate.verify.bill import (
    COQL_FIELDS,
    COQL_IDS,
    COQL_LIMIT,
    Bill,
    ReadBy,
    StepBill,
    parent_lists,
    price_step,
)
from zmigrate.verify.compare import SKIPPED, diff_record
from zmigrate.verify.ledger import Diff, Ledger, Outcome

FINANCE_CHUNK = 10
"""Books/Inventory records checked (one GET each) between two checkpoints."""

Pair = tuple[LandedRecord, SourceRecord]


@dataclass
class StepResult:
    """One step's records: how many landed, were read back, and what they came to."""

    step: str
    product: str
    module: str
    landed: int
    checked: int = 0
    matched: int = 0
    differing: int = 0
    missing: int = 0
    dead_lettered: int = 0
    read_by: str = ""


@dataclass
class VerifyResult:
    """The whole verify: per step, what it spent, where the diffs are."""

    run_dir: str
    sample: int | None
    steps: list[StepResult]
    spent: dict[str, dict[str, int]] = field(default_factory=dict)
    diffs: str = ""

    @property
    def exit_code(self) -> int:
        """0 when every record read back matches its source; 1 otherwise."""
        return 0 if all(s.differing == 0 and s.missing == 0 for s in self.steps) else 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_dir": self.run_dir,
            "sample": self.sample,
            "steps": [vars(s) for s in self.steps],
            "spent": self.spent,
            "diffs": self.diffs,
            "exit_code": self.exit_code,
        }

    def render(self) -> str:
        head = (
            "step  product/module  landed  checked  matched  differing  missing  "
            "dead-lettered  read by"
        )
        lines = [head]
        for s in self.steps:
            lines.append(
                f"{s.step}  {s.product}/{s.module}  {s.landed}  {s.checked}  {s.matched}  "
                f"{s.differing}  {s.missing}  {s.dead_lettered}  {s.read_by}"
            )
        for product, spent in self.spent.items():
            lines.append(f"{product}: {spent['requests']} requests, {spent['credits']} credits")
        if self.exit_code:
            lines.append(f"differences: field by field in {self.diffs}")
        else:
            lines.append("every record read back matches its source")
        return "\n".join(lines)


def _choose(records: Sequence[LandedRecord], step: str, sample: int | None) -> list[LandedRecord]:
    """One record per Zoho id (the last source record that wrote it: its values are Zoho's),
    all of them or a sample drawn the same way on every resume."""
    by_id: dict[str, LandedRecord] = {}
    for r in records:
        by_id[r.zoho_id] = r
    chosen = list(by_id.values())
    if sample is not None and sample < len(chosen):
        chosen = random.Random(f"verify:{step}").sample(chosen, sample)
    return chosen


def _targets(run: FinishedRun, store: RunStore) -> list[Step]:
    return [s for s in run.manifest.ordered() if not s.target.is_file]


def bill(run_dir: str | os.PathLike[str], sample: int | None = None) -> Bill:
    """What a verify of ``run_dir`` costs (no network)."""
    run = load_run(run_dir, "verify")
    with RunStore.open(run.run_dir, readonly=True) as store:
        return _bill(run, store, sample)


def _bill(run: FinishedRun, store: RunStore, sample: int | None) -> Bill:
    out = []
    for step in _targets(run, store):
        chosen = _choose(store.landed(step.name), step.name, sample)
        if is_attachments(step):
            ids = {r.zoho_id for r in chosen}
            found = attachment_parents(run.local, store, step).items()
            reads = parent_reads([p for z, p in found if z in ids], COQL_IDS, quotas.CRM_PAGE_MAX)
            target = run.manifest.target
            out.append(parent_lists(step.name, Related.ATTACHMENTS, len(chosen), reads, target))
        else:
            out.append(_price(run, step, len(chosen)))
    return Bill(tuple(out))


def _price(
    run: FinishedRun, step: Step, records: int, module_records: int | None = None
) -> StepBill:
    """Reading ``records`` of ``step`` back, the cheapest way (``bill``)."""
    fields = len(_field_names(step))
    product, module = step.target.product, step.target.module or ""
    target = run.manifest.target
    return price_step(
        step.name, product, module, records, fields, target, step.line_items, module_records
    )


def _field_names(step: Step) -> list[str]:
    return sorted({*(f.target for f in step.fields), *(lk.target for lk in step.lookups)})


class Verifier:
    """Reads one run's records back, step after step, chunk after chunk."""

    def __init__(self, run: FinishedRun, store: RunStore, zoho: Zoho, ledger: Ledger) -> None:
        self.run, self.store, self.zoho, self.ledger = run, store, zoho, ledger
        self.read_by = ReadBy.GET
        self.prefetched: dict[str, dict[str, Any]] = {}
        """The step's records read whole (Bulk Read, list pages), by Zoho id."""

    async def step(self, step: Step, chosen: list[LandedRecord]) -> None:
        """Check every chosen record of ``step`` not yet checked, in source order."""
        done = self.ledger.checked(step.name)
        todo = {r.key: r for r in chosen if r.zoho_id not in done}
        self.read_by = await self._way(step, len(todo))
        if not todo:
            return
        self.prefetched = await self._prefetch(step, {r.zoho_id for r in todo.values()})
        crm = step.target.product == Product.CRM
        size = COQL_IDS if crm else FINANCE_CHUNK
        gate = self.zoho.channels[step.target.product].gate.max_limit
        wave_size = min(gate, self.run.manifest.target.edition.sub_concurrency) if crm else 1
        pairs: list[Pair] = []
        wave: list[list[Pair]] = []
        local = self.run.local.step(step.name)
        for row_no, record in enumerate(iter_records(local)):
            landed = todo.get(record.key or f"#{row_no}")
            if landed is None:
                continue
            pairs.append((landed, record))
            if len(pairs) == size:
                wave, pairs = [*wave, pairs], []
            if len(wave) == wave_size:
                await asyncio.gather(*(self._chunk(step, c) for c in wave))
                wave = []
        wave += [pairs] if pairs else []
        await asyncio.gather(*(self._chunk(step, c) for c in wave))

    async def _way(self, step: Step, records: int) -> ReadBy:
        """How ``step`` is read: the way a stopped verify began (kept in the ledger), else the
        cheapest now; a CRM module's real size decides a Bulk Read, as for exports."""
        saved = self.ledger.read_state(step.name)
        if saved is not None:
            return saved.method
        way = _price(self.run, step, records).method
        if not records:
            return way
        if way is ReadBy.BULK_READ:
            size = await crm_count(self.zoho, step.target.module or "")
            way = _price(self.run, step, records, size).method
        self.ledger.start_read(step.name, way)
        return way

    async def _prefetch(self, step: Step, ids: set[str]) -> dict[str, dict[str, Any]]:
        module = step.target.module or ""
        if self.read_by is ReadBy.BULK_READ:
            names = [n for n in _field_names(step) if n not in SKIPPED]
            return await readers.bulk_read(self.zoho, module, names, ids, self.ledger, step.name)
        if self.read_by is ReadBy.LIST_PAGES:
            client = finance_client(self.zoho, step.target.product)
            product = step.target.product
            return await readers.list_pages(client, product, module, ids, self.ledger, step.name)
        return {}

    async def _chunk(self, step: Step, pairs: list[Pair]) -> None:
        expected = self._expected(step, pairs)
        ids = [landed.zoho_id for landed, _ in pairs]
        if self.read_by is ReadBy.BULK_READ:
            found = {i: self.prefetched[i] for i in ids if i in self.prefetched}
        elif step.target.product == Product.CRM:
            found = await self._read_crm(step, ids, expected)
        else:
            found = await self._read_finance(step, ids, expected)
        outcomes: list[tuple[str, Outcome]] = []
        diffs: list[Diff] = []
        product, module = step.target.product, step.target.module or ""
        for (landed, record), want in zip(pairs, expected, strict=True):
            have = found.get(landed.zoho_id)
            if have is None:
                outcomes.append((landed.zoho_id, Outcome.MISSING))
                continue
            if isinstance(want, MappingError):
                fields = [(want.field, str(want), None)]
            else:
                fields = [
                    (d.field, d.expected, d.found) for d in diff_record(product, module, want, have)
                ]
            diffs += [(landed.zoho_id, record.line, f, e, g) for f, e, g in fields]
            outcomes.append((landed.zoho_id, Outcome.DIFFERING if fields else Outcome.MATCHED))
        self.ledger.record(step.name, outcomes, diffs)

    def _expected(self, step: Step, pairs: list[Pair]) -> list[dict[str, Any] | MappingError]:
        """Each record mapped as the run mapped it, lookups from its id cross-reference."""
        ids: dict[tuple[str, str], str] = {}
        for lk in step.lookups:
            keys = {k for _, rec in pairs for row in rec.rows for k in lookup_keys(step, lk, row)}
            ids.update(((lk.step, k), v) for k, v in self.store.lookup_many(lk.step, keys).items())

        def resolve(step_name: str, key: str) -> str | None:
            return ids.get((step_name, key))

        out: list[dict[str, Any] | MappingError] = []
        for _, record in pairs:
            try:
                out.append(map_record(step, record.rows, resolve))
            except MappingError as exc:
                out.append(exc)
        return out

    async def _read_crm(
        self, step: Step, ids: list[str], expected: Sequence[Mapping[str, Any] | MappingError]
    ) -> dict[str, dict[str, Any]]:
        """The records of ``ids`` with every field the run sent: COQL, 50 fields a query."""
        module = step.target.module or ""
        if module == Related.ATTACHMENTS:
            return await read_attachments(self.zoho.crm, ids, expected, file_store(step))
        names = sorted({k for e in expected if isinstance(e, Mapping) for k in e} - SKIPPED)
        found: dict[str, dict[str, Any]] = {}
        where = f"id in ({', '.join(coql_literal(i) for i in ids)})"
        for part in chunked(names, COQL_FIELDS) if names else [[]]:
            query = f"select {', '.join(['id', *part])} from {module} where {where}"
            page = await self.zoho.crm.coql(query, limit=COQL_LIMIT)
            for rec in page.records:
                found.setdefault(str(rec["id"]), {}).update(rec)
        return found

    async def _read_finance(
        self, step: Step, ids: list[str], expected: Sequence[Mapping[str, Any] | MappingError]
    ) -> dict[str, dict[str, Any]]:
        """List entries holding every field the run sent; the other records by id."""
        client = finance_client(self.zoho, step.target.product)
        module = step.target.module or ""
        found: dict[str, dict[str, Any]] = {}
        for i, want in zip(ids, expected, strict=True):
            entry = self.prefetched.get(i)
            names = set(want) - SKIPPED if isinstance(want, Mapping) else set()
            if entry is not None and names <= set(entry):
                found[i] = entry
        rest = [i for i in ids if i not in found]
        got = await asyncio.gather(*(client.get(module, i) for i in rest))
        found.update({i: rec for i, rec in zip(rest, got, strict=True) if rec is not None})
        return found


async def verify(
    run_dir: str | os.PathLike[str],
    *,
    sample: int | None = None,
    clock_speed: float | None = None,
    env: Mapping[str, str] | None = None,
    note: Callable[[str], None] = lambda _: None,
) -> VerifyResult:
    """Verify the run in ``run_dir``; the result also says what it spent."""
    run = load_run(run_dir, "verify")
    with RunStore.open(run.run_dir) as store:  # the run's lock: no run goes on meanwhile
        ledger = Ledger(run.run_dir / "verify", sample)
        try:
            if ledger.resumed:
                note("going on from the last checkpoint")
            results = []
            async with open_run_zoho(run, clock_speed, os.environ if env is None else env) as zoho:
                verifier = Verifier(run, store, zoho, ledger)
                for step in _targets(run, store):
                    landed = store.landed(step.name)
                    chosen = _choose(landed, step.name, sample)
                    note(f"{step.name}: reading back {len(chosen)} records")
                    await verifier.step(step, chosen)
                    counts = ledger.counts(step.name)
                    results.append(
                        StepResult(
                            step.name,
                            step.target.product,
                            step.target.module or "",
                            len({r.zoho_id for r in landed}),
                            sum(counts.values()),
                            counts.get(Outcome.MATCHED, 0),
                            counts.get(Outcome.DIFFERING, 0),
                            counts.get(Outcome.MISSING, 0),
                            len(store.dead_letters(step.name)),
                            str(verifier.read_by),
                        )
                    )
                spent = {
                    p: {"requests": int(u["requests"]), "credits": int(u["credits"])}  # type: ignore[call-overload]
                    for p, u in zoho.usage().items()
                    if u["requests"]
                }
            diffs = ledger.finish()
        finally:
            ledger.close()
    return VerifyResult(str(run.run_dir), sample, results, spent, str(diffs))


__all__ = ["StepBill", "StepResult", "VerifyResult", "bill", "verify"]
