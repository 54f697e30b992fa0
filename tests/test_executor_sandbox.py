"""The executor end to end against the sandbox, checked through its admin API.

Every check reads what the sandbox stored (``/__sandbox__/records``), never the engine's own
counters: a record counts as landed when Zoho has it, once, with the right values and links.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import socket
from pathlib import Path
from typing import Any

import orjson
import pytest
from fixed_time import T0
from migration_helpers import assert_landed, records, write_migration

from zmigrate.checkpoint import RunStore
from zmigrate.clock import Clock
from zmigrate.errors import NetworkError
from zmigrate.progress import Progress
from zmigrate.quotas import DAY
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.report import RunReport
from zmigrate.run import execute


async def run(folder: Path, sb: Any, clock: Clock, *, resume: bool = False, **kw: Any) -> RunReport:
    out = io.StringIO()
    return await execute(
        folder / "migration.toml",
        folder / "run",
        kw.pop("credentials", None) or sandbox_credentials(sb),
        clock,
        resume=resume,
        progress=kw.pop("progress", None) or Progress(out, tty=False),
        seed=7,
        **kw,
    )


async def test_mixed_manifest_lands_every_record_exactly_once(tmp_path, make_sandbox):
    clock = Clock(600, start=T0)
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
    clock = Clock(600, start=T0)
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
    clock = Clock(600, start=T0)
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
    clock = Clock(600, start=T0)
    # its own clock: the engine can't see expiry
    sb = await make_sandbox(clock=Clock(600, start=T0))
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
    assert any("57" in e or "INVALID_TOKEN" in e for e in errors.values()), errors  # dead token
    await assert_landed(sb, data)


async def test_daily_cap_pauses_with_exit_3_then_resume_finishes(tmp_path, make_sandbox):
    clock = Clock(600, start=T0)
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
    # per-step figures add up over the run's processes to what Zoho counted
    steps = {s.name: s for s in report.steps}
    books = steps["customers"].requests + steps["invoices"].requests
    assert books == sb.state()["requests"]["books"]


EXPORTS = """
[target]
crm_edition = "enterprise"
books_plan = "standard"

[[steps]]
name = "backup"
source = { zoho = "crm:Accounts", records = 2100, fields = ["id", "Account_Name"] }
target = "file:out/backup.csv"
method = "rest"

[[steps]]
name = "deals_to_books"
source = { zoho = "crm:Deals", records = 20, fields = ["id", "Deal_Name"] }
target = "books:contacts"
key = ["contact_name"]
source_key = ["id"]
method = "bulk"
[steps.fields]
contact_name = "Deal_Name"
"""

SEED = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
method = "bulk"
[steps.fields]
Account_Name = "name"

[[steps]]
name = "deals"
source = { file = "deals.csv" }
target = "crm:Deals"
key = ["Deal_Name"]
[steps.fields]
Deal_Name = "title"
Stage = { const = "Qualification" }
Closing_Date = { const = "2026-03-01" }
"""


async def test_exports_page_past_2000_and_feed_a_later_step(tmp_path, make_sandbox):
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock)
    seed, export = tmp_path / "seed", tmp_path / "export"
    seed.mkdir()
    export.mkdir()
    names = [f"Account {i:05d}" for i in range(2100)]
    (seed / "accounts.csv").write_text("name\n" + "\n".join(names) + "\n")
    titles = [f"Deal {i}" for i in range(20)]
    (seed / "deals.csv").write_text("title\n" + "\n".join(titles) + "\n")
    (seed / "migration.toml").write_text(SEED)
    assert (await run(seed, sb, clock)).outcome == "done"
    (export / "migration.toml").write_text(EXPORTS)
    report = await run(export, sb, clock)
    assert report.outcome == "done", report.render()
    with open(export / "out" / "backup.csv", newline="") as f:
        backup = list(csv.DictReader(f))
    stored = {r["id"]: r["Account_Name"] for r in await records(sb, "crm", "Accounts")}
    assert len(backup) == 2100 and {r["id"]: r["Account_Name"] for r in backup} == stored
    deals = {r["Deal_Name"] for r in await records(sb, "crm", "Deals")}
    contacts = [r["contact_name"] for r in await records(sb, "books", "contacts")]
    assert sorted(contacts) == sorted(deals) == sorted(titles)
    crm = sb.state()["products"]["crm"]
    assert crm["credits"]["by_operation"].get("bulk_read", 0) >= 50, crm["credits"]


async def test_crm_credits_spent_pause_crm_while_books_and_inventory_finish(tmp_path, make_sandbox):
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock, crm_edition="free")  # 5,000 credits a day
    data = write_migration(tmp_path, crm_edition="free")
    # spent earlier today: 6 credits are left, 4 for reading the org's metadata, 1 for accounts
    sb.products["crm"].ledger.reserve("another_integration", 4_994)
    report = await run(tmp_path, sb, clock)
    assert report.outcome == "paused" and report.exit_code == 3, report.render()
    assert "crm" in report.message and report.resets_at is not None
    left = {s.name: s.pending for s in report.steps}
    assert left["accounts"] == 0  # 1 credit: it fitted
    assert left["contacts"] > 0 and left["deals"] > 0  # a 500-credit Bulk Write did not
    assert left["items"] == left["customers"] == left["invoices"] == 0
    clock.advance(max(0.0, report.resets_at - clock.now()) + 1)
    report = await run(tmp_path, sb, clock, resume=True)
    assert report.outcome == "done", report.render()
    await assert_landed(sb, data)


INSERTS = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "deals"
source = { file = "deals.csv" }
target = "crm:Deals"
operation = "insert"
key = ["Deal_Name"]
method = "rest"
[steps.fields]
Deal_Name = "title"
Stage = { const = "Qualification" }
Closing_Date = { const = "2026-03-01" }
"""


async def test_crm_inserts_whose_answers_are_lost_land_once(tmp_path, make_sandbox):
    """An insert is not idempotent: after a lost answer the batch's keys are looked up (COQL)
    and what landed is adopted. Deal_Name is not unique, so Zoho itself would not refuse a
    second copy: only the engine keeps it from being made."""
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock, lost_response_rate=0.3, seed=11)
    titles = [f"Deal {i:04d}" for i in range(2_000)]  # 20 inserts of 100
    (tmp_path / "deals.csv").write_text("title\n" + "\n".join(titles) + "\n")
    (tmp_path / "migration.toml").write_text(INSERTS)
    report = await run(tmp_path, sb, clock)
    assert report.outcome == "done", report.render()
    assert sb.state()["faults"].get("lost_response", 0) >= 3
    stored = [r["Deal_Name"] for r in await records(sb, "crm", "Deals")]
    assert sorted(stored) == titles


async def test_an_outage_stops_the_run_resumably_and_resume_finishes(tmp_path, make_sandbox):
    clock = Clock(3600, start=T0)
    sb = await make_sandbox(clock=clock)
    data = write_migration(tmp_path)
    with socket.socket() as sock:  # a port nobody listens on: Zoho's API is down
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}"
    unreachable = dataclasses.replace(sandbox_credentials(sb), api_url=down, content_url=down)
    # CRM's metadata is read first: with Zoho down the run stops before it begins
    with pytest.raises(NetworkError, match="settings/modules: Cannot connect"):
        await run(tmp_path, sb, clock, credentials=unreachable)
    assert not RunStore.exists(tmp_path / "run")

    class DownOnceStarted(Progress):
        def start_step(self, name: str, total: int, done: int = 0) -> None:
            sb.faults.fault_rate = 1.0  # every call fails from the first step on
            super().start_step(name, total, done)

    report = await run(tmp_path, sb, clock, progress=DownOnceStarted(io.StringIO(), tty=False))
    sb.faults.fault_rate = 0.0
    assert report.outcome == "stopped" and report.exit_code == 1, report.render()
    assert "gave up after" in report.message and "zmigrate resume" in report.message
    assert report.landed < sum(len(rows) for rows in data.values())  # slow answers still land
    report = await run(tmp_path, sb, clock, resume=True)  # Zoho is back
    assert report.outcome == "done", report.render()
    await assert_landed(sb, data)


ACCOUNTS = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
method = "rest"
[steps.fields]
Account_Name = "name"
"""


async def test_two_runs_on_one_org_meet_crm_400_throttling_and_both_land_once(
    tmp_path, make_sandbox
):
    """Not alone on the org: together two runs hold 20 heavy calls where CRM allows 10.
    CRM says so with HTTP 400 "too many requests" here; both runs wait and land all, once."""
    clock = Clock(5, start=T0)  # slow enough that the two runs' calls overlap for sure
    sb = await make_sandbox(clock=clock, latency_ms=500, crm_throttle_status=400)
    folders, names = [], []
    for run_no in range(2):
        folder = tmp_path / f"run{run_no}"
        folder.mkdir()
        mine = [f"Account {run_no}-{i:04d}" for i in range(3_000)]  # 30 upserts of 100
        (folder / "accounts.csv").write_text("name\n" + "\n".join(mine) + "\n")
        (folder / "migration.toml").write_text(ACCOUNTS)
        folders.append(folder)
        names += mine
    reports = await asyncio.gather(*(run(f, sb, clock) for f in folders))
    assert [r.outcome for r in reports] == ["done", "done"], reports[0].render()
    errors = sb.state()["errors"].get("crm", {})
    assert errors.get("TOO_MANY_REQUESTS", 0) > 0, errors
    stored = [r["Account_Name"] for r in await records(sb, "crm", "Accounts")]
    assert sorted(stored) == sorted(names)


UPDATES = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "crm:Accounts"
operation = "update"
key = ["Account_Name"]
method = "rest"
[steps.fields]
Account_Name = "name"
Billing_City = "city"

[[steps]]
name = "customers"
source = { file = "customers.csv" }
target = "books:contacts"
operation = "update"
key = ["contact_name"]
[steps.fields]
contact_name = "name"
email = "email"
"""


async def test_updates_find_records_by_key_and_refuse_unknown_ones(tmp_path, make_sandbox):
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    data = write_migration(first)
    assert (await run(first, sb, clock)).outcome == "done"
    (second / "accounts.csv").write_text(
        "name,city\nAccount 1,Lyon\nAccount 2,Porto\nNo Such Account,Oslo\n"
    )
    (second / "customers.csv").write_text(
        "name,email\nCustomer 3,new3@example.org\nNobody,x@example.org\n"
    )
    (second / "migration.toml").write_text(UPDATES)
    report = await run(second, sb, clock)
    assert report.outcome == "failed_records", report.render()
    letters = (second / "run" / "dead_letters.jsonl").read_text()
    assert "No Such Account" in letters and "Nobody" in letters and "NOT_FOUND" in letters
    accounts = {r["Account_Name"]: r for r in await records(sb, "crm", "Accounts")}
    assert len(accounts) == len(data["accounts"])  # updated in place, nothing created
    assert accounts["Account 1"]["Billing_City"] == "Lyon"
    assert accounts["Account 2"]["Billing_City"] == "Porto"
    customers = {r["contact_name"]: r for r in await records(sb, "books", "contacts")}
    assert len(customers) == len(data["customers"])
    assert customers["Customer 3"]["email"] == "new3@example.org"


async def test_crm_rest_fills_the_heavy_pool_and_the_spare_edition_places(tmp_path, make_sandbox):
    """Enterprise: 20 places, 10 of them for heavy writes. The upserts go as heavy writes of
    100 in the pool and light writes of 10 beside them: more than the pool's 10 calls at once
    (up to 20), at the minimum credits (one per 10 records), every record once."""
    clock = Clock(2, start=T0)  # calls last 250 ms real: they overlap even on a busy machine
    sb = await make_sandbox(clock=clock, crm_edition="enterprise", latency_ms=500)
    names = [f"Account {i:04d}" for i in range(3_000)]
    (tmp_path / "accounts.csv").write_text("name\n" + "\n".join(names) + "\n")
    (tmp_path / "migration.toml").write_text(ACCOUNTS)
    report = await run(tmp_path, sb, clock)
    assert report.outcome == "done", report.render()
    state = sb.state()
    assert 10 < state["peak_concurrency"]["crm"] <= 20
    preflight = 2  # the modules list and the fields of Accounts, read before any write
    assert state["products"]["crm"]["credits"]["total"] == 300 + preflight
    assert state["errors"].get("crm") is None
    stored = [r["Account_Name"] for r in await records(sb, "crm", "Accounts")]
    assert sorted(stored) == names
