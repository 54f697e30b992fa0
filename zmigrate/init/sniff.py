"""A file's encoding and CSV delimiter, told from its first bytes. Pure: bytes in, names out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

HEAD = 1 << 20
"""Bytes read to decide: enough for thousands of rows of a typical export."""
DELIMITERS = (",", ";", "\t", "|")
_CP1252_ONLY = frozenset(range(0x80, 0xA0)) - {0x81, 0x8D, 0x8F, 0x90, 0x9D}


@dataclass(frozen=True)
class Encoding:
    name: str
    why: str


def encoding(head: bytes) -> Encoding:
    """UTF-8 with or without a byte-order mark, else Windows-1252 or Latin-1.

    Bytes 0x80-0x9f are control characters in Latin-1 but letters and signs (€, ', ") in
    Windows-1252, the usual encoding of an export made by Excel on Windows.
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return Encoding("utf-8-sig", "UTF-8 with a byte-order mark")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not merely a character cut at the end of the head
            if any(b in _CP1252_ONLY for b in head):
                return Encoding("cp1252", "not UTF-8; bytes 0x80-0x9f read as Windows-1252")
            return Encoding("latin-1", f"not UTF-8 (byte 0x{head[exc.start]:02x})")
    return Encoding("utf-8", "UTF-8")


def delimiter(text: str) -> str | None:
    """The delimiter that splits the head's whole lines into the same number (> 1) of cells,
    the most cells winning; None when none does (a one-column file: any delimiter)."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the head's end
    sample = "".join(lines[:200])
    best: tuple[int, str] | None = None
    for candidate in DELIMITERS:
        try:
            widths = {len(r) for r in csv.reader(io.StringIO(sample), delimiter=candidate) if r}
        except csv.Error:
            continue
        if len(widths) == 1 and (width := widths.pop()) > 1 and (not best or width > best[0]):
            best = (width, candidate)
    return best[1] if best else None
