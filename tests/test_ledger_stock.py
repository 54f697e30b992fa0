"""Inventory items with opening stock in two warehouses: one row per (item, location), the
location named by the source and sent as the org's location_id, each item in one request,
exactly once under faults."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fixed_time import T0
from migration_helpers import one_each, records

from zmigrate.clock import Clock
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.run import execute

LOCATIONS = [
    {"location_id": "460000000000111", "location_name": "Head Office", "is_primary": True},
    {"location_id": "460000000000112", "location_name": "Warehouse B"},
]
MANIFEST = """
[target]
inventory_plan = "standard"

# One row per item and warehouse: rows sharing a sku are one item (one request).
[[steps]]
name = "items"
source = { file = "stock.csv" }
target = "inventory:items"
key = ["sku"]
[steps.fields]
sku = "sku"
name = "name"
rate = { column = "price", transform = "decimal", places = 2 }
item_type = { const = "inventory" }
"locations[].location_name" = "warehouse"
"locations[].initial_stock" = { column = "qty", transform = "decimal" }
"locations[].initial_stock_rate" = { column = "cost", transform = "decimal", places = 2 }
"""


async def test_opening_stock_per_warehouse_lands_once_under_faults(tmp_path: Path, make_sandbox):
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock, fault_rate=0.08, lost_response_rate=0.2, seed=6)
    sb.products["inventory"].load_settings({"locations": LOCATIONS})
    rows = [
        {"sku": f"S{i}", "name": f"Stocked {i}", "price": "9.50", "warehouse": place,
         "qty": str(i + j + 1), "cost": "4.25"}
        for i in range(15)
        for j, place in enumerate(("Head Office", "Warehouse B"))
    ]  # fmt: skip
    with open(tmp_path / "stock.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "stock.toml").write_text(MANIFEST)
    report = await execute(
        tmp_path / "stock.toml", tmp_path / "run", sandbox_credentials(sb), clock,
        progress=Progress(io.StringIO(), tty=False), seed=1,
    )  # fmt: skip
    assert report.outcome == "done", report.render()
    items = one_each(
        await records(sb, "inventory", "items"), "sku", sorted({r["sku"] for r in rows})
    )
    for r in rows:
        item = items[r["sku"]]
        stock = {x["location_name"]: x["location_stock_on_hand"] for x in item["locations"]}
        assert stock[r["warehouse"]] == float(r["qty"])
        assert item["initial_stock"] == sum(float(x["qty"]) for x in rows if x["sku"] == r["sku"])
    assert sb.state()["requests"]["inventory"] <= 15 + 1 + 15  # items, locations, lookups
