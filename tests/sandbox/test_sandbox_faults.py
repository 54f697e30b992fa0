"""Faults: seeded and replayable, never half-applied, lost responses after commit, latency."""

from __future__ import annotations

import asyncio
import statistics
from urllib.parse import urlsplit

import aiohttp

from zmigrate.sandbox import Sandbox
from zmigrate.sandbox.faults import Fault, Faults


async def post_contacts(
    sb: Sandbox, http: aiohttp.ClientSession, n: int, prefix: str = "C"
) -> list[int | str]:
    """Outcome of ``n`` creates: the HTTP status, or "reset" when the connection dropped."""
    auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    params = {"organization_id": sb.credentials.organization_id}
    outcomes: list[int | str] = []
    for i in range(n):
        try:
            async with http.post(
                sb.urls["api"] + "/books/v3/contacts",
                params=params,
                headers=auth,
                json={"contact_name": f"{prefix}{i}"},
            ) as resp:
                outcomes.append(resp.status)
        except aiohttp.ClientError:
            outcomes.append("reset")
    return outcomes


async def test_faults_replay_with_the_same_seed(make_sandbox, http) -> None:
    runs = []
    for seed in (7, 7, 8):
        sb = await make_sandbox(fault_rate=0.5, seed=seed, slow_ms=100)
        runs.append(await post_contacts(sb, http, 30))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert {500, "reset", 201} <= set(runs[0])


async def test_a_fault_never_half_applies(make_sandbox, http) -> None:
    sb = await make_sandbox(fault_rate=1.0, seed=1, slow_ms=100)
    outcomes = await post_contacts(sb, http, 40)
    state = sb.state()
    created = outcomes.count(201)
    assert state["counts"]["books"]["contacts"] == created
    assert state["faults"]["internal_error"] == outcomes.count(500)
    assert state["faults"]["reset"] == outcomes.count("reset")
    assert state["faults"]["slow"] == created  # slow calls are served in full
    assert state["errors"]["books"] == {"1000": outcomes.count(500)}
    assert state["bugs"] == 0


async def test_lost_response_commits_then_drops_the_connection(make_sandbox, http) -> None:
    sb = await make_sandbox(lost_response_rate=1.0)
    assert await post_contacts(sb, http, 3) == ["reset"] * 3
    async with http.get(sb.urls["api"] + "/__sandbox__/records/books/contacts") as resp:
        names = [r["contact_name"] for r in (await resp.json())["records"]]
    assert names == ["C0", "C1", "C2"]
    assert sb.state()["faults"] == {"lost_response": 3}


async def test_fault_knobs_change_at_runtime(sandbox, http) -> None:
    url = sandbox.urls["api"] + "/__sandbox__/faults"
    async with http.post(url, json={"fault_rate": 1.0, "slow_ms": 0}) as resp:
        assert (await resp.json())["fault_rate"] == 1.0
    outcomes = await post_contacts(sandbox, http, 10)
    assert sum(sandbox.state()["faults"].values()) == 10
    assert {500, "reset"} & set(outcomes)
    async with http.post(url, json={"fault_rate": 0}) as resp:
        assert (await resp.json())["fault_rate"] == 0
    assert await post_contacts(sandbox, http, 3, "D") == [201, 201, 201]
    async with http.post(url, json={"fault_rate": "lots"}) as resp:
        assert resp.status == 400


def test_latency_is_log_normal_around_the_median() -> None:
    faults = Faults(seed=3, latency_ms=300)
    draws = [faults.latency() for _ in range(4001)]
    assert 0.27 < statistics.median(draws) < 0.33
    assert min(draws) > 0 and max(draws) < 3
    assert Faults(seed=3).latency() == 0.0


def test_fault_mix_follows_the_rate() -> None:
    faults = Faults(seed=11, fault_rate=0.2)
    kinds = [faults.draw() for _ in range(10_000)]
    share = 1 - kinds.count(Fault.NONE) / len(kinds)
    assert 0.18 < share < 0.22
    assert kinds.count(Fault.INTERNAL_ERROR) > kinds.count(Fault.RESET) > 0
    assert Fault.LOST_RESPONSE not in kinds


async def test_a_client_that_hangs_up_mid_body_is_no_sandbox_bug(make_sandbox) -> None:
    """Ctrl-C in an engine drops connections mid-request: the sandbox shrugs, logs no bug."""
    sb = await make_sandbox(latency_ms=0)
    api = urlsplit(sb.urls["api"])
    org = sb.credentials.organization_id
    for _ in range(3):
        reader, writer = await asyncio.open_connection(api.hostname, api.port)
        writer.write(
            (
                f"POST /books/v3/contacts?organization_id={org} HTTP/1.1\r\n"
                f"Host: {api.netloc}\r\nAuthorization: Zoho-oauthtoken {sb.issue_token()}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                '{"contact_name": "half'
            ).encode()
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    await asyncio.sleep(0.2)
    assert sb.stats.bugs == 0
    assert sb.state()["counts"]["books"]["contacts"] == 0
