"""A compressed zip member read ahead on a second thread, a bounded queue of chunks.

zlib inflates (and zipfile checks the CRC) with the GIL released, so while the planner
parses one chunk of a sheet's XML on one core, the next chunks inflate on the other.
"""

from __future__ import annotations

import threading
from queue import Empty, Full, Queue
from typing import IO, Protocol

AHEAD = 2
"""Chunks inflated ahead of the parser: memory is bounded to ``AHEAD`` chunks."""
_POLL = 0.1


class Chunks(Protocol):
    """What a sheet's reader reads from: a file, or a :class:`ReadAhead` over one."""

    def read(self, size: int, /) -> bytes: ...


class ReadAhead:
    """``read()`` gives the member's next chunk (``b""`` at its end); ``close()`` stops the
    thread. An error reading the member (a bad CRC, a truncated file) is raised by ``read``."""

    def __init__(self, src: IO[bytes], chunk: int, first: int | None = None) -> None:
        self._queue: Queue[bytes | Exception] = Queue(AHEAD)
        self._stop = threading.Event()
        self._ended = False
        self._thread = threading.Thread(
            target=self._fill, args=(src, chunk, first or chunk), daemon=True
        )
        self._thread.start()

    def _fill(self, src: IO[bytes], chunk: int, first: int) -> None:
        try:
            size = first
            while not self._stop.is_set():
                data = src.read(size)
                size = chunk
                self._put(data)
                if not data:
                    return
        except Exception as exc:  # raised again by read(), on the parser's thread
            self._put(exc)

    def _put(self, item: bytes | Exception) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except Full:
                continue

    def read(self, _size: int = -1, /) -> bytes:
        """The next chunk (the size was set at the start)."""
        if self._ended:
            return b""
        item = self._queue.get()
        if isinstance(item, Exception):
            self._ended = True
            raise item
        self._ended = not item
        return item

    def close(self) -> None:
        """Stop the thread (a reader may stop early, e.g. after the header)."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except Empty:
                self._thread.join(_POLL)
