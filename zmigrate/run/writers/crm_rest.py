"""CRM records through the REST API: upsert on the key, insert, or update found by key.

An upsert is safe to resend. An insert that may have landed (``retried``) first looks its
keys up (COQL) and adopts what it finds; an update always finds its record by key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zmigrate import quotas
from zmigrate.checkpoint import Batch, StepSpec
from zmigrate.client import Zoho
from zmigrate.client.crm import HEAVY_WRITE_OVER, coql_literal
from zmigrate.manifest import Step
from zmigrate.manifest.model import Operation
from zmigrate.outcomes import Again, Landed, Reject, Verdict, chunked, record_outcome
from zmigrate.run.items import Item, bulk_cell
from zmigrate.run.writers.base import Writer

COQL_IN_MAX = 50
"""Values in one COQL ``in (...)`` lookup of existing keys."""


def key_value(step: Step, record: Mapping[str, Any]) -> str:
    """The step key of a payload or a found record, as one comparable string."""
    return "\x1f".join(str(bulk_cell(record.get(k, ""))) for k in step.key)


class CrmRestWriter(Writer):
    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        return zoho.limits.crm().concurrency

    @classmethod
    def concurrency(cls, zoho: Zoho, spec: StepSpec) -> int:
        """Writes of over 10 records a call share the edition's pool of 10 (the heavy gate)."""
        channel = zoho.channels[spec.product]
        gate = channel.gate
        if spec.batch_size > HEAVY_WRITE_OVER:
            gate = channel.heavy_gate or gate
        return gate.max_limit

    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        step = self.target.step
        crm, module = self.target.zoho.crm, step.target.module or ""
        if step.operation is Operation.UPSERT:
            outcomes = await crm.upsert(module, [i.payload for i in items], step.key)
            return [record_outcome(o, retried=retried) for o in outcomes]
        verdicts: list[Verdict | None] = [None] * len(items)
        send = list(range(len(items)))
        if step.operation is Operation.UPDATE or retried:
            send = await self._match_existing(items, verdicts)
        for part in chunked(send, quotas.CRM_WRITE_MAX):
            records = [items[n].payload for n in part]
            if step.operation is Operation.UPDATE:
                outcomes = await crm.update(module, records)
            else:
                outcomes = await crm.insert(module, records)
            for n, o in zip(part, outcomes, strict=True):
                verdicts[n] = record_outcome(o, retried=retried)
        return [v if v is not None else Again("not sent") for v in verdicts]

    async def _match_existing(
        self, items: Sequence[Item], verdicts: list[Verdict | None]
    ) -> list[int]:
        """Look the items' keys up: an update takes the found id (or is refused), an insert
        that landed earlier is adopted. Returns the indexes still to send."""
        step = self.target.step
        existing = await self._existing(items)
        send = []
        for n, item in enumerate(items):
            found = existing.get(key_value(step, item.payload))
            if step.operation is Operation.UPDATE:
                if found is None:
                    why = f"no {step.target.module or ''} record has this {', '.join(step.key)}"
                    verdicts[n] = Reject("NOT_FOUND", why)
                    continue
                item.payload = {**item.payload, "id": found}
                send.append(n)
            elif found is not None:
                verdicts[n] = Landed(found, "found")
            else:
                send.append(n)
        return send

    async def _existing(self, items: Sequence[Item]) -> dict[str, str]:
        """Ids of records that already hold these items' keys (COQL, 1 credit per 200)."""
        step = self.target.step
        module, first = step.target.module or "", step.key[0]
        values = sorted({str(bulk_cell(i.payload.get(first))) for i in items} - {"", "None"})
        found: dict[str, str] = {}
        for part in chunked(values, COQL_IN_MAX):
            fields = ", ".join(dict.fromkeys(["id", *step.key]))
            where = f"{first} in ({', '.join(coql_literal(v) for v in part)})"
            page = await self.target.zoho.crm.coql(f"select {fields} from {module} where {where}")
            for rec in page.records:
                found[key_value(step, rec)] = str(rec["id"])
        return found
