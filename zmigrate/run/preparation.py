"""Preparing a run: quota limits, the batch cut, input hashes and the run store it opens.

No network: the plan is priced on the records actually exported (``exports``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from pathlib import Path

from zmigrate.auth import Credentials
from zmigrate.checkpoint import RunStore, StepSpec, hash_bytes, hash_file
from zmigrate.client import Limits
from zmigrate.errors import ConfigError, StoreError
from zmigrate.manifest import Manifest, load_manifest
from zmigrate.manifest.model import Product, SourceKind
from zmigrate.planner import Plan, plan
from zmigrate.run.exports import exported_manifest
from zmigrate.run.vocab import WriteMethod
from zmigrate.sources import StepCount, query_id, scan, sql_checksum
from zmigrate.sources.attachment_hashes import file_hashes

FINANCE = (Product.BOOKS, Product.INVENTORY)
"""Products that need an organization id on every call."""


def limits_for(manifest: Manifest) -> Limits:
    """The client's quota settings from the manifest's [target]."""
    t = manifest.target
    return Limits(
        books_plan=t.books_plan,
        inventory_plan=t.inventory_plan,
        crm_edition=t.crm_edition,
        crm_users=t.crm_users,
    )


def step_specs(local: Manifest, the_plan: Plan) -> list[StepSpec]:
    """How the run store cuts each step into batches, from the plan (dependency order).

    A step writing a file is one batch: the file is written whole, then renamed into place.
    """
    specs = []
    for sp in the_plan.steps:
        step = local.step(sp.name)
        if step.target.is_file or sp.write is None:
            product, module = Product.FILE, step.target.text.partition(":")[2].strip()
            method, size = WriteMethod.LOCAL, sp.records
        else:
            product, module = step.target.product, step.target.module or ""
            method, size = WriteMethod(sp.write.method), sp.write.batch_size
        specs.append(
            StepSpec(
                name=sp.name,
                product=product,
                module=module,
                method=method,
                total_rows=sp.records,
                batch_size=max(1, size),
                key_field=",".join(step.key),
                planned_requests=sp.requests,
                planned_credits=sp.credits,
            )
        )
    return specs


def source_hashes(
    manifest: Manifest, counts: Mapping[str, StepCount] | None = None
) -> dict[str, str]:
    """Hash of every source and attached file (a resume refuses ones that changed): a file's
    bytes (a whole archive or workbook), a query's rows (taken from ``counts`` when the plan's
    pass just computed them, else read once more)."""
    out = {}
    for s in manifest.steps:
        src = s.source
        if src.kind is SourceKind.SQL:
            counted = counts[s.name].checksum if counts and s.name in counts else None
            out[query_id(src)] = counted or sql_checksum(src)
        elif src.is_file and src.path is not None:
            out[str(src.path)] = hash_file(src.path)
        out.update(file_hashes(s))
    return out


def open_store(
    manifest: Manifest,
    local: Manifest,
    run_dir: Path,
    *,
    resume: bool,
    latency: Mapping[str, float] | None = None,
) -> tuple[RunStore, Plan]:
    """Create the run store for a new run, or open an existing one (refusing changed inputs).

    ``local`` is ``manifest`` with every Zoho source replaced by its export in the run
    directory: batches are cut from the records actually exported, and the plan's figures
    (what the report compares against) are priced on them, at ``latency`` when given.
    """
    counts = scan(local.steps)
    the_plan = plan(manifest, counts=counts, latency=latency)
    manifest_hash = hash_bytes(manifest.path.read_bytes())
    hashes = source_hashes(manifest, counts)
    if not resume:
        store = RunStore.create(
            run_dir,
            manifest_path=str(manifest.path),
            manifest_hash=manifest_hash,
            source_hashes=hashes,
            plan=the_plan.to_dict(),
            steps=step_specs(local, the_plan),
        )
        return store, the_plan
    store = RunStore.open(run_dir)
    changes = store.changed_inputs(manifest_hash, hashes)
    if changes:
        store.close()
        raise StoreError(
            f"the inputs of the run in {run_dir} changed since it started: "
            + "; ".join(changes)
            + f". Restore them, or re-plan what is left with `zmigrate resume {run_dir} --force`"
        )
    return store, the_plan


def plan_for_run(manifest: Manifest, run_dir: Path) -> tuple[Plan, list[StepSpec]]:
    """The plan and batch cut of ``manifest`` for ``run_dir``, reading its exports (no network).

    What ``open_store`` writes for a new run; ``resume --force`` re-cuts with it.
    """
    local = exported_manifest(manifest, run_dir)
    missing = [s.name for s in local.steps if s.source.kind is SourceKind.ZOHO]
    if missing:
        raise StoreError(f"run {run_dir} has no export for step(s) {missing}; run them first")
    the_plan = plan(manifest, counts=scan(local.steps))
    return the_plan, step_specs(local, the_plan)


def default_run_dir(manifest_path: str | Path, now: float) -> Path:
    """``runs/<manifest>-<UTC time>`` under the current directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return Path("runs") / f"{Path(manifest_path).stem}-{stamp}"


def check_organization(manifest: Manifest, credentials: Credentials) -> None:
    """Books and Inventory need an organization id on every call: refuse before the first one
    (a CRM step would otherwise have been sent before the first Books call found it missing)."""
    products: set[str] = {s.target.product for s in manifest.steps}
    products |= {s.source.product or "" for s in manifest.steps if s.source.kind is SourceKind.ZOHO}
    needs = sorted(p for p in products if p in FINANCE)
    if needs and not credentials.organization_id:
        raise ConfigError(
            f"{manifest.path.name}: step(s) write to or read from {' and '.join(needs)}, which "
            "need an organization id; set organization_id under [target] in the manifest or "
            "ZOHO_ORGANIZATION_ID (GET /books/v3/organizations lists yours)"
        )


def zoho_credentials(manifest_path: str | os.PathLike[str], env: Mapping[str, str]) -> Credentials:
    """Credentials for a run against Zoho: ``ZOHO_*`` from ``env``, and the manifest's
    organization_id, when it names one, over ``ZOHO_ORGANIZATION_ID``."""
    credentials = Credentials.from_env(env)
    target = load_manifest(manifest_path).target
    org = target.books_organization_id or target.inventory_organization_id
    return dataclasses.replace(credentials, organization_id=org) if org else credentials
