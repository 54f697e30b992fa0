"""A run as the store reads it back: its meta values and its summary, as frozen values.

``to_dict`` gives the JSON shape `zmigrate status --json` prints (keys in this order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zmigrate.checkpoint.records import BatchState, RunStatus


@dataclass(frozen=True)
class RunMeta:
    """What the store keeps about the run as a whole (the plan aside)."""

    schema_version: int
    manifest_path: str
    manifest_hash: str
    source_hashes: Mapping[str, str]
    status: RunStatus
    created: float
    updated: float | None = None
    paused_until: float | None = None
    pause_reason: str | None = None
    last_error: str | None = None
    replanned: float | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> RunMeta:
        """From the meta table's decoded values; raises ``KeyError``/``ValueError`` on damage."""
        return cls(
            schema_version=int(values["schema_version"]),
            manifest_path=str(values["manifest_path"]),
            manifest_hash=str(values["manifest_hash"]),
            source_hashes=dict(values.get("source_hashes") or {}),
            status=RunStatus(values["status"]),
            created=float(values["created"]),
            updated=values.get("updated"),
            paused_until=values.get("paused_until"),
            pause_reason=values.get("pause_reason"),
            last_error=values.get("last_error"),
            replanned=values.get("replanned"),
        )


@dataclass(frozen=True)
class BatchCounts:
    """How many of a step's batches are in each :class:`BatchState`."""

    pending: int = 0
    in_flight: int = 0
    done: int = 0
    failed: int = 0

    @classmethod
    def of(cls, counts: Mapping[BatchState, int]) -> BatchCounts:
        return cls(*(counts.get(state, 0) for state in BatchState))


@dataclass(frozen=True)
class StepSummary:
    """One step's records: landed (distinct ids), merged into another key's id, refused, left."""

    step: str
    product: str
    module: str
    method: str
    total: int
    done: int
    merged: int
    failed: int
    left: int
    batches: BatchCounts

    @property
    def settled(self) -> int:
        """Records that will not be sent again: landed, merged or dead-lettered."""
        return self.done + self.merged + self.failed

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class QuotaSpent:
    """One product's quota: spent so far (requests, CRM credits) against the plan."""

    requests: int = 0
    credits: int = 0
    planned_requests: int = 0
    planned_credits: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


NO_QUOTA = QuotaSpent()


@dataclass(frozen=True)
class RunSummary:
    """What `zmigrate status` shows: each step, the quota bill so far, the run's state."""

    run_dir: str
    manifest: str
    status: RunStatus
    active_pid: int | None
    paused_until: float | None
    pause_reason: str | None
    last_error: str | None
    created: float
    updated: float | None
    steps: tuple[StepSummary, ...]
    quota: Mapping[str, QuotaSpent]
    """Per product, sorted by name."""

    @property
    def paused(self) -> bool:
        return self.status is RunStatus.PAUSED

    @property
    def settled(self) -> int:
        return sum(s.settled for s in self.steps)

    @property
    def left(self) -> int:
        return sum(s.left for s in self.steps)

    def quota_of(self, product: str) -> QuotaSpent:
        """``product``'s quota, zeros when the run neither planned nor spent any."""
        return self.quota.get(product, NO_QUOTA)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `zmigrate status --json` (without its ``*_utc`` additions)."""
        return {
            "run_dir": self.run_dir,
            "manifest": self.manifest,
            "status": self.status.value,
            "active_pid": self.active_pid,
            "paused": self.paused,
            "paused_until": self.paused_until,
            "pause_reason": self.pause_reason,
            "last_error": self.last_error,
            "created": self.created,
            "updated": self.updated,
            "steps": [s.to_dict() for s in self.steps],
            "quota": {p: q.to_dict() for p, q in self.quota.items()},
        }
