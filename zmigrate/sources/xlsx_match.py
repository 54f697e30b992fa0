"""A chunk of a sheet's rows matched against one row template, here or on a second core.

A sheet of one shape is read a chunk at a time: one ``findall`` of the template over the
chunk's whole rows gives every value as text. That scan is most of a big sheet's reading, and
it holds the GIL, so a sheet past :data:`PARALLEL_BYTES` sends its chunks to a worker process
(:class:`Matcher`) while this one converts and hashes the chunks before. The worker runs this
file alone (standard library only, nothing of the caller's ``__main__`` imported) and answers
each chunk in order, with its columns' texts joined by NUL and the columns by U+0001: XML 1.0
text can hold neither, and one string a chunk crosses the pipe far cheaper than one a cell.
If the worker cannot start or dies, this process matches the chunks itself: same values.
"""

from __future__ import annotations

import contextlib
import re
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Future
from functools import lru_cache
from typing import BinaryIO

PARALLEL_BYTES = 64 << 20
"""A sheet's XML from this size (about 100,000 rows) is matched on a second core."""
AHEAD = 3
"""Chunks sent to the worker before the first of them is needed."""
SEP = "\x00"
_COLUMN = "\x01"

Columns = list[Sequence[str]]
"""The texts a template's groups took, by group: the row numbers first, then each cell's."""


@lru_cache(maxsize=16)
def _findall(pattern: str) -> Callable[[str], list[tuple[str, ...]]]:
    return re.compile(f"{pattern}</row>").findall


def _plain(text: str) -> bool:
    """Text the templates can be trusted on: no comment, CDATA section or carriage return (a
    comment could hold a row; CDATA and ``\\r`` need the parser's reading)."""
    return "<!" not in text and "\r" not in text


def match(pattern: str, text: str) -> tuple[bool, Columns] | None:
    """Whether a run of whole rows holds entities (``&``) to replace, and its columns, if the
    template ``pattern`` matches every row; else None. A match is one whole row (no value
    holds ``<``), so as many matches as rows means each row matched."""
    if not _plain(text):
        return None
    found = _findall(pattern)(text)
    if not found or len(found) != text.count("</row>"):
        return None
    return "&" in text, list(zip(*found, strict=True))


def match_joined(pattern: str, data: bytes) -> tuple[bool, str] | None:
    """The worker's task: :func:`match` over a chunk's UTF-8 bytes, its columns joined."""
    got = match(pattern, data.decode("utf-8"))
    if got is None:
        return None
    return got[0], _COLUMN.join([SEP.join(column) for column in got[1]])


def split(joined: str) -> Callable[[int], Sequence[str]]:
    """Column ``i`` of what :func:`match_joined` joined, split when it is asked for (a reader
    may need only a few)."""
    columns = joined.split(_COLUMN)
    return lambda i: columns[i].split(SEP)


_REQUEST = struct.Struct("<II")  # pattern bytes, chunk bytes
_ANSWER = struct.Struct("<IB")  # joined columns' bytes (0: no match), entities


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The worker's loop: a request is a template and a chunk, an answer its columns."""
    while head := requests.read(_REQUEST.size):
        sizes = _REQUEST.unpack(head)
        pattern, data = requests.read(sizes[0]).decode(), requests.read(sizes[1])
        got = match_joined(pattern, data)
        payload = b"" if got is None else got[1].encode()
        answers.write(_ANSWER.pack(len(payload), got is not None and got[0]) + payload)
        answers.flush()


class Matcher:
    """A worker process matching chunks, answering in the order they were sent."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-S", "-P", __file__],  # no site, no sibling modules
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._waiting: deque[Future[tuple[bool, str] | None]] = deque()
        self._lock = threading.Lock()
        self._broken = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def submit(self, pattern: str, data: bytes) -> Future[tuple[bool, str] | None]:
        """The chunk's answer to come (BrokenExecutor if the worker is gone)."""
        future: Future[tuple[bool, str] | None] = Future()
        encoded = pattern.encode()
        with self._lock:
            broken = self._broken
            if not broken:
                self._waiting.append(future)
        if not broken:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(_REQUEST.pack(len(encoded), len(data)) + encoded)
                self._proc.stdin.write(data)
                self._proc.stdin.flush()
                return future
            except OSError:
                self._fail()
        if not future.done():
            future.set_exception(BrokenExecutor("the sheet's matching worker stopped"))
        return future

    def _read(self) -> None:
        answers = self._proc.stdout
        assert answers is not None
        while head := answers.read(_ANSWER.size):
            size, escaped = _ANSWER.unpack(head)
            payload = answers.read(size) if size else b""
            if len(payload) != size:
                break
            with self._lock:
                future = self._waiting.popleft()
            future.set_result((bool(escaped), payload.decode()) if size else None)
        self._fail()

    def _fail(self) -> None:
        with self._lock:
            self._broken = True
            waiting, self._waiting = list(self._waiting), deque()
        for future in waiting:
            if not future.done():
                future.set_exception(BrokenExecutor("the sheet's matching worker stopped"))

    def close(self) -> None:
        """Stop the worker (at once: a reader may stop before the sheet's end); its answers'
        reader sees the pipe end and stops before the pipes are closed."""
        self._proc.kill()
        self._proc.wait()
        self._reader.join()
        for pipe in (self._proc.stdin, self._proc.stdout):
            with contextlib.suppress(OSError):  # unsent requests: the worker is gone
                if pipe is not None:
                    pipe.close()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
