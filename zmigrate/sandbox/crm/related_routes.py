"""CRM related records on a parent: notes and attachments, in CRM v8's wire format.

- ``GET /crm/v8/{module}/{id}/Notes?fields=`` and ``POST …/Notes`` (``{"data": [notes]}``,
  the parent taken from the path);
- ``POST /crm/v8/{module}/{id}/Attachments`` (multipart ``file``; over
  ``ATTACHMENT_MAX_BYTES`` → 413 ``FILE_SIZE_MORE_THAN_ALLOWED_SIZE``), ``GET …/Attachments
  ?fields=`` (the related list: ``File_Name``, ``Size``, ``Parent_Id``, ``$se_module``, …)
  ``GET …/Attachments/{attachment_id}`` (the file's bytes) and ``DELETE`` of it.

Notes are records of the Notes module (``Parent_Id`` + ``$se_module``); attachments live in
:class:`Attachments`, journaled with their bytes so they survive ``kill -9``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from zmigrate import quotas
from zmigrate.sandbox.core import zoho_json
from zmigrate.sandbox.journal import Journal
from zmigrate.schema.related import ATTACHMENT_MAX_BYTES

from . import wire
from .catalog import OrgModule as Module
from .routing import Handler, field_list, int_param, op, reply, write_reply

if TYPE_CHECKING:
    from .api import CrmProduct

MSG_RELATED_ID = "the related id given seems to be invalid"
MSG_FILE_SIZE = "Please check if the size of the file is in the correct range"
MSG_UPLOADED = "attachment uploaded successfully"
CHUNK = 1 << 16


@dataclass
class Attachments:
    """Files attached to records: metadata by id, bytes in the journal's blobs."""

    journal: Journal
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    content: dict[str, bytes] = field(default_factory=dict)

    def add(self, meta: dict[str, Any], data: bytes) -> None:
        self.meta[meta["id"]] = meta
        self.content[meta["id"]] = data
        self.journal.put("crm.blob", f"attach/{meta['id']}", data)
        self.journal.put("crm.attach", meta["id"], meta)

    def remove(self, att_id: str) -> None:
        self.meta.pop(att_id, None)
        self.content.pop(att_id, None)
        self.journal.delete("crm.attach", att_id)
        self.journal.delete("crm.blob", f"attach/{att_id}")

    def on(self, parent: str) -> list[dict[str, Any]]:
        """The attachments of one parent record, oldest first."""
        return [m for m in self.meta.values() if m["Parent_Id"] == parent]

    def restore(self) -> None:
        for att_id, meta in sorted(self.journal.rows("crm.attach")):
            self.meta[att_id] = meta
            self.content[att_id] = self.journal.get("crm.blob", f"attach/{att_id}", b"")


def add_routes(router: web.UrlDispatcher, bind: Callable[[Handler], Any]) -> None:
    """The related-record routes, bound to the CRM product by ``bind``."""
    router.add_get("/crm/v8/{module}/{id}/Notes", bind(get_notes))
    router.add_post("/crm/v8/{module}/{id}/Notes", bind(add_notes))
    router.add_get("/crm/v8/{module}/{id}/Attachments", bind(get_attachments))
    router.add_post("/crm/v8/{module}/{id}/Attachments", bind(upload_attachment))
    router.add_get("/crm/v8/{module}/{id}/Attachments/{attachment_id}", bind(download))
    router.add_delete("/crm/v8/{module}/{id}/Attachments/{attachment_id}", bind(delete))


def _parent(crm: CrmProduct, request: web.Request) -> tuple[Module, str]:
    """The parent module and record of the path, or 400 ``INVALID_DATA`` naming the id."""
    mod = crm.module_of(request)
    rid = request.match_info["id"]
    if crm.store.find(mod.api_name, rid) is None:
        raise reply(wire.error("INVALID_DATA", MSG_RELATED_ID, {"resource_path_index": 1}))
    return mod, rid


def _fields(request: web.Request) -> list[str]:
    """``fields`` is required by v8's related lists (400 ``REQUIRED_PARAM_MISSING``)."""
    fields = field_list(request.query.get("fields", ""))
    if not fields:
        raise reply(
            wire.error(
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "fields"},
            )
        )
    return fields


def _page(request: web.Request, rows: list[dict[str, Any]]) -> web.StreamResponse:
    """One page of a related list (204 when empty), ``page``/``per_page`` ≤ 200."""
    q = request.query
    per_page = int_param(q, "per_page", quotas.CRM_PAGE_MAX, quotas.CRM_PAGE_MAX)
    page = int_param(q, "page", 1, None)
    start = (page - 1) * per_page
    part = rows[start : start + per_page]
    if not part:
        return web.Response(status=204)
    more = start + per_page < len(rows)
    info = {"per_page": per_page, "count": len(part), "page": page, "more_records": more}
    return zoho_json({"data": part, "info": info})


@op("get")
async def get_notes(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod, rid = _parent(crm, request)
    fields = _fields(request)
    notes = crm.store.modules["Notes"]
    rows = [
        crm.store.render(notes, r, fields)
        for r in crm.store.ordered("Notes")
        if r.get("Parent_Id") == rid and r.get("$se_module") == mod.api_name
    ]
    return _page(request, rows)


@op("insert")
async def add_notes(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod, rid = _parent(crm, request)
    rows, _ = await crm.read_rows(request)
    parent = {"module": {"api_name": mod.api_name}, "id": rid}
    rows = [{**r, "Parent_Id": parent} if isinstance(r, dict) else r for r in rows]
    return write_reply(crm.store.insert(crm.store.modules["Notes"], rows, crm.now()), 201)


@op("get")
async def get_attachments(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod, rid = _parent(crm, request)
    fields = _fields(request)
    rows = [_shown(crm, m, fields) for m in crm.attachments.on(rid)]
    return _page(request, rows)


def _shown(crm: CrmProduct, meta: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """An attachment as the related list shows it (users and parent as references)."""
    user = crm.store.user_by_id(meta["Owner"]) or {}
    by = {"name": user.get("full_name"), "id": meta["Owner"], "email": user.get("email")}
    parent_mod = crm.store.modules[meta["$se_module"]]
    parent = crm.store.find(parent_mod.api_name, meta["Parent_Id"]) or {}
    full = {
        "Owner": by,
        "Modified_Time": meta["Modified_Time"],
        "File_Name": meta["File_Name"],
        "Created_Time": meta["Created_Time"],
        "Size": str(meta["Size"]),
        "Parent_Id": {"name": parent.get(parent_mod.display_field), "id": meta["Parent_Id"]},
        "$editable": True,
        "$file_id": meta["$file_id"],
        "$type": "File",
        "$se_module": meta["$se_module"],
        "Modified_By": by,
        "$state": "save",
        "Created_By": by,
    }
    shown = {k: v for k, v in full.items() if k in fields or k.startswith("$")}
    return {**shown, "id": meta["id"]}


@op("upload_attachment")
async def upload_attachment(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod, rid = _parent(crm, request)
    name, data = await _file_part(request)
    now = crm.now()
    stamp = wire.format_time(now)
    att_id = crm.store.new_id()
    meta = {
        "id": att_id,
        "File_Name": name,
        "Size": len(data),
        "Parent_Id": rid,
        "$se_module": mod.api_name,
        "$file_id": f"sandbox{att_id}",
        "Owner": crm.user["id"],
        "Created_Time": stamp,
        "Modified_Time": stamp,
    }
    crm.attachments.add(meta, data)
    by = {"name": crm.user["name"], "id": crm.user["id"]}
    details = {
        "Modified_Time": stamp,
        "Modified_By": by,
        "Created_Time": stamp,
        "id": att_id,
        "Created_By": by,
    }
    item = {"code": "SUCCESS", "details": details, "message": MSG_UPLOADED, "status": "success"}
    return write_reply([item], 200)


async def _file_part(request: web.Request) -> tuple[str, bytes]:
    """The multipart ``file`` part (name, bytes), read up to Zoho's size limit."""
    missing = wire.error("MANDATORY_NOT_FOUND", wire.MSG_MANDATORY, {"param_name": "file"})
    if not request.content_type.startswith("multipart/"):
        raise reply(missing)
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue
        data = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            data += chunk
            if len(data) > ATTACHMENT_MAX_BYTES:
                body = wire.error("FILE_SIZE_MORE_THAN_ALLOWED_SIZE", MSG_FILE_SIZE)
                raise reply(body, 413)
        return part.filename or "file", bytes(data)
    raise reply(missing)


@op("get")
async def download(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    _, rid = _parent(crm, request)
    meta = crm.attachments.meta.get(request.match_info["attachment_id"])
    if meta is None or meta["Parent_Id"] != rid:
        body = wire.error("INVALID_DATA", wire.MSG_INVALID_ID, {"resource_path_index": 3})
        raise reply(body)
    headers = {"Content-Disposition": f'attachment; filename="{meta["File_Name"]}"'}
    return web.Response(
        body=crm.attachments.content[meta["id"]],
        content_type="application/octet-stream",
        headers=headers,
    )


@op("delete")
async def delete(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    """One attachment deleted; one already gone answers ``INVALID_DATA`` with its id."""
    _, rid = _parent(crm, request)
    att_id = request.match_info["attachment_id"]
    meta = crm.attachments.meta.get(att_id)
    if meta is None or meta["Parent_Id"] != rid:
        return write_reply([wire.invalid_id(att_id)], 200)
    crm.attachments.remove(att_id)
    done = {"code": "SUCCESS", "details": {"id": att_id}, "message": "record deleted"}
    return write_reply([{**done, "status": "success"}], 200)
