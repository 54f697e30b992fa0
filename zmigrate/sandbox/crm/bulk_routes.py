"""CRM Bulk Write and Bulk Read routes: file upload, jobs, their status and result zips
(at most DOWNLOADS_PER_MINUTE Bulk Read downloads a minute). Jobs themselves run in `bulk`."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import TYPE_CHECKING, Any

from aiohttp import web

from zmigrate import quotas
from zmigrate.sandbox.core import read_json, zoho_json

from . import bulk, wire
from .query import QueryError, bulk_criteria
from .routing import op, reply
from .store import CrmStore

if TYPE_CHECKING:
    from .api import CrmProduct

DOWNLOADS_PER_MINUTE = 10


# ---- Bulk Write ------------------------------------------------------------------------
@op("upload")
async def upload(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    if (
        request.headers.get("feature") != "bulk-write"
        or request.headers.get("X-CRM-ORG") != crm.org_id
    ):
        body = {
            "ERROR_CODE": 400,
            "ERROR_MESSAGE": "Bad Request",
            "x-error": "check if headers [feature, X-CRM-ORG] are present and valid",
            "http_status": "400",
        }
        return zoho_json(body, 400, "HEADERS_INVALID")
    data = b""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        part = form.get("file")
        if isinstance(part, web.FileField):
            data = part.file.read()
    if len(data) > bulk.MAX_UPLOAD_BYTES:
        body = wire.error("FILE_TOO_LARGE", "File size too large to process", {})
        return zoho_json(body, 413, "FILE_TOO_LARGE")
    try:
        name, content, rows = await asyncio.to_thread(bulk.read_upload, data)  # off the loop
    except bulk.BulkError as exc:
        return zoho_json(exc.body, exc.status, exc.body["code"])
    upload = bulk.Upload(crm.store.new_id(), name, content, rows, wire.format_time(crm.now()))
    crm.uploads[upload.file_id] = upload
    meta = {"name": name, "rows": rows, "created_time": upload.created_time}
    crm.sandbox.journal.put("crm.upload", upload.file_id, meta)
    crm.sandbox.journal.put("crm.blob", f"upload/{upload.file_id}", content)
    details = {"file_id": int(upload.file_id), "created_time": upload.created_time}
    body = {
        "status": "success",
        "code": "FILE_UPLOAD_SUCCESS",
        "message": "file uploaded.",
        "details": details,
    }
    return zoho_json(body)


@op("bulk_write")
async def create_write_job(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    try:
        job = bulk.plan_write(body, crm.store, crm.uploads, crm.store.new_id(), crm.now())
    except bulk.BulkError as exc:
        return zoho_json(exc.body, exc.status, exc.body["code"])
    crm.write_jobs[job.id] = job
    crm.sandbox.journal.put("crm.write_job", job.id, job.saved())
    crm.run(job)
    details = {"id": job.id, "created_by": {"id": crm.user["id"], "name": crm.user["name"]}}
    return zoho_json(
        {"status": "success", "code": "SUCCESS", "message": "success", "details": details}, 201
    )


@op("get")
async def get_write_job(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    job = crm.write_jobs.get(request.match_info["job_id"])
    if job is None:
        raise reply(
            wire.error(
                "RESOURCE_NOT_FOUND",
                "The requested resource doesn't exist.",
                {"resource": "job_id"},
            )
        )
    url = f"{crm.sandbox.urls['content']}/v2/crm/{crm.org_id}/bulk-write/{job.id}/{job.id}.zip"
    return zoho_json(job.as_json(crm.user, url))


@op("download")
async def write_result(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    job = crm.write_jobs.get(request.match_info["job_id"])
    if job is None or job.result is None or request.match_info["org"] != crm.org_id:
        raise reply(
            wire.error(
                "RESOURCE_NOT_FOUND",
                "The requested resource doesn't exist.",
                {"resource": "job_id"},
            )
        )
    return _zip_response(job.result, f"{job.id}.zip")


# ---- Bulk Read -------------------------------------------------------------------------
@op("bulk_read")
async def create_read_job(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, dict):
        raise reply(wire.error("REQUEST_BODY_IS_EMPTY", "request body is empty", {}))
    name = str((query.get("module") or {}).get("api_name", ""))
    mod = crm.store.modules.get(name)
    if mod is None or not mod.records_api:
        raise reply(wire.error("MODULE_NOT_SUPPORTED", f"the module {name} is not supported", {}))
    fields = query.get("fields") or [f.api_name for f in mod.fields]
    unknown = [f for f in fields if not isinstance(f, str) or mod.field(f) is None]
    if unknown:
        raise reply(
            {
                "data": [
                    wire.error(
                        "FIELD_NOT_AVAILABLE",
                        "field not available",
                        {"api_name": str(unknown[0])},
                    )
                ]
            }
        )
    page = query.get("page", 1)
    if "page_token" in query:
        page = _read_page_token(str(query["page_token"]), mod.api_name)
    if not isinstance(page, int) or page < 1:
        raise reply(wire.error("INVALID_REQUEST", "invalid page", {"api_name": "page"}))
    criteria = None
    if query.get("criteria") is not None:
        try:
            criteria = bulk_criteria(query["criteria"], mod)
        except QueryError as exc:
            raise reply(exc.body) from None
    echo = {
        "module": {"api_name": mod.api_name, "id": mod.id},
        "fields": fields,
        "page": page,
    }
    if query.get("criteria") is not None:
        echo["criteria"] = query["criteria"]
    job = bulk.ReadJob(
        crm.store.new_id(), mod, fields, criteria, echo, page, wire.format_time(crm.now())
    )
    crm.read_jobs[job.id] = job
    crm.sandbox.journal.put("crm.read_job", job.id, job.saved())
    crm.run(job)
    item = {
        "status": "success",
        "code": "ADDED_SUCCESSFULLY",
        "message": "Added successfully.",
        "details": job.details(crm.user),
    }
    return zoho_json({"data": [item], "info": {}}, 201)


@op("get")
async def get_read_job(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    job = crm.read_jobs.get(request.match_info["job_id"])
    if job is None:
        raise reply(
            wire.error(
                "RESOURCE_NOT_FOUND",
                "The requested resource doesn't exist.",
                {"resource": "job_id"},
            ),
            404,
        )
    token = _page_token_for(job.module.api_name, job.page + 1)
    return zoho_json({"data": [job.as_json(crm.user, token)]})


@op("download")
async def read_result(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    job = crm.read_jobs.get(request.match_info["job_id"])
    if job is None or job.result is None:
        raise reply(
            wire.error(
                "RESOURCE_NOT_FOUND",
                "The requested resource doesn't exist.",
                {"resource": "job_id"},
            )
        )
    now = crm.now()
    while crm.downloads and crm.downloads[0] <= now - quotas.MINUTE:
        crm.downloads.popleft()
    if len(crm.downloads) >= DOWNLOADS_PER_MINUTE:
        return crm.throttled("downloads", DOWNLOADS_PER_MINUTE)
    crm.downloads.append(now)
    return _zip_response(job.result, f"{job.id}.zip")


def saved_read_job(data: dict[str, Any], result: bytes | None, store: CrmStore) -> bulk.ReadJob:
    """A journaled Bulk Read job; one that had not completed starts again."""
    mod = store.modules[data["module"]]
    criteria = data["query"].get("criteria")
    job = bulk.ReadJob(
        data["id"],
        mod,
        data["fields"],
        bulk_criteria(criteria, mod) if criteria is not None else None,
        data["query"],
        data["page"],
        data["created_time"],
    )
    if data["state"] == "COMPLETED" and result is not None:
        job.state, job.result = "COMPLETED", result
        job.count, job.more_records = data["count"], data["more_records"]
    return job


def _page_token_for(module: str, page: int) -> str:
    return base64.urlsafe_b64encode(f"bulk:{module}:{page}".encode()).decode().rstrip("=")


def _read_page_token(token: str, module: str) -> int:
    try:
        kind, mod, page = (
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        )
        if kind == "bulk" and mod == module:
            return int(page)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    return 0


def _zip_response(data: bytes, name: str) -> web.Response:
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
