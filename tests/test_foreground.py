"""Bulk preparation on a thread yields to Books/Inventory calls in flight (issue 12).

A tiny aiohttp server on 127.0.0.1 plays Zoho and holds each API answer until the test lets
it go, so a call is in flight for as long as the test needs (no mock of aiohttp)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import orjson
import pytest
from aiohttp import web
from fixed_time import T0

from zmigrate.auth import Credentials, TokenSource
from zmigrate.client import Limits, RetryPolicy, Zoho
from zmigrate.clock import Clock
from zmigrate.foreground import Foreground

BOOKS_OK = {"code": 0, "message": "success", "contacts": [], "page_context": {"page": 1}}
CRM_OK = {"data": [{"status": "success", "code": "SUCCESS", "details": {"id": "9"}}]}


@dataclass
class HeldZoho:
    """Answers every API request once ``release`` is set; ``arrived`` says one is waiting."""

    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def token(self, request: web.Request) -> web.Response:
        body = {"access_token": "1000.t", "expires_in": 3600, "api_domain": self.url}
        return web.json_response(body)

    async def api(self, request: web.Request) -> web.Response:
        self.arrived.set()
        await self.release.wait()
        body = CRM_OK if "/crm/" in request.path else BOOKS_OK
        return web.Response(body=orjson.dumps(body), content_type="application/json")


@pytest.fixture
async def held() -> AsyncIterator[HeldZoho]:
    hz = HeldZoho()
    app = web.Application()
    app.router.add_post("/oauth/v2/token", hz.token)
    app.router.add_route("*", "/{tail:.*}", hz.api)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    hz.url = f"http://{host}:{port}"
    yield hz
    await runner.cleanup()


def zoho_for(http: aiohttp.ClientSession, held: HeldZoho) -> Zoho:
    clock = Clock(speed=600, start=T0)
    creds = Credentials("id", "secret", "1000.r", organization_id="7", accounts_url=held.url)
    return Zoho(http, TokenSource(http, creds, clock), clock, Limits(), RetryPolicy(attempts=1))


async def prepare_during(
    zoho: Zoho, held: HeldZoho, call: Callable[[], object], rows: int = 20
) -> list[int]:
    """Windowed calls counted in flight as a thread takes each of ``rows`` paced rows,
    the call held at Zoho until the thread has taken its first chunk of 10."""
    # a chunk "takes" 1000 s: a thread may wait as long as it likes for the call to end
    foreground = zoho.transport.foreground = Foreground(timer=itertools.count(0, 1000).__next__)
    task = asyncio.ensure_future(call())
    await held.arrived.wait()
    seen: list[int] = []

    def prepare() -> None:
        seen.extend(foreground.calls for _ in foreground.paced(range(rows), every=10))

    thread = asyncio.ensure_future(asyncio.to_thread(prepare))
    while len(seen) < 10 and not thread.done():
        await asyncio.sleep(0.001)
    held.release.set()
    await asyncio.wait_for(asyncio.gather(task, thread), timeout=30)
    assert foreground.calls == 0
    return seen


async def test_bulk_rows_wait_while_a_books_call_is_in_flight(held: HeldZoho) -> None:
    async with aiohttp.ClientSession() as http:
        zoho = zoho_for(http, held)
        seen = await prepare_during(zoho, held, lambda: zoho.books.list_page("contacts"))
    assert seen == [1] * 10 + [0] * 10  # the second chunk only once the call came back


async def test_a_crm_call_holds_no_bulk_row_back(held: HeldZoho) -> None:
    async with aiohttp.ClientSession() as http:
        zoho = zoho_for(http, held)
        seen = await prepare_during(
            zoho, held, lambda: zoho.crm.upsert("Leads", [{"Last_Name": "A"}], ["Last_Name"])
        )
    assert seen == [0] * 20


def test_a_quiet_foreground_lets_every_row_through_at_once() -> None:
    foreground = Foreground(timer=itertools.count(0, 1000).__next__)
    assert list(foreground.paced(range(25), every=10)) == list(range(25))
