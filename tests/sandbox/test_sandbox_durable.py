"""`zmigrate sandbox --state-dir` killed with SIGKILL forgets nothing it answered.

Each test runs the sandbox as its own process, writes through its API, kills it with
SIGKILL (no clean stop, no save) and starts it again on the same state directory.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import stat
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

SANDBOX = [sys.executable, "-c", "from zmigrate.cli import main; main()", "sandbox"]


@asynccontextmanager
async def sandbox_process(
    state_dir: Path, speed: float, *options: str
) -> AsyncIterator[tuple[Any, dict]]:
    """A running ``zmigrate sandbox``: (process, its ready line); killed on the way out."""
    cmd = [*SANDBOX, "--clock-speed", str(speed), "--state-dir", str(state_dir), *options]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
        assert line, proc.stderr.read() if proc.stderr else "no ready line"
        yield proc, json.loads(line)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def kill9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=20) == -signal.SIGKILL


class Api:
    """Calls to one sandbox process with a token from its accounts server."""

    def __init__(self, http: aiohttp.ClientSession, ready: dict, token: str = "") -> None:
        self.http, self.urls, self.creds, self.token = (
            http,
            ready["urls"],
            ready["credentials"],
            token,
        )

    async def fetch_token(self) -> str:
        data = {
            "grant_type": "refresh_token",
            "client_id": self.creds["client_id"],
            "client_secret": self.creds["client_secret"],
            "refresh_token": self.creds["refresh_token"],
        }
        async with self.http.post(self.urls["accounts"] + "/oauth/v2/token", data=data) as resp:
            self.token = (await resp.json())["access_token"]
        return self.token

    async def call(self, method: str, path: str, host: str = "api", **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Zoho-oauthtoken {self.token}", **kw.pop("headers", {})}
        async with self.http.request(method, self.urls[host] + path, headers=headers, **kw) as r:
            return r.status, await r.json()

    async def books(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        params = {"organization_id": self.creds["organization_id"]}
        return await self.call(method, "/books/v3" + path, params=params, **kw)

    async def state(self) -> Any:
        async with self.http.get(self.urls["api"] + "/__sandbox__/state") as resp:
            return await resp.json()

    async def bulk_write(self, rows: int) -> str:
        """Upload ``rows`` Contacts and start an insert job; its id."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(
                "c.csv", "Last_Name,Email\n" + "".join(f"L{i},c{i}@x.test\n" for i in range(rows))
            )
        form = aiohttp.FormData()
        form.add_field("file", buf.getvalue(), filename="c.zip", content_type="application/zip")
        headers = {"feature": "bulk-write", "X-CRM-ORG": self.creds["organization_id"]}
        status, body = await self.call(
            "POST", "/crm/v8/upload", host="content", data=form, headers=headers
        )
        assert status == 200, body
        resource = {
            "type": "data",
            "module": {"api_name": "Contacts"},
            "file_id": str(body["details"]["file_id"]),
        }
        job = {"operation": "insert", "resource": [resource]}
        status, body = await self.call("POST", "/crm/bulk/v8/write", json=job)
        assert status == 201, body
        return str(body["details"]["id"])

    async def job(self, job_id: str) -> Any:
        return (await self.call("GET", f"/crm/bulk/v8/write/{job_id}"))[1]

    async def until_completed(self, job_id: str) -> Any:
        for _ in range(2_000):
            body = await self.job(job_id)
            if body["status"] == "COMPLETED":
                return body
            await asyncio.sleep(0.01)
        raise AssertionError(f"job {job_id} stuck: {body}")


def quota_view(state: Any, org: str) -> tuple[Any, ...]:
    crm = state["products"]["crm"]["credits"]
    return (
        state["counts"],
        state["products"]["books"]["orgs"][org]["used_today"],
        crm["used_24h"],
        crm["total"],
        state["products"]["crm"]["bulk_write_jobs"],
    )


async def test_records_quota_tokens_and_jobs_survive_kill_9(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    async with aiohttp.ClientSession() as http:
        async with sandbox_process(state_dir, speed=60) as (proc, ready):
            api = Api(http, ready)
            await api.fetch_token()
            for i in range(12):
                status, _ = await api.books("POST", "/contacts", json={"contact_name": f"C{i}"})
                assert status == 201
            rows = [{"Last_Name": f"R{i}", "Email": f"r{i}@x.test"} for i in range(5)]
            status, _ = await api.call("POST", "/crm/v8/Contacts", json={"data": rows})
            assert status == 201
            done = await api.until_completed(await api.bulk_write(300))
            assert done["resource"][0]["file"]["added_count"] == 300
            org = ready["credentials"]["organization_id"]
            before = quota_view(await api.state(), org)
            kill9(proc)
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
        for f in state_dir.iterdir():  # the database and its write-ahead log hold credentials
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        async with sandbox_process(state_dir, speed=60) as (proc, again):
            assert again["credentials"] == ready["credentials"]
            api = Api(http, again, api.token)  # the access token issued before the kill
            status, body = await api.books("GET", "/contacts")
            assert status == 200
            assert sorted(c["contact_name"] for c in body["contacts"]) == sorted(
                f"C{i}" for i in range(12)
            )
            after = quota_view(await api.state(), org)
            assert after[0] == before[0] and after[0]["crm"]["Contacts"] == 305
            assert after[1] == before[1] + 1  # the GET above
            assert after[2:] == before[2:]
            assert before[2] > 0 and before[4] == {"COMPLETED": 1}
            status, body = await api.books("POST", "/contacts", json={"contact_name": "c0"})
            assert (status, body["code"]) == (400, 3062)  # unique index rebuilt
            assert await api.fetch_token()  # the refresh token still works


async def test_a_bulk_job_killed_half_way_runs_again_exactly_once(tmp_path: Path) -> None:
    state_dir, rows = tmp_path / "state", 6_000
    async with aiohttp.ClientSession() as http:
        async with sandbox_process(state_dir, speed=2) as (proc, ready):
            api = Api(http, ready)
            await api.fetch_token()
            job_id = await api.bulk_write(rows)
            for _ in range(2_000):  # kill while the job is writing rows
                file = (await api.job(job_id))["resource"][0]["file"]
                if file["added_count"] >= 1_000:
                    break
                await asyncio.sleep(0.01)
            assert 0 < file["added_count"] < rows
            kill9(proc)
        async with sandbox_process(state_dir, speed=60) as (proc, again):
            api = Api(http, again, api.token)
            done = await api.until_completed(job_id)
            assert done["resource"][0]["file"]["added_count"] == rows
            status, body = await api.call("GET", "/__sandbox__/records/crm/Contacts")
            emails = [r["Email"] for r in body["records"]]
            assert len(emails) == len(set(emails)) == rows


async def test_a_second_sandbox_on_the_same_state_is_refused(tmp_path: Path) -> None:
    async with sandbox_process(tmp_path, speed=60):
        second = subprocess.run(
            [*SANDBOX, "--state-dir", str(tmp_path)], capture_output=True, text=True, timeout=60
        )
    assert second.returncode == 2, second.stderr
    assert "another sandbox is running on the state in" in second.stderr
    assert "Traceback" not in second.stderr


SNAPSHOT = {
    "format": "zmigrate.schema/1",
    "crm": {
        "modules": [
            {
                "api_name": "Accounts",
                "fields": [
                    {"api_name": "Account_Name", "data_type": "text", "system_mandatory": True},
                    {"api_name": "Phone", "data_type": "phone", "length": 30},
                ],
            }
        ]
    },
}


async def test_custom_fields_and_modules_survive_kill_9(tmp_path: Path) -> None:
    state_dir, schema = tmp_path / "state", tmp_path / "schema.json"
    schema.write_text(json.dumps(SNAPSHOT))
    legacy = {"field_label": "Legacy ID", "data_type": "text", "unique": {"case_sensitive": False}}
    vehicles = {"singular_label": "Vehicle", "plural_label": "Vehicles", "profiles": [{"id": "1"}]}
    async with aiohttp.ClientSession() as http:
        async with sandbox_process(state_dir, 60, "--schema", str(schema)) as (proc, ready):
            api = Api(http, ready)
            await api.fetch_token()
            path = "/crm/v8/settings/fields?module=Accounts"
            assert (await api.call("POST", path, json={"fields": [legacy]}))[0] == 201
            body = {"modules": [vehicles]}
            assert (await api.call("POST", "/crm/v8/settings/modules", json=body))[0] == 200
            row = {"Account_Name": "Acme", "Legacy_ID": "L-1"}
            assert (await api.call("POST", "/crm/v8/Accounts", json={"data": [row]}))[0] == 201
            body = {"data": [{"Name": "Van"}]}
            assert (await api.call("POST", "/crm/v8/Vehicles", json=body))[0] == 201
            kill9(proc)
        async with sandbox_process(state_dir, 60, "--schema", str(schema)) as (proc, again):
            api = Api(http, again, api.token)
            status, body = await api.call("GET", "/crm/v8/settings/fields?module=Accounts")
            names = [f["api_name"] for f in body["fields"]]
            assert names == ["Account_Name", "Phone", "Legacy_ID"]
            row = {"Account_Name": "Other", "Legacy_ID": "l-1"}
            status, body = await api.call("POST", "/crm/v8/Accounts", json={"data": [row]})
            assert (status, body["data"][0]["code"]) == (400, "DUPLICATE_DATA")  # index rebuilt
            query = {"select_query": "select Name from Vehicles where Name = 'Van'"}
            status, body = await api.call("POST", "/crm/v8/coql", json=query)
            assert status == 200 and [r["Name"] for r in body["data"]] == ["Van"]
