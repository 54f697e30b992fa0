"""The Zoho a finished run wrote to, for the commands that work on it afterwards (`verify`,
`rollback`): its rehearsal's embedded sandbox, restarted from ``RUN_DIR/sandbox``, or Zoho
through the ``ZOHO_*`` environment, as `resume` reaches them, under the same quotas.

Both commands read the run's sources as the run read them (Zoho exports from
``RUN_DIR/exports``), so they refuse a run whose manifest or sources changed since.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from zmigrate.auth import Credentials
from zmigrate.checkpoint import RunStore, hash_bytes
from zmigrate.client import Zoho, open_zoho
from zmigrate.clock import Clock
from zmigrate.errors import StoreError, UsageError
from zmigrate.manifest import Manifest, load_manifest
from zmigrate.rehearsal import REHEARSAL_SPEED, SANDBOX_STATE, rehearsal_sandbox
from zmigrate.run import source_hashes, zoho_credentials
from zmigrate.run.control import hold_one_window
from zmigrate.run.exports import exported_manifest
from zmigrate.run.preparation import limits_for
from zmigrate.scrub import register


@dataclass(frozen=True)
class FinishedRun:
    """A run directory and what its run read: the manifest, and its sources as exported."""

    run_dir: Path
    manifest: Manifest
    local: Manifest
    """The manifest with every Zoho source replaced by its export in the run directory."""
    rehearsal: bool
    """Run with ``--sandbox``: its Zoho is the sandbox kept in ``RUN_DIR/sandbox``."""


def load_run(run_dir: str | os.PathLike[str], command: str) -> FinishedRun:
    """The run in ``run_dir``; refuses one whose manifest or sources changed since it ran."""
    path = Path(run_dir)
    with RunStore.open(path, readonly=True) as store:
        meta = store.meta()
        manifest_path = Path(meta.manifest_path or "")
        if not manifest_path.is_file():
            raise UsageError(
                f"the run's manifest {manifest_path} is gone; put it back to {command} {path}"
            )
        manifest = load_manifest(manifest_path)
        changes = store.changed_inputs(
            hash_bytes(manifest_path.read_bytes()), source_hashes(manifest)
        )
    if changes:
        raise StoreError(
            f"the inputs of the run in {path} changed since it ran: {'; '.join(changes)}. "
            f"`zmigrate {command}` compares with what the run read: put them back as they were"
        )
    local = exported_manifest(manifest, path)
    return FinishedRun(path, manifest, local, (path / SANDBOX_STATE).is_dir())


@asynccontextmanager
async def open_run_zoho(
    run: FinishedRun, clock_speed: float | None, env: Mapping[str, str]
) -> AsyncIterator[Zoho]:
    """The run's Zoho with its quotas: the rehearsal's sandbox, or Zoho with ``ZOHO_*``; its
    Books/Inventory pacers first let the run's last window pass (``hold_one_window``)."""
    limits = limits_for(run.manifest)
    if run.rehearsal:
        clock = Clock(clock_speed or REHEARSAL_SPEED)
        async with (
            rehearsal_sandbox(run.manifest, run.run_dir, clock) as credentials,
            _registered(credentials),
            open_zoho(credentials, clock, limits) as zoho,
        ):
            hold_one_window(zoho)
            yield zoho
        return
    credentials = zoho_credentials(run.manifest.path, env)
    register(credentials.client_secret, credentials.refresh_token)
    async with open_zoho(credentials, Clock(clock_speed or 1.0), limits) as zoho:
        hold_one_window(zoho)
        yield zoho


@asynccontextmanager
async def _registered(credentials: Credentials) -> AsyncIterator[None]:
    """The sandbox's secrets known to the scrubber before anything is printed."""
    register(credentials.client_secret, credentials.refresh_token)
    yield
