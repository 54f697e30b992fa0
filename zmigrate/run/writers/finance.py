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

from zmigrate.checkpoint import Batch, StepSpec, WriteAction
from zmigrate.client import RecordOutcome, Zoho
from zmigrate.client.finance import FinanceClient, resource_keys
from zmigrate.client.finance_refs import UnknownSetting, needed, resolve
from zmigrate.manifest.model import Operation, Product
from zmigrate.outcomes import FINANCE_DUPLICATE_CODES, Landed, Reject, Verdict
from zmigrate.planner.spread import other_product, through
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
        client = self.client_for(batch)
        return [await self._one(client, item, retried) for item in items]

    def client_for(self, batch: Batch) -> FinanceClient:
        """The product a batch is written through: the step's own."""
        return self.client

    async def _one(self, client: FinanceClient, item: Item, retried: bool) -> Verdict:
        """The record with its references resolved, written, then its applications."""
        try:
            wanted = needed(item.payload)
            lists = await client.org_lists(wanted) if wanted else {}
            payload = resolve(self.entry, item.payload, lists)
        except UnknownSetting as exc:
            return Reject("UNKNOWN_SETTING", str(exc))
        applied = self.entry.applied if self.entry else None
        entries = payload.pop(applied, None) if applied else None
        verdict = await self._write(client, payload, retried)
        if not entries or not isinstance(verdict, Landed):
            return verdict
        check = retried or verdict.action != "insert"
        outcome = await client.apply(self.module, verdict.zoho_id, entries, check=check)
        return verdict if outcome.ok else _reject(outcome)

    async def _write(
        self, client: FinanceClient, payload: dict[str, Any], retried: bool
    ) -> Verdict:
        """Create; an existing key is updated (upsert) or refused. On a retried record (its
        answer was lost, or a crash left it in flight) the key is looked up first: a create
        that landed is adopted."""
        operation, key = self.target.step.operation, self.key
        value = payload.get(key) if key else None
        if operation is Operation.UPDATE or (retried and value not in (None, "")):
            found = await client.find_by(self.module, key, value) if key and value else None
            if found is not None and operation is Operation.INSERT:
                return Landed(str(found.get(self.id_field)), "found")
            if found is not None or operation is Operation.UPDATE:
                return await self._update(client, payload, found)
        outcome = await client.create(self.module, payload, unique=key)
        if outcome.ok and outcome.id and outcome.action == WriteAction.FOUND:
            return Landed(outcome.id, WriteAction.RECLAIMED.value)  # this create's answer lost
        if outcome.ok and outcome.id:
            return Landed(outcome.id, outcome.action or "insert")
        if outcome.code in FINANCE_DUPLICATE_CODES and operation is Operation.UPSERT and key:
            found = await client.find_by(self.module, key, value)
            return await self._update(client, payload, found)
        return _reject(outcome)

    async def _update(
        self, client: FinanceClient, payload: dict[str, Any], found: Mapping[str, Any] | None
    ) -> Verdict:
        """Update the record ``found`` by the payload's key (upsert's second half, update)."""
        if self.key is None:
            return Reject("NO_KEY", "an update needs a step key of one field")
        if found is None:
            why = f"no {self.module} record with {self.key} = {payload.get(self.key)!r}"
            return Reject("NOT_FOUND", why)
        outcome = await client.update(self.module, str(found.get(self.id_field)), payload)
        if outcome.ok and outcome.id:
            return Landed(outcome.id, "update")
        return _reject(outcome)


class SpreadWriter(FinanceWriter):
    """A shared module (contacts, items) of an integrated Books + Inventory organization,
    written through both products' quotas (``spread_shared``): even batches (one record
    each) through the step's product, odd ones through the other. Both APIs serve the same
    records, so a retried batch finds its record whichever product it goes through."""

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        product = target.step.target.product
        self.clients = {
            p: finance_client(target.zoho, p) for p in (product, other_product(product))
        }

    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        both = (spec.product, other_product(spec.product))
        return sum(zoho.channels[p].gate.max_limit for p in both)

    def client_for(self, batch: Batch) -> FinanceClient:
        return self.clients[through(self.target.spec.product, batch.batch_no)]


def _reject(outcome: RecordOutcome) -> Reject:
    return Reject(str(outcome.code if outcome.code is not None else "REJECTED"), outcome.message)
