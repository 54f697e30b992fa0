"""OAuth against the sandbox's accounts server: renewal, api_domain, refusals, both grants."""

from __future__ import annotations

import aiohttp
import pytest
from fixed_time import T0
from zoho_helpers import credentials_for

from zmigrate.auth import TokenSource
from zmigrate.client import Limits, Zoho
from zmigrate.client.http import classify
from zmigrate.clock import Clock
from zmigrate.errors import AuthError, ConfigError, Throttled
from zmigrate.quotas import DATA_CENTERS
from zmigrate.retry import RetryPolicy


async def test_token_is_renewed_before_it_expires(make_sandbox, http) -> None:
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock)
    tokens = TokenSource(http, credentials_for(sb), clock)
    first = await tokens.token()
    clock.advance(3_200)  # 400 s left: still fresh
    assert await tokens.token() == first
    clock.advance(150)  # 250 s left: inside the 300 s renewal margin
    second = await tokens.token()
    assert second != first and tokens.refreshes == 2


async def test_api_host_comes_from_api_domain_unless_overridden(make_sandbox, http) -> None:
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock)
    tokens = TokenSource(http, credentials_for(sb, content_url=None), clock)
    assert tokens.api_url == DATA_CENTERS["com"].api_url  # nothing known before a token
    await tokens.token()
    assert tokens.api_url == sb.urls["api"]
    assert tokens.content_url == sb.urls["api"]  # no content twin for a bare host
    pinned = TokenSource(http, credentials_for(sb, api_url="http://127.0.0.1:9"), clock)
    await pinned.token()
    assert pinned.api_url == "http://127.0.0.1:9"
    assert pinned.content_url == sb.urls["content"]


async def test_refused_token_is_renewed_once_and_the_call_succeeds(make_sandbox, http) -> None:
    server_clock, our_clock = Clock(speed=60, start=T0), Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=server_clock, books_plan="premium")
    zoho = Zoho(http, TokenSource(http, credentials_for(sb), our_clock), our_clock)
    await zoho.books.list_page("contacts")
    server_clock.advance(4_000)  # Zoho thinks the token expired; we don't (clock skew)
    page = await zoho.books.list_page("contacts")
    assert page.records == []
    assert zoho.tokens.refreshes == 2
    # Books answers an expired token with 401 code 57 (14 is for a malformed header)
    assert zoho.usage()["books"]["errors"] == {"AuthError:57": 1}
    server_clock.advance(4_000)  # expired again: a write is refreshed and lands once
    outcome = await zoho.books.create("contacts", {"contact_name": "After expiry"})
    assert outcome.ok and zoho.tokens.refreshes == 3
    assert [c["contact_name"] for c in sb.products["books"].records("contacts", {})] == [
        "After expiry"
    ]


def test_code_57_is_an_auth_error_whatever_the_http_status() -> None:
    """Code 57 is Books' dead-token answer: the client renews the token on it, not only on 401."""
    error = classify(403, {"code": 57, "message": "You are not authorized"}, {}, "u", 0.0)
    assert isinstance(error, AuthError)


async def test_token_refused_again_after_renewal_is_raised(make_sandbox, http) -> None:
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock, books_plan="premium")
    # a token from another data center's accounts server: issued, then refused by the API
    creds = credentials_for(sb, accounts_url=sb.urls["accounts"] + "/dc/eu")
    zoho = Zoho(http, TokenSource(http, creds, clock), clock)
    with pytest.raises(AuthError):
        await zoho.books.list_page("contacts")
    assert zoho.tokens.refreshes == 2


async def test_books_refuses_bearer_and_takes_zoho_oauthtoken(make_sandbox, http) -> None:
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock)
    token = await TokenSource(http, credentials_for(sb), clock).token()
    url = sb.urls["api"] + "/books/v3/contacts"
    params = {"organization_id": sb.credentials.organization_id}
    statuses = {}
    for scheme in ("Bearer", "Zoho-oauthtoken"):
        headers = {"Authorization": f"{scheme} {token}"}
        async with http.get(url, params=params, headers=headers) as resp:
            body = await resp.json()
            statuses[scheme] = classify(resp.status, body, resp.headers, url, clock.now())
    assert isinstance(statuses["Bearer"], AuthError)
    assert statuses["Zoho-oauthtoken"] is None


async def test_client_credentials_grant(make_sandbox, http) -> None:
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock, books_plan="premium")
    creds = credentials_for(
        sb, refresh_token=None, soid="ZohoBooks." + sb.credentials.organization_id
    )
    assert creds.grant()["grant_type"] == "client_credentials"
    zoho = Zoho(http, TokenSource(http, creds, clock), clock, Limits(books_plan="premium"))
    assert (await zoho.books.list_page("items")).records == []


async def test_wrong_secret_is_a_config_error_without_the_secret(make_sandbox, http) -> None:
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock)
    tokens = TokenSource(http, credentials_for(sb, client_secret="not-the-secret"), clock)
    with pytest.raises(ConfigError) as info:
        await tokens.token()
    assert "not-the-secret" not in str(info.value)


async def test_throttled_token_requests_back_off_then_give_up(make_sandbox) -> None:
    clock = Clock(speed=600, start=T0)
    sb = await make_sandbox(clock=clock, token_rate_limit=1)
    async with aiohttp.ClientSession() as http:
        creds = credentials_for(sb)
        await TokenSource(http, creds, clock).token()
        tokens = TokenSource(http, creds, clock, policy=RetryPolicy(attempts=3))
        start = clock.now()
        with pytest.raises(Throttled):
            await tokens.token()
        assert clock.now() - start >= 1.0 + 4.0  # waited between the three attempts


async def test_one_token_at_a_time_over_a_long_run(make_sandbox, http) -> None:
    """Zoho keeps 15 live tokens per refresh token (the 16th kills the oldest): the engine
    holds one and asks for the next only in its last 300 s, never more than it needs."""
    clock = Clock(speed=60, start=T0)
    sb = await make_sandbox(clock=clock)
    tokens = TokenSource(http, credentials_for(sb), clock)
    held = set()
    for _ in range(40):  # 40,000 Zoho seconds of calls, one every 1,000 s
        held.add(await tokens.token())
        for _ in range(5):  # many calls on the same token
            assert await tokens.token() in held
        clock.advance(1_000)
    assert tokens.refreshes == len(held) <= 40_000 // (3_600 - 300) + 1
