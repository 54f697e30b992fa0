"""`zmigrate rollback RUN_DIR`: delete exactly the records a run created, children first.

What to delete and in which order is ``decide``'s; the checkpoint is ``ledger``'s; this
module sends the deletes through ``client`` (paced and charged like a run) and says what
came of them. Records the run found or updated are left in place and listed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zmigrate.checkpoint import RunStore
from zmigrate.client import Zoho
from zmigrate.manifest import Product, Step
from zmigrate.rollback.attachments import (
    Parents,
    attachment_parents,
    delete_attachments,
    is_attachments,
)
from zmigrate.rollback.decide import (
    Deletion,
    StepBill,
    batch_size,
    bill_dict,
    judge,
    price,
    reverse_order,
    split,
)
from zmigrate.rollback.ledger import Ledger
from zmigrate.run.writers.finance import finance_client
from zmigrate.run_target import FinishedRun, load_run, open_run_zoho


@dataclass
class StepResult:
    """One step's created records: deleted (gone already included), refused, left."""

    step: str
    product: str
    module: str
    deleted: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    left_in_place: int = 0
    """Records the run found or updated: not the run's to delete."""


@dataclass
class RollbackResult:
    run_dir: str
    steps: list[StepResult]
    spent: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when every created record is deleted; 1 when Zoho refused some."""
        return 1 if any(s.refused for s in self.steps) else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_dir": self.run_dir,
            "steps": [vars(s) for s in self.steps],
            "spent": self.spent,
            "exit_code": self.exit_code,
        }

    def render(self) -> str:
        lines = ["step  product/module  deleted  refused  left in place"]
        for s in self.steps:
            lines.append(
                f"{s.step}  {s.product}/{s.module}  {s.deleted}  {len(s.refused)}  "
                f"{s.left_in_place}"
            )
            lines += [f"  refused {z}: {why}" for z, why in s.refused]
        for product, spent in self.spent.items():
            lines.append(f"{product}: {spent['requests']} requests, {spent['credits']} credits")
        kept = sum(s.left_in_place for s in self.steps)
        if kept:
            lines.append(f"{kept} records the run found or updated were left in place")
        return "\n".join(lines)


def bill(run_dir: str | os.PathLike[str]) -> list[StepBill]:
    """What a rollback of ``run_dir`` would delete and cost (no network)."""
    run = load_run(run_dir, "rollback")
    with RunStore.open(run.run_dir, readonly=True) as store:
        return _bill(run, store)


def _bill(run: FinishedRun, store: RunStore) -> list[StepBill]:
    out = []
    for step in reverse_order(run.manifest):
        created, kept = split(store.landed(step.name))
        product, module = step.target.product, step.target.module or ""
        out.append(price(step.name, product, module, len(created), len(kept), run.manifest.target))
    return out


def bill_json(steps: list[StepBill]) -> dict[str, Any]:
    return bill_dict(steps)


async def _delete_batch(
    zoho: Zoho, ledger: Ledger, step: Step, ids: list[str], parents: Parents
) -> None:
    """One call's records: in flight (committed), deleted, answers settled (committed)."""
    product, module = step.target.product, step.target.module or ""
    ledger.in_flight(step.name, ids)
    if is_attachments(step):
        outcomes = await delete_attachments(zoho, ids, parents)
    elif product == Product.CRM:
        outcomes = await zoho.crm.delete(module, ids)
    else:
        client = finance_client(zoho, product)
        outcomes = [await client.delete(module, z) for z in ids]
    results = [(z, *judge(product, o)) for z, o in zip(ids, outcomes, strict=True)]
    ledger.settle(step.name, results)


async def _step(zoho: Zoho, ledger: Ledger, step: Step, parents: Parents) -> None:
    """Every open batch of ``step``, as many at once as the product's gate lets through."""
    batches = ledger.open_batches(step.name)
    width = zoho.channels[step.target.product].gate.max_limit
    for start in range(0, len(batches), width):
        wave = batches[start : start + width]
        await asyncio.gather(*(_delete_batch(zoho, ledger, step, ids, parents) for _, ids in wave))


async def rollback(
    run_dir: str | os.PathLike[str],
    *,
    clock_speed: float | None = None,
    env: Mapping[str, str] | None = None,
    note: Callable[[str], None] = lambda _: None,
) -> RollbackResult:
    """Delete what the run in ``run_dir`` created; resumable, and idempotent when run again."""
    run = load_run(run_dir, "rollback")
    with RunStore.open(run.run_dir) as store:  # the run's lock: no run goes on meanwhile
        ledger = Ledger(run.run_dir / "rollback")
        try:
            steps = reverse_order(run.manifest)
            if not ledger.planned:
                ledger.plan(
                    (s.name, split(store.landed(s.name))[0], batch_size(s.target.product))
                    for s in steps
                )
            else:
                ledger.retry_refused()
            todo = sum(len(b) for s in steps for _, b in ledger.open_batches(s.name))
            if todo and ledger.resumed:
                note(f"going on from the last checkpoint: {todo} records left to delete")
            spent: dict[str, dict[str, int]] = {}
            if todo:
                async with open_run_zoho(
                    run, clock_speed, os.environ if env is None else env
                ) as zoho:
                    for step in steps:
                        note(f"{step.name}: deleting what the run created")
                        parents = (
                            attachment_parents(run.local, store, step)
                            if is_attachments(step)
                            else {}
                        )
                        await _step(zoho, ledger, step, parents)
                    spent = {
                        p: {"requests": int(u["requests"]), "credits": int(u["credits"])}  # type: ignore[call-overload]
                        for p, u in zoho.usage().items()
                        if u["requests"]
                    }
            results = []
            for step in steps:
                counts = ledger.counts(step.name)
                results.append(
                    StepResult(
                        step.name,
                        step.target.product,
                        step.target.module or "",
                        counts.get(Deletion.DELETED, 0) + counts.get(Deletion.GONE, 0),
                        ledger.refused(step.name),
                        len(split(store.landed(step.name))[1]),
                    )
                )
        finally:
            ledger.close()
    return RollbackResult(str(run.run_dir), results, spent)
