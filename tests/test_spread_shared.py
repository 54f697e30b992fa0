"""``[target] spread_shared``: contacts and items of an integrated Books + Inventory org written
through both products' quotas, every record once (issue 12), over loopback to the sandbox."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fixed_time import T0

from zmigrate.clock import Clock
from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.planner import plan
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials, sandbox_in_thread
from zmigrate.run import execute
from zmigrate.sandbox import SandboxConfig

MANIFEST = """\
[target]
books_plan = "standard"
inventory_plan = "standard"
spread_shared = true

[[steps]]
name = "customers"
source = { file = "customers.csv" }
target = "books:contacts"
key = ["contact_name"]
source_key = ["ref"]
[steps.fields]
contact_name = "name"
contact_type = { const = "customer" }

[[steps]]
name = "items"
source = { file = "items.csv" }
target = "inventory:items"
key = ["sku"]
[steps.fields]
sku = "sku"
name = "name"
rate = "price"
item_type = { const = "inventory" }
product_type = { const = "goods" }

[[steps]]
name = "invoices"
source = { file = "invoices.csv" }
target = "books:invoices"
key = ["invoice_number"]
[steps.fields]
invoice_number = "number"
"line_items[].quantity" = "quantity"
"line_items[].rate" = "price"
[steps.lookups]
customer_id = { step = "customers", column = "ref" }
"line_items[].item_id" = { step = "items", column = "sku" }
"""


def _write(folder: Path, spread: bool = True) -> Path:
    (folder / "customers.csv").write_text(
        "ref,name\n" + "".join(f"K{i},Customer {i}\n" for i in range(31))
    )
    (folder / "items.csv").write_text(
        "sku,name,price\n" + "".join(f"S{i},Item {i},{i + 1}.50\n" for i in range(20))
    )
    (folder / "invoices.csv").write_text(
        "number,ref,sku,quantity,price\n"
        + "".join(f"INV-{i},K{i % 31},S{i % 20},2,9.99\n" for i in range(12))
    )
    path = folder / "m.toml"
    path.write_text(
        MANIFEST.replace("spread_shared = true", f"spread_shared = {str(spread).lower()}")
    )
    return path


def test_the_plan_prices_both_ways(tmp_path):
    on = plan(load_manifest(_write(tmp_path)))
    # customers 31: 16 through Books, 15 through Inventory; items 20: 10 and 10
    assert on.totals["books"].requests == 16 + 10 + 12
    assert on.totals["inventory"].requests == 15 + 10
    assert on.step("customers").method == "spread"
    other = on.other_way
    assert other is not None and other.spread_shared is False
    assert other.requests == {"books": 31 + 12, "inventory": 20}
    assert on.to_dict()["spread_shared"]["on"] is True
    off = plan(load_manifest(_write(tmp_path, spread=False)))
    assert off.other_way is not None and off.other_way.requests == {"books": 38, "inventory": 25}


def test_two_organizations_cannot_spread(tmp_path):
    path = _write(tmp_path)
    text = path.read_text().replace(
        "spread_shared = true",
        'spread_shared = true\nbooks_organization_id = "1"\ninventory_organization_id = "2"',
    )
    path.write_text(text)
    with pytest.raises(ManifestError, match="one integrated organization"):
        load_manifest(path)


async def test_every_record_lands_once_across_both_products(tmp_path):
    path = _write(tmp_path)
    clock = Clock(60, start=T0)
    config = SandboxConfig(clock_speed=60, state_dir=str(tmp_path / "sandbox"))
    async with sandbox_in_thread(config, clock) as sb:
        report = await execute(
            path, tmp_path / "run", sandbox_credentials(sb), clock, progress=Progress(io.StringIO())
        )
        state = sb.state()
    assert report.outcome == "done", report.message
    assert [(s.name, s.landed, s.failed) for s in report.steps] == [
        ("customers", 31, 0),
        ("items", 20, 0),
        ("invoices", 12, 0),
    ]
    # one store behind both APIs: each record once, whichever product created it
    assert state["counts"]["books"]["contacts"] == state["counts"]["inventory"]["contacts"] == 31
    assert state["counts"]["inventory"]["items"] == 20
    spend = {p.product: p.requests for p in report.spend}
    # every create went through the product its batch was given, none twice (no find, no retry)
    assert spend == {"books": 16 + 10 + 12, "inventory": 15 + 10}
    # the report's per-product figures: this process's calls, their time against the plan's
    paces = {p.product: p for p in report.products}
    assert {p: paces[p].calls for p in paces} == {"books": 38, "inventory": 25}
    assert all(p.planned_seconds and p.seconds > 0 for p in paces.values())
