"""A mixed migration (CRM REST and Bulk Write, Inventory, Books with line items) for tests,
and the check that it landed, read through the sandbox's admin API."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import pytest

MANIFEST = """
[target]
crm_edition = "{crm_edition}"
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
    folder: Path,
    *,
    scale: int = 1,
    bad: bool = False,
    books_plan: str = "standard",
    crm_edition: str = "enterprise",
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
    (folder / "migration.toml").write_text(
        textwrap.dedent(MANIFEST.format(books_plan=books_plan, crm_edition=crm_edition))
    )
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
