"""A CRM migration with related records for tests (accounts, contacts, deals; notes on
accounts and deals; tasks and calls linked to deals and contacts; files attached to
accounts), and the check that each landed once with its links, read through the sandbox's
admin API and the parents' related lists."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from migration_helpers import records

MANIFEST = """
[target]
crm_edition = "enterprise"
crm_users = 10

[[steps]]
name = "accounts"
source = "data/accounts.csv"
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
method = "rest"
[steps.fields]
Account_Name = "name"

[[steps]]
name = "contacts"
source = "data/contacts.csv"
target = "crm:Contacts"
key = ["Email"]
source_key = ["ref"]
method = "rest"
[steps.fields]
Last_Name = "last"
Email = "email"
[steps.lookups]
Account_Name = { step = "accounts", column = "account" }

[[steps]]
name = "deals"
source = "data/deals.csv"
target = "crm:Deals"
key = ["Deal_Name"]
source_key = ["ref"]
method = "rest"
[steps.fields]
Deal_Name = "name"
Stage = { const = "Qualification" }
Closing_Date = { const = "2026-12-01" }

[[steps]]
name = "account_notes"
source = "data/account_notes.csv"
target = "crm:Notes"
source_key = ["ref"]
[steps.fields]
Note_Title = "title"
Note_Content = "body"
[steps.lookups]
Parent_Id = { step = "accounts", column = "account" }

[[steps]]
name = "deal_notes"
source = "data/deal_notes.csv"
target = "crm:Notes"
source_key = ["ref"]
[steps.fields]
Note_Title = "title"
Note_Content = "body"
[steps.lookups]
Parent_Id = { step = "deals", column = "deal" }

[[steps]]
name = "tasks"
source = "data/tasks.csv"
target = "crm:Tasks"
source_key = ["ref"]
[steps.fields]
Subject = "subject"
Due_Date = "due"
[steps.lookups]
What_Id = { step = "deals", column = "deal" }
Who_Id = { step = "contacts", column = "contact", optional = true }

[[steps]]
name = "calls"
source = "data/calls.csv"
target = "crm:Calls"
source_key = ["ref"]
[steps.fields]
Subject = "subject"
Call_Type = { const = "Outbound" }
Call_Start_Time = { column = "at", transform = "datetime" }
[steps.lookups]
What_Id = { step = "deals", column = "deal" }
Who_Id = { step = "contacts", column = "contact" }

[[steps]]
name = "account_files"
source = "data/files.csv"
target = "crm:Attachments"
source_key = ["ref"]
[steps.fields]
File = "path"
[steps.lookups]
Parent_Id = { step = "accounts", column = "account" }
"""


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)


def write_related(folder: Path, scale: int = 1) -> dict[str, list[dict[str, Any]]]:
    """The manifest and its data under ``folder``; the rows by step. Some notes, tasks and
    files repeat on purpose (same title and body on one parent, same subject, same file
    name on two accounts): each must land as often as it appears, no more."""
    n = 4 * scale
    data = folder / "data"
    (data / "files").mkdir(parents=True)
    rows: dict[str, list[dict[str, Any]]] = {
        "accounts": [{"ref": f"A{i}", "name": f"Account {i}"} for i in range(n)],
        "contacts": [
            {
                "ref": f"C{i}",
                "last": f"Person {i}",
                "email": f"p{i}@example.com",
                "account": f"A{i % n}",
            }
            for i in range(2 * n)
        ],
        "deals": [{"ref": f"D{i}", "name": f"Deal {i}"} for i in range(n)],
        "account_notes": [
            {"ref": f"AN{i}", "account": f"A{i // 2}", "title": "Met", "body": "went well"}
            for i in range(2 * n)
        ],
        "deal_notes": [
            {"ref": f"DN{i}", "deal": f"D{i}", "title": "", "body": f"deal note {i}"}
            for i in range(n)
        ],
        "tasks": [
            {
                "ref": f"T{i}",
                "subject": "Follow up",
                "due": "2026-12-10",
                "deal": f"D{i % n}",
                "contact": f"C{i}" if i % 2 else "",
            }
            for i in range(2 * n)
        ],
        "calls": [
            {
                "ref": f"K{i}",
                "subject": f"Call {i}",
                "at": "2026-11-20T10:00:00",
                "deal": f"D{i}",
                "contact": f"C{i}",
            }
            for i in range(n)
        ],
        "files": [],
    }
    for i in range(n):
        name = f"doc{i % 2}.txt" if i < 2 else f"doc{i}.txt"
        sub = data / "files" / f"a{i}"
        sub.mkdir()
        (sub / name).write_bytes(f"contents of file {i}\n".encode() * (i + 1))
        rows["files"].append(
            {"ref": f"F{i}", "account": f"A{i}", "path": f"data/files/a{i}/{name}"}
        )
    for name, table in rows.items():
        _csv(data / f"{name}.csv", table)
    (folder / "migration.toml").write_text(MANIFEST)
    return rows


async def _api(sb: Any, path: str, **params: str) -> Any:
    headers = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{sb.urls['api']}/crm/v8/{path}", params=params) as resp,
    ):
        if resp.status == 204:
            return None
        assert resp.status == 200, await resp.text()
        ctype = resp.headers.get("Content-Type", "")
        return await resp.json() if "json" in ctype else await resp.read()


async def assert_related_landed(
    sb: Any, folder: Path, rows: dict[str, list[dict[str, Any]]]
) -> None:
    """Every record once, with its links, as the admin API and the related lists show."""
    accounts = {r["Account_Name"]: r["id"] for r in await records(sb, "crm", "Accounts")}
    deals = {r["Deal_Name"]: r["id"] for r in await records(sb, "crm", "Deals")}
    contacts = {r["Email"]: r["id"] for r in await records(sb, "crm", "Contacts")}
    assert len(accounts) == len(rows["accounts"]) and len(deals) == len(rows["deals"])
    assert len(contacts) == len(rows["contacts"])
    acc = {r["ref"]: accounts[r["name"]] for r in rows["accounts"]}
    deal = {r["ref"]: deals[r["name"]] for r in rows["deals"]}
    con = {r["ref"]: contacts[r["email"]] for r in rows["contacts"]}

    want_notes = Counter(
        [(acc[r["account"]], r["title"], r["body"]) for r in rows["account_notes"]]
        + [(deal[r["deal"]], "", r["body"]) for r in rows["deal_notes"]]
    )
    notes = await records(sb, "crm", "Notes")
    got_notes = Counter(
        (n["Parent_Id"]["id"], n.get("Note_Title") or "", n["Note_Content"]) for n in notes
    )
    assert got_notes == want_notes
    for r in rows["accounts"]:
        listed = await _api(sb, f"Accounts/{acc[r['ref']]}/Notes", fields="Note_Title,Note_Content")
        expected = sum(1 for n in rows["account_notes"] if n["account"] == r["ref"])
        assert len(listed["data"] if listed else []) == expected

    tasks = Counter(
        (t["Subject"], t["What_Id"], t["$se_module"], t.get("Who_Id"))
        for t in await records(sb, "crm", "Tasks")
    )
    assert tasks == Counter(
        ("Follow up", deal[r["deal"]], "Deals", con[r["contact"]] if r["contact"] else None)
        for r in rows["tasks"]
    )
    calls = Counter(
        (c["Subject"], c["What_Id"], c["Who_Id"]) for c in await records(sb, "crm", "Calls")
    )
    assert calls == Counter(
        (r["subject"], deal[r["deal"]], con[r["contact"]]) for r in rows["calls"]
    )

    stored = await records(sb, "crm", "Attachments")
    assert len(stored) == len(rows["files"])
    for r in rows["files"]:
        path = folder / r["path"]
        listed = await _api(
            sb, f"Accounts/{acc[r['account']]}/Attachments", fields="File_Name,Size"
        )
        [att] = listed["data"]
        assert (att["File_Name"], att["Size"]) == (path.name, str(path.stat().st_size))
        body = await _api(sb, f"Accounts/{acc[r['account']]}/Attachments/{att['id']}")
        assert body == path.read_bytes()
