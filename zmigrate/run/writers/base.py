"""The one interface every kind of target is written through.

A writer gets a batch's mapped items and answers one verdict per item (landed, refused, or
to send again); the batch state machine (``zmigrate.run.batch``) does the rest: marking the
batch in flight, verifying, dead letters, committing ids. A writer that may be asked for a
batch again (``retried``) must first find what an earlier send of it did in Zoho.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from zmigrate.checkpoint import AsyncRunStore, Batch, StepSpec
from zmigrate.client import Zoho
from zmigrate.manifest import Step
from zmigrate.outcomes import Verdict
from zmigrate.progress import Progress
from zmigrate.run.items import Item

T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """What a writer writes for: one step, the store that tracks it, the Zoho of the run."""

    step: Step
    spec: StepSpec
    zoho: Zoho
    store: AsyncRunStore
    progress: Progress


class Writer(ABC):
    """Writes the batches of one step; one instance per step of a run process."""

    def __init__(self, target: Target) -> None:
        self.target = target

    @classmethod
    @abstractmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        """How many batches of the step may be sent at once."""

    @classmethod
    def held(cls, workers: int) -> int:
        """Batches whose records the step may hold at once: those being sent, and a read-ahead
        of two a worker so a worker never waits for the source."""
        return 3 * workers + 1

    @classmethod
    def concurrency(cls, zoho: Zoho, spec: StepSpec) -> int:
        """The concurrency the report shows for the step (its product's gate; 0 without)."""
        channel = zoho.channels.get(spec.product)
        return channel.gate.max_limit if channel is not None else 0

    @classmethod
    def settle(cls, step: Step, spec: StepSpec) -> None:
        """A step found complete when the run starts (nothing to do for most targets)."""
        return None

    @classmethod
    def paced(cls, zoho: Zoho, rows: Iterable[T]) -> Iterator[T]:
        """``rows`` as a worker thread of the step reads, maps or writes them: at once for
        most targets; a bulk step's yield to windowed calls (``zmigrate.foreground``)."""
        return iter(rows)

    @abstractmethod
    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        """Write ``items`` of ``batch``; one verdict per item, in order."""
