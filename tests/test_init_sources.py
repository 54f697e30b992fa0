"""`zmigrate init` on an Excel workbook, a zip backup and a database: one step per sheet,
member or table, a manifest `plan` accepts, typed cells kept, and no database URL written."""

from __future__ import annotations

import sqlite3
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from zmigrate.cli import main
from zmigrate.init.values import ISO, ColumnStats
from zmigrate.manifest import Manifest, Step, load_manifest
from zmigrate.mapping import map_record
from zmigrate.sources import iter_records


def cli(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args])


def init_and_plan(out: Path, *args: str | Path) -> tuple[Manifest, str]:
    """Run init, check plan accepts its manifest as it stands; the manifest and init's output."""
    result = cli("init", *args, "--out", out)
    assert result.exit_code == 0, result.output
    plan = cli("plan", out)
    assert plan.exit_code == 0, plan.output
    return load_manifest(out), result.output


def step(m: Manifest, name: str) -> Step:
    return next(s for s in m.steps if s.name == name)


def fields(s: Step) -> dict[str, tuple[str | None, str | None]]:
    return {f.target: (f.column, f.transform and str(f.transform)) for f in s.fields}


def lookups(s: Step) -> dict[str, tuple[str, tuple[str, ...], bool]]:
    return {lk.target: (lk.step, lk.columns, lk.optional) for lk in s.lookups}


def first_record(s: Step, ids: dict[str, str] | None = None) -> dict[str, object]:
    rec = next(iter_records(s))
    return map_record(s, rec.rows, lambda _step, key: (ids or {}).get(key))


def workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    acc = book.active
    acc.title = "Accounts"
    acc.append(["Account Ref", "Account Name", "Phone", "Created"])
    acc.append(["00101", "Acme", "555-0101", datetime(2024, 3, 25, 9, 30)])
    acc.append(["00102", "Globex", "555-0102", datetime(2024, 1, 5, 16, 0)])
    con = book.create_sheet("Contacts")
    con.append(["Contact ID", "First Name", "Last Name", "Email", "Account Ref", "Birthday"])
    con.append([1, "Ann", "Lee", "ann@example.com", "00101", date(1990, 1, 2)])
    con.append([2, "Bob", "Ray", "bob@example.com", "00102", date(1985, 12, 30)])
    con.append([3, "Cid", "Moe", "cid@example.com", "00101", None])
    book.create_sheet("Notes")  # no header: no step
    book.save(path)
    return path


def test_workbook_one_step_per_sheet(tmp_path: Path) -> None:
    book = workbook(tmp_path / "book.xlsx")
    m, _ = init_and_plan(tmp_path / "plans" / "book.toml", book)
    assert [(s.name, s.target.text) for s in m.steps] == [
        ("accounts", "crm:Accounts"),
        ("contacts", "crm:Contacts"),
    ]
    acc, con = step(m, "accounts"), step(m, "contacts")
    assert (acc.source.path, acc.source.sheet) == (book, "Accounts")
    assert (acc.key, acc.source_key) == (("Account_Name",), ("Account Ref",))
    assert (con.key, con.source_key) == (("Email",), ("Contact ID",))
    assert fields(con) == {
        "First_Name": ("First Name", None),
        "Last_Name": ("Last Name", None),
        "Email": ("Email", None),
        "Date_of_Birth": ("Birthday", "date"),
    }
    assert lookups(con) == {"Account_Name": ("accounts", ("Account Ref",), False)}
    # typed cells: the leading zeros of a text cell stay, a date cell is a date
    assert first_record(acc)["Account_Number"] == "00101"
    assert first_record(con, {"00101": "9001"}) == {
        "First_Name": "Ann",
        "Last_Name": "Lee",
        "Email": "ann@example.com",
        "Date_of_Birth": "1990-01-02",
        "Account_Name": {"id": "9001"},
    }


def test_one_sheet_by_name(tmp_path: Path) -> None:
    book = workbook(tmp_path / "book.xlsx")
    m, _ = init_and_plan(tmp_path / "one.toml", f"{book}:Contacts")
    assert [(s.name, s.source.sheet) for s in m.steps] == [("contacts", "Contacts")]
    assert not step(m, "contacts").lookups  # the accounts sheet was not read


def test_zip_backup_one_step_per_member(tmp_path: Path) -> None:
    backup = tmp_path / "backup.zip"
    with zipfile.ZipFile(backup, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "Account.csv",
            "Id,Name,Phone,BillingCity\n001A,Acme,555-0101,Paris\n001B,Globex,555-0102,Rome\n",
        )
        z.writestr(
            "Contact.csv",
            "Id,AccountId,FirstName,LastName,Email\n"
            "003A,001A,Ann,Lee,a@example.com\n"
            "003B,001B,Bob,Ray,b@example.com\n"
            "003C,,Cid,Moe,c@example.com\n",
        )
        z.writestr("Attachments/00P1_invoice.pdf", b"%PDF-1.4")  # not a table: no step
    m, _ = init_and_plan(tmp_path / "backup.toml", backup)
    assert [(s.name, s.target.text, s.source.member) for s in m.steps] == [
        ("account", "crm:Accounts", "Account.csv"),
        ("contact", "crm:Contacts", "Contact.csv"),
    ]
    acc, con = step(m, "account"), step(m, "contact")
    assert fields(acc) == {
        "Account_Name": ("Name", None),
        "Phone": ("Phone", None),
        "Billing_City": ("BillingCity", None),
    }
    assert (acc.key, acc.source_key, con.key, con.source_key) == (
        ("Account_Name",),
        ("Id",),
        ("Email",),
        ("Id",),
    )
    assert lookups(con) == {"Account_Name": ("account", ("AccountId",), True)}
    assert first_record(con, {"001A": "77"})["Account_Name"] == {"id": "77"}


def legacy_db(path: Path) -> str:
    db = sqlite3.connect(path)
    db.execute("create table accounts (id integer primary key, name text, phone text)")
    db.execute(
        "create table contacts (id integer primary key, account_id integer, first_name text,"
        " last_name text, email text, birthday text)"
    )
    db.executemany("insert into accounts values (?,?,?)", [(11, "Globex", "2"), (10, "Acme", "1")])
    db.executemany(
        "insert into contacts values (?,?,?,?,?,?)",
        [
            (1, 10, "Ann", "Lee", "a@example.com", "1990-01-02"),
            (2, 11, "Bob", "Ray", "b@example.com", "1985-12-30"),
            (3, 10, "Cid", "Moe", "c@example.com", None),
        ],
    )
    db.commit()
    db.close()
    return f"sqlite:///{path}"


def test_database_tables_and_a_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = legacy_db(tmp_path / "legacy.db")
    monkeypatch.setenv("LEGACY_DB_URL", url)
    out = tmp_path / "db.toml"
    m, printed = init_and_plan(
        out,
        "sql:$LEGACY_DB_URL:accounts",
        "sql:LEGACY_DB_URL:select id, account_id, first_name, last_name, email, birthday\n"
        "  from contacts\n  order by id",  # a query over lines: still one comment line
    )
    assert url not in printed and str(tmp_path) not in out.read_text()
    acc, con = step(m, "accounts"), step(m, "contacts")
    assert (acc.source.url, acc.source.query) == (
        "$LEGACY_DB_URL",
        "select * from accounts order by id",  # the table ordered by its source key
    )
    assert con.source.query.startswith("select id, account_id") and con.source.url == (
        "$LEGACY_DB_URL"
    )
    assert (acc.key, acc.source_key, con.key, con.source_key) == (
        ("Account_Name",),
        ("id",),
        ("Email",),
        ("id",),
    )
    assert fields(acc) == {"Account_Name": ("name", None), "Phone": ("phone", None)}
    assert fields(con)["Date_of_Birth"] == ("birthday", "date")
    assert lookups(con) == {"Account_Name": ("accounts", ("account_id",), False)}
    assert [m.name for m in m.steps] == ["accounts", "contacts"]
    assert first_record(acc) == {"Account_Name": "Acme", "Phone": "1"}  # ordered by id


def test_sql_forms_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGACY_DB_URL", legacy_db(tmp_path / "legacy.db"))
    out = tmp_path / "x.toml"
    unordered = cli("init", "sql:$LEGACY_DB_URL:select * from accounts", "--out", out)
    assert unordered.exit_code == 2 and "has no ORDER BY" in unordered.output
    literal = cli("init", f"sql:sqlite:///{tmp_path}/legacy.db:accounts", "--out", out)
    assert literal.exit_code == 2 and "sql:$VAR:TABLE" in literal.output
    assert str(tmp_path) not in literal.output
    monkeypatch.delenv("LEGACY_DB_URL")
    unset = cli("init", "sql:$LEGACY_DB_URL:accounts", "--out", out)
    assert unset.exit_code == 2 and "LEGACY_DB_URL is not set" in unset.output
    assert not out.exists()


def test_typed_datetimes_read_as_iso() -> None:
    stats = ColumnStats("noted")
    for v in (datetime(2024, 3, 25, 9, 30), datetime(2024, 1, 5, 16, 0)):
        stats.add(v)
    col = stats.finish()
    assert col.datetimes == (ISO,) and col.dates == ()  # no text format to write


def test_title_lines_above_a_sheets_header(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Deals"
    ws.append(["Deals export, March 2024"])
    ws.append([])
    ws.append(["Deal Ref", "Deal Name", "Amount", "Closing Date", "Stage"])
    ws.append(["D-1", "Big one", 1250.5, date(2024, 3, 31), "Closed Won"])
    ws.append(["D-2", "Small one", 80, date(2024, 4, 2), "Qualification"])
    book.save(tmp_path / "deals.xlsx")
    m, _ = init_and_plan(tmp_path / "deals.toml", tmp_path / "deals.xlsx")
    deals = step(m, "deals")
    assert (deals.source.sheet, deals.source.header_row) == ("Deals", 3)
    assert deals.source_key == ("Deal Ref",)
    assert first_record(deals) == {
        "Deal_Name": "Big one",
        "Amount": 1250.5,
        "Closing_Date": "2024-03-31",
        "Stage": "Closed Won",
    }
