"""CRM v8 through the real transport against the sandbox: writes, paging, lookups, bulk."""

from __future__ import annotations

import asyncio

import pytest
from fixed_time import T0
from zoho_helpers import credentials_for

from zmigrate.auth import TokenSource
from zmigrate.client import Limits, Zoho
from zmigrate.client.bulk import zip_csv
from zmigrate.client.http import Attempt
from zmigrate.clock import Clock
from zmigrate.errors import RequestRejected


def zoho_for(http, sb, clock, **limits) -> Zoho:
    tokens = TokenSource(http, credentials_for(sb), clock)
    return Zoho(http, tokens, clock, Limits(**limits))


def lead(i: int) -> dict[str, str]:
    return {"Last_Name": f"Lead {i}", "Company": f"Co {i % 7}", "Email": f"lead{i}@example.com"}


def sandbox_credits(sb) -> int:
    return sb.state()["products"]["crm"]["credits"]["total"]


async def test_upserts_paging_past_2000_and_lookups(make_sandbox, http) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(clock=clock, crm_edition="enterprise", latency_ms=150)
    zoho = zoho_for(http, sb, clock, crm_edition="enterprise", crm_users=10)
    batches = [[lead(i) for i in range(b * 100, b * 100 + 100)] for b in range(25)]
    results = await asyncio.gather(*(zoho.crm.upsert("Leads", b, ["Email"]) for b in batches))
    assert all(o.ok and o.action == "insert" and o.id for r in results for o in r)
    assert [o.index for o in results[3]] == list(range(100))
    assert zoho.usage()["crm"]["credits"] == 250 == sandbox_credits(sb)  # 1 per 10 records
    assert sb.state()["errors"].get("crm") is None  # heavy upserts stayed within 10 at once

    again = await zoho.crm.upsert("Leads", [lead(5), lead(9_999)], ["Email"])
    assert [o.action for o in again] == ["update", "insert"]
    assert again[0].id == results[0][5].id

    ids = [r["id"] async for r in zoho.crm.iter_records("Leads", ["Last_Name", "Email"])]
    assert len(ids) == len(set(ids)) == 2_501  # 13 pages, past the 2,000 of plain paging

    found = await zoho.crm.find_by("Leads", "Email", "lead42@example.com", ["Last_Name"])
    assert [r["id"] for r in found] == [results[0][42].id]
    assert await zoho.crm.find_by("Leads", "Email", "nobody@example.com") == []
    page = await zoho.crm.coql("select Last_Name, Email from Leads where Company = 'Co 3'")
    assert len(page.records) == 200 and page.more
    assert zoho.usage()["crm"]["credits"] == sandbox_credits(sb)


async def test_per_record_failures_come_back_as_outcomes(make_sandbox, http) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(clock=clock)
    zoho = zoho_for(http, sb, clock)
    outcomes = await zoho.crm.insert("Leads", [lead(1), {"Company": "no name"}, lead(1)])
    assert [o.ok for o in outcomes] == [True, False, False]
    assert outcomes[1].code == "MANDATORY_NOT_FOUND" and outcomes[1].index == 1
    assert outcomes[2].code == "DUPLICATE_DATA"
    updated = await zoho.crm.update("Leads", [{"id": outcomes[0].id, "Company": "New"}])
    assert updated[0].ok and updated[0].action == "update"


@pytest.mark.parametrize("throttle_status", [429, 400])
async def test_crm_concurrency_refusals_shrink_parallel_calls(
    make_sandbox, http, throttle_status
) -> None:
    clock = Clock(speed=60, start=T0)  # calls last 33 ms real: they overlap even on a busy machine
    sb = await make_sandbox(
        clock=clock, crm_edition="free", latency_ms=2_000, crm_throttle_status=throttle_status
    )
    zoho = zoho_for(http, sb, clock, crm_edition="enterprise")  # believes 20 are allowed
    batches = [[lead(b * 10 + i) for i in range(10)] for b in range(30)]
    results = await asyncio.gather(*(zoho.crm.upsert("Leads", b, ["Email"]) for b in batches))
    assert all(o.ok for r in results for o in r)
    usage = zoho.usage()["crm"]
    assert usage["errors"].get("ConcurrencyLimited:TOO_MANY_REQUESTS", 0) >= 1
    assert zoho.channels["crm"].gate.limit < 20
    assert usage["credits"] == 30 == sandbox_credits(sb)  # refused calls cost nothing


async def test_bulk_write_round_trip_with_row_outcomes(make_sandbox, http) -> None:
    clock = Clock(speed=3600, start=T0)
    sb = await make_sandbox(clock=clock)
    zoho = zoho_for(http, sb, clock)
    rows = [lead(i) for i in range(300)]
    rows[7] = {"Company": "missing name", "Email": "x7@example.com"}
    header = ["Last_Name", "Company", "Email"]
    result = await zoho.crm.bulk_write("Leads", "insert", header, rows)
    assert result.job.state == "COMPLETED"
    assert len(result.outcomes) == 300
    assert not result.outcomes[7].ok and result.outcomes[7].code == "MANDATORY_NOT_FOUND"
    assert sum(o.ok and o.action == "insert" for o in result.outcomes) == 299
    assert result.job.counts.get("added_count") == 299

    # a crash between steps: the saved job id is polled again, nothing is imported twice
    file_id = await zoho.crm.upload(zip_csv(header, [lead(i) for i in range(300, 320)]))
    mappings = [{"api_name": c, "index": i} for i, c in enumerate(header)]
    job_id = await zoho.crm.create_write_job("Leads", "insert", file_id, mappings)
    fresh = zoho_for(http, sb, clock)
    job = await fresh.crm.wait_write(job_id)
    assert [o.action for o in await fresh.crm.write_result(job)] == ["insert"] * 20

    exported = [
        row async for page in zoho.crm.bulk_read("Leads", ["Last_Name", "Email"]) for row in page
    ]
    assert len(exported) == 319
    with pytest.raises(RequestRejected):
        await zoho.crm.create_read_job("Leads", ["No_Such_Field"])
    assert {r["Email"] for r in exported} >= {"lead0@example.com", "lead319@example.com"}


async def test_result_downloads_are_paced_at_ten_a_minute(make_sandbox, http) -> None:
    clock = Clock(speed=3600, start=T0)
    sb = await make_sandbox(clock=clock)
    zoho = zoho_for(http, sb, clock)
    await zoho.crm.upsert("Leads", [lead(i) for i in range(5)], ["Email"])
    job = await zoho.crm.wait_read(await zoho.crm.create_read_job("Leads", ["Email"]))
    start = clock.now()
    pages = await asyncio.gather(*(zoho.crm.read_result(job) for _ in range(12)))
    assert all(len(rows) == 5 for rows in pages)
    assert clock.now() - start >= 60.0  # the 11th waited for the first to leave the window
    assert sb.state()["errors"].get("crm") is None


async def test_crm_accepts_bearer_too(make_sandbox, http) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(clock=clock)
    token = await TokenSource(http, credentials_for(sb), clock).token()
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(sb.urls["api"] + "/crm/v8/org", headers=headers) as resp:
        assert resp.status == 200


async def test_a_call_waiting_for_the_heavy_pool_holds_no_edition_place(make_sandbox, http) -> None:
    """20 heavy upserts on Enterprise (20 places, pool of 10): 10 are sent, 10 wait for the
    pool holding nothing, so a light write is sent at once, not once a heavy one is done."""
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock, crm_edition="enterprise", latency_ms=2_000)
    zoho = zoho_for(http, sb, clock, crm_edition="enterprise", crm_users=10)
    attempts: list[Attempt] = []
    zoho.transport.observers.append(attempts.append)
    await zoho.tokens.token()
    channel = zoho.channels["crm"]
    heavy = [[lead(b * 100 + i) for i in range(100)] for b in range(20)]
    tasks = [asyncio.create_task(zoho.crm.upsert("Leads", b, ["Email"])) for b in heavy]
    while channel.heavy_gate is not None and channel.heavy_gate.active < 10:
        await asyncio.sleep(0)
    assert channel.gate.active == 10  # the 10 waiting for the pool hold no edition place
    light = await zoho.crm.upsert("Leads", [lead(9_000 + i) for i in range(10)], ["Email"])
    results = await asyncio.gather(*tasks)
    assert all(o.ok for r in [light, *results] for o in r)
    (sent,) = [a.started for a in attempts if a.credits == 1]
    assert sent < min(a.ended for a in attempts if a.credits == 10)
    assert sb.state()["errors"].get("crm") is None
