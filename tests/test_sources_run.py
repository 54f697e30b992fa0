"""A rehearsal migrating from a SQL query, a zip member and an Excel sheet: the typed values
land as Zoho stores them (dates, numbers, text with leading zeros), read back from the sandbox."""

from __future__ import annotations

import sqlite3
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from fixed_time import T0
from migration_helpers import records

from zmigrate.clock import Clock
from zmigrate.rehearsal import SANDBOX_STATE, execute_in_sandbox
from zmigrate.sandbox import SandboxConfig, start_sandbox

MANIFEST = """\
[target]
crm_edition = "enterprise"

[[steps]]
name = "accounts"
source = { sql = "$LEGACY_DB_URL", query = "select * from accounts order by ref" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
[steps.fields]
Account_Name = "name"
Employees = "employees"
Annual_Revenue = "revenue"

[[steps]]
name = "contacts"
source = { file = "backup.zip", member = "Contact.csv" }
target = "crm:Contacts"
key = ["Email"]
source_key = ["Id"]
[steps.fields]
Last_Name = "LastName"
Email = "Email"
Date_of_Birth = { column = "Birthdate", transform = "date", format = "%d/%m/%Y" }
[steps.lookups]
Account_Name = { step = "accounts", column = "AccountId" }

[[steps]]
name = "deals"
source = { xlsx = "deals.xlsx", sheet = "Deals" }
target = "crm:Deals"
key = ["Deal_Name"]
source_key = ["ref"]
[steps.fields]
Deal_Name = "title"
Amount = "amount"
Closing_Date = "closing"
Stage = { const = "Qualification" }
Description = "ref"
[steps.lookups]
Account_Name = { step = "accounts", column = "account" }
"""


def write_sources(folder: Path) -> None:
    with sqlite3.connect(folder / "legacy.db") as con:
        con.execute("create table accounts (ref text, name text, employees int, revenue real)")
        con.executemany(
            "insert into accounts values (?, ?, ?, ?)",
            [("A2", "Globex", None, None), ("A1", "Acme", 12, 1250.5)],
        )
    with zipfile.ZipFile(folder / "backup.zip", "w") as z:
        z.writestr(
            "Contact.csv", "Id,AccountId,LastName,Email,Birthdate\nC1,A1,Ng,ng@x.com,05/01/1990\n"
        )
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Deals"
    ws.append(["ref", "account", "amount", "closing", "title"])
    ws.append(["00123", "A1", 12.5, date(2024, 1, 5), "First deal"])
    ws.append(["00124", "A2", 7, datetime(2024, 2, 29), "Second deal"])
    book.save(folder / "deals.xlsx")
    (folder / "m.toml").write_text(MANIFEST)


async def landed(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    config = SandboxConfig(clock_speed=60, state_dir=str(run_dir / SANDBOX_STATE))
    async with start_sandbox(config, Clock(60, start=T0)) as sb:
        return {m: await records(sb, "crm", m) for m in ("Accounts", "Contacts", "Deals")}


async def test_typed_sources_land_as_zoho_stores_them(tmp_path, monkeypatch):
    write_sources(tmp_path)
    monkeypatch.setenv("LEGACY_DB_URL", f"sqlite:///{tmp_path / 'legacy.db'}")
    run_dir = tmp_path / "run"
    report = await execute_in_sandbox(tmp_path / "m.toml", run_dir, clock_speed=600, clock_start=T0)
    assert report.outcome == "done" and report.failed == 0, report.render()
    got = await landed(run_dir)
    accounts = {a["Account_Name"]: a for a in got["Accounts"]}
    assert accounts["Acme"]["Employees"] == 12 and accounts["Acme"]["Annual_Revenue"] == 1250.5
    (contact,) = got["Contacts"]
    assert contact["Date_of_Birth"] == "1990-01-05"
    assert contact["Account_Name"]["id"] == accounts["Acme"]["id"]
    deals = {d["Deal_Name"]: d for d in got["Deals"]}
    assert deals["First deal"]["Closing_Date"] == "2024-01-05"
    assert deals["Second deal"]["Closing_Date"] == "2024-02-29"
    assert deals["First deal"]["Amount"] == 12.5 and deals["First deal"]["Description"] == "00123"
    assert deals["Second deal"]["Account_Name"]["id"] == accounts["Globex"]["id"]
