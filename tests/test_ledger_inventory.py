"""The whole ledger over loopback: the Books ledger plus Inventory's warehouses, opening
stock per location, sales orders packed and shipped, transfer orders, an item group, and the
opening balances, exactly once under faults; stock, statuses and balances as the source says.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixed_time import T0
from ledger_helpers import write_ledger
from ledger_stock_helpers import add_stock, assert_stock
from test_ledger import assert_ledger, ledger_sandbox, run_ledger

from zmigrate.client.finance_stock import NoOrderLine, order_lines
from zmigrate.clock import Clock
from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.planner import plan
from zmigrate.rehearsal import execute_in_sandbox
from zmigrate.rollback import rollback
from zmigrate.verify import verify

PLANS = Path(__file__).resolve().parent.parent / "plans"

UNKEYED = ("customer_payments", "vendor_payments", "credit_notes", "opening_balances")
"""Books steps a fresh run would create again (payments and applications have no number an
upsert finds; the opening balance is one per org): left out of the rerun."""


async def test_ledger_with_stock_lands_once_under_faults(tmp_path: Path, make_sandbox) -> None:
    clock = Clock(600, start=T0)
    sb = await ledger_sandbox(
        make_sandbox, clock, latency_ms=50, fault_rate=0.08, lost_response_rate=0.15, seed=5
    )
    data = add_stock(tmp_path, write_ledger(tmp_path, n=6))
    report = await run_ledger(tmp_path, sb, clock)
    assert report.outcome == "done", report.render()
    assert (tmp_path / "run" / "dead_letters.jsonl").read_bytes() == b""
    await assert_ledger(sb, data)
    await assert_stock(sb, data)


async def test_a_rerun_upserts_stock_documents_without_packing_or_moving_again(
    tmp_path: Path, make_sandbox
) -> None:
    """A second run of the same manifest (a new run directory) finds every document by its
    number and updates it: lines, orders and locations fixed once created are left out."""
    clock = Clock(600, start=T0)
    sb = await ledger_sandbox(make_sandbox, clock)
    data = add_stock(tmp_path, write_ledger(tmp_path, n=4))
    assert (await run_ledger(tmp_path, sb, clock)).outcome == "done"
    (tmp_path / "run").rename(tmp_path / "first-run")
    head, *steps = (tmp_path / "ledger.toml").read_text().split("\n[[steps]]")
    kept = [s for s in steps if not any(f'name = "{n}"' in s for n in UNKEYED)]
    (tmp_path / "ledger.toml").write_text(head + "".join("\n[[steps]]" + s for s in kept))
    report = await run_ledger(tmp_path, sb, clock)
    assert report.outcome == "done", report.render()
    assert (tmp_path / "run" / "dead_letters.jsonl").read_bytes() == b""
    await assert_stock(sb, data)


def test_plan_orders_stock_by_lookups_and_reads_each_packages_order(tmp_path: Path) -> None:
    data = add_stock(tmp_path, write_ledger(tmp_path, n=6))
    bill = plan(load_manifest(tmp_path / "ledger.toml"))
    order = [s.name for s in bill.steps]
    assert order.index("warehouses") < order.index("stock_items") < order.index("sales_orders")
    assert order.index("sales_orders") < order.index("packages") < order.index("shipments")
    assert order.index("stock_items") < order.index("transfers")
    steps = {s.name: s for s in bill.steps}
    packages = {x["package"] for x in data["package_lines"]}
    # a package reads its sales order once (its lines' ids), then is created
    assert steps["packages"].write.requests == 2 * len(packages)
    assert steps["shipments"].write.requests == len(data["shipments"])
    assert steps["transfers"].write.requests == len({x["number"] for x in data["transfer_lines"]})
    assert steps["item_groups"].write.requests == 1  # its three items in the group's request


async def test_sample_ledger_verifies_and_its_stock_rolls_back(tmp_path: Path) -> None:
    """``plans/ledger.toml`` rehearsed: verify finds every record as sent (stock per location
    in its order), and rollback deletes every stock document, item and warehouse (shipments
    before packages before orders, transfers before items, items before warehouses)."""
    for name in ("ledger.toml", "ledger", "schema"):
        copy = shutil.copytree if (PLANS / name).is_dir() else shutil.copy
        copy(PLANS / name, tmp_path / name)
    run_dir = tmp_path / "run"
    assert (
        await execute_in_sandbox(tmp_path / "ledger.toml", run_dir, clock_speed=600)
    ).exit_code == 0
    checked = await verify(run_dir, clock_speed=600)
    assert checked.exit_code == 0, checked.render()
    undone = await rollback(run_dir, clock_speed=600)
    stock = {s.step: s for s in undone.steps if s.product == "inventory"}
    assert set(stock) >= {"warehouses", "packages", "shipments", "transfers", "item_groups"}
    for step in stock.values():
        assert (step.refused, step.left_in_place) == ([], 0), undone.render()
        assert step.deleted > 0


@pytest.mark.parametrize("step, number", [("packages", "package_number"),
                                          ("transfers", "transfer_order_number")])  # fmt: skip
def test_plan_refuses_a_stock_step_not_keyed_by_its_number(
    tmp_path: Path, step: str, number: str
) -> None:
    add_stock(tmp_path, write_ledger(tmp_path, n=4))
    text = (tmp_path / "ledger.toml").read_text()
    keyed = f'key = ["{number}"]\n'
    (tmp_path / "bad.toml").write_text(text.replace(keyed, 'key = ["date"]\n', 1))
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "bad.toml")
    message = str(caught.value)
    assert f"step '{step}'" in message and f"key = ['{number}']" in message


def test_a_package_names_the_orders_lines_of_its_items_in_turn() -> None:
    order = {"salesorder_number": "SO-1", "line_items": [
        {"line_item_id": "L1", "item_id": "A", "quantity": 2, "quantity_packed": 1},
        {"line_item_id": "L2", "item_id": "A", "quantity": 5},
        {"line_item_id": "L3", "item_id": "B", "quantity": 1, "quantity_packed": 1},
    ]}  # fmt: skip
    body = {"line_items": [{"item_id": "A", "quantity": 1}, {"item_id": "A", "quantity": 3},
                           {"item_id": "B", "quantity": 1}]}  # fmt: skip
    order_lines(body, order, "9")
    # A's first line has 1 left, then its second; B has none left: Zoho judges the quantity
    assert body["line_items"] == [{"so_line_item_id": "L1", "quantity": 1},
                                  {"so_line_item_id": "L2", "quantity": 3},
                                  {"so_line_item_id": "L3", "quantity": 1}]  # fmt: skip
    with pytest.raises(NoOrderLine, match="SO-1 has no line of item C"):
        order_lines({"line_items": [{"item_id": "C", "quantity": 1}]}, order, "9")
