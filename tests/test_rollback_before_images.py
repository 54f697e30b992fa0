"""``keep_before_images = true``: the run reads each record it is about to update, keeps its
mapped fields in the run store, the plan prices the reads, and rollback writes them back
(instead of leaving the updated record changed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_verify_rollback import PLANS, SPEED, counts, run_zoho

from zmigrate.checkpoint import RunStore
from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.planner import plan
from zmigrate.rehearsal import execute_in_sandbox
from zmigrate.rollback import bill, rollback

OLD_ACCOUNT = {"Account_Name": "Iris Cedar Labs 1", "Billing_City": "Oldtown"}
OLD_CUSTOMER = {
    "contact_name": "Blue Group Customer 1",
    "email": "old@example.org",
    "contact_type": "customer",
}


def imaged_manifest(tmp: Path) -> Path:
    """The sample with before-images kept on its accounts (CRM) and customers (Books)."""
    text = (PLANS / "sample.toml").read_text()
    for step in ("accounts", "customers"):
        head = f'name = "{step}"\n'
        text = text.replace(head, head + "keep_before_images = true\n")
    shutil.copytree(PLANS / "data", tmp / "data")
    (tmp / "sample.toml").write_text(text)
    return tmp / "sample.toml"


async def test_rollback_restores_updated_records_from_their_before_images(tmp_path: Path) -> None:
    manifest = imaged_manifest(tmp_path)
    run_dir = tmp_path / "run"
    async with run_zoho(run_dir) as zoho:
        (made,) = await zoho.crm.insert("Accounts", [OLD_ACCOUNT])
        customer = await zoho.books.create("contacts", OLD_CUSTOMER)
        assert made.ok and customer.ok and made.id and customer.id
    before = await counts(run_dir)
    report = await execute_in_sandbox(manifest, run_dir, clock_speed=SPEED)
    assert report.exit_code == 0, report.render()
    with RunStore.open(run_dir, readonly=True) as store:
        images = {i.key: i for i in store.before_images("accounts")}
        assert len(images) == 50 and images["A00001"].zoho_id == made.id
        assert images["A00001"].fields["Billing_City"] == "Oldtown"
        assert sum(1 for i in images.values() if i.zoho_id is None) == 49
    async with run_zoho(run_dir) as zoho:
        (now,) = (
            await zoho.crm.coql(f"select Billing_City from Accounts where id = {made.id}")
        ).records
        assert now["Billing_City"] == "Berlin"  # the run updated it

    (accounts,) = [s for s in bill(run_dir) if s.step == "accounts"]
    assert (accounts.delete, accounts.restore, accounts.left_in_place) == (49, 1, 0)
    result = await rollback(run_dir, clock_speed=SPEED)
    assert result.exit_code == 0, result.render()
    by_step = {s.step: s for s in result.steps}
    assert (by_step["accounts"].restored, by_step["customers"].restored) == (1, 1)
    assert sum(s.left_in_place for s in result.steps) == 0
    assert await counts(run_dir) == before
    async with run_zoho(run_dir) as zoho:
        query = f"select Account_Name, Billing_City, Industry from Accounts where id = {made.id}"
        (account,) = (await zoho.crm.coql(query)).records
        books = await zoho.books.get("contacts", customer.id)
    assert (account["Billing_City"], account["Industry"]) == ("Oldtown", None)
    assert books is not None and books["email"] == "old@example.org"


def test_the_plan_prices_the_reads_and_the_manifest_takes_it_only_on_updates(
    tmp_path: Path,
) -> None:
    manifest = imaged_manifest(tmp_path)
    plain, imaged = plan(load_manifest(PLANS / "sample.toml")), plan(load_manifest(manifest))
    crm = (plain.step("accounts").write, imaged.step("accounts").write)
    books = (plain.step("customers").write, imaged.step("customers").write)
    assert crm[0] and crm[1] and books[0] and books[1]
    assert (crm[1].requests - crm[0].requests, crm[1].credits - crm[0].credits) == (1, 1)
    assert books[1].requests - books[0].requests == 60  # 30 customers: search, GET
    assert "before-images" in crm[1].reason and books[1].seconds > books[0].seconds

    text = manifest.read_text().replace('operation = "upsert"', 'operation = "insert"', 1)
    manifest.write_text(text)
    with pytest.raises(ManifestError, match="keep_before_images is for a step that updates"):
        load_manifest(manifest)
