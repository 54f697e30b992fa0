"""The run's vocabularies: how a step is written, how an export reads, how a run ends.

``StrEnum`` members equal the plain strings the planner, the run store and the report use
(``WriteMethod.BULK == "bulk"``), so stored runs and reports read the same as before.
"""

from __future__ import annotations

from enum import StrEnum

from zmigrate.checkpoint import RunStatus


class WriteMethod(StrEnum):
    """How a step's records are written, as the plan chose it and the run store keeps it."""

    REST = "rest"
    BULK = "bulk"
    LOCAL = "local"  # a file target, written whole on this machine
    SPREAD = "spread"  # Books/Inventory shared module, every other record through the other
    RELATED = "related"  # CRM notes/activities without a key: REST, checked on the parent
    ATTACH = "attach"  # CRM attachments: one upload per file to its parent record


class ReadMethod(StrEnum):
    """How a Zoho source is exported (the planner's choice)."""

    BULK_READ = "bulk_read"
    REST_PAGES = "rest_pages"
    LIST_PAGES = "list_pages"


class Outcome(StrEnum):
    """How a run process ended; the report's ``outcome`` and its exit code follow from it."""

    DONE = "done"
    FAILED_RECORDS = "failed_records"
    PAUSED = "paused"
    INTERRUPTED = "interrupted"
    USAGE = "usage"
    STOPPED = "stopped"

    @property
    def status(self) -> RunStatus:
        """The status the store keeps for a run that ended so (a pause records its own)."""
        return _STATUS.get(self, RunStatus.FAILED)


_STATUS = {
    Outcome.DONE: RunStatus.DONE,
    Outcome.FAILED_RECORDS: RunStatus.DONE,
    Outcome.PAUSED: RunStatus.PAUSED,
    Outcome.INTERRUPTED: RunStatus.INTERRUPTED,
}
