"""Books/Inventory quotas: per-minute (44), daily (45), concurrency (1070), separate pools.

Quota tests run the clock at real speed and jump it with ``advance``, so a slow machine
cannot let a window slide by accident.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from zmigrate.quotas import BOOKS_PLANS, DAY


async def test_per_minute_cap_blocks_the_org_for_retry_after(make_sandbox, http) -> None:
    sb = await make_sandbox(clock_speed=1.0, organizations=2)
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    org, other_org = sb.credentials.organization_ids

    async def get(path: str, org_id: str) -> tuple[int, dict, dict]:
        async with http.get(
            sb.urls["api"] + path, params={"organization_id": org_id}, headers=auth
        ) as resp:
            return resp.status, await resp.json(), resp.headers

    statuses = [(await get("/books/v3/contacts", org))[0] for _ in range(100)]
    assert statuses == [200] * 100
    status, body, headers = await get("/books/v3/contacts", org)
    assert (status, body["code"], headers["Retry-After"]) == (429, 44, "1800")
    assert set(body) == {"code", "message"}
    assert "exceeded the maximum number of requests per minute" in body["message"]
    blocked_at = sb.clock.now()
    # other products and other orgs have pools of their own
    assert (await get("/inventory/v1/items", org))[0] == 200
    assert (await get("/books/v3/contacts", other_org))[0] == 200
    # the window frees up after 60 Zoho seconds, but the org stays blocked for 1800
    sb.clock.advance(61)
    status, body, headers = await get("/books/v3/contacts", org)
    assert (status, body["code"]) == (429, 44)
    left = 1800 - (sb.clock.now() - blocked_at)
    assert int(headers["Retry-After"]) == pytest.approx(left, abs=1)
    assert sb.state()["products"]["books"]["orgs"][org]["blocked_until"] > sb.clock.now()
    sb.clock.advance(int(headers["Retry-After"]))
    assert (await get("/books/v3/contacts", org))[0] == 200
    state = sb.state()
    assert state["errors"]["books"] == {"44": 2}
    assert state["products"]["books"]["orgs"][org]["used_today"] == 101
    assert state["products"]["books"]["orgs"][org]["blocked_until"] is None


async def test_block_length_is_an_option(make_sandbox, http) -> None:
    sb = await make_sandbox(clock_speed=1.0, block_seconds=300)
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    params = {"organization_id": sb.credentials.organization_id}
    url = sb.urls["api"] + "/books/v3/contacts"
    for _ in range(100):
        async with http.get(url, params=params, headers=auth) as resp:
            assert resp.status == 200
    async with http.get(url, params=params, headers=auth) as resp:
        assert (resp.status, resp.headers["Retry-After"]) == (429, "300")
    sb.clock.advance(301)
    async with http.get(url, params=params, headers=auth) as resp:
        assert resp.status == 200


async def test_sliding_window_counts_any_60_seconds(make_sandbox, http) -> None:
    sb = await make_sandbox(clock_speed=1.0, block_seconds=1)
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    params = {"organization_id": sb.credentials.organization_id}

    async def get() -> int:
        async with http.get(
            sb.urls["api"] + "/books/v3/contacts", params=params, headers=auth
        ) as resp:
            return resp.status

    # 50 calls, 40 seconds later 50 more: a fixed minute boundary between them would allow
    # more, but any 60-second window holds at most 100.
    assert [await get() for _ in range(50)] == [200] * 50
    sb.clock.advance(40)
    assert [await get() for _ in range(50)] == [200] * 50
    assert await get() == 429
    sb.clock.advance(21)  # the first 50 leave the window
    assert [await get() for _ in range(50)] == [200] * 50
    assert await get() == 429


async def test_daily_cap_answers_45_until_the_next_day(make_sandbox, http) -> None:
    sb = await make_sandbox(clock_speed=1.0, books_plan="free")
    cap = BOOKS_PLANS["free"].daily_limit
    params = {"organization_id": sb.credentials.organization_id}
    url = sb.urls["api"] + "/books/v3/items"
    # start just after midnight so the day does not turn during the test
    now = sb.clock.now()
    sb.clock.advance((now // DAY + 1) * DAY - now + 1)
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    remaining = []
    for i in range(cap):
        if i and i % 100 == 0:
            sb.clock.advance(60)
        async with http.get(url, params=params, headers=auth) as resp:
            assert resp.status == 200
            remaining.append(int(resp.headers["X-Rate-Limit-Remaining"]))
            limit = int(resp.headers["X-Rate-Limit-Limit"])
            reset = int(resp.headers["X-Rate-Limit-Reset"])
    assert limit == cap and remaining[0] == cap - 1 and remaining[-1] == 0
    assert 0 < reset <= DAY
    sb.clock.advance(60)
    async with http.get(url, params=params, headers=auth) as resp:
        assert resp.status == 429
        assert await resp.json() == {
            "code": 45,
            "message": "The API call for this organization has exceeded the maximum call rate"
            f" limit of {cap}.",
        }
        assert resp.headers["X-Rate-Limit-Remaining"] == "0"
    # Inventory's daily pool is untouched
    async with http.get(sb.urls["api"] + "/inventory/v1/items", params=params, headers=auth) as r:
        assert r.status == 200
    now = sb.clock.now()
    sb.clock.advance((now // DAY + 1) * DAY - now + 1)
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    async with http.get(url, params=params, headers=auth) as resp:
        assert resp.status == 200
        assert int(resp.headers["X-Rate-Limit-Remaining"]) == cap - 1


async def test_daily_cap_resets_at_the_orgs_local_midnight(make_sandbox, http) -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: its midnight is 18:30 UTC
    sb = await make_sandbox(clock_speed=1.0, books_plan="free", org_time_zone="Asia/Kolkata")
    cap = BOOKS_PLANS["free"].daily_limit
    org = sb.credentials.organization_id
    params = {"organization_id": org}
    url = sb.urls["api"] + "/books/v3/items"
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    async with http.get(sb.urls["api"] + f"/books/v3/organizations/{org}", headers=auth) as r:
        assert (await r.json())["organization"]["time_zone"] == "Asia/Kolkata"
    # 18:00 UTC (23:30 in Kolkata): spend the day's cap
    now = sb.clock.now()
    sb.clock.advance((now // DAY) * DAY + 18 * 3600 - now)
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    for i in range(cap):
        if i and i % 100 == 0:
            sb.clock.advance(61)
        async with http.get(url, params=params, headers=auth) as resp:
            assert resp.status == 200
    async with http.get(url, params=params, headers=auth) as resp:
        assert (resp.status, (await resp.json())["code"]) == (429, 45)
        reset_at = sb.clock.now() + int(resp.headers["X-Rate-Limit-Reset"])
    local = dt.datetime.fromtimestamp(reset_at, kolkata)
    assert (local.hour, local.minute) == (0, 0) and local.second <= 1
    assert dt.datetime.fromtimestamp(reset_at, dt.UTC).hour == 18  # 18:30 UTC, not midnight
    sb.clock.advance(reset_at - sb.clock.now() + 1)
    async with http.get(url, params=params, headers=auth) as resp:
        assert resp.status == 200
        assert int(resp.headers["X-Rate-Limit-Remaining"]) == cap - 1


async def test_concurrency_cap_answers_1070(make_sandbox, http) -> None:
    # every call takes ~30 Zoho seconds = ~0.5 real seconds at speed 60: 8 calls overlap
    sb = await make_sandbox(books_plan="free", latency_ms=30_000)
    cap = BOOKS_PLANS["free"].concurrency
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    params = {"organization_id": sb.credentials.organization_id}

    async def one() -> tuple[int, int]:
        async with http.get(
            sb.urls["api"] + "/books/v3/items", params=params, headers=auth
        ) as resp:
            return resp.status, (await resp.json())["code"]

    results = await asyncio.gather(*(one() for _ in range(cap + 3)))
    assert sorted(results) == [(200, 0)] * cap + [(429, 1070)] * 3
    state = sb.state()
    assert state["peak_concurrency"]["books"] == cap
    assert state["products"]["books"]["orgs"][params["organization_id"]]["peak_concurrency"] == cap
    assert state["errors"]["books"] == {"1070": 3}
