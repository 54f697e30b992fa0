"""verify reads back the cheapest way: a CRM Bulk Read when it costs less than COQL by ids
for the step's records (priced as the planner prices exports), Books/Inventory list pages
for a step without line items; it still finds exactly what changed and what is gone."""

from __future__ import annotations

from pathlib import Path

from test_verify_rollback import SPEED, run_zoho

from zmigrate.checkpoint import RunStore
from zmigrate.rehearsal import execute_in_sandbox
from zmigrate.verify import bill, verify
from zmigrate.verify.bill import ReadBy

DEALS = 3_000
MANIFEST = """
[target]
crm_edition = "enterprise"
crm_users = 10
books_plan = "standard"

[[steps]]
name = "deals"
source = { file = "deals.csv" }
target = "crm:Deals"
operation = "insert"
key = ["Deal_Name"]
method = "rest"
[steps.fields]
Deal_Name = "title"
Amount = { column = "amount", transform = "decimal", places = 2 }
Stage = { const = "Qualification" }
Closing_Date = { const = "2026-03-01" }

[[steps]]
name = "customers"
source = { file = "customers.csv" }
target = "books:contacts"
operation = "upsert"
key = ["contact_name"]
[steps.fields]
contact_name = "name"
email = "email"
contact_type = { const = "customer" }
"""


async def test_bulk_read_and_list_pages_when_cheaper_find_the_changed_and_the_gone(
    tmp_path: Path,
) -> None:
    rows = [f"Deal {i:05d},{i}.50" for i in range(DEALS)]
    (tmp_path / "deals.csv").write_text("title,amount\n" + "\n".join(rows) + "\n")
    people = [f"Customer {i},c{i}@example.org" for i in range(30)]
    (tmp_path / "customers.csv").write_text("name,email\n" + "\n".join(people) + "\n")
    (tmp_path / "sample.toml").write_text(MANIFEST)
    run_dir = tmp_path / "run"
    report = await execute_in_sandbox(tmp_path / "sample.toml", run_dir, clock_speed=SPEED)
    assert report.exit_code == 0, report.render()

    priced = {s.step: s for s in bill(run_dir).steps}
    assert priced["deals"].method is ReadBy.BULK_READ, priced["deals"]
    assert "coql would take 60 requests, 60 credits" in priced["deals"].reason
    assert priced["customers"].method is ReadBy.LIST_PAGES and priced["customers"].requests == 1

    result = await verify(run_dir, clock_speed=SPEED)
    assert result.exit_code == 0, result.render()
    by_step = {s.step: s for s in result.steps}
    assert (by_step["deals"].matched, by_step["customers"].matched) == (DEALS, 30)
    assert (by_step["deals"].read_by, by_step["customers"].read_by) == ("bulk_read", "list_pages")
    assert result.spent["crm"]["credits"] < 60  # less than COQL's 60 queries
    assert result.spent["books"]["requests"] == 1  # one list page, no GET by id

    with RunStore.open(run_dir, readonly=True) as store:
        deals, customer = store.landed("deals"), store.landed("customers")[4]
    async with run_zoho(run_dir) as zoho:
        (changed,) = await zoho.crm.update("Deals", [{"id": deals[10].zoho_id, "Amount": 1.25}])
        (gone,) = await zoho.crm.delete("Deals", [deals[20].zoho_id])
        moved = await zoho.books.update("contacts", customer.zoho_id, {"email": "x@example.org"})
        assert changed.ok and gone.ok and moved.ok

    result = await verify(run_dir, clock_speed=SPEED)
    assert result.exit_code == 1
    by_step = {s.step: s for s in result.steps}
    assert (by_step["deals"].differing, by_step["deals"].missing) == (1, 1)
    assert (by_step["customers"].differing, by_step["customers"].missing) == (1, 0)
