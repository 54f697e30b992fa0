"""Shared fixtures: an in-process sandbox over real loopback HTTP, and a client session.

    async def test_x(sandbox, http, token):          # defaults: clock speed 60
        r = await http.get(sandbox.urls["api"] + "/books/v3/organizations",
                           headers={"Authorization": f"Zoho-oauthtoken {token}"})

    async def test_y(make_sandbox):                  # any SandboxConfig option
        sb = await make_sandbox(books_plan="free", clock_speed=3600)

``token`` is obtained over HTTP from the accounts server with the refresh token the sandbox
issued, as a client would; ``sandbox.issue_token()`` skips the HTTP round trip.

Every clock starts at ``fixed_time.T0`` unless a test says otherwise: ``$ZMIGRATE_CLOCK_START``
is set for the whole session, so sandboxes and `zmigrate` subprocesses start there too.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from fixed_time import T0

from zmigrate.client.session import single_send_session
from zmigrate.clock import START_ENV, Clock
from zmigrate.sandbox import Sandbox, SandboxConfig, start_sandbox

DEFAULT_TEST_SPEED = 60.0
"""A Zoho minute in one real second; a token then lives one real minute."""


@pytest.fixture(scope="session", autouse=True)
def fixed_clock_start() -> Iterator[None]:
    """Clocks built without a start (sandboxes, CLI subprocesses) begin at ``T0``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(START_ENV, str(T0))
        yield


@pytest.fixture
async def make_sandbox() -> AsyncIterator[Callable[..., Awaitable[Sandbox]]]:
    """Factory: ``await make_sandbox(**SandboxConfig options, clock=None)``; stopped after."""
    async with contextlib.AsyncExitStack() as stack:

        async def factory(clock: Clock | None = None, **options: Any) -> Sandbox:
            options.setdefault("clock_speed", clock.speed if clock else DEFAULT_TEST_SPEED)
            clock = clock or Clock(options["clock_speed"], start=T0)
            return await stack.enter_async_context(start_sandbox(SandboxConfig(**options), clock))

        yield factory


@pytest.fixture
async def sandbox(make_sandbox: Callable[..., Awaitable[Sandbox]]) -> Sandbox:
    return await make_sandbox()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """The engine's session: one request on the wire per send (see zmigrate.client.session)."""
    async with single_send_session() as session:
        yield session


async def fetch_token(http: aiohttp.ClientSession, sandbox: Sandbox) -> str:
    """An access token from the sandbox's accounts server (refresh_token grant)."""
    creds = sandbox.credentials
    async with http.post(
        sandbox.urls["accounts"] + "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
        },
    ) as resp:
        body = await resp.json()
    return body["access_token"]


@pytest.fixture
async def token(http: aiohttp.ClientSession, sandbox: Sandbox) -> str:
    return await fetch_token(http, sandbox)


@pytest.fixture
def call(
    http: aiohttp.ClientSession, sandbox: Sandbox, token: str
) -> Callable[..., Awaitable[tuple[int, Any, Any]]]:
    """``await call("GET", "/books/v3/contacts")`` → (status, JSON body or None, headers).

    Sends ``Zoho-oauthtoken`` with the ``token`` fixture and the sandbox's first
    ``organization_id`` unless ``org=None`` / another ``org`` / ``auth=`` header is given.
    """

    async def do(
        method: str,
        path: str,
        *,
        org: str | None = sandbox.credentials.organization_id,
        auth: str | None = None,
        params: dict[str, str] | None = None,
        host: str = "api",
        **kw: Any,
    ) -> tuple[int, Any, Any]:
        query = dict(params or {})
        if org is not None:
            query["organization_id"] = org
        headers = {"Authorization": auth if auth is not None else f"Zoho-oauthtoken {token}"}
        headers.update(kw.pop("headers", {}))
        async with http.request(
            method, sandbox.urls[host] + path, params=query, headers=headers, **kw
        ) as resp:
            raw = await resp.read()
            body = orjson.loads(raw) if raw else None
            return resp.status, body, resp.headers

    return do
