"""`zmigrate rollback RUN_DIR`: delete exactly the records a run created, children first.

What to delete and in which order is ``decide``'s; the checkpoint is ``ledger``'s; this
module sends the deletes through ``client`` (paced and charged like a run) and says what
came of them. Records the run updated are written back from their before-images when the
step kept them (``keep_before_images``), else left in place and listed.
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
    Work,
    batch_size,
    bill_dict,
    judge,
    judge_restore,
    price,
    restores,
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
    """Records the run found or updated, without before-images: not the run's to delete."""
    restored: int = 0
    """Records the run updated, written back from their before-images."""


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
        lines = ["step  product/module  deleted  restored  refused  left in place"]
        for s in self.steps:
            lines.append(
                f"{s.step}  {s.product}/{s.module}  {s.deleted}  {s.restored}  "
                f"{len(s.refused)}  {s.left_in_place}"
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
        landed, images = store.landed(step.name), store.before_images(step.name)
        created, kept = split(landed)
        back = len(restores(landed, images))
        product, module = step.target.product, step.target.module or ""
        target = run.manifest.target
        out.append(price(step.name, product, module, len(created), len(kept), target, back))
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


async def _restore_batch(
    zoho: Zoho, ledger: Ledger, step: Step, ids: list[str], values: Mapping[str, Any]
) -> None:
    """One call's records written back from their before-images (an update is idempotent:
    a restore killed in flight is sent again)."""
    product, module = step.target.product, step.target.module or ""
    ledger.in_flight(step.name, ids, Work.RESTORE)
    if product == Product.CRM:
        outcomes = await zoho.crm.update(module, [{**values[z], "id": z} for z in ids])
    else:
        client = finance_client(zoho, product)
        outcomes = [await client.update(module, z, values[z]) for z in ids]
    results = [(z, *judge_restore(product, o)) for z, o in zip(ids, outcomes, strict=True)]
    ledger.settle(step.name, results, Work.RESTORE)


async def _step(
    zoho: Zoho, ledger: Ledger, step: Step, values: Mapping[str, Any], parents: Parents
) -> None:
    """Every open batch of ``step``, deletes then restores, as many at once as the
    product's gate lets through."""
    width = zoho.channels[step.target.product].gate.max_limit
    batches = ledger.open_batches(step.name)
    for start in range(0, len(batches), width):
        wave = batches[start : start + width]
        await asyncio.gather(*(_delete_batch(zoho, ledger, step, ids, parents) for _, ids in wave))
    batches = ledger.open_batches(step.name, Work.RESTORE)
    for start in range(0, len(batches), width):
        wave = batches[start : start + width]
        await asyncio.gather(*(_restore_batch(zoho, ledger, step, ids, values) for _, ids in wave))


def _plan(ledger: Ledger, store: RunStore, steps: list[Step]) -> None:
    """The records to delete and to restore, step by step, in one transaction."""
    work = []
    for s in steps:
        landed, images = store.landed(s.name), store.before_images(s.name)
        size = batch_size(s.target.product)
        work.append((Work.DELETE, s.name, split(landed)[0], size))
        work.append((Work.RESTORE, s.name, list(restores(landed, images)), size))
    ledger.plan(work)


def _result(ledger: Ledger, store: RunStore, step: Step) -> StepResult:
    landed, images = store.landed(step.name), store.before_images(step.name)
    deletes, back = ledger.counts(step.name), ledger.counts(step.name, Work.RESTORE)
    refused = ledger.refused(step.name)
    refused += [(z, f"not restored: {why}") for z, why in ledger.refused(step.name, Work.RESTORE)]
    return StepResult(
        step.name,
        step.target.product,
        step.target.module or "",
        deletes.get(Deletion.DELETED, 0) + deletes.get(Deletion.GONE, 0),
        refused,
        len(split(landed)[1]) - len(restores(landed, images)),
        back.get(Deletion.RESTORED, 0),
    )


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
                _plan(ledger, store, steps)
            else:
                ledger.retry_refused()
            todo = sum(
                len(b) for s in steps for w in Work for _, b in ledger.open_batches(s.name, w)
            )
            if todo and ledger.resumed:
                note(f"going on from the last checkpoint: {todo} records left to delete")
            spent: dict[str, dict[str, int]] = {}
            if todo:
                async with open_run_zoho(
                    run, clock_speed, os.environ if env is None else env
                ) as zoho:
                    for step in steps:
                        note(f"{step.name}: deleting what the run created")
                        values = restores(store.landed(step.name), store.before_images(step.name))
                        parents = (
                            attachment_parents(run.local, store, step)
                            if is_attachments(step)
                            else {}
                        )
                        await _step(zoho, ledger, step, values, parents)
                    spent = {
                        p: {"requests": int(u["requests"]), "credits": int(u["credits"])}  # type: ignore[call-overload]
                        for p, u in zoho.usage().items()
                        if u["requests"]
                    }
            results = [_result(ledger, store, step) for step in steps]
        finally:
            ledger.close()
    return RollbackResult(str(run.run_dir), results, spent)
