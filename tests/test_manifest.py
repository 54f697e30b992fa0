"""Manifest loading: the sample plans, and one test per kind of mistake a user makes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest

PLANS = Path(__file__).resolve().parent.parent / "plans"

HEAD = """\
[target]
crm_edition = "enterprise"
crm_users = 10
books_plan = "standard"
"""

ACCOUNTS = """\
[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["account_ref"]
[steps.fields]
Account_Name = "name"
"""

CONTACTS = """\
[[steps]]
name = "contacts"
source = { file = "contacts.csv" }
target = "crm:Contacts"
key = ["Email"]
[steps.fields]
Last_Name = "last"
Email = "email"
[steps.lookups]
Account_Name = { step = "accounts", column = "account_ref" }
"""


def write(tmp_path: Path, *parts: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(HEAD + "\n" + "\n".join(textwrap.dedent(p) for p in parts))
    return path


def error(tmp_path: Path, *parts: str) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        load_manifest(write(tmp_path, *parts))
    return info.value


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_sample_manifest_loads_in_dependency_order():
    m = load_manifest(PLANS / "sample.toml")
    assert [s.name for s in m.steps] == [
        "accounts",
        "contacts",
        "deals",
        "items",
        "customers",
        "invoices",
    ]
    assert m.target.crm_edition == "enterprise" and m.target.crm_users == 10
    assert m.target.books.daily_limit == 2_000
    deals = m.step("deals")
    assert deals.depends_on == ("accounts", "contacts")
    assert deals.target.product == "crm" and deals.target.module == "Deals"
    invoices = m.step("invoices")
    assert invoices.line_items and invoices.source_key == ("invoice_number",)
    assert {lk.target for lk in invoices.lookups} == {"customer_id", "line_items[].item_id"}
    assert invoices.source.path == PLANS / "data" / "invoice_lines.csv"
    assert m.manifest_dir == PLANS
    contacts_line = line_of(PLANS / "sample.toml", 'name = "contacts"') - 1
    assert m.step("contacts").line == contacts_line


def test_order_puts_a_step_after_the_steps_it_looks_up(tmp_path):
    m = load_manifest(write(tmp_path, CONTACTS, ACCOUNTS))
    assert [s.name for s in m.steps] == ["contacts", "accounts"]
    assert [s.name for s in m.ordered()] == ["accounts", "contacts"]


def test_crm_to_books_sample_uses_the_card_mapping():
    m = load_manifest(PLANS / "crm_to_books.toml")
    step = m.steps[0]
    assert step.source.kind == "zoho" and step.source.module == "Accounts"
    assert step.source.records == 30_000
    assert {f.target: f.column for f in step.fields}["contact_name"] == "Account_Name"
    assert m.steps[1].target.is_file and m.steps[1].operation == "write"


def test_unknown_step_key_names_line_and_nearest_key(tmp_path):
    path = write(tmp_path, ACCOUNTS.replace('key = ["Account_Name"]', 'kee = ["Account_Name"]'))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    e = info.value
    assert e.line == line_of(path, "kee =") and e.step == "accounts" and e.field == "kee"
    assert "did you mean 'key'" in str(e)
    assert str(e).startswith(f"{path}:{e.line}, step 'accounts', field 'kee': unknown key")


def test_unknown_field_in_module_suggests_nearest(tmp_path):
    path = write(tmp_path, ACCOUNTS.replace('Account_Name = "name"', 'Acount_Name = "name"'))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    e = info.value
    assert e.line == line_of(path, "Acount_Name =")
    assert "crm:Accounts has no field 'Acount_Name'" in str(e)
    assert "did you mean 'Account_Name'" in str(e)


def test_unknown_edition_and_plan_suggest(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(HEAD.replace('"enterprise"', '"enterprize"') + ACCOUNTS)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    e = info.value
    assert e.line == 2 and e.field == "crm_edition" and "did you mean 'enterprise'" in str(e)
    path.write_text(HEAD.replace('"standard"', '"profesional"') + ACCOUNTS)
    with pytest.raises(ManifestError, match="unknown books plan 'profesional'.*professional"):
        load_manifest(path)


def test_secrets_are_refused_with_a_pointer_to_the_environment(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(HEAD + 'client_secret = "x"\n' + ACCOUNTS)
    with pytest.raises(ManifestError, match="ZOHO_CLIENT_SECRET") as info:
        load_manifest(path)
    assert info.value.line == 5


def test_unknown_module_and_product(tmp_path):
    e = error(tmp_path, ACCOUNTS.replace("crm:Accounts", "crm:Acounts"))
    assert "unknown crm module 'Acounts'" in str(e) and "did you mean 'Accounts'" in str(e)
    e = error(tmp_path, ACCOUNTS.replace("crm:Accounts", "bokks:contacts"))
    assert "did you mean 'books'" in str(e)


def test_lookup_to_unknown_step_suggests(tmp_path):
    path = write(tmp_path, ACCOUNTS, CONTACTS.replace('step = "accounts"', 'step = "acounts"'))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    e = info.value
    assert e.step == "contacts" and e.field == "Account_Name"
    assert e.line == line_of(path, 'step = "acounts"')
    assert "unknown step 'acounts'" in str(e) and "did you mean 'accounts'" in str(e)


def test_lookup_cycle_is_an_error(tmp_path):
    a = ACCOUNTS + '[steps.lookups]\nParent_Account = { step = "b", column = "p" }\n'
    b = ACCOUNTS.replace('name = "accounts"', 'name = "b"')
    b += '[steps.lookups]\nParent_Account = { step = "accounts", column = "p" }\n'
    e = error(tmp_path, a, b)
    assert "lookups form a cycle: accounts -> b -> accounts" in str(e)
    assert e.step == "b" and e.field == "Parent_Account"


def test_lookup_to_a_step_of_the_wrong_module(tmp_path):
    wrong = ACCOUNTS.replace("crm:Accounts", "crm:Leads").replace("Account_Name", "Last_Name")
    wrong = wrong.replace('Last_Name = "name"', 'Last_Name = "name"\nCompany = "name"')
    e = error(tmp_path, wrong, CONTACTS)
    assert "holds a crm:Accounts id but step 'accounts' writes crm:Leads" in str(e)


def test_missing_mandatory_field(tmp_path):
    e = error(tmp_path, CONTACTS.replace('Last_Name = "last"\n', ""), ACCOUNTS)
    assert "crm:Contacts needs 'Last_Name' on upsert" in str(e)


def test_read_only_field(tmp_path):
    e = error(tmp_path, ACCOUNTS + 'Created_Time = "c"\n')
    assert "'Created_Time' is read-only" in str(e)


def test_toml_syntax_error_has_its_line(tmp_path):
    e = error(tmp_path, ACCOUNTS + "Industry = \n")
    assert "not valid TOML" in str(e) and e.line == 14


def test_duplicate_step_names(tmp_path):
    e = error(tmp_path, ACCOUNTS, ACCOUNTS)
    assert "two steps are named 'accounts'" in str(e)


def test_value_map_values_must_be_picklist_values(tmp_path):
    deals = """\
    [[steps]]
    name = "deals"
    source = { file = "deals.csv" }
    target = "crm:Deals"
    key = ["Deal_Name"]
    [steps.fields]
    Deal_Name = "t"
    Closing_Date = "d"
    Stage = { column = "s", map = { won = "Closed Wonn" } }
    """
    e = error(tmp_path, deals)
    assert e.field == "Stage" and "did you mean 'Closed Won'" in str(e)


def test_unknown_transform_and_method_and_bulk_on_books(tmp_path):
    e = error(tmp_path, ACCOUNTS + 'Employees = { column = "e", transform = "integr" }\n')
    assert "unknown transform 'integr'" in str(e) and "'integer'" in str(e)
    e = error(
        tmp_path,
        ACCOUNTS.replace('key = ["Account_Name"]', 'key = ["Account_Name"]\nmethod = "bulky"'),
    )
    assert "did you mean 'bulk'" in str(e)
    books = """\
    [[steps]]
    name = "c"
    source = { file = "c.csv" }
    target = "books:contacts"
    key = ["contact_name"]
    method = "bulk"
    [steps.fields]
    contact_name = "n"
    """
    e = error(tmp_path, books)
    assert "no bulk API" in str(e) and e.field == "method"


def test_missing_key_and_unmapped_key(tmp_path):
    e = error(tmp_path, ACCOUNTS.replace('key = ["Account_Name"]\n', ""))
    assert "missing 'key'" in str(e)
    e = error(tmp_path, CONTACTS.replace('key = ["Email"]', 'key = ["Phone"]'), ACCOUNTS)
    assert "key field 'Phone' is not mapped" in str(e)


def test_export_columns_must_be_fields_of_the_exported_module(tmp_path):
    step = """\
    [[steps]]
    name = "sync"
    source = { zoho = "crm:Accounts", records = 10 }
    target = "books:contacts"
    key = ["contact_name"]
    [steps.fields]
    contact_name = "Acount_Name"
    """
    e = error(tmp_path, step)
    assert "crm:Accounts has no field 'Acount_Name'" in str(e)
    assert "did you mean 'Account_Name'" in str(e) and e.field == "contact_name"


def test_missing_manifest_file(tmp_path):
    with pytest.raises(ManifestError, match="cannot read the manifest"):
        load_manifest(tmp_path / "nope.toml")


def test_organization_ids_and_data_center(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOHO_DC", "eu")
    path = tmp_path / "m.toml"
    path.write_text(
        HEAD + 'organization_id = "123"\ninventory_organization_id = "456"\n' + ACCOUNTS
    )
    t = load_manifest(path).target
    assert (t.data_center, t.books_organization_id, t.inventory_organization_id) == (
        "eu",
        "123",
        "456",
    )
    path.write_text(HEAD + 'data_center = "uk"\n' + ACCOUNTS)
    with pytest.raises(ManifestError, match="unknown data center 'uk'"):
        load_manifest(path)


def test_lines_inside_sub_tables(tmp_path):
    deals = """\
    [[steps]]
    name = "deals"
    source = { file = "deals.csv" }
    target = "crm:Deals"
    key = ["Deal_Name"]
    [steps.fields]
    Deal_Name = "t"
    Closing_Date = "d"
    [steps.fields.Stage]
    column = "s"
    map = { won = "Closed Wonn" }
    """
    path = write(tmp_path, deals)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.line == line_of(path, "map = ")
