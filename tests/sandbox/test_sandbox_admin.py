"""Admin API, persistence under --state-dir, and the `zmigrate sandbox` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import aiohttp

from zmigrate.sandbox import SandboxConfig, start_sandbox


async def admin(http: aiohttp.ClientSession, sb, method: str, path: str, **kw):
    async with http.request(method, sb.urls["api"] + "/__sandbox__/" + path, **kw) as resp:
        return resp.status, await resp.json()


async def test_state_counts_requests_errors_and_peaks(sandbox, http, call) -> None:
    await call("POST", "/books/v3/contacts", json={"contact_name": "A"})
    status, dup, _ = await call("POST", "/books/v3/contacts", json={"contact_name": "A"})
    assert (status, dup["message"]) == (
        400,
        'The customer "A" already exists. Please specify a different name.',
    )
    await call("GET", "/inventory/v1/items/1")
    await call("GET", "/books/v3/contacts", auth="Bearer nope")
    status, state = await admin(http, sandbox, "GET", "state")
    assert status == 200
    books = state["counts"]["books"]
    assert books["contacts"] == 1 and set(books.values()) == {0, 1}  # every Books module counted
    assert {"items", "invoices", "customerpayments"} <= set(books)
    assert state["counts"]["inventory"]["contacts"] == 1  # shared with Books
    assert state["requests"] == {"books": 3, "inventory": 1}
    assert state["errors"] == {"books": {"3062": 1, "14": 1}, "inventory": {"1002": 1}}
    assert state["peak_concurrency"] == {"books": 1, "inventory": 1}
    assert state["clock"]["speed"] == sandbox.clock.speed
    assert state["bugs"] == 0
    org = sandbox.credentials.organization_id
    assert state["products"]["books"]["orgs"][org]["used_today"] == 2
    # every listener serves the admin API
    async with http.get(sandbox.urls["accounts"] + "/__sandbox__/state") as resp:
        assert resp.status == 200


async def test_records_and_reset(sandbox, http, call) -> None:
    await call("POST", "/books/v3/items", json={"name": "Pin", "rate": 1})
    status, body = await admin(http, sandbox, "GET", "records/books/items")
    assert status == 200 and [r["name"] for r in body["records"]] == ["Pin"]
    status, body = await admin(http, sandbox, "GET", "records/inventory/items")
    assert body["count"] == 1
    for bad in ("records/books/leads", "records/nope/items"):
        assert (await admin(http, sandbox, "GET", bad))[0] == 404
    assert (await admin(http, sandbox, "POST", "reset"))[1] == {"reset": True}
    _, state = await admin(http, sandbox, "GET", "state")
    assert state["counts"]["books"]["items"] == 0 and state["requests"] == {}
    # tokens survive a reset, and the name is free again
    status, _, _ = await call("POST", "/books/v3/items", json={"name": "Pin", "rate": 1})
    assert status == 201


async def test_clock_advance(sandbox, http) -> None:
    _, before = await admin(http, sandbox, "GET", "clock")
    _, after = await admin(http, sandbox, "POST", "clock", json={"advance": 86_400})
    assert after["now"] - before["now"] >= 86_400
    assert (await admin(http, sandbox, "POST", "clock", json={"advance": -5}))[0] == 400
    assert (await admin(http, sandbox, "POST", "clock", data=b"{nope"))[0] == 400


async def test_state_survives_a_restart(tmp_path, http) -> None:
    config = SandboxConfig(clock_speed=60, state_dir=str(tmp_path))
    async with start_sandbox(config) as sb:
        creds, token = sb.credentials, sb.issue_token()
        h = {"Authorization": f"Zoho-oauthtoken {token}"}
        q = {"organization_id": creds.organization_id}
        async with http.post(
            sb.urls["api"] + "/books/v3/contacts", params=q, headers=h, json={"contact_name": "K"}
        ) as resp:
            kept = (await resp.json())["contact"]
        clock_then = sb.clock.now()
    async with start_sandbox(config) as sb:
        assert sb.credentials == creds
        assert sb.clock.now() >= clock_then
        url = sb.urls["api"] + "/books/v3/contacts"
        async with http.get(f"{url}/{kept['contact_id']}", params=q, headers=h) as resp:
            assert resp.status == 200  # the old access token still works
            assert (await resp.json())["contact"] == kept
        async with http.post(url, params=q, headers=h, json={"contact_name": "k"}) as resp:
            assert (await resp.json())["code"] == 3062  # unique index restored
        async with http.post(url, params=q, headers=h, json={"contact_name": "L"}) as resp:
            assert (await resp.json())["contact"]["contact_id"] != kept["contact_id"]
        assert sb.state()["products"]["books"]["orgs"][creds.organization_id]["used_today"] == 4


def test_cli_prints_one_json_line_and_stops_on_sigterm(tmp_path) -> None:
    cmd = [
        sys.executable,
        "-c",
        "from zmigrate.cli import main; main()",
        "sandbox",
        "--clock-speed",
        "120",
        "--books-plan",
        "free",
        "--state-dir",
        str(tmp_path),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = json.loads(proc.stdout.readline())
        assert set(line["urls"]) == {"accounts", "api", "content"}
        assert line["clock_speed"] == 120
        creds = line["credentials"]
        assert {"client_id", "client_secret", "refresh_token", "organization_id"} <= set(creds)
        with urllib.request.urlopen(line["urls"]["api"] + "/__sandbox__/state") as resp:
            state = json.loads(resp.read())
        assert state["products"]["books"]["plan"] == "free"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert os.path.exists(tmp_path / "sandbox.db")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_an_unknown_plan() -> None:
    cmd = [sys.executable, "-c", "from zmigrate.cli import main; main()", "sandbox"]
    done = subprocess.run(
        [*cmd, "--books-plan", "gold"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "books plan 'gold'" in done.stderr and "Traceback" not in done.stderr
