"""Books and Inventory records: one record, one request (their APIs have no batch write).

A create whose key exists is updated (upsert) or refused (insert); a record that may have
landed (``retried``) is looked up by its key first, so a create is never made twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zmigrate.checkpoint import Batch, StepSpec, WriteAction
from zmigrate.client import RecordOutcome, Zoho
from zmigrate.client.finance import FinanceClient, resource_keys
from zmigrate.manifest.model import Operation, Product
from zmigrate.outcomes import FINANCE_DUPLICATE_CODES, Landed, Reject, Verdict
from zmigrate.run.items import Item
from zmigrate.run.writers.base import Target, Writer


def finance_client(zoho: Zoho, product: str) -> FinanceClient:
    """The client of Books or Inventory."""
    return zoho.books if product == Product.BOOKS else zoho.inventory


class FinanceWriter(Writer):
    def __init__(self, target: Target) -> None:
        super().__init__(target)
        step = target.step
        self.client = finance_client(target.zoho, step.target.product)
        self.module = step.target.module or ""
        self.key = step.key[0] if len(step.key) == 1 else None
        self.id_field = resource_keys(step.target.product, self.module)[1]

    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        return zoho.channels[spec.product].gate.max_limit

    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        return [await self._one(item, retried) for item in items]

    async def _one(self, item: Item, retried: bool) -> Verdict:
        """Create; an existing key is updated (upsert) or refused. On a retried record (its
        answer was lost, or a crash left it in flight) the key is looked up first: a create
        that landed is adopted."""
        operation, key = self.target.step.operation, self.key
        value = item.payload.get(key) if key else None
        if operation is Operation.UPDATE or (retried and value not in (None, "")):
            found = await self.client.find_by(self.module, key, value) if key and value else None
            if found is not None and operation is Operation.INSERT:
                return Landed(str(found.get(self.id_field)), "found")
            if found is not None or operation is Operation.UPDATE:
                return await self._update(item, found)
        outcome = await self.client.create(self.module, item.payload, unique=key)
        if outcome.ok and outcome.id and outcome.action == WriteAction.FOUND:
            return Landed(outcome.id, WriteAction.RECLAIMED.value)  # this create's answer lost
        if outcome.ok and outcome.id:
            return Landed(outcome.id, outcome.action or "insert")
        if outcome.code in FINANCE_DUPLICATE_CODES and operation is Operation.UPSERT and key:
            found = await self.client.find_by(self.module, key, value)
            return await self._update(item, found)
        return _reject(outcome)

    async def _update(self, item: Item, found: Mapping[str, Any] | None) -> Verdict:
        """Update the record ``found`` by the item's key (upsert's second half, update)."""
        if self.key is None:
            return Reject("NO_KEY", "an update needs a step key of one field")
        if found is None:
            why = f"no {self.module} record with {self.key} = {item.payload.get(self.key)!r}"
            return Reject("NOT_FOUND", why)
        outcome = await self.client.update(self.module, str(found.get(self.id_field)), item.payload)
        if outcome.ok and outcome.id:
            return Landed(outcome.id, "update")
        return _reject(outcome)


def _reject(outcome: RecordOutcome) -> Reject:
    return Reject(str(outcome.code if outcome.code is not None else "REJECTED"), outcome.message)
