"""What may still start: Ctrl-C, a quota pause per product, a stop for the whole run; and
the pacers' first window after a restart."""

from __future__ import annotations

import asyncio
import time

from zmigrate.client import Zoho
from zmigrate.outcomes import Pause, Stop
from zmigrate.progress import Progress
from zmigrate.quotas import MINUTE

INTERRUPT_GRACE = 2.0
"""Real seconds that calls in flight get to answer after Ctrl-C before they are cancelled."""


class Control:
    """The run's brakes, read before every batch; the step tasks it cancels on Ctrl-C."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.pauses: dict[str, Pause] = {}
        self.stopped: Stop | None = None
        self.interrupted = False
        self.tasks: dict[str, asyncio.Task[bool]] = {}
        """The step tasks, by step name."""

    def halted(self, product: str) -> bool:
        """No new batch of ``product`` may start (interrupted, stopped, or its quota paused)."""
        return self.interrupted or self.stopped is not None or product in self.pauses

    def interrupt(self) -> None:
        """Ctrl-C: start nothing new; calls already sent get INTERRUPT_GRACE real seconds to
        answer (fewer batches to verify on resume), then whatever still waits is cancelled
        (a throttling wait, a bulk job's polls): the store knows what was in flight."""
        if self.interrupted:
            return
        self.interrupted = True
        self.progress.note("interrupted: stopping; in-flight batches are verified on resume")
        asyncio.get_running_loop().call_later(INTERRUPT_GRACE, self.cancel_steps)

    def cancel_steps(self) -> None:
        for task in self.tasks.values():
            task.cancel()

    def pause(self, product: str, action: Pause) -> None:
        if product not in self.pauses:
            self.pauses[product] = action
            when = action.resets_at
            at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when)) if when else "later"
            self.progress.note(f"{product}: {action.kind}, pausing until {at}: {action.reason}")

    def stop(self, action: Stop) -> None:
        if self.stopped is None:
            self.stopped = action
            self.progress.note(f"stopping: {action.reason}")


def hold_one_window(zoho: Zoho) -> None:
    """Books/Inventory pacers wait one whole window before their first call: calls another
    process of this org made (a run just ended, a killed process) may still count in Zoho's
    per-minute window, and one call too many blocks the org for 30 minutes. A resume holds
    whatever its last process did: one that paused on one product's quota went on sending on
    the others until it exited, and a step of theirs waiting on the paused one may start at
    once."""
    until = zoho.clock.now() + MINUTE
    for channel in zoho.channels.values():
        if channel.pacer is not None:
            channel.pacer.block_until(until)
