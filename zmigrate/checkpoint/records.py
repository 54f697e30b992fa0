"""The store's records: a step, a batch of its rows, a row Zoho refused, and their states.

The enums' values are the strings stored in ``run.db`` (``batches.state``, meta ``status``):
a store written by any earlier version reads back as the same members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class BatchState(StrEnum):
    """Where a batch stands: ``pending → in_flight → done | failed``."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"


class RunStatus(StrEnum):
    """Where the run stands, as its last process left it."""

    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class StepSpec:
    """One step as the store sees it: where its rows go and how they are cut into batches."""

    name: str
    product: str  # crm | books | inventory
    module: str
    method: str  # e.g. rest, upsert, bulk, create (the planner's word; kept for status)
    total_rows: int
    batch_size: int
    key_field: str = ""
    planned_requests: int = 0
    planned_credits: int = 0

    @property
    def batch_count(self) -> int:
        return -(-self.total_rows // self.batch_size) if self.total_rows else 0


@dataclass(frozen=True)
class Batch:
    """A slice of a step's rows, ``[first_row, last_row)``, and where it stands."""

    step: str
    batch_no: int
    first_row: int
    last_row: int
    state: BatchState
    attempts: int
    verify: bool
    job_id: str | None
    file_id: str | None
    error: str | None

    @property
    def rows(self) -> range:
        return range(self.first_row, self.last_row)


@dataclass(frozen=True)
class DeadLetter:
    """A row Zoho refused on its merits, kept with what Zoho said."""

    step: str
    row_no: int | None
    source_key: str | None
    row: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    message: str = ""
    batch_no: int | None = None


class WriteAction(StrEnum):
    """What a run's write did to a record, as kept in the id cross-reference (``xref.action``).

    Rollback deletes only what the run created; a store from before actions were kept has
    none (``None``): unknown is treated as not created, the safe side.
    """

    INSERT = "insert"
    ADOPTED = "adopted"
    """A retried insert Zoho answered with DUPLICATE_DATA: the run's own lost first attempt."""
    FOUND = "found"
    """An insert found by its key before the run sent it: older than the run; kept."""
    RECLAIMED = "reclaimed"
    """An insert found by its key while a batch whose create the run had sent (in flight) is
    reconciled: the run's own create whose answer was lost (or a kill took)."""
    UPDATE = "update"
    WRITTEN = "written"
    """A line of a file target, not a Zoho record."""

    @property
    def created(self) -> bool:
        return self in (WriteAction.INSERT, WriteAction.ADOPTED, WriteAction.RECLAIMED)

    @classmethod
    def of(cls, value: str | None) -> WriteAction | None:
        """The member stored as ``value``; None for NULL or a word this version does not know."""
        try:
            return None if value is None else cls(value)
        except ValueError:
            return None


XrefRow = tuple[str, str, int | None] | tuple[str, str, int | None, str]
"""(source key, Zoho id, source line[, write action]): one row of the id cross-reference."""


@dataclass(frozen=True)
class LandedRecord:
    """A record the run landed: its source key and line, Zoho id and what the write did."""

    step: str
    key: str
    zoho_id: str
    line: int | None
    action: WriteAction | None

    @property
    def created(self) -> bool:
        return self.action is not None and self.action.created
