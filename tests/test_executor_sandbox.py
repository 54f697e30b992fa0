"""The executor end to end against the sandbox, checked through its admin API.

Every check reads what the sandbox stored (``/__sandbox__/records``), never the engine's own
counters: a record counts as landed when Zoho has it, once, with the right values and links.
"""

from __future__ import annotations

import asyncio
import csv
import io
import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from zmigrate.clock import Clock
from zmigrate.executor import execute, sandbox_credentials
from zmigrate.progress import Progress
from zmigrate.quotas import DAY
from zmigrate.report import RunReport

MANIFEST = """
[target]
crm_edition = "enterprise"
crm_users = 10
books_plan = "{books_plan}"
inventory_plan = "standard"

[[steps]]
name = "accounts"
source = {{ file = "accounts.csv" }}
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["account_ref"]
method = "rest"
[steps.fields]
Account_Name = "name"
Billing_City = "city"

[[steps]]
name = "contacts"
source = {{ file = "contacts.csv" }}
target = "crm:Contacts"
key = ["Email"]
source_key = ["contact_ref"]
method = "bulk"
[steps.fields]
Last_Name = "last"
Email = "email"
[steps.lookups]
Account_Name = {{ step = "accounts", column = "account_ref" }}

[[steps]]
name = "deals"
source = {{ file = "deals.csv" }}
target = "crm:Deals"
key = ["Deal_Name"]
source_key = ["deal_ref"]
method = "rest"
[steps.fields]
Deal_Name = "title"
Amount = {{ column = "amount", transform = "decimal" }}
Closing_Date = {{ column = "close", transform = "date" }}
Stage = {{ column = "status", map = {{ open = "Qualification", won = "Closed Won" }} }}
[steps.lookups]
Account_Name = {{ step = "accounts", column = "account_ref" }}
Contact_Name = {{ step = "contacts", column = "contact_ref" }}

[[steps]]
name = "items"
source = {{ file = "items.csv" }}
target = "inventory:items"
key = ["sku"]
[steps.fields]
sku = "sku"
name = "name"
rate = {{ column = "price", transform = "decimal" }}

[[steps]]
name = "customers"
source = {{ file = "customers.csv" }}
target = "books:contacts"
key = ["contact_name"]
source_key = ["customer_ref"]
[steps.fields]
contact_name = "name"
email = "email"

[[steps]]
name = "invoices"
source = {{ file = "invoice_lines.csv" }}
target = "books:invoices"
key = ["invoice_number"]
[steps.fields]
invoice_number = "number"
"line_items[].quantity" = {{ column = "qty", transform = "decimal" }}
[steps.lookups]
customer_id = {{ step = "customers", column = "customer_ref" }}
"line_items[].item_id" = {{ step = "items", column = "sku" }}
"""


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_migration(
    folder: Path, *, scale: int = 1, bad: bool = False, books_plan: str = "standard"
) -> dict[str, list[dict[str, Any]]]:
    """A mixed manifest (CRM REST + bulk, Inventory, Books with line items) and its data."""
    n = 10 * scale
    data: dict[str, list[dict[str, Any]]] = {
        "accounts": [
            {"account_ref": f"A{i}", "name": f"Account {i}", "city": f"City {i % 7}"}
            for i in range(n)
        ],
        "contacts": [
            {
                "contact_ref": f"C{i}",
                "last": f"Last{i}",
                "email": f"c{i}@example.com",
                "account_ref": f"A{i % n}",
            }
            for i in range(2 * n)
        ],
        "deals": [
            {
                "deal_ref": f"D{i}",
                "title": f"Deal {i}",
                "amount": f"{1000 + i}.50",
                "close": "2026-01-15",
                "status": "won" if i % 2 else "open",
                "account_ref": f"A{(i * 3) % n}",
                "contact_ref": f"C{(i * 5) % (2 * n)}",
            }
            for i in range(n)
        ],
        "items": [
            {"sku": f"SKU{i}", "name": f"Item {i}", "price": f"{i + 1}.25"} for i in range(n)
        ],
        "customers": [
            {"customer_ref": f"K{i}", "name": f"Customer {i}", "email": f"k{i}@example.org"}
            for i in range(n)
        ],
        "invoice_lines": [
            {
                "number": f"INV-{i:04d}",
                "customer_ref": f"K{i % n}",
                "sku": f"SKU{(i + j) % n}",
                "qty": str(j + 1),
            }
            for i in range(n)
            for j in range(2)
        ],
    }
    if bad:
        data["contacts"][3]["email"] = "not-an-email"  # CRM refuses it in the bulk job
        data["deals"][2]["status"] = "someday"  # not in the value map: mapping refuses it
        data["customers"][4]["email"] = "k4-at-example.org"  # Books refuses it
    for name, rows in data.items():
        _csv(folder / f"{name}.csv", rows)
    (folder / "migration.toml").write_text(textwrap.dedent(MANIFEST.format(books_plan=books_plan)))
    return data


async def records(sb: Any, product: str, module: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sb.urls['api']}/__sandbox__/records/{product}/{module}") as resp,
    ):
        assert resp.status == 200
        return (await resp.json())["records"]


def one_each(stored: list[dict[str, Any]], field: str, wanted: list[str]) -> dict[str, dict]:
    """Stored records by ``field``; fails unless each wanted value is there exactly once."""
    seen = [r[field] for r in stored]
    assert sorted(seen) == sorted(wanted), f"{field}: stored {len(seen)}, wanted {len(wanted)}"
    return {r[field]: r for r in stored}


async def assert_landed(sb: Any, data: dict[str, list[dict[str, Any]]], skip=()) -> None:
    """Every good source record is in the sandbox once, with its values and resolved links."""
    accounts = [a for a in data["accounts"]]
    by_name = one_each(
        await records(sb, "crm", "Accounts"), "Account_Name", [a["name"] for a in accounts]
    )
    account_id = {a["account_ref"]: by_name[a["name"]]["id"] for a in accounts}
    for a in accounts:
        assert by_name[a["name"]]["Billing_City"] == a["city"]
    contacts = [c for c in data["contacts"] if c["contact_ref"] not in skip]
    by_email = one_each(
        await records(sb, "crm", "Contacts"), "Email", [c["email"] for c in contacts]
    )
    contact_id = {}
    for c in contacts:
        stored = by_email[c["email"]]
        assert stored["Last_Name"] == c["last"]
        assert stored["Account_Name"]["id"] == account_id[c["account_ref"]]
        contact_id[c["contact_ref"]] = stored["id"]
    deals = [d for d in data["deals"] if d["deal_ref"] not in skip]
    by_title = one_each(await records(sb, "crm", "Deals"), "Deal_Name", [d["title"] for d in deals])
    for d in deals:
        stored = by_title[d["title"]]
        assert stored["Amount"] == pytest.approx(float(d["amount"]))
        assert stored["Stage"] == ("Closed Won" if d["status"] == "won" else "Qualification")
        assert stored["Account_Name"]["id"] == account_id[d["account_ref"]]
        if d["contact_ref"] in contact_id:
            assert stored["Contact_Name"]["id"] == contact_id[d["contact_ref"]]
    by_sku = one_each(
        await records(sb, "inventory", "items"), "sku", [i["sku"] for i in data["items"]]
    )
    customers = [c for c in data["customers"] if c["customer_ref"] not in skip]
    by_cname = one_each(
        await records(sb, "books", "contacts"), "contact_name", [c["name"] for c in customers]
    )
    customer_id = {c["customer_ref"]: by_cname[c["name"]]["contact_id"] for c in customers}
    lines = [row for row in data["invoice_lines"] if row["customer_ref"] in customer_id]
    by_number = one_each(
        await records(sb, "books", "invoices"),
        "invoice_number",
        sorted({row["number"] for row in lines}),
    )
    for row in lines:
        invoice = by_number[row["number"]]
        assert invoice["customer_id"] == customer_id[row["customer_ref"]]
        item_ids = [li["item_id"] for li in invoice["line_items"]]
        assert by_sku[row["sku"]]["item_id"] in item_ids


async def run(folder: Path, sb: Any, clock: Clock, *, resume: bool = False, **kw: Any) -> RunReport:
    out = io.StringIO()
    return await execute(
        folder / "migration.toml",
        folder / "run",
        sandbox_credentials(sb),
        clock,
        resume=resume,
        progress=Progress(out, tty=False),
        seed=7,
        **kw,
    )


async def test_mixed_manifest_lands_every_record_exactly_once(tmp_path, make_sandbox):
    clock = Clock(600)
    sb = await make_sandbox(clock=clock, latency_ms=200)
    data = write_migration(tmp_path, scale=6)  # 120 Books calls: the minute window binds
    report = await run(tmp_path, sb, clock)
    assert report.outcome == "done", report.render()
    await assert_landed(sb, data)
    state = sb.state()
    # alone on the org, the engine never meets a throttling answer
    throttles = {
        code
        for product in state["errors"].values()
        for code in product
        if code in ("44", "429", "1070", "TOO_MANY_REQUESTS")
    }
    assert not throttles, state["errors"]
    assert state["peak_concurrency"]["books"] <= 10
    steps = {s.name: s for s in report.steps}
    assert state["requests"]["books"] == steps["customers"].requests + steps["invoices"].requests
    saved = orjson.loads((tmp_path / "run" / "report.json").read_bytes())
    invoices = len({row["number"] for row in data["invoice_lines"]})
    assert (
        saved["landed"] == sum(len(v) for k, v in data.items() if k != "invoice_lines") + invoices
    )
    assert (tmp_path / "run" / "dead_letters.jsonl").read_bytes() == b""


async def test_five_percent_faults_lose_and_duplicate_nothing(tmp_path, make_sandbox):
    clock = Clock(600)
    sb = await make_sandbox(
        clock=clock, latency_ms=100, fault_rate=0.05, lost_response_rate=0.03, seed=5
    )
    data = write_migration(tmp_path, scale=5)
    report = await run(tmp_path, sb, clock)
    assert report.outcome == "done", report.render()
    faults = sb.state()["faults"]
    assert faults.get("lost_response", 0) > 0 and faults.get("internal_error", 0) > 0, faults
    await assert_landed(sb, data)


async def test_bad_records_go_to_the_dead_letter_file(tmp_path, make_sandbox):
    clock = Clock(600)
    sb = await make_sandbox(clock=clock)
    data = write_migration(tmp_path, bad=True)
    report = await run(tmp_path, sb, clock)
    assert report.outcome == "failed_records" and report.exit_code == 1
    letters = [
        orjson.loads(line)
        for line in (tmp_path / "run" / "dead_letters.jsonl").read_bytes().splitlines()
    ]
    by_key = {(d["step"], d["key"]): d for d in letters}
    contact = by_key[("contacts", "C3")]
    assert contact["code"] == "INVALID_DATA" and "Email" in contact["message"]
    assert contact["row"]["email"] == "not-an-email"
    deal = by_key[("deals", "D2")]
    assert deal["code"] == "MAPPING" and "someday" in deal["message"]
    customer = by_key[("customers", "K4")]
    assert customer["code"] == "2" and customer["row"]["name"] == "Customer 4"
    # deals that link the refused contact, and invoices of the refused customer, follow it
    followers = {k for k in by_key if k[0] in ("deals", "invoices")} - {("deals", "D2")}
    skip = {"C3", "D2", "K4"} | {key for _, key in followers}
    assert all(by_key[k]["code"] == "MAPPING" for k in followers)
    assert len(letters) == report.failed
    await assert_landed(sb, data, skip=skip)


async def test_token_expiry_mid_run_renews_and_carries_on(tmp_path, make_sandbox):
    clock = Clock(600)
    sb = await make_sandbox(clock=Clock(600))  # its own clock: the engine can't see expiry
    data = write_migration(tmp_path, scale=2)
    task = asyncio.create_task(run(tmp_path, sb, clock))
    for _ in range(400):  # bounded: until a few records landed
        await asyncio.sleep(0.005)
        if sb.state()["counts"]["books"]["contacts"] >= 3:
            break
    sb.clock.advance(2 * 3600)  # every token the engine holds is now expired at Zoho
    report = await task
    assert report.outcome == "done", report.render()
    errors = sb.state()["errors"]
    assert any("14" in e or "INVALID_TOKEN" in e for e in errors.values()), errors
    await assert_landed(sb, data)


async def test_daily_cap_pauses_with_exit_3_then_resume_finishes(tmp_path, make_sandbox):
    clock = Clock(7200)
    sb = await make_sandbox(clock=clock, books_plan="free")
    data = write_migration(tmp_path, scale=60, books_plan="free")  # 600 customers + 600 invoices
    report = await run(tmp_path, sb, clock)
    assert report.outcome == "paused" and report.exit_code == 3, report.render()
    assert report.resets_at is not None and report.resets_at > clock.now()
    assert "resume" in report.message
    stored = await records(sb, "books", "contacts")
    assert len(stored) < 600 or len(await records(sb, "books", "invoices")) < 600
    clock.advance(max(0.0, report.resets_at - clock.now()) + 1)
    report = await run(tmp_path, sb, clock, resume=True)
    if report.outcome == "paused":  # 1,200 Books calls need two free days
        clock.advance(DAY)
        report = await run(tmp_path, sb, clock, resume=True)
    assert report.outcome == "done", report.render()
    await assert_landed(sb, data)
