"""What the clients hand back: per-record outcomes, pages, bulk jobs. Plain frozen data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Product(StrEnum):
    """A Zoho product with quotas of its own; the value is how manifests and reports say it."""

    CRM = "crm"
    BOOKS = "books"
    INVENTORY = "inventory"


@dataclass(frozen=True)
class RecordOutcome:
    """What happened to the input record at ``index`` of one call (or row of one bulk file).

    ``action`` is ``insert`` or ``update`` when ``ok``; ``found`` when a create was found
    already done in Zoho (after an ambiguous failure) instead of being sent again.
    ``code``/``message``/``details`` are Zoho's words (DUPLICATE_DATA, 1001, ...).
    """

    index: int
    ok: bool
    id: str | None = None
    action: str | None = None
    code: str | int | None = None
    message: str = ""
    details: Mapping[str, Any] | None = None
    record: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list: records, and how to ask for the next one."""

    records: list[dict[str, Any]]
    more: bool
    next_page_token: str | None = None
    page: int = 1


@dataclass(frozen=True)
class BulkJob:
    """A CRM bulk job as its status answer describes it (write or read).

    ``state``: ADDED, QUEUED, IN PROGRESS, COMPLETED, FAILURE (read) / FAILED (write).
    ``counts``: for writes, the file's added/updated/skipped/total counts; for reads, count.
    """

    id: str
    state: str
    download_url: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    more_records: bool = False
    next_page_token: str | None = None
    page: int = 1
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        return self.state in ("COMPLETED", "FAILED", "FAILURE")

    @property
    def failed(self) -> bool:
        return self.state in ("FAILED", "FAILURE")


@dataclass(frozen=True)
class BulkWriteResult:
    """A finished Bulk Write job and one outcome per row of the uploaded file, in order."""

    job: BulkJob
    outcomes: list[RecordOutcome]
