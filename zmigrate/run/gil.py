"""The event loop's share of the GIL while a run's threads do CPU-bound work."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

SWITCH_SECONDS = 0.0005
"""How long a thread holds the GIL before another may take it (Python's default: 5 ms).
The loop gives the GIL up at every socket call and waits for it back: behind a thread
building or parsing a 25,000-row Bulk Write file, each wait was up to 5 ms, several per
Books call, so Books and Inventory lost pace while the CRM bulk steps ran."""

_guard = threading.Lock()
_runs = [0, 0.0]
"""Runs inside :func:`loop_first` in this process, and the interval before the first."""


@contextlib.contextmanager
def loop_first(seconds: float = SWITCH_SECONDS) -> Iterator[None]:
    """Run the block with a short GIL switch interval; the interval from before the first
    of several overlapping runs (runs on several threads) is restored when the last ends."""
    with _guard:
        if _runs[0] == 0:
            _runs[1] = sys.getswitchinterval()
            sys.setswitchinterval(seconds)
        _runs[0] += 1
    try:
        yield
    finally:
        with _guard:
            _runs[0] -= 1
            if _runs[0] == 0:
                sys.setswitchinterval(_runs[1])
