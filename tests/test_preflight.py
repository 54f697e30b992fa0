"""Before the first write: the org's live metadata against the manifest, and the custom
fields a manifest declares created through Zoho's Fields API.

The comparison is pure (a manifest and an OrgSchema); the runs go to the sandbox over
loopback, as a user runs them (`zmigrate run`, `zmigrate schema pull` in a process).
"""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fixed_time import T0
from migration_helpers import records
from test_schema_pull import sandbox_env, zmigrate

from zmigrate.client import Limits, open_zoho
from zmigrate.clock import Clock
from zmigrate.manifest import NewField, load_manifest
from zmigrate.manifest.model import NewFieldType
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.run import execute
from zmigrate.run.preflight import OrgMismatch, create_missing, live_schema, prepare, problems

SAMPLE = Path(__file__).resolve().parent.parent / "plans" / "schema" / "sample-org.json"

OWNED = """\
[target]
schema = "org.json"
default_owner = "ana@example.com"

[[steps]]
name = "accounts"
source = "accounts.csv"
target = "crm:Accounts"
key = ["Legacy_ID"]
[steps.fields]
Legacy_ID = "ref"
Account_Name = "name"
Tier = { const = "Gold" }
Owner = { user = "owner" }
"""


def owned(folder: Path) -> Path:
    shutil.copy(SAMPLE, folder / "org.json")
    (folder / "accounts.csv").write_text("ref,name,owner\nL-1,Acme,bo@example.com\n")
    (folder / "m.toml").write_text(OWNED)
    return folder / "m.toml"


def org_from(snapshot: dict[str, Any]):
    """An org as its live metadata answers describe it (here: an edited snapshot)."""
    crm = snapshot["crm"]
    fields = {m["api_name"]: m["fields"] for m in crm["modules"]}
    return live_schema(crm["modules"], fields, crm["users"])


def test_the_org_as_the_snapshot_says_has_no_problem(tmp_path):
    manifest = load_manifest(owned(tmp_path))
    assert problems(manifest, org_from(json.loads(SAMPLE.read_text())), with_users=True) == []


def test_each_thing_the_org_lacks_or_changed_is_one_line(tmp_path):
    manifest = load_manifest(owned(tmp_path))
    live = json.loads(SAMPLE.read_text())
    accounts = next(m for m in live["crm"]["modules"] if m["api_name"] == "Accounts")
    accounts["fields"] = [f for f in accounts["fields"] if f["api_name"] != "Legacy_ID"]
    tier = next(f for f in accounts["fields"] if f["api_name"] == "Tier")
    tier["pick_list_values"] = [v for v in tier["pick_list_values"] if v["actual_value"] != "T1"]
    name = next(f for f in accounts["fields"] if f["api_name"] == "Account_Name")
    name["length"] = 80
    ana = next(u for u in live["crm"]["users"] if u["email"] == "ana@example.com")
    ana["status"] = "disabled"
    found = problems(manifest, org_from(live), with_users=True)
    where = "step 'accounts', crm:Accounts"
    assert found == [
        f"{where}: the org has no field Legacy_ID",
        f"{where}: field Account_Name holds 80 characters in the org, 200 in the snapshot (stale)",
        f"{where}: field Tier has no picklist value 'T1'",
        "default_owner ana@example.com: not an active user of the org",
        "user ana@example.com: active in the snapshot, not in the org (stale)",
    ]
    gone = copy.deepcopy(live)
    gone["crm"]["modules"] = [m for m in gone["crm"]["modules"] if m["api_name"] != "Accounts"]
    assert problems(manifest, org_from(gone), with_users=False) == [
        f"{where}: the org has no module Accounts"
    ]


async def test_run_stops_before_any_write_when_the_org_lacks_a_field(tmp_path, make_sandbox):
    sb = await make_sandbox(clock=Clock(600, start=T0))  # the built-in org: no Legacy_ID
    path = owned(tmp_path)
    code, out, err = await zmigrate(
        sandbox_env(sb), "run", str(path), "--run-dir", str(tmp_path / "run")
    )
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert lines[0].startswith("zmigrate run: m.toml: the org lacks what the manifest needs")
    assert "pull the schema again" in lines[0]
    assert "  step 'accounts', crm:Accounts: the org has no field Legacy_ID" in lines
    assert any("user bo@example.com: active in the snapshot" in line for line in lines)
    assert await records(sb, "crm", "Accounts") == []
    state = sb.state()
    assert state["requests"]["crm"] == 1 + 1 + 1  # modules, Accounts' fields, users; no write
    spent = state["products"]["crm"]["credits"]["by_operation"]
    assert sum(spent.values()) == 3, spent


CREATE = """\
[target]
crm_edition = "enterprise"
{schema}
[[steps]]
name = "accounts"
source = "{file}"
target = "crm:Accounts"
key = ["Legacy_ID"]
method = "{method}"
[steps.create_fields]
Legacy_ID = {{ data_type = "text", length = 40, unique = true }}
[steps.fields]
Legacy_ID = "ref"
Account_Name = "name"
"""


async def test_a_created_field_is_pulled_mapped_migrated_and_read_back(tmp_path, make_sandbox):
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock)
    creds = sandbox_credentials(sb)
    (tmp_path / "rest.csv").write_text("ref,name\nL-1,Acme\nL-2,Globex\n")
    (tmp_path / "bulk.csv").write_text("ref,name\nl-2,Globex GmbH\nL-3,Initech\n")
    first = tmp_path / "rest.toml"
    first.write_text(CREATE.format(schema="", file="rest.csv", method="rest"))
    plan_text = (await zmigrate(sandbox_env(sb), "plan", str(first)))[1]
    assert "create_fields (crm): 1 requests, 1 credits" in plan_text
    progress = Progress(io.StringIO(), tty=False)
    report = await execute(first, tmp_path / "run1", creds, clock, progress=progress)
    assert report.outcome == "done", report.render()
    # a resumed (or repeated) preparation finds the field and creates nothing more
    async with open_zoho(creds, clock, Limits()) as zoho:
        await prepare(zoho, load_manifest(first), progress)
    assert sb.state()["products"]["crm"]["schema"]["custom_fields"] == 1
    # pulled, the org's schema has the field as Zoho made it
    code, out, err = await zmigrate(
        sandbox_env(sb), "schema", "pull", "--products", "crm", "--out", str(tmp_path / "org.json")
    )
    assert code == 0, err
    pulled = json.loads((tmp_path / "org.json").read_text())
    accounts = next(m for m in pulled["crm"]["modules"] if m["api_name"] == "Accounts")
    legacy = next(f for f in accounts["fields"] if f["api_name"] == "Legacy_ID")
    assert (legacy["data_type"], legacy["length"], legacy["custom_field"]) == ("text", 40, True)
    assert legacy["unique"] == {"casesensitive": "0"}
    second = tmp_path / "bulk.toml"
    declared = (
        '[steps.create_fields]\nLegacy_ID = { data_type = "text", length = 40, unique = true }\n'
    )
    text = CREATE.format(schema='schema = "org.json"', file="bulk.csv", method="bulk")
    second.write_text(text.replace(declared, ""))  # the pulled snapshot has it now
    assert "create_fields" not in second.read_text()
    report = await execute(second, tmp_path / "run2", creds, clock, progress=progress)
    assert report.outcome == "done", report.render()
    assert report.steps[0].method == "bulk"
    async with open_zoho(creds, clock, Limits()) as zoho:
        got = await zoho.crm.get_page("Accounts", ["Legacy_ID", "Account_Name"])
        by_ref = {r["Legacy_ID"]: r["Account_Name"] for r in got.records}
        # l-2 matched L-2 (unique values compare case-insensitively): updated, not added
        assert by_ref == {"L-1": "Acme", "l-2": "Globex GmbH", "L-3": "Initech"}
        hits = await zoho.crm.coql("select Account_Name from Accounts where Legacy_ID = 'L-3'")
        assert [r["Account_Name"] for r in hits.records] == ["Initech"]
        rows = [r async for page in zoho.crm.bulk_read("Accounts", ["Legacy_ID"]) for r in page]
        assert sorted(r["Legacy_ID"] for r in rows) == ["L-1", "L-3", "l-2"]


@pytest.mark.parametrize(
    ("kind", "unique", "problem"),
    [
        ("text", True, None),
        ("text", False, "field Legacy_ID is not unique in the org, create_fields asks"),
        ("integer", True, "field Legacy_ID is integer in the org, create_fields asks for text"),
    ],
)
async def test_a_declared_field_the_org_has_otherwise_stops_the_run(
    tmp_path, make_sandbox, kind, unique, problem
):
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock)
    creds = sandbox_credentials(sb)
    async with open_zoho(creds, clock, Limits()) as zoho:
        body = {"field_label": "Legacy ID", "api_name": "Legacy_ID", "data_type": kind}
        body |= {"unique": {"case_sensitive": False}} if unique else {}
        await zoho.crm.create_fields("Accounts", [body], credits=1)
    (tmp_path / "a.csv").write_text("ref,name\nL-1,Acme\n")
    path = tmp_path / "m.toml"
    path.write_text(CREATE.format(schema="", file="a.csv", method="rest"))
    run = execute(path, tmp_path / "run", creds, clock, progress=Progress(io.StringIO(), tty=False))
    if problem is None:
        assert (await run).outcome == "done"  # already there as asked: nothing to create
        assert sb.state()["products"]["crm"]["schema"]["custom_fields"] == 1
        return
    with pytest.raises(OrgMismatch, match=problem):
        await run
    assert await records(sb, "crm", "Accounts") == []


async def test_a_create_zoho_refuses_as_duplicate_is_settled_by_reading_the_fields(make_sandbox):
    """A create whose answer was lost is sent again on a later run: DUPLICATE_DATA then means
    "already there", checked by reading the fields (the type must be the one asked for)."""
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock)
    creds = sandbox_credentials(sb)
    new = NewField("Legacy_ID", NewFieldType.TEXT, "Legacy ID", 40, False, 1)
    other = NewField("Legacy_ID", NewFieldType.INTEGER, "Legacy ID", 9, False, 1)
    progress = Progress(io.StringIO(), tty=False)
    async with open_zoho(creds, clock, Limits()) as zoho:
        await create_missing(zoho, "Accounts", [new], progress)
        await create_missing(zoho, "Accounts", [new], progress)  # DUPLICATE_DATA: fine
        with pytest.raises(OrgMismatch, match=r"did not create field\(s\) Legacy_ID \(text\)"):
            await create_missing(zoho, "Accounts", [other], progress)
    assert sb.state()["products"]["crm"]["schema"]["custom_fields"] == 1


async def test_the_sample_org_round_trips_through_the_sandbox(tmp_path, make_sandbox):
    """`zmigrate sandbox --schema` serves the snapshot; `schema pull` gives it back."""
    sb = await make_sandbox(schema=str(SAMPLE))
    out = tmp_path / "pulled.json"
    code, _, err = await zmigrate(sandbox_env(sb), "schema", "pull", "--out", str(out))
    assert code == 0, err
    pulled, sample = json.loads(out.read_text()), json.loads(SAMPLE.read_text())
    for data in (pulled, sample):
        del data["pulled_at"]
    assert pulled == sample
