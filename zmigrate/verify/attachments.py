"""Reading attachments back: they are not records COQL can select, so each parent's
Attachments list is read, and an attachment holds its file when the name and size Zoho
shows are those of the file the run uploaded."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from zmigrate.client.crm import CrmClient
from zmigrate.client.crm_related import related_list
from zmigrate.mapping import MappingError
from zmigrate.schema.related import FILE, FILE_NAME, MATCH_FIELDS, PARENT, Related
from zmigrate.sources.attachments import FileStore


def _parent(payload: Mapping[str, Any]) -> tuple[str, str]:
    ref = payload.get(PARENT)
    ref_id = ref.get("id") if isinstance(ref, Mapping) else ref
    return str(payload.get("$se_module") or ""), str(ref_id or "")


def _holds(files: FileStore, want: Mapping[str, Any], listed: Mapping[str, Any]) -> bool:
    """Whether the listed attachment is the file ``want`` names (same name and size)."""
    try:
        found = files.stat(str(want.get(FILE) or ""))
    except FileNotFoundError:
        return False
    name = str(want.get(FILE_NAME) or found.name)
    return (name, str(found.size)) == (listed.get(FILE_NAME), str(listed.get("Size")))


async def read_attachments(
    crm: CrmClient,
    ids: Sequence[str],
    expected: Sequence[Mapping[str, Any] | MappingError],
    files: FileStore,
) -> dict[str, dict[str, Any]]:
    """The attachments of ``ids`` in the forms the run sent (absent: not on its parent)."""
    parents = sorted({_parent(e) for e in expected if isinstance(e, Mapping)})
    listed: dict[str, tuple[str, dict[str, Any]]] = {}
    for module, parent_id in parents:
        fields = list(MATCH_FIELDS[Related.ATTACHMENTS])
        for a in await related_list(crm, module, parent_id, "Attachments", fields):
            listed[str(a["id"])] = (parent_id, a)
    out: dict[str, dict[str, Any]] = {}
    for zoho_id, want in zip(ids, expected, strict=True):
        if zoho_id not in listed:
            continue
        parent_id, a = listed[zoho_id]
        have = {"id": zoho_id, PARENT: {"id": parent_id}, FILE_NAME: a.get(FILE_NAME)}
        if isinstance(want, Mapping) and _holds(files, want, a):
            have[FILE] = want.get(FILE)
        else:
            have[FILE] = f"{a.get(FILE_NAME)} ({a.get('Size')} bytes)"
        out[zoho_id] = have
    return out


def parent_reads(parents: Sequence[tuple[str, str]], chunk: int, page: int) -> int:
    """List pages verify reads for attachments whose parents are ``parents`` (in source
    order): per chunk of ``chunk`` attachments, each of its parents' whole lists (``page``
    a page), however many of that parent's attachments the chunk holds."""
    on_parent = Counter(parents)
    return sum(
        math.ceil(on_parent[p] / page)
        for n in range(0, len(parents), chunk)
        for p in set(parents[n : n + chunk])
    )
