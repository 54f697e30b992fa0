"""No secret leaves zmigrate, even when a server echoes the request's credentials back.

A tiny real aiohttp server on 127.0.0.1 plays Zoho (or a proxy in front of it): it hands out
an access token, then answers every API call with HTTP 500 whose body repeats the
``Authorization`` header, the bare token, and the token request's form (client secret and
refresh token). The run goes through the real ``zmigrate`` process; nothing it prints or
writes may hold any of those values.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import orjson
from aiohttp import web

ZMIGRATE = str(Path(sys.executable).parent / "zmigrate")
ACCESS = "at-Q7mN3xV9kLp2Rw8ZtY4bHc6Jd"  # not Zoho-shaped: only registration can catch it
REFRESH = "1000.0f3b2a9c8d7e6f5a4b3c2d1e0f9a8b7c.aa11bb22cc33dd44ee55ff6677889900"
SECRET = "cs-Hs8Kq2Lm5Np7Rt9Vw3Xy6Za4Bc1Df"
CLIENT_ID = "1000.EW3TAXN2KOLRBX8BKSYHZ9RBQO1TQB"
SECRETS = (ACCESS, REFRESH, SECRET)

MANIFEST = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
method = "rest"
[steps.fields]
Account_Name = "name"
"""


def echo_app() -> web.Application:
    """Token endpoint and CRM metadata that work; every other call a 500 echoing what it was
    sent."""
    seen: dict[str, str] = {}

    async def token(request: web.Request) -> web.Response:
        seen["form"] = (await request.read()).decode()
        api = f"http://{request.host}"
        body = {"access_token": ACCESS, "expires_in": 3600, "api_domain": api}
        return web.json_response(body | {"token_type": "Bearer"})

    async def echo(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        message = (
            f"boom {auth}; token {ACCESS}; upstream said "
            f'{{"refresh_token": "{REFRESH}", "client_secret": "{SECRET}"}} '
            f"after {seen.get('form', '')}"
        )
        body = {"code": "INTERNAL_ERROR", "status": "error", "message": message}
        return web.json_response(body, status=500)

    async def modules(request: web.Request) -> web.Response:
        accounts = {"api_name": "Accounts", "api_supported": True, "creatable": True}
        return web.json_response({"modules": [accounts]})

    async def fields(request: web.Request) -> web.Response:
        name = {"api_name": "Account_Name", "data_type": "text", "length": 200}
        name["operation_type"] = {"api_create": True, "api_update": True}
        return web.json_response({"fields": [name]})

    app = web.Application()
    app.router.add_post("/oauth/v2/token", token)
    # the metadata the run reads first answers: the calls after it meet the echoing 500s
    app.router.add_get("/crm/v8/settings/modules", modules)
    app.router.add_get("/crm/v8/settings/fields", fields)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


async def zmigrate(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        ZMIGRATE,
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def leaks(text: str | bytes) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    return [s for s in SECRETS if s.encode() in raw]


async def test_echoed_credentials_never_reach_output_or_run_directory(tmp_path):
    runner = web.AppRunner(echo_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        (tmp_path / "migration.toml").write_text(MANIFEST)
        (tmp_path / "accounts.csv").write_text("ref,name\na1,Acme\na2,Globex\n")
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
        env |= {
            "ZOHO_CLIENT_ID": CLIENT_ID,
            "ZOHO_CLIENT_SECRET": SECRET,
            "ZOHO_REFRESH_TOKEN": REFRESH,
            "ZOHO_ACCOUNTS_URL": url,
            "ZOHO_API_URL": url,
            "ZOHO_CONTENT_URL": url,
        }
        run_dir = tmp_path / "run"
        code, out, err = await zmigrate(
            "run",
            "migration.toml",
            "--run-dir",
            str(run_dir),
            "--clock-speed",
            "3600",
            cwd=tmp_path,
            env=env,
        )
        assert code == 1, out + err
        assert "INTERNAL_ERROR" in out + err  # the server's error is reported...
        assert leaks(out) == [] and leaks(err) == [], out + err  # ...without a secret
        assert "boom Zoho-oauthtoken ***" in out + err
        for path in run_dir.rglob("*"):
            if path.is_file():
                assert leaks(path.read_bytes()) == [], path
        report = orjson.loads((run_dir / "report.json").read_bytes())
        assert report["outcome"] == "stopped"
        for args in (["status", str(run_dir)], ["status", "--json", str(run_dir)]):
            code, out, err = await zmigrate(*args, cwd=tmp_path, env=env)
            assert code == 0 and "INTERNAL_ERROR" in out, out + err
            assert leaks(out + err) == []
    finally:
        await runner.cleanup()
