"""The files an attachment step names, hashed into the run's inputs: a resume refuses a file
that changed since the run began, as it refuses a changed source (the run may have sent
part of the step already, and would land a mix of old and new files)."""

from __future__ import annotations

from pathlib import Path

from zmigrate.checkpoint.hashing import hash_file
from zmigrate.manifest import Step
from zmigrate.schema.related import FILE, Related
from zmigrate.sources.readers import iter_rows


def file_hashes(step: Step) -> dict[str, str]:
    """Hash of each file an attachment step names, by path ("missing" for a file gone)."""
    column = next((fm.column for fm in step.fields if fm.target == FILE), None)
    if step.target.module != Related.ATTACHMENTS or column is None or step.source.path is None:
        return {}
    if step.source.member is not None:  # members of the source's archive, hashed with it
        return {}
    folder = step.target.folder or Path.cwd()
    out = {}
    for _, row in iter_rows(step.source, step=step.name):
        ref = str(row.get(column) or "").strip()
        path = folder / ref
        if ref and str(path) not in out:
            out[str(path)] = hash_file(path) if path.is_file() else "missing"
    return out
