"""Accounts, expenses and manual journals: a chart of accounts migrated first, then expenses
and journals on its accounts, keyed by reference_number (no unique number), exactly once
under faults; the sandbox refuses an unbalanced journal and keeps used accounts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fixed_time import T0
from migration_helpers import one_each, records
from zoho_helpers import credentials_for

from zmigrate.auth import TokenSource
from zmigrate.client import Limits, RetryPolicy, Zoho
from zmigrate.clock import Clock
from zmigrate.manifest import load_manifest
from zmigrate.planner.scopes import manifest_scopes
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.run import execute

MANIFEST = """
[target]
books_plan = "standard"

[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "books:chartofaccounts"
key = ["account_name"]
source_key = ["code"]
[steps.fields]
account_name = "name"
account_type = "type"
account_code = "code"

[[steps]]
name = "expenses"
source = { file = "expenses.csv" }
target = "books:expenses"
key = ["reference_number"]
[steps.fields]
reference_number = "ref"
date = "date"
amount = { column = "amount", transform = "decimal", places = 2 }
[steps.lookups]
account_id = { step = "accounts", column = "expense_account" }
paid_through_account_id = { step = "accounts", column = "paid_from" }

# One row per journal line: rows sharing ref are one journal.
[[steps]]
name = "journals"
source = { file = "journal_lines.csv" }
target = "books:journals"
key = ["reference_number"]
[steps.fields]
reference_number = "ref"
journal_date = "date"
"line_items[].debit_or_credit" = "side"
"line_items[].amount" = { column = "amount", transform = "decimal", places = 2 }
[steps.lookups]
"line_items[].account_id" = { step = "accounts", column = "account" }

# The org's opening balances: one record, one row per account line (rows share the date).
[[steps]]
name = "opening_balances"
source = { file = "opening_lines.csv" }
target = "books:openingbalances"
key = ["date"]
[steps.fields]
date = "date"
"accounts[].debit_or_credit" = "side"
"accounts[].amount" = { column = "amount", transform = "decimal", places = 2 }
[steps.lookups]
"accounts[].account_id" = { step = "accounts", column = "account" }
"""


def _csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def write_accounts(folder: Path) -> dict[str, list[dict]]:
    accounts = [
        {"code": "1000", "name": "Old Petty Cash", "type": "cash"},
        {"code": "1010", "name": "Old Bank", "type": "bank"},
        {"code": "6000", "name": "Old Rent", "type": "expense"},
        {"code": "6100", "name": "Old Travel", "type": "expense"},
        {"code": "3000", "name": "Old Capital", "type": "equity"},
    ]
    expenses = [
        {"ref": f"EXP-{i:03d}", "date": "2026-01-20", "amount": f"{10 + i}.40",
         "expense_account": ("6000", "6100")[i % 2], "paid_from": ("1000", "1010")[i % 2]}
        for i in range(12)
    ]  # fmt: skip
    journal_lines = [
        {"ref": f"JRN-{i:03d}", "date": "2026-01-31", "side": side, "account": account,
         "amount": f"{100 + i}.00"}
        for i in range(8)
        for side, account in (("debit", "1010"), ("credit", "3000"))
    ]  # fmt: skip
    opening_lines = [
        {"date": "2025-12-31", "side": side, "account": account, "amount": amount}
        for side, account, amount in (("debit", "1000", "500.00"), ("debit", "1010", "1500.00"),
                                      ("credit", "3000", "2000.00"))
    ]  # fmt: skip
    data = {"accounts": accounts, "expenses": expenses, "journal_lines": journal_lines,
            "opening_lines": opening_lines}  # fmt: skip
    for name, rows in data.items():
        _csv(folder / f"{name}.csv", rows)
    (folder / "accounts.toml").write_text(MANIFEST)
    return data


async def test_accounts_expenses_and_journals_land_once_under_faults(tmp_path, make_sandbox):
    clock = Clock(600, start=T0)
    sb = await make_sandbox(
        clock=clock, latency_ms=50, fault_rate=0.08, lost_response_rate=0.2, seed=4
    )
    data = write_accounts(tmp_path)
    report = await execute(
        tmp_path / "accounts.toml", tmp_path / "run", sandbox_credentials(sb), clock,
        progress=Progress(io.StringIO(), tty=False), seed=2,
    )  # fmt: skip
    assert report.outcome == "done", report.render()
    assert sb.state()["faults"].get("lost_response", 0) > 0
    accounts = one_each(
        await records(sb, "books", "chartofaccounts"),
        "account_name",
        [a["name"] for a in data["accounts"]],
    )
    by_code = {a["code"]: accounts[a["name"]]["account_id"] for a in data["accounts"]}
    expenses = one_each(
        await records(sb, "books", "expenses"), "reference_number",
        [e["ref"] for e in data["expenses"]],
    )  # fmt: skip
    for e in data["expenses"]:
        stored = expenses[e["ref"]]
        assert stored["account_id"] == by_code[e["expense_account"]]
        assert stored["total"] == pytest.approx(float(e["amount"]))
    journals = one_each(
        await records(sb, "books", "journals"), "reference_number",
        sorted({x["ref"] for x in data["journal_lines"]}),
    )  # fmt: skip
    for x in data["journal_lines"]:
        stored = journals[x["ref"]]
        assert stored["total"] == pytest.approx(float(x["amount"]))
        assert by_code[x["account"]] in [line["account_id"] for line in stored["line_items"]]
    (opening,) = await records(sb, "books", "openingbalances")
    assert (opening["date"], opening["total"]) == ("2025-12-31", 2000)
    wanted = [(by_code[x["account"]], x["side"], float(x["amount"])) for x in data["opening_lines"]]
    got = [(a["account_id"], a["debit_or_credit"], a["amount"]) for a in opening["accounts"]]
    assert sorted(got) == sorted(wanted)


async def post(call, path: str, body: dict) -> dict:
    status, resp, _ = await call("POST", path, json=body)
    assert status == 201, resp
    return resp


async def test_journals_must_balance_and_used_accounts_stay(call) -> None:
    path = "/books/v3/chartofaccounts"
    till = await post(call, path, {"account_name": "Till", "account_type": "cash"})
    owner = await post(call, path, {"account_name": "Owner", "account_type": "equity"})
    cash, equity = till["chart_of_account"], owner["chart_of_account"]
    lines = [
        {"account_id": cash["account_id"], "debit_or_credit": "debit", "amount": 50},
        {"account_id": equity["account_id"], "debit_or_credit": "credit", "amount": 40},
    ]
    body = {"journal_date": "2026-01-31", "reference_number": "J1", "line_items": lines}
    status, refused, _ = await call("POST", "/books/v3/journals", json=body)
    assert (status, refused["code"]) == (400, 2) and "balanced" in refused["message"]
    lines[1]["amount"] = 50
    made = await post(call, "/books/v3/journals", body)
    assert made["journal"]["total"] == 50 and made["message"].startswith("The journal entry")
    status, listed, _ = await call("GET", "/books/v3/journals?reference_number=J1")
    assert [j["journal_id"] for j in listed["manualjournals"]] == [made["journal"]["journal_id"]]
    status, kept, _ = await call("DELETE", f"/books/v3/chartofaccounts/{cash['account_id']}")
    assert (status, kept["code"]) == (400, 1005)
    missing = {"account_id": "1", "paid_through_account_id": cash["account_id"],
               "date": "2026-01-02", "amount": 3}  # fmt: skip
    status, refused, _ = await call("POST", "/books/v3/expenses", json=missing)
    assert (status, refused["code"], refused["message"]) == (400, 1002, "Account does not exist.")


async def test_opening_balances_whose_answer_was_lost_are_found_not_sent_again(
    make_sandbox, http
) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(clock=clock, lost_response_rate=0.5, seed=1)
    books = sb.products["books"]
    org = sb.credentials.organization_ids[0]
    cash, equity = (
        books.insert(org, "chartofaccounts", {"account_name": n, "account_type": t})["account_id"]
        for n, t in (("Till", "cash"), ("Owner", "equity"))
    )
    tokens = TokenSource(http, credentials_for(sb), clock)
    zoho = Zoho(http, tokens, clock, Limits(), RetryPolicy(attempts=8))
    lines = [{"account_id": cash, "debit_or_credit": "debit", "amount": 70},
             {"account_id": equity, "debit_or_credit": "credit", "amount": 70}]  # fmt: skip
    outcome = await zoho.books.create("openingbalances", {"date": "2025-12-31", "accounts": lines})
    assert (outcome.ok, outcome.action) == (True, "found"), outcome
    (stored,) = books.records("openingbalances", {})
    assert outcome.id == stored["opening_balance_id"]
    listed = [r["opening_balance_id"] async for r in zoho.books.iter_all("openingbalances")]
    assert listed == [outcome.id]  # verify lists the one record (lost answers retried)


def test_opening_balances_need_the_settings_scopes(tmp_path) -> None:
    write_accounts(tmp_path)
    scopes = manifest_scopes(load_manifest(tmp_path / "accounts.toml"))
    assert {"ZohoBooks.settings.CREATE", "ZohoBooks.settings.UPDATE"} <= set(scopes)
    assert not [s for s in scopes if "openingbalances" in s]
