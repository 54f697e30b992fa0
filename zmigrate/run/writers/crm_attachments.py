"""CRM attachments: each file uploaded to its parent record, once.

An upload is not idempotent and a file has no key, so a batch that may have landed
(``retried``: a lost answer, a crash) first reads each parent's Attachments list and adopts
the attachment whose file name and size are the item's, leaving out ids an earlier batch of
the step holds; only the rest are uploaded. Files are streamed into their uploads from the
step's :class:`~zmigrate.sources.attachments.FileStore` (on disk, or members of a backup's
zip). A refusal names the parent and Zoho's reason; a file gone since the plan is refused
without a call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zmigrate.checkpoint import Batch, StepSpec
from zmigrate.client import Zoho
from zmigrate.client.crm_related import related_list, upload_attachment
from zmigrate.errors import RequestRejected, Unconfirmed
from zmigrate.outcomes import Landed, Reject, Verdict, record_outcome
from zmigrate.run.items import Item
from zmigrate.run.writers.base import Target, Writer
from zmigrate.run.writers.crm_related import Signature, match_landed
from zmigrate.schema.related import FILE, FILE_NAME, MATCH_FIELDS, PARENT, Related
from zmigrate.sources.attachments import AttachedFile, file_store

Parent = tuple[str, str]
"""(module, record id) of an attachment's parent."""


def parent_of(item: Item) -> Parent:
    ref = item.payload.get(PARENT)
    ref_id = ref.get("id") if isinstance(ref, dict) else ref
    return str(item.payload.get("$se_module") or ""), str(ref_id or "")


class CrmAttachmentWriter(Writer):
    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.files = file_store(target.step)

    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        """A batch per place of the edition's concurrency: each uploads one file at a time."""
        return zoho.channels[spec.product].gate.max_limit

    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        stats: list[AttachedFile | None] = [self._stat(i) for i in items]
        verdicts: list[Verdict | None] = [
            None if s else Reject("FILE_MISSING", f"{_named(i)}: no file {i.payload.get(FILE)}")
            for i, s in zip(items, stats, strict=True)
        ]
        if retried:
            await self._landed(items, stats, verdicts)
        lost: Unconfirmed | None = None
        for n, item in enumerate(items):
            found = stats[n]
            if verdicts[n] is None and found is not None:
                try:
                    verdicts[n] = await self._upload(item, found)
                except Unconfirmed as exc:  # the others are independent: upload them first
                    lost = exc
        if lost is not None:
            raise lost  # the batch is sent again, first adopting what landed
        return [v if v is not None else Reject("FILE_MISSING", "no file") for v in verdicts]

    def _stat(self, item: Item) -> AttachedFile | None:
        try:
            found = self.files.stat(str(item.payload.get(FILE) or ""))
        except FileNotFoundError:
            return None
        name = str(item.payload.get(FILE_NAME) or found.name)
        return AttachedFile(name, found.size, found.ref)

    async def _upload(self, item: Item, found: AttachedFile) -> Verdict:
        module, parent_id = parent_of(item)
        ref, crm = found.ref, self.target.zoho.crm
        try:
            outcome = await upload_attachment(
                crm, module, parent_id, found.name, lambda: self.files.open(ref), found.size
            )
        except RequestRejected as exc:
            return Reject(str(exc.code or "REJECTED"), f"{_named(item)}: {exc}")
        verdict = record_outcome(outcome, retried=False)
        if isinstance(verdict, Reject):
            return Reject(verdict.code, f"{_named(item)}: {verdict.message}")
        return verdict

    async def _landed(
        self,
        items: Sequence[Item],
        stats: Sequence[AttachedFile | None],
        verdicts: list[Verdict | None],
    ) -> None:
        """Adopt the items' attachments that an earlier send landed on their parents."""
        fields = list(MATCH_FIELDS[Related.ATTACHMENTS])
        crm = self.target.zoho.crm
        found: list[tuple[str, Signature]] = []
        for module, parent_id in sorted({parent_of(i) for i in items}):
            listed = await related_list(crm, module, parent_id, "Attachments", fields)
            found += [(str(a["id"]), _signature(module, parent_id, a)) for a in listed]
        owners = await self.target.store.id_owners(self.target.step.name, [z for z, _ in found])
        wanted = [
            (*parent_of(i), s.name, str(s.size)) if s else ("",)
            for i, s in zip(items, stats, strict=True)
        ]
        for n, zoho_id in match_landed(wanted, found, set(owners)).items():
            verdicts[n] = Landed(zoho_id, "found")


def _named(item: Item) -> str:
    """The parent a dead letter names: ``parent Accounts 123``."""
    return "parent {} {}".format(*parent_of(item))


def _signature(module: str, parent_id: str, listed: dict[str, Any]) -> Signature:
    return (module, parent_id, str(listed.get(FILE_NAME) or ""), str(listed.get("Size") or ""))
