"""Quota-paced calls first: bulk preparation on worker threads yields while they are in flight.

Reading, mapping and zipping a 25,000-row Bulk Write batch is a CPU-bound second on a
thread of the engine's process; it shares the GIL with the event loop that sends Books and
Inventory calls. Those products' quota windows are the run's scarce resource: a window's
burst of 100 calls that the thread slows by 0.2 s (several Zoho seconds at a fast clock)
moves every later window, while the Bulk Write job the thread prepares runs for minutes.
So the thread's work is cut into chunks, and after each one it waits while windowed calls
are in flight, at most ``YIELD_RATIO`` times the chunk's own time: it takes all of the
machine when those products are between bursts, and still about a fifth of it during one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

CHUNK = 500
"""Rows a worker thread handles between two looks at the foreground (a few ms of CPU)."""
YIELD_RATIO = 4.0
"""Longest wait after a chunk, as a multiple of the chunk's time: while windowed calls are
in flight, bulk preparation keeps at least 1 / (1 + 4) of its pace."""


class Foreground:
    """Windowed (Books, Inventory) calls in flight, and the wait bulk work makes for them.

    ``call`` runs on the event loop, ``paced`` on worker threads; ``timer`` (real seconds)
    times the chunks."""

    def __init__(self, timer: Callable[[], float] = time.perf_counter) -> None:
        self.calls = 0
        self.timer = timer
        self._quiet = threading.Event()
        self._quiet.set()

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """Count one windowed call in flight for the length of the block."""
        self.calls += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self.calls -= 1
            if self.calls == 0:
                self._quiet.set()

    def paced(self, items: Iterable[T], every: int = CHUNK) -> Iterator[T]:
        """``items`` for a worker thread: after each ``every`` of them, wait while windowed
        calls are in flight, at most ``YIELD_RATIO`` × the time those items took."""
        rows = iter(items)
        while True:
            began = self.timer()
            chunk = list(islice(rows, every))
            yield from chunk  # one look a chunk: no per-row cost on 100,000-row steps
            if len(chunk) < every:
                return
            if not self._quiet.is_set():
                self._quiet.wait((self.timer() - began) * YIELD_RATIO)
