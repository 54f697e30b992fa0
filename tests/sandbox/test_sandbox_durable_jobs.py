"""Uploads and bulk jobs outlive ``kill -9`` as records do (Zoho keeps an uploaded file, a
job and its result after the client that made them is gone; the sandbox must too)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
from test_sandbox_durable import Api, kill9, sandbox_process


async def upload(api: Api, rows: int) -> str:
    """Upload ``rows`` Contacts; the file id (no job yet)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "c.csv", "Last_Name,Email\n" + "".join(f"K{i},k{i}@x.test\n" for i in range(rows))
        )
    form = aiohttp.FormData()
    form.add_field("file", buf.getvalue(), filename="c.zip", content_type="application/zip")
    headers = {"feature": "bulk-write", "X-CRM-ORG": api.creds["organization_id"]}
    status, body = await api.call(
        "POST", "/crm/v8/upload", host="content", data=form, headers=headers
    )
    assert status == 200, body
    return str(body["details"]["file_id"])


async def read_job(api: Api, job_id: str) -> dict[str, Any]:
    for _ in range(2_000):
        status, body = await api.call("GET", f"/crm/bulk/v8/read/{job_id}")
        assert status == 200, body
        if body["data"][0]["state"] == "COMPLETED":
            return dict(body["data"][0])
        await asyncio.sleep(0.01)
    raise AssertionError(f"bulk read {job_id} stuck")


async def result(api: Api, job_id: str) -> bytes:
    headers = {"Authorization": f"Zoho-oauthtoken {api.token}"}
    url = api.urls["api"] + f"/crm/bulk/v8/read/{job_id}/result"
    async with api.http.get(url, headers=headers) as resp:
        assert resp.status == 200
        return await resp.read()


async def test_uploads_and_bulk_read_jobs_survive_kill_9(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    async with aiohttp.ClientSession() as http:
        async with sandbox_process(state_dir, speed=60) as (proc, ready):
            api = Api(http, ready)
            await api.fetch_token()
            rows = [{"Last_Name": f"R{i}", "Email": f"r{i}@x.test"} for i in range(7)]
            assert (await api.call("POST", "/crm/v8/Contacts", json={"data": rows}))[0] == 201
            file_id = await upload(api, 40)
            query = {"module": {"api_name": "Contacts"}, "fields": ["Last_Name", "Email"]}
            status, body = await api.call("POST", "/crm/bulk/v8/read", json={"query": query})
            assert status == 201, body
            read_id = str(body["data"][0]["details"]["id"])
            before = await read_job(api, read_id)
            exported = await result(api, read_id)
            status, body = await api.call("POST", "/crm/bulk/v8/read", json={"query": query})
            pending = str(body["data"][0]["details"]["id"])  # killed before it completes
            assert body["data"][0]["details"]["state"] == "ADDED"
            kill9(proc)
        async with sandbox_process(state_dir, speed=60) as (proc, again):
            api = Api(http, again, api.token)
            after = await read_job(api, read_id)
            assert after == before  # the job, its state and result
            assert await result(api, read_id) == exported
            assert (await read_job(api, pending))["result"]["count"] == 7
            job = {
                "operation": "insert",
                "resource": [
                    {"type": "data", "module": {"api_name": "Contacts"}, "file_id": file_id}
                ],
            }
            status, body = await api.call("POST", "/crm/bulk/v8/write", json=job)
            assert status == 201, body  # the file uploaded before the kill is still there
            done = await api.until_completed(str(body["details"]["id"]))
            assert done["resource"][0]["file"]["added_count"] == 40
