"""`zmigrate init`: the manifest it writes from the sample data and from export-shaped files
is one `zmigrate plan` accepts, with the right mappings, keys, lookups and formats; what it
cannot decide is left as comments (and plan then says what to fix)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from zmigrate.cli import main
from zmigrate.init.guess import guess_modules
from zmigrate.init.sniff import delimiter, encoding
from zmigrate.init.values import ColumnStats, Decimal, Order
from zmigrate.manifest import Manifest, Step, load_manifest
from zmigrate.mapping import map_record
from zmigrate.schema import builtin
from zmigrate.sources import iter_records

PLANS = Path(__file__).resolve().parent.parent / "plans"
SAMPLE = [
    PLANS / "data" / n
    for n in (
        "invoice_lines.csv",
        "deals.csv",
        "contacts.csv",
        "accounts.csv",
        "customers.csv",
        "items.jsonl",
    )
]


def cli(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args])


def init_and_load(out: Path, *args: str | Path) -> Manifest:
    result = cli("init", *args, "--out", out)
    assert result.exit_code == 0, result.output
    return load_manifest(out)


def step(m: Manifest, name: str) -> Step:
    return next(s for s in m.steps if s.name == name)


def fields(s: Step) -> dict[str, tuple[str | None, str | None, str | None]]:
    return {f.target: (f.column, f.transform and str(f.transform), f.format) for f in s.fields}


def lookups(s: Step) -> dict[str, tuple[str, tuple[str, ...], bool]]:
    return {lk.target: (lk.step, lk.columns, lk.optional) for lk in s.lookups}


def test_sample_data(tmp_path: Path) -> None:
    out = tmp_path / "plans" / "sample.toml"
    m = init_and_load(out, *SAMPLE)
    order = [s.name for s in m.steps]
    # lookups first: invoices after customers and items, deals after accounts and contacts
    assert order.index("customers") < order.index("invoice_lines")
    assert order.index("items") < order.index("invoice_lines")
    assert order.index("accounts") < order.index("contacts") < order.index("deals")
    targets = {s.name: s.target.text for s in m.steps}
    assert targets == {
        "accounts": "crm:Accounts",
        "contacts": "crm:Contacts",
        "deals": "crm:Deals",
        "items": "inventory:items",
        "customers": "books:contacts",
        "invoice_lines": "books:invoices",
    }
    acc = step(m, "accounts")
    assert (acc.key, acc.source_key) == (("Account_Name",), ("account_ref",))
    assert fields(acc) == {
        "Account_Number": ("account_ref", None, None),
        "Account_Name": ("name", None, None),
        "Industry": ("industry", None, None),
        "Annual_Revenue": ("revenue", "decimal", None),
        "Billing_City": ("city", None, None),
        "Billing_Country": ("country", None, None),
    }
    con = step(m, "contacts")
    assert (con.key, con.source_key) == (("Email",), ("contact_ref",))
    assert fields(con)["Date_of_Birth"] == ("birthday", "date", "%d/%m/%Y")
    assert lookups(con) == {"Account_Name": ("accounts", ("account_ref",), False)}
    deals = step(m, "deals")
    assert (deals.key, deals.source_key) == (("Deal_Name",), ("deal_ref",))
    assert fields(deals)["Deal_Name"] == ("title", None, None)
    assert fields(deals)["Closing_Date"] == ("close_date", "date", "%d/%m/%Y")
    assert fields(deals)["Amount"] == ("amount", "decimal", None)
    stage = next(f for f in deals.fields if f.target == "Stage")
    assert dict(stage.values) == {
        "won": "Closed Won",
        "lost": "Closed Lost",
        "negotiating": "Negotiation/Review",
    }
    assert lookups(deals) == {
        "Account_Name": ("accounts", ("account_ref",), False),
        "Contact_Name": ("contacts", ("contact_ref",), False),
    }
    items = step(m, "items")
    assert (items.key, items.source_key) == (("sku",), ("sku",))
    assert fields(items)["rate"] == ("price", "decimal", None)
    assert fields(items)["initial_stock"] == ("stock", "decimal", None)
    cust = step(m, "customers")
    assert (cust.key, cust.source_key) == (("contact_name",), ("customer_ref",))
    assert fields(cust)["currency_code"] == ("currency", None, None)
    inv = step(m, "invoice_lines")
    assert inv.line_items and inv.source_key == ("invoice_number",)
    assert inv.key == ("invoice_number",)
    assert fields(inv)["date"] == ("invoice_date", "date", "%m/%d/%Y")
    assert fields(inv)["due_date"] == ("due_date", "date", "%m/%d/%Y")
    assert fields(inv)["line_items[].rate"] == ("unit_price", "decimal", None)
    assert lookups(inv) == {
        "customer_id": ("customers", ("customer_ref",), False),
        "line_items[].item_id": ("items", ("sku",), False),
    }
    text = out.read_text()
    # the status 'open' has no near Stage: the user is told, not silently given one
    assert "# FIX: 'open' of 'status' has no near value in Stage's picklist" in text
    assert "runner-up books:items" in text  # the items file's second choice is named
    plan = cli("plan", out)
    assert plan.exit_code == 0, plan.output
    assert "invoice_lines" in plan.output


def _export_files(root: Path) -> list[Path]:
    """Files as a European CRM/accounting tool exports them."""
    accounts = root / "Accounts Export.csv"
    accounts.write_bytes(
        "Account ID;Company;City;Zip;Annual Revenue;Customer Since\r\n"
        "AC-1;Müller GmbH;München;80331;1.234.567,50;31/01/2020\r\n"
        "AC-2;Société Générale;Paris;75009;980,25;05/02/2019\r\n"
        "AC-3;Åkerlund AB;Malmö;21120;12,5;13/12/2018\r\n".encode("latin-1")
    )
    contacts = root / "Contacts.csv"
    contacts.write_bytes(
        b"\xef\xbb\xbf"
        + "Contact ID,First Name,Last Name,E-mail,Date Of Birth,Account ID,Email Opt Out\r\n"
        "P1,Jürgen,Groß,jg@example.de,24/12/1970,AC-1,yes\r\n"
        "P2,Anaïs,Dupont,ad@example.fr,03/04/1985,AC-2,no\r\n"
        "P3,Lars,Berg,lb@example.se,01/02/1990,,No\r\n".encode()
    )
    return [contacts, accounts]


def test_export_shaped_files(tmp_path: Path) -> None:
    files = _export_files(tmp_path)
    out = tmp_path / "plans" / "export.toml"
    m = init_and_load(out, *files)
    assert [s.name for s in m.steps] == ["accounts_export", "contacts"]
    acc = step(m, "accounts_export")
    src = acc.source
    assert (src.encoding, src.delimiter) == ("latin-1", ";")
    assert acc.target.text == "crm:Accounts"
    assert (acc.key, acc.source_key) == (("Account_Name",), ("Account ID",))
    assert fields(acc) == {
        "Account_Number": ("Account ID", None, None),
        "Account_Name": ("Company", None, None),
        "Billing_City": ("City", None, None),
        "Billing_Code": ("Zip", None, None),
        "Annual_Revenue": ("Annual Revenue", "decimal", ","),
    }
    first = next(iter_records(acc))
    record = map_record(acc, first.rows, lambda s, k: None)
    assert record["Account_Name"] == "Müller GmbH" and record["Billing_City"] == "München"
    assert record["Annual_Revenue"] == 1234567.5
    assert "Customer Since" in out.read_text().split("columns no field matched")[1]
    con = step(m, "contacts")
    assert con.source.encoding == "utf-8-sig"
    assert (con.key, con.source_key) == (("Email",), ("Contact ID",))
    assert fields(con) == {
        "First_Name": ("First Name", None, None),
        "Last_Name": ("Last Name", None, None),
        "Email": ("E-mail", None, None),
        "Date_of_Birth": ("Date Of Birth", "date", "%d/%m/%Y"),
        "Email_Opt_Out": ("Email Opt Out", "boolean", None),
    }
    assert lookups(con) == {"Account_Name": ("accounts_export", ("Account ID",), True)}
    rows = list(iter_records(con))
    record = map_record(con, rows[0].rows, lambda s, k: "42" if k == "AC-1" else None)
    assert record["Date_of_Birth"] == "1970-12-24" and record["Email_Opt_Out"] is True
    assert record["Last_Name"] == "Groß" and record["Account_Name"] == {"id": "42"}
    plan = cli("plan", out)
    assert plan.exit_code == 0, plan.output


def test_ambiguous_values_are_left_as_comments(tmp_path: Path) -> None:
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Deal ID,Deal Name,Stage,Amount,Close Date\n"
        'D1,Alpha,Closed Won,"1,250",03/04/2025\n'
        'D2,Beta,Qualification,"2,500",11/12/2025\n'
    )
    out = tmp_path / "deals.toml"
    result = cli("init", deals, "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert (
        '# Closing_Date = { column = "Close Date", transform = "date", format = "%d/%m/%Y" }'
        in (text)
    )
    assert "fits %d/%m/%Y and %m/%d/%Y" in text
    assert '# Amount = { column = "Amount", transform = "decimal", format = "," }' in text
    assert "only has values such as 1,250" in text
    assert "Closing_Date is mandatory for crm:Deals: its line from 'Close Date' is commented" in (
        result.output
    )
    plan = cli("plan", out)
    assert plan.exit_code == 2
    assert "needs 'Closing_Date'" in plan.output


def test_missing_mandatory_field_is_a_fix(tmp_path: Path) -> None:
    people = tmp_path / "contacts.csv"
    people.write_text("email,first_name\na@x.com,Ann\nb@x.com,Bo\n")
    out = tmp_path / "c.toml"
    result = cli("init", people, "--out", out)
    assert result.exit_code == 0
    assert "FIX: Last_Name is mandatory for crm:Contacts and no column matched it" in (
        out.read_text()
    )
    assert "1 to fix" in result.output
    assert cli("plan", out).exit_code == 2


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    out = tmp_path / "m.toml"
    out.write_text("# mine\n")
    result = cli("init", SAMPLE[3], "--out", out)
    assert result.exit_code == 2
    assert "exists" in result.output and "--force" in result.output
    assert out.read_text() == "# mine\n"
    assert cli("init", SAMPLE[3], "--out", out, "--force").exit_code == 0
    assert "[[steps]]" in out.read_text()


def test_schema_snapshot_custom_key(tmp_path: Path) -> None:
    out = tmp_path / "plans" / "custom.toml"
    m = init_and_load(
        out, PLANS / "data" / "accounts.csv", "--schema", PLANS / "schema" / "sample-org.json"
    )
    acc = step(m, "accounts")
    assert acc.key == ("Legacy_ID",) and fields(acc)["Legacy_ID"] == ("account_ref", None, None)
    assert cli("plan", out).exit_code == 0


def test_unknown_file_kind(tmp_path: Path) -> None:
    odd = tmp_path / "x.parquet"
    odd.write_bytes(b"PAR1")
    result = cli("init", odd, "--out", tmp_path / "x.toml")
    assert result.exit_code == 2 and "cannot read '.parquet' files" in result.output
    result = cli("init", tmp_path / "gone.csv", "--out", tmp_path / "x.toml")
    assert result.exit_code == 2 and "gone.csv: No such file" in result.output
    assert not (tmp_path / "x.toml").exists()


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"\xef\xbb\xbfa,b\n", "utf-8-sig"),
        ("a,b\nMüller,1\n".encode(), "utf-8"),
        ("a,b\nMüller,1\n".encode("latin-1"), "latin-1"),
        ("a,b\n\u20ac 5,1\n".encode("cp1252"), "cp1252"),
    ],
)
def test_encoding(head: bytes, name: str) -> None:
    assert encoding(head).name == name


def test_delimiter() -> None:
    assert delimiter("a;b;c\n1;2,5;3\n4;5;6\n") == ";"
    assert delimiter("a\tb\n1\t2\n3\t4\n") == "\t"
    assert delimiter('a,b\n"x;y",2\n3,4\n') == ","
    assert delimiter("only\none\ncolumn\n") is None


def _stats(values: list[object]) -> ColumnStats:
    stats = ColumnStats("c")
    for v in values:
        stats.add(v)
    return stats


def test_dates_decided_from_values() -> None:
    assert _stats(["01/02/2020", "31/12/2020"]).finish().dates == ("%d/%m/%Y",)
    assert _stats(["01/02/2020", "12/31/2020"]).finish().dates == ("%m/%d/%Y",)
    assert _stats(["01/02/2020", "12/11/2020"]).finish().dates == ("%d/%m/%Y", "%m/%d/%Y")
    col = _stats(["2024-01-31 14:05:00", "2024-02-01 09:00:00"]).finish()
    assert col.dates == () and col.datetimes == ("%Y-%m-%d %H:%M:%S",)
    assert _stats(["2024-01-31T14:05:00+02:00"]).finish().datetimes == ("",)


def test_numbers_and_booleans() -> None:
    assert _stats(["1.234,50", "12"]).finish().decimal is Decimal.COMMA
    assert _stats(["1,234.50", "12"]).finish().decimal is Decimal.DOT
    assert _stats(["1,250", "2,500"]).finish().decimal is Decimal.AMBIGUOUS
    assert _stats([1.5, 2]).finish().decimal is Decimal.DOT
    assert not _stats(["12", "n/a"]).finish().numeric
    assert _stats(["Yes", "no", ""]).finish().booleans


def test_order_unique_grouped_repeated() -> None:
    assert _stats(["a", "b", "c"]).finish().order is Order.UNIQUE
    assert _stats(["a", "a", "b", "c", "c"]).finish().order is Order.GROUPED
    assert _stats(["a", "b", "A"]).finish().order is Order.REPEATED  # as Zoho compares keys


def test_module_guess_names_runner_up() -> None:
    guesses = guess_modules("customers", ["name", "email", "currency"], builtin())
    assert (guesses[0].product, guesses[0].module) == ("books", "contacts")
    assert (guesses[1].product, guesses[1].module) == ("crm", "Accounts")
    columns = ["invoice_number", "date", "quantity", "rate", "customer"]
    best = guess_modules("export", columns, builtin())[0]
    assert (best.product, best.module) == ("books", "invoices")


def test_owners_need_the_orgs_users(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "ref,name,Account Owner\nA1,Acme,ana@example.com\nA2,Kite,zed@example.com\n"
    )
    out = tmp_path / "with.toml"
    m = init_and_load(out, accounts, "--schema", PLANS / "schema" / "sample-org.json")
    owner = next(f for f in step(m, "accounts").fields if f.target == "Owner")
    assert owner.user and owner.column == "Account Owner"
    assert "no active user has zed@example.com" in out.read_text()
    assert cli("plan", out).exit_code == 0
    bare = tmp_path / "bare.toml"
    m = init_and_load(bare, accounts)  # the built-in schema lists no users
    assert "Owner" not in fields(step(m, "accounts"))
    assert '# Owner = { user = "Account Owner" }' in bare.read_text()


def test_header_only_file_and_two_lookup_candidates(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("id,name\n1,Acme\n2,Kite\n")
    (tmp_path / "vendors.csv").write_text("id,Vendor Name\n1,Bolt\n2,Nut\n")
    (tmp_path / "contacts.csv").write_text("id,last_name,ref\n7,Li,1\n8,Wu,2\n")
    (tmp_path / "leads.csv").write_text("Lead ID,Last Name,Company\n")
    files = [tmp_path / n for n in ("accounts.csv", "vendors.csv", "contacts.csv", "leads.csv")]
    out = tmp_path / "m.toml"
    result = cli("init", *files, "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    # 'ref' holds keys of accounts and of vendors: left for the user to choose
    assert '# Account_Name = { step = "accounts", column = "ref" }' in text
    assert "every value of 'ref' is a key of steps accounts and vendors" in text
    leads = text.split('name = "leads"')[1].splitlines()
    assert 'Last_Name = "Last Name"' in leads and 'Company = "Company"' in leads
    assert "zmigrate plan would say now" in result.output  # leads: no row, no source key


def test_numbers_that_happen_to_be_keys_are_not_lookups(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("id,name,rate\n1,Bolt,2.5\n2,Nut,3\n3,Gear,4\n")
    (tmp_path / "invoice_lines.csv").write_text(
        "invoice_number,quantity,item_id\nINV1,2,1\nINV1,3,2\nINV2,1,3\n"
    )
    out = tmp_path / "m.toml"
    result = cli("init", tmp_path / "items.csv", tmp_path / "invoice_lines.csv", "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert '"line_items[].item_id" = { step = "items", column = "item_id" }' in text
    assert '"line_items[].quantity" = { column = "quantity", transform = "decimal" }' in text
    assert "FIX: customer_id is mandatory for books:invoices: a lookup to contacts" in text


def test_not_utf8_past_the_head_is_read_again(tmp_path: Path) -> None:
    big = tmp_path / "accounts.csv"
    pad = "x" * 100
    rows = "".join(f"A{i},Firm {i} {pad}\n" for i in range(10_000))  # over the 1 MiB head
    big.write_bytes(("ref,name\n" + rows + "Z1,Müller\n").encode("cp1252"))
    out = tmp_path / "m.toml"
    m = init_and_load(out, big)
    assert step(m, "accounts").source.encoding == "cp1252"
    assert "not valid UTF-8 past its first MiB" in out.read_text()


def test_init_then_plan_then_rehearsal(tmp_path: Path) -> None:
    """The README's quick start on export-shaped files: init -> plan -> run --sandbox."""
    files = _export_files(tmp_path)
    out = tmp_path / "plans" / "mine.toml"
    assert cli("init", *files, "--out", out).exit_code == 0
    assert cli("plan", out).exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    zmigrate = str(Path(sys.executable).parent / "zmigrate")
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [zmigrate, "run", str(out), "--sandbox", "--run-dir", str(run_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    report = orjson.loads((run_dir / "report.json").read_bytes())
    assert report["outcome"] == "done" and report["failed"] == 0
    assert {s["name"]: s["landed"] for s in report["steps"]} == {
        "accounts_export": 3,
        "contacts": 3,
    }
