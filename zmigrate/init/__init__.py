"""``zmigrate init``: a first manifest written from the user's files and their org's schema.

Each source is read once (:mod:`.origin`: a file, each sheet of a workbook, each CSV/JSONL
member of a zip, or a database table or query; :mod:`.read`: encoding and delimiter sniffed
from a text file's head, then every row streamed into capped per-column statistics,
:mod:`.values`). Then, pure: the
module each file fills and the field each column fills (:mod:`.guess`), the transforms and
formats the values need (:mod:`.fields`), keys, lookups between files and step order
(:mod:`.links`), all put together in :mod:`.draft` and written as commented TOML by
:mod:`.write`. Nothing is sent to Zoho; an existing file is only replaced with ``force``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from zmigrate.errors import UsageError
from zmigrate.init.draft import draft
from zmigrate.init.model import Draft
from zmigrate.init.origin import Form, origins
from zmigrate.init.read import READERS, profile
from zmigrate.init.write import manifest_text
from zmigrate.manifest import display_path, load_manifest
from zmigrate.schema import OrgSchema, builtin, load_snapshot


@dataclass(frozen=True)
class Written:
    path: Path
    draft: Draft
    refusal: str | None  # what ``plan`` says of the manifest now (None: it loads)


def init(
    sources: Sequence[str | Path], out: str | Path, schema: str | Path | None, force: bool
) -> Written:
    """Read ``sources``, write the manifest to ``out``; UsageError (exit 2) if it exists."""
    target = Path(out)
    if target.exists() and not force:
        raise UsageError(
            f"{display_path(target)} exists: init never overwrites a manifest; pass --force "
            "to replace it, or choose another --out"
        )
    if not sources:
        kinds = ", ".join(sorted(READERS))
        raise UsageError(f"name at least one source ({kinds}, .xlsx, .zip, sql:$VAR:TABLE)")
    org: OrgSchema = builtin()
    schema_ref = None
    if schema is not None:
        org = load_snapshot(Path(schema))
        schema_ref = Path(
            os.path.relpath(Path(schema).resolve(), target.parent.resolve())
        ).as_posix()
    profiles = [profile(o) for s in sources for o in origins(str(s))]
    profiles = [p for p in profiles if p.columns or p.origin.form is not Form.XLSX]
    d = draft(profiles, org, schema_ref)
    text = manifest_text(d, target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w" if force else "x", encoding="utf-8") as fh:
        fh.write(text)
    try:
        load_manifest(target)
    except UsageError as exc:
        return Written(target, d, str(exc))
    return Written(target, d, None)


__all__ = ["Written", "init"]
