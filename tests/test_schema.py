"""The org's schema: snapshots (format zmigrate.schema/1), the built-in default, and the
checks `plan` makes against the schema a manifest names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from zmigrate import schema
from zmigrate.cli import main
from zmigrate.errors import ManifestError
from zmigrate.manifest import FieldMap, Step, load_manifest
from zmigrate.mapping import map_record

PLANS = Path(__file__).resolve().parent.parent / "plans"
SAMPLE = PLANS / "schema" / "sample-org.json"

HEAD = """\
[target]
crm_edition = "enterprise"
{schema}
[[steps]]
name = "accounts"
source = {{ file = "accounts.csv" }}
target = "crm:Accounts"
key = ["Legacy_ID"]
[steps.fields]
Legacy_ID = "ref"
Account_Name = "name"
"""


def manifest(tmp_path: Path, extra: str = "", *, snapshot: bool = True) -> Path:
    """A manifest next to a copy of the sample snapshot (named relative to the manifest)."""
    (tmp_path / "org").mkdir(exist_ok=True)
    shutil.copy(SAMPLE, tmp_path / "org" / "schema.json")
    (tmp_path / "accounts.csv").write_text("ref,name,tier,segments\nA1,Acme,Gold,Retail; Online\n")
    line = 'schema = "org/schema.json"' if snapshot else ""
    path = tmp_path / "m.toml"
    path.write_text(HEAD.format(schema=line) + extra)
    return path


def fmap(step: Step, name: str) -> FieldMap:
    return next(f for f in step.fields if f.target == name)


def plan(path: Path):
    return CliRunner().invoke(main, ["plan", str(path)])


def test_the_sample_snapshot_round_trips_exactly():
    data = json.loads(SAMPLE.read_text())
    org = schema.from_snapshot(data, str(SAMPLE))
    assert schema.to_snapshot(org) == data
    legacy = org.module("crm", "accounts").field("Legacy_ID")
    assert legacy.unique and legacy.custom_field and legacy.api_create and legacy.max_length == 100
    assert org.module("crm", "Vehicles").module_name == "CustomModule3"
    assert org.user("ANA@example.com").full_name == "Ana Lima"
    assert org.module("books", "contacts").field("cf_legacy_id").custom_field
    assert [loc.location_name for loc in org.inventory_settings.locations][0] == "Head Office"


def test_a_custom_field_is_refused_without_the_snapshot_and_planned_with_it(tmp_path):
    result = plan(manifest(tmp_path, snapshot=False))
    assert result.exit_code == 2
    first = result.stderr.strip().splitlines()
    assert len(first) == 1
    assert "m.toml:10, step 'accounts', field 'Legacy_ID': crm:Accounts has no field" in first[0]
    assert 'zmigrate schema pull --out FILE, then set [target] schema = "FILE"' in first[0]
    result = plan(manifest(tmp_path))
    assert result.exit_code == 0, result.output
    assert "crm:Accounts" in result.output


def test_every_standard_records_module_is_built_in(tmp_path):
    org = schema.builtin()
    for name in [
        "Leads",
        "Accounts",
        "Contacts",
        "Deals",
        "Products",
        "Vendors",
        "Price_Books",
        "Quotes",
        "Sales_Orders",
        "Purchase_Orders",
        "Invoices",
        "Campaigns",
        "Cases",
        "Solutions",
        "Tasks",
        "Events",
        "Calls",
        "Notes",
    ]:
        assert org.module("crm", name) is not None, name
    assert org.module("crm", "Events").module_name == "Meetings"
    assert not org.module("crm", "Accounts").field("Account_Name").unique  # upsert match only
    (tmp_path / "v.csv").write_text("name,mail\nAcme Supply,a@acme.io\n")
    path = tmp_path / "v.toml"
    path.write_text(
        '[[steps]]\nname = "vendors"\nsource = "v.csv"\ntarget = "crm:Vendors"\n'
        'key = ["Vendor_Name"]\n[steps.fields]\nVendor_Name = "name"\nEmail = "mail"\n'
    )
    result = plan(path)
    assert result.exit_code == 0, result.output
    assert "crm:Vendors" in result.output


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ('Lifetime_Value = "name"', "'Lifetime_Value' is a formula field in crm:Accounts"),
        ('Account_No = "name"', "'Account_No' is a autonumber field in crm:Accounts"),
        ('Created_Time = "name"', "'Created_Time' is read-only in crm:Accounts"),
    ],
)
def test_fields_zoho_computes_are_refused_as_targets(tmp_path, mapping, message):
    with pytest.raises(ManifestError) as info:
        load_manifest(manifest(tmp_path, mapping + "\n"))
    assert message in str(info.value)
    assert info.value.line == 12 and info.value.field == mapping.split()[0]


def test_picklist_values_are_checked_and_display_values_become_actual(tmp_path):
    bad = 'Tier = { column = "tier", map = { Gold = "Gold", P = "Platinum" } }\n'
    with pytest.raises(ManifestError) as info:
        load_manifest(manifest(tmp_path, bad))
    e = info.value
    assert "'Platinum' is not a value of Tier" in str(e) and e.line == 12 and e.field == "Tier"
    good = 'Tier = { column = "tier", map = { Gold = "Gold", Silver = "T2" } }\n'
    step = load_manifest(manifest(tmp_path, good)).steps[0]
    assert dict(fmap(step, "Tier").values) == {"Gold": "T1", "Silver": "T2"}


def test_multi_select_values_are_mapped_as_lists(tmp_path):
    extra = 'Segments = "segments"\n'
    step = load_manifest(manifest(tmp_path, extra)).steps[0]
    row = {"ref": "A1", "name": "Acme", "segments": "Retail; Online"}
    assert map_record(step, [row], lambda s, k: None)["Segments"] == ["Retail", "Online"]
    step = load_manifest(manifest(tmp_path, 'Segments = { const = "Online;Retail" }\n')).steps[0]
    assert map_record(step, [row], lambda s, k: None)["Segments"] == ["Online", "Retail"]
    with pytest.raises(ManifestError, match="'Mail' is not a value of Segments"):
        load_manifest(manifest(tmp_path, 'Segments = { const = "Online;Mail" }\n'))


def test_constants_are_checked_against_the_field_type_and_length(tmp_path):
    with pytest.raises(ManifestError, match="is 41 characters, Account_Number holds at most 40"):
        load_manifest(manifest(tmp_path, f'Account_Number = {{ const = "{"x" * 41}" }}\n'))
    with pytest.raises(ManifestError, match="does not fit Annual_Revenue"):
        load_manifest(manifest(tmp_path, 'Annual_Revenue = { const = "lots" }\n'))
    with pytest.raises(ManifestError, match="transform 'date' gives a date but Employees"):
        load_manifest(manifest(tmp_path, 'Employees = { column = "name", transform = "date" }\n'))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda d: d["crm"]["modules"][0]["fields"][1].update(data_type=5),
            "schema.json: $.crm.modules[0].fields[1].data_type: expected a string, got 5",
        ),
        (
            lambda d: d.update(format="zmigrate.schema/9"),
            "schema.json: $.format: expected 'zmigrate.schema/1', got 'zmigrate.schema/9'",
        ),
        (
            lambda d: d["crm"]["users"][1].pop("email"),
            "schema.json: $.crm.users[1].email: missing",
        ),
    ],
)
def test_a_malformed_snapshot_is_one_located_line(tmp_path, damage, expected):
    path = manifest(tmp_path)
    data = json.loads(SAMPLE.read_text())
    damage(data)
    (tmp_path / "org" / "schema.json").write_text(json.dumps(data))
    result = plan(path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert "Traceback" not in result.output


def test_a_snapshot_that_is_not_json_or_missing_is_located(tmp_path):
    path = manifest(tmp_path)
    (tmp_path / "org" / "schema.json").write_text('{\n "format": "zmigrate.schema/1",\n oops\n}')
    result = plan(path)
    assert result.exit_code == 2 and "schema.json:3: not valid JSON" in result.stderr
    (tmp_path / "org" / "schema.json").unlink()
    result = plan(path)
    assert result.exit_code == 2
    assert "m.toml:3, field 'schema': no schema snapshot at" in result.stderr
    assert "zmigrate schema pull --out schema.json" in result.stderr


def test_the_sample_plans_with_its_snapshot():
    result = plan(PLANS / "custom.toml")
    assert result.exit_code == 0, result.output
    m = load_manifest(PLANS / "custom.toml")
    assert m.schema.origin.endswith("sample-org.json") and m.target.schema_file is not None
    assert dict(fmap(m.steps[0], "Tier").values) == {"Germany": "T1", "USA": "T2"}
