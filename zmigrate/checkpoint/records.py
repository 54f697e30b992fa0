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
