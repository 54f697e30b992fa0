"""Books and Inventory records: one record, one request (their APIs have no batch write).

A create whose key exists is updated (upsert) or refused (insert); a record that may have
landed (``retried``) is looked up by its key first, so a create is never made twice. The key
is the document number where Zoho keeps one unique, else the field the step names for the
source key (a payment's ``reference_number``), looked up by a list filter all the same.

Tax names and currency codes become the org's ids and rates before sending
(:mod:`zmigrate.client.finance_refs`). A module whose applications take their own request
(a credit note's ``invoices``) is created without them, then applied: once the record is
there, after reading what is already applied when the record was retried or found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zmigrate.checkpoint import Batch, StepSpec
from zmigrate.client import RecordOutcome, Zoho
from zmigrate.client.finance import FinanceClient, resource_keys
from zmigrate.client.finance_refs import UnknownSetting, needed, resolve
from zmigrate.manifest.model import Operation, Product
from zmigrate.outcomes import FINANCE_DUPLICATE_CODES, Landed, Reject, Verdict
from zmigrate.run.items import Item
from zmigrate.run.writers.base import Target, Writer
from zmigrate.schema.finance import resource


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
        self.entry = resource(step.target.product, self.module)

    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        return zoho.channels[spec.product].gate.max_limit

    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        return [await self._one(item, retried) for item in items]

    async def _one(self, item: Item, retried: bool) -> Verdict:
        """The record with its references resolved, written, then its applications."""
        try:
            wanted = needed(item.payload)
            lists = await self.client.org_lists(wanted) if wanted else {}
            payload = resolve(self.entry, item.payload, lists)
        except UnknownSetting as exc:
            return Reject("UNKNOWN_SETTING", str(exc))
        applied = self.entry.applied if self.entry else None
        entries = payload.pop(applied, None) if applied else None
        verdict = await self._write(payload, retried)
        if not entries or not isinstance(verdict, Landed):
            return verdict
        check = retried or verdict.action != "insert"
        outcome = await self.client.apply(self.module, verdict.zoho_id, entries, check=check)
        return verdict if outcome.ok else _reject(outcome)

    async def _write(self, payload: dict[str, Any], retried: bool) -> Verdict:
        """Create; an existing key is updated (upsert) or refused. On a retried record (its
        answer was lost, or a crash left it in flight) the key is looked up first: a create
        that landed is adopted."""
        operation, key = self.target.step.operation, self.key
        value = payload.get(key) if key else None
        if operation is Operation.UPDATE or (retried and value not in (None, "")):
            found = await self.client.find_by(self.module, key, value) if key and value else None
            if found is not None and operation is Operation.INSERT:
                return Landed(str(found.get(self.id_field)), "found")
            if found is not None or operation is Operation.UPDATE:
                return await self._update(payload, found)
        outcome = await self.client.create(self.module, payload, unique=key)
        if outcome.ok and outcome.id:
            return Landed(outcome.id, outcome.action or "insert")
        if outcome.code in FINANCE_DUPLICATE_CODES and operation is Operation.UPSERT and key:
            found = await self.client.find_by(self.module, key, value)
            return await self._update(payload, found)
        return _reject(outcome)

    async def _update(self, payload: dict[str, Any], found: Mapping[str, Any] | None) -> Verdict:
        """Update the record ``found`` by the payload's key (upsert's second half, update)."""
        if self.key is None:
            return Reject("NO_KEY", "an update needs a step key of one field")
        if found is None:
            why = f"no {self.module} record with {self.key} = {payload.get(self.key)!r}"
            return Reject("NOT_FOUND", why)
        outcome = await self.client.update(self.module, str(found.get(self.id_field)), payload)
        if outcome.ok and outcome.id:
            return Landed(outcome.id, "update")
        return _reject(outcome)


def _reject(outcome: RecordOutcome) -> Reject:
    return Reject(str(outcome.code if outcome.code is not None else "REJECTED"), outcome.message)
