"""CRM notes and activities without a key: REST inserts, verified on the parent when lost.

Such records have no natural unique key, so an insert whose answer was lost (reset, crash,
``kill -9``) cannot be looked up by key. Before sending again, the writer reads what landed:
a note's parent's Notes related list, or the activities whose subject (title) is among the
batch's (COQL), and adopts each record whose parent and match fields (``MATCH_FIELDS``) are
the item's, leaving out ids an earlier batch of the step already holds. Equal items take
equal records one each, so two identical notes on one parent land twice, never three times.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zmigrate.checkpoint import Batch
from zmigrate.client.crm import coql_literal
from zmigrate.client.crm_related import related_list
from zmigrate.outcomes import Landed, Reject, Verdict, chunked
from zmigrate.run.items import Item, bulk_cell
from zmigrate.run.writers.crm_rest import COQL_IN_MAX, CrmRestWriter
from zmigrate.schema.related import MATCH_FIELDS, Related

Signature = tuple[str, ...]
"""What an item and a landed record are compared on: parent ids, then the match fields."""
PARENT_FIELDS = {Related.NOTES: ("Parent_Id",)}
"""Fields naming a record's parent; activities: ``What_Id`` and ``Who_Id``."""
ACTIVITY_PARENTS = ("What_Id", "Who_Id")


def _text(value: Any) -> str:
    return str(bulk_cell(value) or "").strip()


def signature(kind: Related, record: Mapping[str, Any]) -> Signature:
    """The comparable form of a payload or of a record read back from Zoho."""
    parents = PARENT_FIELDS.get(kind, ACTIVITY_PARENTS)
    return tuple(_text(record.get(f)) for f in (*parents, *MATCH_FIELDS[kind]))


def match_landed(
    wanted: Sequence[Signature], found: Iterable[tuple[str, Signature]], taken: set[str]
) -> dict[int, str]:
    """Items (by index) whose record is among ``found`` (id, signature), each record given
    to one item at most, ids in ``taken`` (an earlier batch's) to none."""
    pool: dict[Signature, list[str]] = defaultdict(list)
    for zoho_id, sig in found:
        if zoho_id not in taken:
            pool[sig].append(zoho_id)
    out = {}
    for n, sig in enumerate(wanted):
        if pool.get(sig):
            out[n] = pool[sig].pop(0)
    return out


class CrmRelatedWriter(CrmRestWriter):
    """Notes/Tasks/Events/Calls inserted over REST, checked on their parent when retried."""

    @property
    def kind(self) -> Related:
        return Related(self.target.step.target.module or "")

    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        verdicts = await super().send(batch, items, retried)
        return [self._named(v, i) for v, i in zip(verdicts, items, strict=True)]

    def _named(self, verdict: Verdict, item: Item) -> Verdict:
        """A refusal names the parent it was for."""
        if not isinstance(verdict, Reject):
            return verdict
        parents = PARENT_FIELDS.get(self.kind, ACTIVITY_PARENTS)
        named = [f"{f} {_text(item.payload[f])}" for f in parents if item.payload.get(f)]
        where = f" (parent: {', '.join(named)})" if named else ""
        return Reject(verdict.code, verdict.message + where)

    async def _match_existing(
        self, items: Sequence[Item], verdicts: list[Verdict | None]
    ) -> list[int]:
        found = await (
            self._notes(items) if self.kind is Related.NOTES else self._activities(items)
        )
        owners = await self.target.store.id_owners(self.target.step.name, [z for z, _ in found])
        wanted = [signature(self.kind, i.payload) for i in items]
        landed = match_landed(wanted, found, set(owners))
        for n, zoho_id in landed.items():
            verdicts[n] = Landed(zoho_id, "found")
        return [n for n in range(len(items)) if n not in landed]

    async def _notes(self, items: Sequence[Item]) -> list[tuple[str, Signature]]:
        """The notes on each parent of the batch (its Notes related list)."""
        parents = {
            (str(ref["module"]["api_name"]), str(ref["id"]))
            for i in items
            if isinstance(ref := i.payload.get("Parent_Id"), Mapping)
        }
        fields = ["Parent_Id", *MATCH_FIELDS[Related.NOTES]]
        found = []
        for module, parent_id in sorted(parents):
            notes = await related_list(self.target.zoho.crm, module, parent_id, "Notes", fields)
            found += [(str(n["id"]), signature(Related.NOTES, n)) for n in notes]
        return found

    async def _activities(self, items: Sequence[Item]) -> list[tuple[str, Signature]]:
        """The activities of the module whose title is one of the batch's (COQL)."""
        module, title = self.kind.value, MATCH_FIELDS[self.kind][0]
        titles = sorted({_text(i.payload.get(title)) for i in items} - {""})
        fields = ", ".join(["id", *ACTIVITY_PARENTS, title])
        found = []
        for part in chunked(titles, COQL_IN_MAX):
            where = f"{title} in ({', '.join(coql_literal(t) for t in part)})"
            query, offset, more = f"select {fields} from {module} where {where}", 0, True
            while more:
                page = await self.target.zoho.crm.coql(query, offset=offset)
                found += [(str(r["id"]), signature(self.kind, r)) for r in page.records]
                offset, more = offset + len(page.records), page.more and bool(page.records)
        return found
