"""CRM credits (card's cost table, rolling 24 h budget by edition and users), concurrency by
edition, the sub-concurrency pool of 10, and the 400-instead-of-429 throttling option."""

from __future__ import annotations

import asyncio

import aiohttp
import oas_check as oas
import pytest

from zmigrate import quotas
from zmigrate.sandbox import Sandbox

DIR = oas.default_directory()
CHECKER = oas.OasChecker(DIR) if DIR else None


def crm_state(sb: Sandbox) -> dict:
    return sb.state()["products"]["crm"]


async def test_credits_per_operation_follow_the_card(make_sandbox) -> None:
    sb = await make_sandbox(clock_speed=3600)
    async with aiohttp.ClientSession() as session:
        crm = oas.CheckedClient(session, sb.urls, sb.issue_token(), CHECKER)
        c = crm.call
        leads = [{"Last_Name": f"L{i}", "Company": "C", "Email": f"l{i}@x.io"} for i in range(100)]
        await c("POST", "/crm/v8/Leads", json={"data": leads})  # 100 records: 10
        await c("POST", "/crm/v8/Leads", json={"data": [{"Last_Name": "a", "Company": "c"}] * 11})
        await c("POST", "/crm/v8/Leads/upsert", json={"data": leads[:25]})  # 3
        await c("PUT", "/crm/v8/Leads", json={"data": [{"id": "1"}]})  # 1
        await c("GET", "/crm/v8/Leads?fields=Last_Name")  # 1
        await c("GET", "/crm/v8/Leads/search?word=L1")  # 1
        for limit in (200, 1000, 2000):  # 1 + 2 + 3
            q = f"select Last_Name from Leads where Company = 'C' limit {limit}"
            await c("POST", "/crm/v8/coql", json={"select_query": q})
        await c("GET", "/crm/v8/org")  # 1
        status, body = await c("GET", "/crm/v8/Leads?fields=Last_Name&per_page=1")
        lead_id = body["data"][0]["id"]
        await c("POST", f"/crm/v8/Leads/{lead_id}/actions/convert", json={"data": [{}]})  # 5
        read = {"query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]}}
        await c("POST", "/crm/bulk/v8/read", json=read)  # 50
        await c("POST", "/crm/bulk/v8/write", json={"operation": "insert"})  # 500
        assert crm.problems == []
    credits = crm_state(sb)["credits"]
    assert credits["by_operation"] == {
        "insert": 10 + 2,
        "upsert": 3,
        "update": 1,
        "get": 2,
        "search": 1,
        "coql": 1 + 2 + 3,
        "metadata": 1,
        "convert": quotas.CREDITS_CONVERT_LEAD,
        "bulk_read": quotas.CREDITS_BULK_READ,
        "bulk_write": quotas.CREDITS_BULK_WRITE,
    }
    assert credits["total"] == credits["used_24h"] == 581


@pytest.mark.parametrize(
    ("edition", "users", "budget", "concurrency"),
    [
        ("free", 3, 5_000, 5),
        ("standard", 10, 52_500, 10),
        ("starter", 400, 100_000, 10),
        ("professional", 100, 100_000, 15),
        ("enterprise", 100, 150_000, 20),
        ("ultimate", 100, 250_000, 25),
    ],
)
async def test_budget_and_concurrency_by_edition(
    make_sandbox, edition: str, users: int, budget: int, concurrency: int
) -> None:
    sb = await make_sandbox(crm_edition=edition, crm_users=users)
    state = crm_state(sb)
    assert state["credits"]["budget"] == budget
    assert state["concurrency"]["limit"] == concurrency
    assert state["sub_concurrency"]["limit"] == quotas.CRM_SUB_CONCURRENCY


async def test_credit_exhaustion_and_the_rolling_window(make_sandbox) -> None:
    sb = await make_sandbox(crm_edition="free", clock_speed=60)
    async with aiohttp.ClientSession() as session:
        crm = oas.CheckedClient(session, sb.urls, sb.issue_token(), CHECKER)
        for _ in range(10):  # 10 x 500 = the free edition's 5,000
            assert (await crm.call("POST", "/crm/bulk/v8/write", json={}))[0] == 400
        status, body = await crm.call("GET", "/crm/v8/org")
        assert status == 429 and body["code"] == "LIMIT_EXCEEDED"
        assert body["details"]["limit"] == 5_000
        books = await session.get(
            sb.urls["api"] + "/books/v3/contacts",
            params={"organization_id": sb.credentials.organization_id},
            headers={"Authorization": f"Zoho-oauthtoken {crm.token}"},
        )
        assert books.status == 200  # Books never shares CRM's pool
        sb.clock.advance(quotas.DAY - 600)
        crm.token = sb.issue_token()
        assert (await crm.call("GET", "/crm/v8/org"))[0] == 429
        sb.clock.advance(700)
        crm.token = sb.issue_token()
        assert (await crm.call("GET", "/crm/v8/org"))[0] == 200
        assert crm.problems == []
    state = crm_state(sb)
    assert state["refused"]["credits"] == 2 and state["credits"]["used_24h"] == 1


async def burst(crm: oas.CheckedClient, n: int, method: str, path: str, **kw) -> list:
    return await asyncio.gather(*(crm.call(method, path, **kw) for _ in range(n)))


async def test_concurrency_limit_of_the_edition(make_sandbox) -> None:
    sb = await make_sandbox(crm_edition="free", clock_speed=600, latency_ms=240_000)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        crm = oas.CheckedClient(session, sb.urls, sb.issue_token(), CHECKER)
        answers = await burst(crm, 12, "GET", "/crm/v8/org")
        assert crm.problems == []
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 5 + [429] * 7
    refused = [body for status, body in answers if status == 429]
    assert all(b["code"] == "TOO_MANY_REQUESTS" and b["details"]["limit"] == 5 for b in refused)
    state = crm_state(sb)
    assert state["concurrency"]["peak"] == 5 and state["concurrency"]["current"] == 0
    assert state["credits"]["used_24h"] == 5  # refused calls cost nothing


async def test_sub_concurrency_pool_of_ten(make_sandbox) -> None:
    sb = await make_sandbox(crm_edition="ultimate", clock_speed=600, latency_ms=240_000)
    q = {"select_query": "select Last_Name from Leads where Last_Name is not null"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        crm = oas.CheckedClient(session, sb.urls, sb.issue_token(), CHECKER)
        answers = await burst(crm, 14, "POST", "/crm/v8/coql", json=q)
        light = await burst(crm, 3, "GET", "/crm/v8/org")
        assert crm.problems == []
    statuses = sorted(status for status, _ in answers)
    assert statuses == [204] * 10 + [429] * 4
    assert {b["details"]["type"] for s, b in answers if s == 429} == {"sub_concurrency"}
    assert [s for s, _ in light] == [200] * 3
    state = crm_state(sb)
    assert state["sub_concurrency"]["peak"] == 10


async def test_throttling_as_http_400_option(make_sandbox) -> None:
    sb = await make_sandbox(
        crm_edition="free", crm_throttle_status=400, clock_speed=600, latency_ms=240_000
    )
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        crm = oas.CheckedClient(session, sb.urls, sb.issue_token(), CHECKER)
        answers = await burst(crm, 8, "GET", "/crm/v8/org")
        assert crm.problems == []
    refused = [body for status, body in answers if status == 400]
    assert len(refused) == 3 and all(b["code"] == "TOO_MANY_REQUESTS" for b in refused)


async def test_downloads_of_bulk_read_results_are_limited(make_sandbox) -> None:
    # at 60 Zoho seconds a real second, 11 downloads fit in the minute window however loaded
    # the machine is (at 3600 they had 17 real ms)
    sb = await make_sandbox(clock_speed=60)
    async with aiohttp.ClientSession() as session:
        crm = oas.CheckedClient(session, sb.urls, sb.issue_token(), CHECKER)
        read = {"query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]}}
        status, body = await crm.call("POST", "/crm/bulk/v8/read", json=read)
        job_id = body["data"][0]["details"]["id"]
        for _ in range(200):
            status, body = await crm.call("GET", f"/crm/bulk/v8/read/{job_id}")
            if body["data"][0]["state"] == "COMPLETED":
                break
            sb.clock.advance(5)  # the job's queue and pace in Zoho time, without sleeping
        path = f"/crm/bulk/v8/read/{job_id}/result"
        statuses = [(await crm.call("GET", path))[0] for _ in range(11)]
        assert statuses == [200] * 10 + [429]
        raw = (await crm.call("GET", path))[1]
        assert crm.problems == []
    assert raw["code"] == "TOO_MANY_REQUESTS"
