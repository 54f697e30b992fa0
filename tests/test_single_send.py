"""One attempt of the transport is one request on the wire, even when the answer is lost:
Zoho counts every request that arrives, so anything sent behind the pacer's back can fill a
per-minute window the pacer thinks has room (code 44 blocks the org for 30 minutes)."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest
from zoho_helpers import credentials_for

from zmigrate.client import Limits, open_zoho
from zmigrate.client.models import Product
from zmigrate.errors import NetworkError
from zmigrate.quotas import PER_MINUTE_CAP
from zmigrate.retry import MAX_SENDS, RetryPolicy


async def test_a_lost_answer_to_a_get_is_sent_again_only_by_the_transport(make_sandbox) -> None:
    sb = await make_sandbox(lost_response_rate=1.0)
    async with open_zoho(credentials_for(sb), sb.clock, Limits(), rng=random.Random(7)) as zoho:
        with pytest.raises(NetworkError):
            await zoho.books.list_page("contacts")
        sent = zoho.channels[Product.BOOKS].usage.requests
    assert sent == MAX_SENDS
    assert sb.stats.requests["books"] == MAX_SENDS  # aiohttp on its own: 2 per send


async def test_paced_gets_with_lost_answers_never_overfill_a_window(make_sandbox) -> None:
    sb = await make_sandbox(lost_response_rate=0.5, books_plan="standard")
    calls = PER_MINUTE_CAP + 20  # the last 20 wait for the first window to pass
    once = RetryPolicy(attempts=1)
    async with open_zoho(credentials_for(sb), sb.clock, Limits(), policy=once) as zoho:

        async def one() -> None:
            with contextlib.suppress(NetworkError):
                await zoho.books.list_page("contacts")

        await asyncio.gather(*(one() for _ in range(calls)))
    assert sb.stats.requests["books"] == calls
    assert "44" not in sb.stats.errors.get("books", {})
