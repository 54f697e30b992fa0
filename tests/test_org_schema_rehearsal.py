"""`run --sandbox` rehearses against the org the manifest's schema snapshot describes.

The embedded sandbox starts from ``[target] schema``: the snapshot's custom CRM fields and
modules exist there, and its Books/Inventory custom fields are kept on records. Checked by
reading what the sandbox stored, after the rehearsal, from its state directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fixed_time import T0
from migration_helpers import records

from zmigrate.clock import Clock
from zmigrate.rehearsal import SANDBOX_STATE, execute_in_sandbox
from zmigrate.sandbox import SandboxConfig, start_sandbox

PLANS = Path(__file__).resolve().parent.parent / "plans"

MANIFEST = """
[target]
schema = "org.json"

[[steps]]
name = "accounts"
source = "accounts.csv"
target = "crm:Accounts"
key = ["Legacy_ID"]
method = "{method}"
[steps.fields]
Legacy_ID = "ref"
Account_Name = "name"
Tier = {{ column = "tier", map = {{ gold = "Gold", silver = "Silver" }} }}
Segments = "segments"

[[steps]]
name = "vehicles"
source = "vehicles.csv"
target = "crm:Vehicles"
operation = "insert"
key = ["Name"]
[steps.fields]
Name = "plate"
VIN = "vin"
[steps.lookups]
Account = {{ step = "accounts", column = "owner_ref" }}

[[steps]]
name = "customers"
source = "customers.csv"
target = "books:contacts"
key = ["contact_name"]
[steps.fields]
contact_name = "name"
cf_legacy_id = "ref"
"""


def write(folder: Path, method: str) -> Path:
    shutil.copy(PLANS / "schema" / "sample-org.json", folder / "org.json")
    (folder / "accounts.csv").write_text(
        "ref,name,tier,segments\n"
        "L-1,Acme,gold,Retail;Online\n"
        "L-2,Globex,silver,Online\n"
        "L-3,Initech,gold,\n"
    )
    (folder / "vehicles.csv").write_text("plate,owner_ref,vin\nVAN-1,L-1,V1\nVAN-2,L-3,V2\n")
    (folder / "customers.csv").write_text("ref,name\nC-1,Ann Co\nC-2,Bob Co\n")
    path = folder / "m.toml"
    path.write_text(MANIFEST.format(method=method))
    return path


async def stored(run_dir: Path, schema: Path) -> dict[str, list[dict[str, Any]]]:
    """What the rehearsal's sandbox kept, read after it stopped (from its state directory)."""
    state = str(run_dir / SANDBOX_STATE)
    config = SandboxConfig(clock_speed=60, state_dir=state, schema=str(schema))
    async with start_sandbox(config, Clock(60, start=T0)) as sb:
        return {
            "accounts": await records(sb, "crm", "Accounts"),
            "vehicles": await records(sb, "crm", "Vehicles"),
            "contacts": await records(sb, "books", "contacts"),
        }


async def test_a_rehearsal_starts_from_the_manifests_snapshot(tmp_path: Path) -> None:
    for method in ("rest", "bulk"):
        folder = tmp_path / method
        folder.mkdir()
        manifest = write(folder, method)
        report = await execute_in_sandbox(manifest, folder / "run", clock_speed=600, clock_start=T0)
        assert report.outcome == "done", report.render()
        got = await stored(folder / "run", folder / "org.json")
        accounts = {r["Legacy_ID"]: r for r in got["accounts"]}
        assert sorted(accounts) == ["L-1", "L-2", "L-3"], method
        assert accounts["L-1"]["Tier"] == "T1" and accounts["L-2"]["Tier"] == "T2"
        assert accounts["L-1"]["Segments"] == ["Retail", "Online"], method
        assert accounts["L-2"]["Segments"] == ["Online"]
        owners = {r["Name"]: r["Account"]["id"] for r in got["vehicles"]}
        assert owners == {"VAN-1": accounts["L-1"]["id"], "VAN-2": accounts["L-3"]["id"]}
        contacts = {r["contact_name"]: r for r in got["contacts"]}
        assert contacts["Ann Co"]["custom_fields"][0]["api_name"] == "cf_legacy_id"
        assert contacts["Ann Co"]["custom_fields"][0]["value"] == "C-1"
