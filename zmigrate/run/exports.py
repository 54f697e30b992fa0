"""Exports: every Zoho source read once, at the start of a run, into ``RUN_DIR/exports``.

A resume reads the same files, so batches keep their rows. CRM uses Bulk Read or GET pages
(page_token, never stopping at 2,000) as the planner chooses; Books/Inventory their lists.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from zmigrate import quotas
from zmigrate.client import Zoho
from zmigrate.manifest import Manifest, SourceSpec
from zmigrate.manifest.model import Product, SourceKind
from zmigrate.planner import choose_method
from zmigrate.progress import Progress
from zmigrate.run.accounting import STEP_TALLY, Tally
from zmigrate.run.items import csv_cell
from zmigrate.run.vocab import ReadMethod
from zmigrate.run.writers.finance import finance_client
from zmigrate.sources import file_source

EXPORTS_DIR = "exports"


def export_path(run_dir: Path, step: str) -> Path:
    return run_dir / EXPORTS_DIR / f"{step}.csv"


def exported_manifest(manifest: Manifest, run_dir: Path) -> Manifest:
    """``manifest`` reading each Zoho source from its export in ``run_dir``, where one exists."""
    steps = []
    for step in manifest.steps:
        path = export_path(run_dir, step.name)
        if step.source.kind is SourceKind.ZOHO and path.exists():
            step = dataclasses.replace(step, source=file_source(path))
        steps.append(step)
    return dataclasses.replace(manifest, steps=tuple(steps))


async def export_sources(
    manifest: Manifest, zoho: Zoho, run_dir: Path, tallies: Mapping[str, Tally], progress: Progress
) -> Manifest:
    """Export every Zoho source not yet exported to ``RUN_DIR/exports/<step>.csv``."""
    for step in manifest.steps:
        src, path = step.source, export_path(run_dir, step.name)
        if src.kind is not SourceKind.ZOHO or path.exists():
            continue
        STEP_TALLY.set(tallies[step.name])
        fields = list(dict.fromkeys(src.fields or step.columns or _all_fields(src)))
        records = src.records or 0
        if src.product is Product.CRM:  # the real size decides GET pages vs Bulk Read, as planned
            records = await crm_count(zoho, src.module or "")
        read = choose_method(
            "read", src.product or "", records, step.method, manifest.target, len(fields)
        )
        progress.note(f"{step.name}: exporting {src.describe()} ({read.method})")
        rows = _export_rows(zoho, src, fields, ReadMethod(read.method))
        count = await write_csv(path, fields, rows)
        progress.note(f"{step.name}: exported {count} records to {path}")
    STEP_TALLY.set(None)
    return exported_manifest(manifest, run_dir)


async def crm_count(zoho: Zoho, module: str) -> int:
    """Records in a CRM module (``GET /{module}/actions/count``, 1 credit)."""
    await zoho.tokens.token()  # the API host is the token's api_domain
    url = f"{zoho.tokens.api_url}{zoho.crm.base}/{module}/actions/count"
    resp = await zoho.transport.request(
        zoho.channels[Product.CRM], "GET", url, credits=quotas.CREDITS_METADATA
    )
    body = resp.body if isinstance(resp.body, dict) else {}
    return int(body.get("count") or 0)


def _all_fields(src: SourceSpec) -> list[str]:
    """Every field of the exported module (a backup that names none takes them all)."""
    mod = src.schema
    return [f.api_name for f in mod.fields if f.data_type != "subform"] if mod else []


async def _export_rows(
    zoho: Zoho, src: SourceSpec, fields: list[str], method: ReadMethod
) -> AsyncIterator[Mapping[str, Any]]:
    module = src.module or ""
    if src.product is not Product.CRM:
        async for record in finance_client(zoho, src.product or "").iter_all(module):
            yield record
        return
    named = [f for f in fields if f != "id"]
    if method is ReadMethod.BULK_READ:
        async for page in zoho.crm.bulk_read(module, named):
            for row in page:
                yield row
    else:
        async for record in zoho.crm.iter_records(module, named):
            yield record


async def write_csv(path: Path, fields: list[str], rows: AsyncIterator[Mapping[str, Any]]) -> int:
    """Stream ``rows`` into a CSV of ``fields`` (a lookup is its id; Bulk Read's ``Id`` is
    ``id``), written beside and renamed into place so a half export is never read."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    count = 0
    with open(tmp, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(fields)
        async for row in rows:
            folded = {str(k).lower(): v for k, v in row.items()}
            writer.writerow([csv_cell(folded.get(f.lower())) for f in fields])
            count += 1
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return count
