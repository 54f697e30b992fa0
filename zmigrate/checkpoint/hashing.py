"""Content hashes of the manifest and sources, to tell a resume whether its inputs changed."""

from __future__ import annotations

import hashlib
import os

from zmigrate.errors import StoreError


def hash_bytes(data: bytes) -> str:
    """``sha256:<hex>`` of some bytes (the manifest as read)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hash_file(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file, streamed so a multi-GB source never sits in memory."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError as e:
        raise StoreError(f"cannot read {path} to check it: {e.strerror}") from None
    return "sha256:" + h.hexdigest()
