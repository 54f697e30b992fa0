"""One writer per kind of target, chosen by (product, method) from :data:`WRITERS`.

A new kind of target is a new module with a :class:`Writer` subclass and one line below;
the scheduler and the batch state machine never look at the product or the method.
"""

from __future__ import annotations

from collections.abc import Mapping

from zmigrate.checkpoint import StepSpec
from zmigrate.errors import StoreError
from zmigrate.manifest.model import Product
from zmigrate.run.vocab import WriteMethod
from zmigrate.run.writers.base import Target, Writer
from zmigrate.run.writers.crm_attachments import CrmAttachmentWriter
from zmigrate.run.writers.crm_bulk import CrmBulkWriter
from zmigrate.run.writers.crm_related import CrmRelatedWriter
from zmigrate.run.writers.crm_rest import CrmRestWriter
from zmigrate.run.writers.file import FileWriter
from zmigrate.run.writers.finance import FinanceWriter, SpreadWriter

__all__ = ["WRITERS", "Target", "Writer", "writer_for"]

WRITERS: Mapping[tuple[str, str], type[Writer]] = {
    # (product, method) as the run store records them: both vocabularies are StrEnums
    (Product.CRM, WriteMethod.REST): CrmRestWriter,
    (Product.CRM, WriteMethod.BULK): CrmBulkWriter,
    (Product.CRM, WriteMethod.RELATED): CrmRelatedWriter,
    (Product.CRM, WriteMethod.ATTACH): CrmAttachmentWriter,
    (Product.BOOKS, WriteMethod.REST): FinanceWriter,
    (Product.INVENTORY, WriteMethod.REST): FinanceWriter,
    (Product.BOOKS, WriteMethod.SPREAD): SpreadWriter,
    (Product.INVENTORY, WriteMethod.SPREAD): SpreadWriter,
    (Product.FILE, WriteMethod.LOCAL): FileWriter,
}


def writer_for(spec: StepSpec) -> type[Writer]:
    """The writer of a step, by the product and method its run store records."""
    writer = WRITERS.get((spec.product, spec.method))
    if writer is None:
        raise StoreError(
            f"step {spec.name}: no writer for {spec.product} by {spec.method}; "
            "this run was made by another zmigrate version: run it with that version"
        )
    return writer
