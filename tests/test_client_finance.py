"""Books / Inventory through the real transport against the sandbox: pacing, quotas, faults."""

from __future__ import annotations

import asyncio

import pytest
from fixed_time import T0
from zoho_helpers import credentials_for

from zmigrate.auth import TokenSource
from zmigrate.client import Limits, RetryPolicy, Zoho
from zmigrate.clock import Clock
from zmigrate.errors import ConfigError, QuotaExhausted
from zmigrate.quotas import DAY


def zoho_for(http, sb, clock, limits=None, policy=None, **cred) -> Zoho:
    tokens = TokenSource(http, credentials_for(sb, **cred), clock)
    return Zoho(http, tokens, clock, limits or Limits(), policy)


async def test_books_at_the_cap_never_meets_code_44(make_sandbox, http) -> None:
    clock = Clock(speed=120, start=T0)
    sb = await make_sandbox(clock=clock, books_plan="premium", latency_ms=150)
    zoho = zoho_for(http, sb, clock, Limits(books_plan="premium"))
    start = clock.now()
    outcomes = await asyncio.gather(
        *(zoho.books.create("contacts", {"contact_name": f"Customer {i:03}"}) for i in range(250))
    )
    elapsed = clock.now() - start
    assert all(o.ok and o.action == "insert" and o.id for o in outcomes)
    state = sb.state()
    assert "books" not in state["errors"]  # no 44, no 1070, nothing
    assert state["requests"]["books"] == 250
    assert elapsed >= 120.0  # 250 calls at 100 a minute need two whole windows after the first
    usage = zoho.usage()["books"]
    assert usage["requests"] == usage["ok"] == 250 and usage["retries"] == 0

    # reading back: two pages, exact lookups, a missing id, an update
    names = [r["contact_name"] async for r in zoho.books.iter_all("contacts")]
    assert sorted(names) == sorted(f"Customer {i:03}" for i in range(250))
    found = await zoho.books.find_by("contacts", "contact_name", "Customer 017")
    assert found is not None and found["contact_id"] == outcomes[17].id
    assert await zoho.books.find_by("contacts", "contact_name", "Customer 01") is None
    assert await zoho.books.get("contacts", "1") is None
    changed = await zoho.books.update("contacts", outcomes[3].id, {"company_name": "Acme"})
    assert (
        changed.ok and (await zoho.books.get("contacts", outcomes[3].id))["company_name"] == "Acme"
    )


async def test_books_and_inventory_quotas_are_not_shared(make_sandbox, http) -> None:
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(
        clock=clock, books_plan="premium", inventory_plan="enterprise", latency_ms=150
    )
    zoho = zoho_for(http, sb, clock, Limits(books_plan="premium", inventory_plan="enterprise"))
    start = clock.now()
    await asyncio.gather(
        *(zoho.books.list_page("items") for _ in range(150)),
        *(zoho.inventory.list_page("items") for _ in range(150)),
    )
    elapsed = clock.now() - start
    assert 60.0 <= elapsed < 115.0  # one refill each, side by side (shared: 120 s or more)
    assert sb.state()["errors"] == {}


async def test_organization_id_is_on_every_call_and_required(make_sandbox, http) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(clock=clock)
    with pytest.raises(ConfigError, match="ZOHO_ORGANIZATION_ID"):
        await zoho_for(http, sb, clock, organization_id=None).inventory.list_page("items")
    # Another org, or not an id at all: the run stops with a config error, not per record.
    with pytest.raises(ConfigError, match="refused organization_id 1 .code 6041"):
        await zoho_for(http, sb, clock, organization_id="1").inventory.list_page("items")
    with pytest.raises(ConfigError, match="digits only"):
        await zoho_for(http, sb, clock, organization_id="acme").inventory.list_page("items")
    zoho = zoho_for(http, sb, clock)
    item = await zoho.inventory.create("items", {"name": "Bolt", "rate": 2.5, "sku": "B-1"})
    assert item.ok
    assert (await zoho.inventory.find_by("items", "sku", "B-1"))["item_id"] == item.id
    refused = await zoho.inventory.create("items", {"name": "Bolt", "rate": 1})
    assert not refused.ok and refused.code == 1001  # a per-record refusal, not an exception


async def test_each_product_can_name_its_own_organization(make_sandbox, http) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(clock=clock, organizations=2)
    first, second = sb.credentials.organization_ids
    tokens = TokenSource(http, credentials_for(sb), clock)
    zoho = Zoho(http, tokens, clock, organizations={"inventory": second})
    assert (await zoho.inventory.create("items", {"name": "Nut", "rate": 1})).ok
    assert (await zoho.books.create("items", {"name": "Washer", "rate": 1})).ok
    inventory = sb.products["inventory"]
    assert [r["name"] for r in inventory.records("items", {"organization_id": second})] == ["Nut"]
    assert [r["name"] for r in inventory.records("items", {"organization_id": first})] == ["Washer"]


async def test_concurrency_refusal_1070_lowers_parallel_calls(make_sandbox, http) -> None:
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock, books_plan="free", latency_ms=3_000)  # 50 ms real
    zoho = zoho_for(http, sb, clock, Limits(books_plan="premium"))  # believes 10 are allowed
    pages = await asyncio.gather(*(zoho.books.list_page("items") for _ in range(30)))
    assert len(pages) == 30
    usage = zoho.usage()["books"]
    assert usage["errors"].get("ConcurrencyLimited:1070", 0) >= 1
    assert zoho.channels["books"].gate.limit < 10
    assert usage["ok"] == 30


async def test_daily_cap_raises_quota_exhausted_with_reset_time(make_sandbox, http) -> None:
    noon = 1_700_000_000 // DAY * DAY + DAY / 2  # far from midnight, when the cap resets
    clock = Clock(speed=600, start=noon)
    sb = await make_sandbox(clock=clock, books_plan="free")
    zoho = zoho_for(http, sb, clock, Limits(books_plan="free"))
    await asyncio.gather(*(zoho.books.list_page("contacts") for _ in range(1_000)))
    assert zoho.usage()["books"]["daily_remaining"] == 0
    with pytest.raises(QuotaExhausted) as known:  # Zoho said 0 left: no request is sent
        await zoho.books.list_page("contacts")
    assert sb.state()["requests"]["books"] == 1_000
    fresh = zoho_for(http, sb, clock, Limits(books_plan="free"))  # knows nothing yet
    with pytest.raises(QuotaExhausted) as told:
        await fresh.books.list_page("contacts")
    assert told.value.code == 45
    midnight = clock.now() // DAY * DAY + DAY
    assert told.value.resets_at == pytest.approx(midnight, abs=120)
    assert known.value.resets_at == pytest.approx(midnight, abs=120)
    assert "44" not in sb.state()["errors"]["books"]


async def test_a_call_that_waited_longer_than_its_token_lives_is_sent_fresh(
    make_sandbox, http
) -> None:
    clock = Clock(speed=3600, start=T0)
    sb = await make_sandbox(clock=clock, books_plan="premium")
    zoho = zoho_for(http, sb, clock, Limits(books_plan="premium"))
    await zoho.books.list_page("items")  # the client now holds a token good for a Zoho hour
    zoho.channels["books"].pacer.block_until(clock.now() + 1.5 * 3600)  # as after a code 44
    await zoho.books.list_page("items")  # waits 1.5 Zoho hours for its turn, then is sent
    assert sb.state()["errors"] == {}  # never with the token that expired while it waited
    assert sb.state()["requests"]["books"] == 2 and zoho.usage()["books"]["retries"] == 0


async def test_server_errors_and_resets_are_retried(make_sandbox, http) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(clock=clock, books_plan="premium", fault_rate=0.3, seed=3)
    zoho = zoho_for(http, sb, clock, Limits(books_plan="premium"), RetryPolicy(attempts=8))
    pages = await asyncio.gather(*(zoho.books.list_page("items") for _ in range(40)))
    assert len(pages) == 40
    faults = sb.state()["faults"]
    assert faults.get("internal_error", 0) > 0 and faults.get("reset", 0) > 0
    # (aiohttp itself resends a GET once when a kept-alive connection is reset)
    assert zoho.usage()["books"]["errors"].get("ServerError:1000", 0) > 0


async def test_creates_stay_exactly_once_when_answers_are_lost(make_sandbox, http) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(
        clock=clock, books_plan="premium", lost_response_rate=0.25, fault_rate=0.1, seed=5
    )
    zoho = zoho_for(http, sb, clock, Limits(books_plan="premium"), RetryPolicy(attempts=8))
    outcomes = await asyncio.gather(
        *(zoho.books.create("contacts", {"contact_name": f"Lost {i}"}) for i in range(30))
    )
    assert all(o.ok for o in outcomes)
    assert any(o.action == "found" for o in outcomes)  # some were created, answer lost
    assert zoho.usage()["books"]["errors"].get("NetworkError", 0) > 0
    stored = sb.products["books"].records("contacts", {})
    assert sorted(r["contact_name"] for r in stored) == sorted(f"Lost {i}" for i in range(30))
    assert {o.id for o in outcomes} == {r["contact_id"] for r in stored}
