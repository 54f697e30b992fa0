"""The read-ahead thread under a sheet's reader: chunks in order, errors raised, stops early."""

from __future__ import annotations

import io

import pytest

from zmigrate.sources.inflate import AHEAD, ReadAhead


class _Broken(io.BytesIO):
    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() >= 4:
            raise OSError("disk went away")
        return super().read(size)


def test_chunks_come_in_order_then_empty():
    ahead = ReadAhead(io.BytesIO(b"abcdefghij"), 4)
    got = [ahead.read(4) for _ in range(5)]
    ahead.close()
    assert got == [b"abcd", b"efgh", b"ij", b"", b""]


def test_an_error_reading_is_raised_on_the_readers_thread():
    ahead = ReadAhead(_Broken(b"abcdefgh"), 4)
    assert ahead.read(4) == b"abcd"
    with pytest.raises(OSError, match="disk went away"):
        ahead.read(4)
    assert ahead.read(4) == b""
    ahead.close()


def test_closing_early_stops_the_thread_with_the_queue_full():
    src = io.BytesIO(b"x" * 1000)
    ahead = ReadAhead(src, 10)
    assert ahead.read(10) == b"x" * 10
    ahead.close()
    assert not ahead._thread.is_alive()
    assert src.tell() <= 10 * (AHEAD + 3)  # bounded: it did not read the whole member
