"""Accounts server: grants, Zoho's error bodies, token expiry and refresh, data centers, scopes."""

from __future__ import annotations

from typing import Any

import aiohttp

from zmigrate.sandbox import Sandbox


async def grant(http: aiohttp.ClientSession, sb: Sandbox, path: str = "", **params: str) -> Any:
    creds = sb.credentials
    data = {"client_id": creds.client_id, "client_secret": creds.client_secret, **params}
    async with http.post(f"{sb.urls['accounts']}{path}/oauth/v2/token", data=data) as resp:
        return resp.status, await resp.json()


async def test_refresh_token_grant_has_zoho_fields(sandbox, http) -> None:
    status, body = await grant(
        http, sandbox, grant_type="refresh_token", refresh_token=sandbox.credentials.refresh_token
    )
    assert status == 200
    assert body["access_token"].startswith("1000.")
    assert body["api_domain"] == sandbox.urls["api"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body


async def test_token_params_in_query_string_work_too(sandbox, http) -> None:
    creds = sandbox.credentials
    params = {
        "grant_type": "refresh_token",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "refresh_token": creds.refresh_token,
    }
    async with http.post(sandbox.urls["accounts"] + "/oauth/v2/token", params=params) as resp:
        assert "access_token" in await resp.json()


async def test_client_credentials_with_soid(sandbox, http, call) -> None:
    org = sandbox.credentials.organization_id
    status, body = await grant(
        http,
        sandbox,
        grant_type="client_credentials",
        scope="ZohoBooks.fullaccess.all",
        soid=f"ZohoBooks.{org}",
    )
    assert status == 200 and "refresh_token" not in body
    auth = f"Zoho-oauthtoken {body['access_token']}"
    assert (await call("GET", "/books/v3/contacts", auth=auth))[0] == 200
    # the token's scope covers Books only: Inventory refuses it with code 57
    status, err, _ = await call("GET", "/inventory/v1/items", auth=auth)
    assert (status, err["code"]) == (401, 57)


async def test_client_credentials_needs_a_scope(sandbox, http) -> None:
    assert await grant(http, sandbox, grant_type="client_credentials") == (
        200,
        {"error": "invalid_scope"},
    )


async def test_authorization_code_gives_refresh_token_once(sandbox, http) -> None:
    async with http.post(
        sandbox.urls["accounts"] + "/__sandbox__/code", json={"scope": "ZohoInventory.items.ALL"}
    ) as resp:
        code = (await resp.json())["code"]
    status, body = await grant(http, sandbox, grant_type="authorization_code", code=code)
    assert status == 200 and body["refresh_token"].startswith("1000.")
    assert body["scope"] == "ZohoInventory.items.ALL"
    # single use
    assert await grant(http, sandbox, grant_type="authorization_code", code=code) == (
        200,
        {"error": "invalid_code"},
    )
    # the new refresh token works
    status, again = await grant(
        http, sandbox, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    assert "access_token" in again


async def test_authorization_code_expires_after_three_minutes(sandbox, http) -> None:
    async with http.post(sandbox.urls["api"] + "/__sandbox__/code") as resp:
        code = (await resp.json())["code"]
    sandbox.clock.advance(181)
    assert (await grant(http, sandbox, grant_type="authorization_code", code=code))[1] == {
        "error": "invalid_code"
    }


async def test_zoho_error_bodies(sandbox, http) -> None:
    creds = sandbox.credentials
    url = sandbox.urls["accounts"] + "/oauth/v2/token"
    cases = [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "client_id": "1000.NOPE"}, "invalid_client"),
        (
            {"grant_type": "refresh_token", "client_id": creds.client_id, "client_secret": "x"},
            "invalid_client_secret",
        ),
        (
            {
                "grant_type": "refresh_token",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "refresh_token": "1000.abc.def",
            },
            "invalid_code",
        ),
    ]
    for data, expected in cases:
        async with http.post(url, data=data) as resp:
            assert resp.status == 200
            assert await resp.json() == {"error": expected}
    errors = sandbox.state()["errors"]["accounts"]
    assert errors == {e: 1 for _, e in cases}
    # an unreadable form is a request without fields, never a server error
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with http.post(url, data=b"\xff\xfe", headers=form) as resp:
        assert await resp.json() == {"error": "unsupported_grant_type"}
    assert sandbox.state()["bugs"] == 0


async def test_too_many_tokens_from_one_refresh_token(sandbox, http) -> None:
    refresh = sandbox.credentials.refresh_token
    for _ in range(10):
        status, body = await grant(http, sandbox, grant_type="refresh_token", refresh_token=refresh)
        assert "access_token" in body
    status, body = await grant(http, sandbox, grant_type="refresh_token", refresh_token=refresh)
    assert status == 400
    assert body["error"] == "Access Denied" and body["status"] == "failure"
    sandbox.clock.advance(601)
    assert (
        "access_token"
        in (await grant(http, sandbox, grant_type="refresh_token", refresh_token=refresh))[1]
    )


async def test_the_16th_live_token_of_a_refresh_token_invalidates_the_oldest(sandbox, http, call):
    """CRM's token-validity page: 15 live access tokens per refresh token, the 16th
    invalidates the oldest (another Zoho page says 30; the sandbox keeps the stricter)."""
    refresh = sandbox.credentials.refresh_token
    sandbox.clock.advance(601)  # the `call` fixture's token started the 10-minute window
    tokens = []
    for i in range(15):
        if i and i % 10 == 0:
            sandbox.clock.advance(601)  # past the 10-per-10-minutes limit, within the hour
        tokens.append(
            (await grant(http, sandbox, grant_type="refresh_token", refresh_token=refresh))[1][
                "access_token"
            ]
        )
    # with the fixture's token, that makes 16: the fixture's (the oldest) is gone
    status, body, _ = await call("GET", "/books/v3/items")
    assert (status, body["code"]) == (401, 57)
    assert (await call("GET", "/books/v3/items", auth=f"Zoho-oauthtoken {tokens[0]}"))[0] == 200
    sandbox.clock.advance(3_600)  # all expired: none counts any more
    fresh = [
        (await grant(http, sandbox, grant_type="refresh_token", refresh_token=refresh))[1][
            "access_token"
        ]
        for _ in range(2)
    ]
    for token in fresh:
        assert (await call("GET", "/books/v3/items", auth=f"Zoho-oauthtoken {token}"))[0] == 200


async def test_token_expires_after_an_hour_of_zoho_time(sandbox, call, http) -> None:
    assert (await call("GET", "/books/v3/contacts"))[0] == 200
    # a minute short of the hour: one real second at the test clock's x60, so a loaded machine
    # does not expire the token between the advance and the call
    sandbox.clock.advance(3_540)
    assert (await call("GET", "/books/v3/contacts"))[0] == 200
    sandbox.clock.advance(61)
    for path in ("/books/v3/contacts", "/inventory/v1/items"):
        status, body, _ = await call("GET", path)
        # Zoho's answer to an expired or revoked token; 14 is for a missing/malformed header
        message = "You are not authorized to perform this operation"
        assert (status, body) == (401, {"code": 57, "message": message})
    # refresh, and the new token works
    _, fresh = await grant(
        http, sandbox, grant_type="refresh_token", refresh_token=sandbox.credentials.refresh_token
    )
    auth = f"Zoho-oauthtoken {fresh['access_token']}"
    assert (await call("GET", "/books/v3/contacts", auth=auth))[0] == 200


async def test_token_from_another_data_center_authenticates_but_api_refuses(
    sandbox, http, call
) -> None:
    status, body = await grant(
        http,
        sandbox,
        "/dc/eu",
        grant_type="refresh_token",
        refresh_token=sandbox.credentials.refresh_token,
    )
    assert status == 200 and "access_token" in body
    status, err, _ = await call(
        "GET", "/books/v3/contacts", auth=f"Zoho-oauthtoken {body['access_token']}"
    )
    assert (status, err["code"]) == (401, 14)
    async with http.post(sandbox.urls["accounts"] + "/dc/mars/oauth/v2/token") as resp:
        assert resp.status == 404


async def test_books_and_inventory_refuse_bearer_and_missing_headers(sandbox, token, call) -> None:
    for auth in (f"Bearer {token}", "", "Basic abc"):
        for path in ("/books/v3/contacts", "/inventory/v1/items"):
            status, body, _ = await call("GET", path, auth=auth)
            assert (status, body["code"]) == (401, 14), (auth, path)
            assert body["message"].startswith("The request could not be authenticated")
    # a well-formed header whose token Zoho does not know (revoked, deleted): code 57
    status, body, _ = await call("GET", "/books/v3/contacts", auth="Zoho-oauthtoken 1000.a.b")
    assert (status, body["code"]) == (401, 57)


async def test_issue_token_shortcut_and_other_dc(sandbox, call) -> None:
    assert (await call("GET", "/books/v3/items", auth=f"Zoho-oauthtoken {sandbox.issue_token()}"))[
        0
    ] == 200
    other = sandbox.issue_token(dc="in")
    assert (await call("GET", "/books/v3/items", auth=f"Zoho-oauthtoken {other}"))[0] == 401
