"""A Books ledger migration for tests: customers with contact persons (some in EUR), vendors,
items, taxed invoices and bills, customer payments paying some invoices fully and some
partly, vendor payments, and a credit note applied to an invoice; plus what each invoice's
and bill's balance must be afterwards, computed from the source alone."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

TAXES = [
    {"tax_id": "460000000000101", "tax_name": "Sales Tax", "tax_percentage": 10.0},
    {"tax_id": "460000000000102", "tax_name": "VAT 20", "tax_percentage": 20.0},
]
CURRENCIES = [
    {"currency_id": "460000000000097", "currency_code": "USD", "is_base_currency": True},
    {"currency_id": "460000000000098", "currency_code": "EUR", "exchange_rate": 1.1},
]
SETTINGS = {"taxes": TAXES, "currencies": CURRENCIES}

MANIFEST = """
[target]
books_plan = "standard"
inventory_plan = "standard"

# One row per contact person: rows sharing customer_ref are one customer (one request).
[[steps]]
name = "customers"
source = {{ file = "{d}customers.csv" }}
target = "books:contacts"
key = ["contact_name"]
source_key = ["customer_ref"]
[steps.fields]
contact_name = "name"
contact_type = {{ const = "customer" }}
currency_code = "currency"
"contact_persons[].first_name" = "person_first"
"contact_persons[].last_name" = "person_last"
"contact_persons[].email" = "person_email"

[[steps]]
name = "vendors"
source = {{ file = "{d}vendors.csv" }}
target = "books:contacts"
key = ["contact_name"]
source_key = ["vendor_ref"]
[steps.fields]
contact_name = "name"
contact_type = {{ const = "vendor" }}

[[steps]]
name = "items"
source = {{ file = "{d}items.csv" }}
target = "books:items"
key = ["sku"]
[steps.fields]
sku = "sku"
name = "name"
rate = {{ column = "price", transform = "decimal", places = 2 }}

# One row per line; the original invoice numbers are kept (ignore_auto_number_generation).
[[steps]]
name = "invoices"
source = {{ file = "{d}invoice_lines.csv" }}
target = "books:invoices"
key = ["invoice_number"]
[steps.fields]
invoice_number = "number"
date = "date"
currency_code = "currency"
"line_items[].quantity" = {{ column = "qty", transform = "decimal" }}
"line_items[].rate" = {{ column = "rate", transform = "decimal", places = 2 }}
"line_items[].tax_name" = "tax"
[steps.lookups]
customer_id = {{ step = "customers", column = "customer_ref" }}
"line_items[].item_id" = {{ step = "items", column = "sku" }}

[[steps]]
name = "bills"
source = {{ file = "{d}bill_lines.csv" }}
target = "books:bills"
key = ["bill_number"]
[steps.fields]
bill_number = "number"
date = "date"
"line_items[].quantity" = {{ column = "qty", transform = "decimal" }}
"line_items[].rate" = {{ column = "rate", transform = "decimal", places = 2 }}
"line_items[].tax_name" = "tax"
[steps.lookups]
vendor_id = {{ step = "vendors", column = "vendor_ref" }}
"line_items[].item_id" = {{ step = "items", column = "sku" }}

# Payments have no unique number: the source's payment id rides in reference_number, the
# field a payment in flight is looked up by before it is sent again.
[[steps]]
name = "customer_payments"
source = {{ file = "{d}payment_lines.csv" }}
target = "books:customerpayments"
key = ["reference_number"]
[steps.fields]
reference_number = "payment_ref"
date = "date"
amount = {{ column = "amount", transform = "decimal", places = 2 }}
payment_mode = "mode"
"invoices[].amount_applied" = {{ column = "applied", transform = "decimal", places = 2 }}
[steps.lookups]
customer_id = {{ step = "customers", column = "customer_ref" }}
"invoices[].invoice_id" = {{ step = "invoices", column = "invoice_number" }}

[[steps]]
name = "vendor_payments"
source = {{ file = "{d}vendor_payment_lines.csv" }}
target = "books:vendorpayments"
key = ["reference_number"]
[steps.fields]
reference_number = "payment_ref"
date = "date"
amount = {{ column = "amount", transform = "decimal", places = 2 }}
"bills[].amount_applied" = {{ column = "applied", transform = "decimal", places = 2 }}
[steps.lookups]
vendor_id = {{ step = "vendors", column = "vendor_ref" }}
"bills[].bill_id" = {{ step = "bills", column = "bill_number" }}

# A credit note and its application to an invoice (a second request, made exactly once).
[[steps]]
name = "credit_notes"
source = {{ file = "{d}creditnote_lines.csv" }}
target = "books:creditnotes"
key = ["creditnote_number"]
[steps.fields]
creditnote_number = "number"
date = "date"
"line_items[].quantity" = {{ column = "qty", transform = "decimal" }}
"line_items[].rate" = {{ column = "rate", transform = "decimal", places = 2 }}
"invoices[].amount_applied" = {{ column = "applied", transform = "decimal", places = 2 }}
[steps.lookups]
customer_id = {{ step = "customers", column = "customer_ref" }}
"line_items[].item_id" = {{ step = "items", column = "sku" }}
"invoices[].invoice_id" = {{ step = "invoices", column = "invoice_number" }}
"""

RATE = {"Sales Tax": 10.0, "VAT 20": 20.0, "": 0.0}


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _total(lines: list[dict[str, Any]]) -> float:
    """A document's total as Books computes it: lines, then tax on each line."""
    sub = round(sum(float(x["rate"]) * float(x["qty"]) for x in lines), 2)
    tax = round(sum(float(x["rate"]) * float(x["qty"]) * RATE[x["tax"]] / 100 for x in lines), 2)
    return round(sub + tax, 2)


def ledger_data(n: int = 8) -> dict[str, list[dict[str, Any]]]:
    """The source rows: ``n`` invoices (two lines each), n // 2 bills, payments and one credit
    note, every value derived from the row number."""
    customers = [
        {
            "customer_ref": f"K{i}",
            "name": f"Customer {i}",
            "currency": "EUR" if i % 3 == 0 else "USD",
            "person_first": f"P{i}{j}",
            "person_last": f"Person{i}{j}",
            "person_email": f"p{i}{j}@example.org",
        }
        for i in range(max(2, n // 2))
        for j in range(2)
    ]
    n_customers = max(2, n // 2)
    items = [{"sku": f"SKU{i}", "name": f"Item {i}", "price": f"{i + 2}.50"} for i in range(5)]
    invoice_lines = [
        {
            "number": f"OLD-INV-{i:03d}",
            "customer_ref": f"K{i % n_customers}",
            "date": "2026-01-10",
            "currency": "EUR" if (i % n_customers) % 3 == 0 else "USD",
            "sku": f"SKU{(i + j) % 5}",
            "qty": str(j + 1),
            "rate": f"{10 + i}.25",
            "tax": ("Sales Tax", "VAT 20", "")[(i + j) % 3],
        }
        for i in range(n)
        for j in range(2)
    ]
    vendors = [{"vendor_ref": f"V{i}", "name": f"Vendor {i}"} for i in range(3)]
    bill_lines = [
        {
            "number": f"OLD-BILL-{i:03d}",
            "vendor_ref": f"V{i % 3}",
            "date": "2026-01-12",
            "sku": f"SKU{i % 5}",
            "qty": "3",
            "rate": f"{20 + i}.00",
            "tax": "VAT 20" if i % 2 else "",
        }
        for i in range(max(2, n // 2))
    ]
    totals = {
        num: _total([x for x in invoice_lines if x["number"] == num])
        for num in dict.fromkeys(x["number"] for x in invoice_lines)
    }
    customer_of = {x["number"]: x["customer_ref"] for x in invoice_lines}
    numbers = list(totals)
    payment_lines = []
    for i, num in enumerate(numbers[: n - 2]):  # the last two stay unpaid (one gets a credit)
        applied = totals[num] if i % 2 == 0 else round(totals[num] * 0.4, 2)
        payment_lines.append(
            {
                "payment_ref": f"PAY-{i:03d}",
                "customer_ref": customer_of[num],
                "date": "2026-02-01",
                "amount": f"{applied:.2f}",
                "mode": "banktransfer",
                "invoice_number": num,
                "applied": f"{applied:.2f}",
            }
        )
    bill_totals = {x["number"]: _total([x]) for x in bill_lines}
    vendor_payment_lines = [
        {
            "payment_ref": f"VPAY-{i:03d}",
            "vendor_ref": x["vendor_ref"],
            "date": "2026-02-02",
            "amount": f"{bill_totals[x['number']] / (1 if i == 0 else 2):.2f}",
            "bill_number": x["number"],
            "applied": f"{bill_totals[x['number']] / (1 if i == 0 else 2):.2f}",
        }
        for i, x in enumerate(bill_lines[:2])
    ]
    credited = numbers[-2]
    creditnote_lines = [
        {
            "number": "OLD-CN-001",
            "customer_ref": customer_of[credited],
            "date": "2026-02-03",
            "sku": "SKU0",
            "qty": "1",
            "rate": "5.00",
            "invoice_number": credited,
            "applied": "5.00",
        }
    ]
    return {
        "customers": customers,
        "vendors": vendors,
        "items": items,
        "invoice_lines": invoice_lines,
        "bill_lines": bill_lines,
        "payment_lines": payment_lines,
        "vendor_payment_lines": vendor_payment_lines,
        "creditnote_lines": creditnote_lines,
    }


def write_ledger(folder: Path, n: int = 8, data_dir: str = "") -> dict[str, list[dict[str, Any]]]:
    """The manifest ``ledger.toml`` in ``folder``, its CSVs in ``folder/data_dir`` and the
    org's taxes and currencies as a schema snapshot ``ledger-org.json``."""
    data = ledger_data(n)
    (folder / data_dir).mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        _csv(folder / data_dir / f"{name}.csv", rows)
    (folder / "ledger.toml").write_text(MANIFEST.format(d=data_dir))
    snapshot = {"format": "zmigrate.schema/1", "books": SETTINGS, "inventory": SETTINGS}
    (folder / "ledger-org.json").write_text(json.dumps(snapshot, indent=1))
    return data


def expected_balances(data: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[float, float]]:
    """Each invoice's and bill's (total, balance = total − payments − credits)."""
    out: dict[str, tuple[float, float]] = {}
    for key, lines in (("invoice_lines", "number"), ("bill_lines", "number")):
        docs = dict.fromkeys(x[lines] for x in data[key])
        for num in docs:
            total = _total([x for x in data[key] if x[lines] == num])
            out[num] = (total, total)
    for key, ref in (
        ("payment_lines", "invoice_number"),
        ("vendor_payment_lines", "bill_number"),
        ("creditnote_lines", "invoice_number"),
    ):
        for x in data[key]:
            total, balance = out[x[ref]]
            out[x[ref]] = (total, round(balance - float(x["applied"]), 2))
    return out
