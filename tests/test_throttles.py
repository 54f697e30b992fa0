"""Zoho's real throttles: code 44 blocks the org for Retry-After seconds (the run pauses and
goes on after the block), daily caps reset at midnight in the org's time zone."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from fixed_time import T0, at
from zoho_helpers import credentials_for

from zmigrate.auth import TokenSource
from zmigrate.client import Limits, Zoho
from zmigrate.client.finance import org_zone
from zmigrate.client.http import classify
from zmigrate.clock import START_ENV, Clock
from zmigrate.errors import Blocked, QuotaExhausted, Throttled
from zmigrate.outcomes import Pause, PauseKind, decide
from zmigrate.retry import RetryPolicy
from zmigrate.sandbox import SandboxConfig, start_sandbox

ZMIGRATE = [sys.executable, "-c", "from zmigrate.cli import main; main()"]
URL = "http://127.0.0.1:1/books/v3/contacts"
KOLKATA = ZoneInfo("Asia/Kolkata")


def test_code_44_with_a_long_retry_after_is_a_block_until_it_ends() -> None:
    body = {"code": 44, "message": "For security reasons your organization has been blocked"}
    error = classify(429, body, {"Retry-After": "1800"}, URL, T0)
    assert isinstance(error, Blocked) and error.resets_at == T0 + 1800
    assert "blocked the organization for 1800 s" in str(error)
    assert "2026-01-05 00:35:00 UTC" in str(error)  # T0 is 00:05 UTC
    action = decide(error)
    assert isinstance(action, Pause) and action.kind is PauseKind.BLOCKED
    assert action.resets_at == T0 + 1800
    # a short Retry-After is waited out in place, as Zoho asks: never less than it says
    short = classify(429, body, {"Retry-After": "90"}, URL, T0)
    assert isinstance(short, Throttled) and not isinstance(short, QuotaExhausted)
    assert RetryPolicy().delay(1, short, 0.0) == 90
    crm = classify(429, {"code": "TOO_MANY_REQUESTS"}, {"Retry-After": "45"}, URL, T0)
    assert isinstance(crm, Throttled) and RetryPolicy().delay(1, crm, 0.0, windowed=False) == 45


def test_a_daily_cap_without_a_reset_header_is_left_to_the_orgs_midnight() -> None:
    error = classify(429, {"code": 45, "message": "cap"}, {}, URL, T0)
    assert isinstance(error, QuotaExhausted) and error.resets_at is None
    told = classify(429, {"code": 45}, {"X-Rate-Limit-Reset": "600"}, URL, T0)
    assert isinstance(told, QuotaExhausted) and told.resets_at == T0 + 600


def test_org_time_zones_as_zoho_writes_them() -> None:
    assert org_zone("Asia/Kolkata") == KOLKATA
    assert org_zone("PST") == ZoneInfo("America/Los_Angeles")  # Zoho's documented sample
    assert org_zone("Nowhere/Else") == dt.UTC and org_zone(None) == dt.UTC


async def test_daily_cap_resets_at_the_orgs_local_midnight(make_sandbox, http) -> None:
    clock = Clock(speed=600, start=at("12:00"))  # 17:30 in Kolkata
    sb = await make_sandbox(
        clock=clock, books_plan="free", org_time_zone="Asia/Kolkata", rate_limit_headers=False
    )
    tokens = TokenSource(http, credentials_for(sb), clock)
    zoho = Zoho(http, tokens, clock, Limits(books_plan="free"))
    await asyncio.gather(*(zoho.books.list_page("contacts") for _ in range(1_000)))
    with pytest.raises(QuotaExhausted) as refused:
        await zoho.books.list_page("contacts")
    assert refused.value.code == 45
    # midnight in Kolkata is 18:30 UTC: not the UTC midnight five and a half hours later
    assert refused.value.resets_at == at("18:30")
    assert zoho.books.zone == KOLKATA


def _zmigrate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    env[START_ENV] = str(T0)
    return subprocess.run(
        [*ZMIGRATE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


async def _block_the_books_org(state_dir: Path) -> float:
    """Another client of the org sends 101 calls in a minute: Zoho blocks it (for 2 h here, so
    that a loaded machine's slowness at x600 never outlasts it). Zoho time runs at real speed
    here: at x60 a loaded machine could not send 101 calls within one real second."""
    import aiohttp

    config = SandboxConfig(clock_speed=1, state_dir=str(state_dir), block_seconds=7_200)
    async with start_sandbox(config, Clock(1, start=T0)) as sb, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
        params = {"organization_id": sb.credentials.organization_id}
        for _ in range(101):
            async with http.get(sb.urls["api"] + "/books/v3/items", params=params, headers=auth):
                pass
        blocked = sb.state()["products"]["books"]["orgs"][params["organization_id"]]
        return float(blocked["blocked_until"])


async def test_a_code_44_block_pauses_the_run_and_resume_goes_on_after_it(tmp_path) -> None:
    rows = "\n".join(f"K{i},Customer {i}" for i in range(40))
    (tmp_path / "customers.csv").write_text("ref,name\n" + rows + "\n")
    (tmp_path / "m.toml").write_text(
        '[[steps]]\nname = "customers"\nsource = { file = "customers.csv" }\n'
        'target = "books:contacts"\nkey = ["contact_name"]\nsource_key = ["ref"]\n'
        '[steps.fields]\ncontact_name = "name"\n'
    )
    run_dir = tmp_path / "run"
    until = await _block_the_books_org(run_dir / "sandbox")
    rehearse = ["--sandbox", "--clock-speed", "600", "--run-dir", "run"]
    first = _zmigrate("run", "m.toml", *rehearse, cwd=tmp_path)
    assert first.returncode == 3, first.stdout + first.stderr
    said = re.search(r"books blocked by Zoho until (\S+ \S+) UTC", first.stdout)
    assert said, first.stdout
    end = dt.datetime.strptime(said[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    # Retry-After is relative: the engine adds it to its own clock when the answer arrives, so
    # the end is late by the answer's transit (0.1 s real on a loaded machine is 60 s at x600)
    assert until - 1 <= end.timestamp() < until + 120
    assert re.search(r"blocked the organization for \d+ s", first.stderr)  # how long
    status = orjson.loads(_zmigrate("status", "run", "--json", cwd=tmp_path).stdout)
    assert until <= status["paused_until"] < until + 120  # never before the block ends

    done = _zmigrate("resume", "run", "--wait", cwd=tmp_path)  # jumps the clock to the end
    assert done.returncode == 0, done.stdout + done.stderr
    report = orjson.loads((run_dir / "report.json").read_bytes())
    assert report["steps"][0]["landed"] == 40 and report["steps"][0]["pending"] == 0
