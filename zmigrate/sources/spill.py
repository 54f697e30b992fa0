"""One key's 8-byte hashes over a planner pass, in memory up to a block, the rest on disk.

A pass over 10,000,000 rows checks several keys; kept whole, their hashes alone would take
80 MB a key. Spilled a block at a time to an unnamed temporary file (gone when closed or at
exit), a key holds at most one block in memory, and ``duplicates`` reads them back in blocks.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Iterator
from typing import IO

SPILL_ROWS = 1 << 18
"""Rows between two spills of a pass: at most 2 MB of hashes a key in memory."""
READ_BLOCK = 1 << 17
"""Hashes read back at a time (1 MB)."""


class Hashes:
    """Hashes appended through ``tail.append`` (the pass's hot loop binds it once);
    :meth:`spill` moves them to disk, keeping the same ``tail`` object."""

    def __init__(self) -> None:
        self.tail: array[int] = array("q")
        self.spilled = 0
        self._file: IO[bytes] | None = None

    def __len__(self) -> int:
        return self.spilled + len(self.tail)

    def spill(self) -> None:
        if not self.tail:
            return
        if self._file is None:
            # closed by close(), or with the object: unnamed, it never outlives the process
            self._file = tempfile.TemporaryFile(prefix="zmigrate-keys-")  # noqa: SIM115
        self.tail.tofile(self._file)
        self.spilled += len(self.tail)
        del self.tail[:]  # frees the memory; the object stays (its bound append is in use)

    def blocks(self) -> Iterator[array[int]]:
        """Every hash in append order, a block at a time (the spilled ones, then the tail)."""
        if self._file is not None:
            self._file.seek(0)
            left = self.spilled
            while left:
                block: array[int] = array("q")
                block.fromfile(self._file, min(READ_BLOCK, left))
                left -= len(block)
                yield block
        yield self.tail

    def close(self) -> None:
        """Free the memory and the file."""
        del self.tail[:]
        self.spilled = 0
        if self._file is not None:
            self._file.close()
            self._file = None
