"""Names for messages: the nearest valid name to a typo, and paths as the user typed them."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable


def nearest(name: str, choices: Iterable[str]) -> str | None:
    """The valid name closest to a typo, or None if nothing is close."""
    pool = list(choices)
    hit = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not hit:
        lowered = {c.lower(): c for c in pool}
        hit = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        hit = [lowered[hit[0]]] if hit else []
    return hit[0] if hit else None


def display_path(path: str | os.PathLike[str] | None) -> str:
    """A path relative to the working directory when it lies under it, else absolute."""
    if path is None:
        return ""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def did_you_mean(name: str, choices: Iterable[str], what: str = "") -> str:
    """A hint for ManifestError: the nearest valid name, else the list of valid ones."""
    pool = sorted(choices)
    near = nearest(name, pool)
    if near:
        return f"did you mean '{near}'?"
    shown = ", ".join(pool[:12]) + (", ..." if len(pool) > 12 else "")
    return f"expected {what + ' ' if what else ''}one of: {shown}"
