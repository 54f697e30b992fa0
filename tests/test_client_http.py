"""Transport behaviour the sandbox does not script: Retry-After, answers a test dictates.

A tiny aiohttp server on 127.0.0.1 plays Zoho and answers from a queue, so each retry rule
is checked against a real HTTP exchange (no mock of aiohttp).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web
from fixed_time import T0

from zmigrate.auth import Credentials, TokenSource
from zmigrate.client import Limits, RetryPolicy, Zoho
from zmigrate.clock import Clock
from zmigrate.errors import NetworkError, QuotaExhausted, ServerError, Throttled

OK = (200, {"code": 0, "message": "success", "contacts": [], "page_context": {"page": 1}}, {})


@dataclass
class FakeZoho:
    """Answers queued per test; records when (Zoho time) each API request arrived."""

    clock: Clock
    answers: list[tuple[int, object, dict[str, str]]] = field(default_factory=list)
    stall_first: float = 0.0  # real seconds the first API answer is held back
    arrivals: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    url: str = ""

    async def token(self, request: web.Request) -> web.Response:
        body = {"access_token": "1000.t", "expires_in": 3600, "api_domain": self.url}
        return web.json_response(body)

    async def api(self, request: web.Request) -> web.Response:
        self.arrivals.append(self.clock.now())
        self.bodies.append(await request.read())
        if self.stall_first and len(self.arrivals) == 1:
            await asyncio.sleep(self.stall_first)
        status, body, headers = self.answers.pop(0) if self.answers else OK
        return web.Response(body=orjson.dumps(body), status=status, headers=headers,
                            content_type="application/json")  # fmt: skip


@pytest.fixture
async def fake() -> AsyncIterator[FakeZoho]:
    fz = FakeZoho(Clock(speed=600, start=T0))
    app = web.Application()
    app.router.add_post("/oauth/v2/token", fz.token)
    app.router.add_route("*", "/{tail:.*}", fz.api)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fz.url = f"http://{host}:{port}"
    yield fz
    await runner.cleanup()


def client(http, fake: FakeZoho, url: str | None = None, **limits) -> Zoho:
    creds = Credentials("id", "secret", "1000.r", organization_id="7", accounts_url=fake.url)
    if url:
        creds = Credentials("id", "secret", "1000.r", organization_id="7",
                            accounts_url=fake.url, api_url=url)  # fmt: skip
    tokens = TokenSource(http, creds, fake.clock)
    return Zoho(http, tokens, fake.clock, Limits(**limits), RetryPolicy(attempts=4))


async def test_retry_after_is_honoured_on_server_errors(fake, http) -> None:
    fake.answers = [(503, {"code": 1000, "message": "down"}, {"Retry-After": "20"})] * 2
    await client(http, fake).books.list_page("contacts")
    first, second, third = fake.arrivals
    assert second - first >= 20.0 and third - second >= 20.0


async def test_a_timeout_is_retried(fake, http) -> None:
    fake.stall_first = 0.8
    zoho = client(http, fake)
    zoho.transport.min_real_timeout = 0.3
    zoho.transport.timeout = 60.0  # 0.1 real s at this clock: the floor of 0.3 s applies
    await zoho.books.list_page("contacts")
    assert len(fake.arrivals) == 2
    assert zoho.usage()["books"]["errors"] == {"NetworkError": 1}


async def test_code_44_waits_a_whole_window_and_holds_other_calls(fake, http) -> None:
    fake.answers = [(429, {"code": 44, "message": "too many"}, {})]
    zoho = client(http, fake)
    await zoho.books.list_page("contacts")
    await zoho.books.list_page("contacts")  # a call after the refusal waits too
    assert fake.arrivals[1] - fake.arrivals[0] >= 60.0
    assert zoho.usage()["books"]["errors"] == {"Throttled:44": 1}


async def test_crm_throttling_by_http_400_code_is_throttled(fake, http) -> None:
    body = {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "x", "status": "error"}
    fake.answers = [(400, body, {"Retry-After": "5"})]
    ok = {"data": [{"status": "success", "code": "SUCCESS", "details": {"id": "9"}}]}
    fake.answers.append((201, ok, {}))
    zoho = client(http, fake)
    seen = []
    zoho.transport.observers.append(seen.append)
    outcomes = await zoho.crm.upsert("Leads", [{"Last_Name": "A"}], ["Last_Name"])
    assert outcomes[0].ok and outcomes[0].id == "9"
    assert fake.arrivals[1] - fake.arrivals[0] >= 5.0
    assert zoho.usage()["crm"]["credits"] == 1  # the refused attempt cost nothing
    assert [(a.product, a.credits, type(a.error).__name__) for a in seen] == [
        ("crm", 0, "Throttled"),
        ("crm", 1, "NoneType"),
    ]


async def test_upload_form_is_rebuilt_for_a_retry(fake, http) -> None:
    uploaded = {"status": "success", "code": "FILE_UPLOAD_SUCCESS", "details": {"file_id": "f1"}}
    fake.answers = [
        (200, {"org": [{"zgid": "55"}]}, {}),
        (500, {"code": "INTERNAL_ERROR", "status": "error"}, {}),
        (200, uploaded, {}),
    ]
    zoho = client(http, fake)
    assert await zoho.crm.upload(b"PK-zip-bytes") == "f1"
    assert b"PK-zip-bytes" in fake.bodies[1] and b"PK-zip-bytes" in fake.bodies[2]


async def test_ambiguous_failure_of_a_create_is_not_resent_blindly(fake, http) -> None:
    fake.answers = [(500, {"code": 1000, "message": "Internal error"}, {})]
    zoho = client(http, fake)
    with pytest.raises(ServerError):
        await zoho.books.create("contacts", {"company_name": "no unique key"})
    assert len(fake.arrivals) == 1


async def test_connection_refused_is_retried_then_raised(fake, http) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    zoho = client(http, fake, url=closed)
    with pytest.raises(NetworkError):
        await zoho.books.create("contacts", {"contact_name": "X"})
    # never reached Zoho, so resent up to the cap of 4 sends, and nothing to look up
    usage = zoho.usage()["books"]
    assert usage["requests"] == 4 and usage["errors"] == {"NetworkError": 4}


async def test_credit_ledger_refuses_before_sending(fake, http) -> None:
    zoho = client(http, fake, crm_edition="free")  # 5,000 credits a day
    ledger = zoho.channels["crm"].ledger
    ledger.settle(ledger.reserve(4_995, fake.clock.now()), fake.clock.now())
    with pytest.raises(QuotaExhausted) as info:
        await zoho.crm.upsert("Leads", [{"Last_Name": str(i)} for i in range(100)], ["Email"])
    assert info.value.resets_at == pytest.approx(fake.clock.now() + 86_400, abs=60)
    assert fake.arrivals == []
    assert zoho.crm_credits_available() == 5


async def test_throttled_repeatedly_gives_up(fake, http) -> None:
    fake.answers = [(429, {"code": 44, "message": "too many"}, {"Retry-After": "1"})] * 4
    with pytest.raises(Throttled):
        await client(http, fake).books.list_page("contacts")
    assert len(fake.arrivals) == 4
