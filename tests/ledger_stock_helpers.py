"""The ledger's Inventory half and its opening balances, added to the Books ledger of
``ledger_helpers``: two warehouses created as locations, items with opening stock in each,
sales orders packed (one partly) and shipped (some), transfer orders between the
warehouses, an item group with its items, and the chart of accounts with the opening
balances; plus what the sandbox must hold afterwards, computed from the source alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger_helpers import _csv
from migration_helpers import one_each, records

STEPS = """
[[steps]]
name = "warehouses"
source = {{ file = "{d}warehouses.csv" }}
target = "inventory:locations"
key = ["location_name"]
[steps.fields]
location_name = "warehouse"

# One row per item and warehouse: the opening stock per location, the location looked up.
[[steps]]
name = "stock_items"
source = {{ file = "{d}stock_items.csv" }}
target = "inventory:items"
key = ["sku"]
[steps.fields]
sku = "sku"
name = "name"
rate = {{ column = "price", transform = "decimal", places = 2 }}
item_type = {{ const = "inventory" }}
"locations[].initial_stock" = {{ column = "qty", transform = "decimal" }}
[steps.lookups]
"locations[].location_id" = {{ step = "warehouses", column = "warehouse" }}

[[steps]]
name = "sales_orders"
source = {{ file = "{d}so_lines.csv" }}
target = "inventory:salesorders"
key = ["salesorder_number"]
[steps.fields]
salesorder_number = "so"
date = "date"
"line_items[].quantity" = {{ column = "qty", transform = "decimal" }}
"line_items[].rate" = {{ column = "rate", transform = "decimal", places = 2 }}
[steps.lookups]
customer_id = {{ step = "customers", column = "customer_ref" }}
"line_items[].item_id" = {{ step = "stock_items", column = "sku" }}
"line_items[].location_id" = {{ step = "warehouses", column = "warehouse" }}

# A package names its lines by item: the client sends the order's line (so_line_item_id).
[[steps]]
name = "packages"
source = {{ file = "{d}package_lines.csv" }}
target = "inventory:packages"
key = ["package_number"]
[steps.fields]
package_number = "package"
date = "date"
"line_items[].quantity" = {{ column = "qty", transform = "decimal" }}
[steps.lookups]
salesorder_id = {{ step = "sales_orders", column = "so" }}
"line_items[].item_id" = {{ step = "stock_items", column = "sku" }}

[[steps]]
name = "shipments"
source = {{ file = "{d}shipments.csv" }}
target = "inventory:shipmentorders"
key = ["shipment_number"]
[steps.fields]
shipment_number = "shipment"
date = "date"
delivery_method = "carrier"
tracking_number = "tracking"
[steps.lookups]
salesorder_id = {{ step = "sales_orders", column = "so" }}
package_ids = {{ step = "packages", column = "package" }}

[[steps]]
name = "transfers"
source = {{ file = "{d}transfer_lines.csv" }}
target = "inventory:transferorders"
key = ["transfer_order_number"]
[steps.fields]
transfer_order_number = "number"
date = "date"
"line_items[].quantity_transfer" = {{ column = "qty", transform = "decimal" }}
[steps.lookups]
from_location_id = {{ step = "warehouses", column = "from" }}
to_location_id = {{ step = "warehouses", column = "to" }}
"line_items[].item_id" = {{ step = "stock_items", column = "sku" }}

# An item group creates its items in its own request: one row per item.
[[steps]]
name = "item_groups"
source = {{ file = "{d}group_items.csv" }}
target = "inventory:itemgroups"
key = ["group_name"]
[steps.fields]
group_name = "group"
unit = "unit"
"items[].name" = "name"
"items[].sku" = "sku"
"items[].rate" = {{ column = "rate", transform = "decimal", places = 2 }}
"items[].purchase_rate" = {{ column = "cost", transform = "decimal", places = 2 }}

[[steps]]
name = "accounts"
source = {{ file = "{d}accounts.csv" }}
target = "books:chartofaccounts"
key = ["account_name"]
source_key = ["code"]
[steps.fields]
account_name = "name"
account_type = "type"
account_code = "code"

[[steps]]
name = "opening_balances"
source = {{ file = "{d}opening_lines.csv" }}
target = "books:openingbalances"
key = ["date"]
[steps.fields]
date = "date"
"accounts[].debit_or_credit" = "side"
"accounts[].amount" = {{ column = "amount", transform = "decimal", places = 2 }}
[steps.lookups]
"accounts[].account_id" = {{ step = "accounts", column = "account" }}
"""

WAREHOUSES = ("Main WH", "Second WH")


def stock_data(customer_refs: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Four stocked items in both warehouses, four one-line sales orders (three packed in
    full, one in part; two shipped), two transfers, a group of three items, the accounts and
    a balanced opening balance."""
    items = [
        {"sku": f"ST{i}", "name": f"Stocked {i}", "price": "12.00", "warehouse": w,
         "qty": str(q)}
        for i in range(4)
        for w, q in zip(WAREHOUSES, (20 + i, 5 + i), strict=True)
    ]  # fmt: skip
    so_lines = [
        {"so": f"OLD-SO-{i:03d}", "customer_ref": customer_refs[i % len(customer_refs)],
         "date": "2026-01-15", "sku": f"ST{i}", "qty": "4", "rate": "12.00",
         "warehouse": WAREHOUSES[i % 2]}
        for i in range(4)
    ]  # fmt: skip
    package_lines = [
        {"package": f"OLD-PKG-{i:03d}", "so": f"OLD-SO-{i:03d}", "date": "2026-01-16",
         "sku": f"ST{i}", "qty": "4" if i < 3 else "2"}
        for i in range(4)
    ]  # fmt: skip
    shipments = [
        {"shipment": f"OLD-SH-{i:03d}", "so": f"OLD-SO-{i:03d}", "package": f"OLD-PKG-{i:03d}",
         "date": "2026-01-17", "carrier": "Courier", "tracking": f"TRK{i}"}
        for i in range(2)
    ]  # fmt: skip
    transfer_lines = [
        {"number": "OLD-TO-001", "date": "2026-01-18", "from": "Main WH", "to": "Second WH",
         "sku": "ST0", "qty": "3"},
        {"number": "OLD-TO-001", "date": "2026-01-18", "from": "Main WH", "to": "Second WH",
         "sku": "ST2", "qty": "2"},
        {"number": "OLD-TO-002", "date": "2026-01-19", "from": "Second WH", "to": "Main WH",
         "sku": "ST1", "qty": "1"},
    ]  # fmt: skip
    group_items = [
        {"group": "Shirts", "unit": "pcs", "name": f"Shirt {s}", "sku": f"SHIRT-{s}",
         "rate": "15.00", "cost": "6.00"}
        for s in ("S", "M", "L")
    ]  # fmt: skip
    accounts = [
        {"code": "1000", "name": "Old Petty Cash", "type": "cash"},
        {"code": "1010", "name": "Old Bank", "type": "bank"},
        {"code": "3000", "name": "Old Capital", "type": "equity"},
    ]
    opening_lines = [
        {"date": "2025-12-31", "side": side, "account": account, "amount": amount}
        for side, account, amount in (("debit", "1000", "500.00"), ("debit", "1010", "1500.00"),
                                      ("credit", "3000", "2000.00"))
    ]  # fmt: skip
    return {
        "warehouses": [{"warehouse": w} for w in WAREHOUSES],
        "stock_items": items,
        "so_lines": so_lines,
        "package_lines": package_lines,
        "shipments": shipments,
        "transfer_lines": transfer_lines,
        "group_items": group_items,
        "accounts": accounts,
        "opening_lines": opening_lines,
    }


def add_stock(
    folder: Path, data: dict[str, list[dict[str, Any]]], data_dir: str = ""
) -> dict[str, list[dict[str, Any]]]:
    """The ledger manifest in ``folder`` (``ledger_helpers.write_ledger``'s) with the stock and
    opening balance steps appended, their CSVs written; the whole source returned."""
    stock = stock_data(sorted({x["customer_ref"] for x in data["customers"]}))
    for name, rows in stock.items():
        _csv(folder / data_dir / f"{name}.csv", rows)
    manifest = folder / "ledger.toml"
    manifest.write_text(manifest.read_text() + STEPS.format(d=data_dir))
    return {**data, **stock}


def expected_stock(data: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str], float]:
    """(sku, warehouse) → opening stock ± transfers − what shipped from the order's line."""
    out = {(x["sku"], x["warehouse"]): float(x["qty"]) for x in data["stock_items"]}
    for x in data["transfer_lines"]:
        out[(x["sku"], x["from"])] -= float(x["qty"])
        out[(x["sku"], x["to"])] += float(x["qty"])
    shipped = {x["package"] for x in data["shipments"]}
    line_of = {x["so"]: x for x in data["so_lines"]}
    for x in data["package_lines"]:
        if x["package"] in shipped:
            out[(x["sku"], line_of[x["so"]]["warehouse"])] -= float(x["qty"])
    return out


async def assert_stock(sb: Any, data: dict[str, list[dict[str, Any]]]) -> None:
    """Every stock record once; stock per location, packages, orders and the opening balance
    as the source says."""
    names = [w for w in WAREHOUSES]
    places = await records(sb, "inventory", "locations")
    one_each([p for p in places if p["location_name"] in names], "location_name", names)
    skus = sorted({x["sku"] for x in data["stock_items"]})
    items = one_each(
        [i for i in await records(sb, "inventory", "items") if i.get("sku") in skus], "sku", skus
    )
    for (sku, warehouse), qty in expected_stock(data).items():
        held = {x["location_name"]: x["location_stock_on_hand"] for x in items[sku]["locations"]}
        assert held[warehouse] == qty, (sku, warehouse)
    orders = one_each(
        await records(sb, "inventory", "salesorders"), "salesorder_number",
        [x["so"] for x in data["so_lines"]],
    )  # fmt: skip
    packages = one_each(
        await records(sb, "inventory", "packages"), "package_number",
        [x["package"] for x in data["package_lines"]],
    )  # fmt: skip
    shipped = {x["package"] for x in data["shipments"]}
    for x in data["package_lines"]:
        assert packages[x["package"]]["status"] == (
            "shipped" if x["package"] in shipped else "not_shipped"
        )
        assert packages[x["package"]]["salesorder_id"] == orders[x["so"]]["salesorder_id"]
        (line,) = orders[x["so"]]["line_items"]
        assert line["quantity_packed"] == float(x["qty"])
        full = x["package"] in shipped and float(x["qty"]) == line["quantity"]
        assert orders[x["so"]]["status"] == ("fulfilled" if full else "confirmed")
    one_each(
        await records(sb, "inventory", "shipmentorders"), "shipment_number",
        [x["shipment"] for x in data["shipments"]],
    )  # fmt: skip
    one_each(
        await records(sb, "inventory", "transferorders"), "transfer_order_number",
        sorted({x["number"] for x in data["transfer_lines"]}),
    )  # fmt: skip
    (group,) = await records(sb, "inventory", "itemgroups")
    assert sorted(x["name"] for x in group["items"]) == sorted(
        x["name"] for x in data["group_items"]
    )
    (opening,) = await records(sb, "books", "openingbalances")
    assert (opening["date"], opening["total"]) == ("2025-12-31", 2000)
    assert len(opening["accounts"]) == len(data["opening_lines"])
