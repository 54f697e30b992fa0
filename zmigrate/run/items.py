"""One target record on its way through a batch, and how it becomes a dead letter or a cell."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zmigrate.checkpoint import DeadLetter
from zmigrate.schema import MULTI_SEPARATOR
from zmigrate.sources import SourceRecord


@dataclass(slots=True)  # a bulk step holds 75,000: no __dict__ each
class Item:
    """One target record in a batch: its index in the step, its source, its payload."""

    row_no: int
    source: SourceRecord
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The source key (a step with none, e.g. a backup to a file, keys rows by number)."""
        return self.source.key or f"#{self.row_no}"


def dead_letter(step: str, batch_no: int, item: Item, code: str, message: str) -> DeadLetter:
    """``item`` refused with ``code``: its source row(s), kept with the reason."""
    rows = item.source.rows
    row: dict[str, Any] = dict(rows[0]) if len(rows) == 1 else {"rows": [dict(r) for r in rows]}
    return DeadLetter(step, item.source.line, item.key, row, code, message, batch_no)


def bulk_cell(value: Any) -> Any:
    """A CRM payload value as a CSV cell: a lookup ``{"id": x}`` is its id, a multi-select
    picklist's list its values joined by ``;``, as Bulk Write and Bulk Read write them."""
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(v) for v in value)
    return value.get("id") if isinstance(value, Mapping) else value


def csv_cell(value: Any) -> str:
    """A payload or exported value as CSV text (None is empty)."""
    value = bulk_cell(value)
    return "" if value is None else str(value)
