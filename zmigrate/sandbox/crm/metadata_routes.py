"""CRM metadata routes: org, users, modules and fields (bodies built by `metadata`, schema
changes checked by `schema_changes`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from zmigrate import quotas
from zmigrate.sandbox.core import read_json, zoho_json

from . import metadata, schema_changes, wire
from .catalog import UserType
from .routing import int_param, op, reply

if TYPE_CHECKING:
    from .api import CrmProduct


@op("metadata")
async def get_org(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    org = metadata.org_json(crm.org_id, crm.user, crm.edition.name, crm.users)
    return zoho_json({"org": [org]})


@op("metadata")
async def get_users(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    """Users of one ``type`` (default all), ``page``/``per_page`` (≤ 200), or ``ids``."""
    q = request.query
    try:
        kind = UserType(q.get("type", UserType.ALL.value))
    except ValueError:
        details = {"param_name": "type", "param": q.get("type", "")}
        raise reply(wire.error("INVALID_DATA", wire.MSG_INVALID_DATA, details)) from None
    page = int_param(q, "page", 1, None)
    per_page = int_param(q, "per_page", quotas.CRM_PAGE_MAX, quotas.CRM_PAGE_MAX)
    users = [u for u in crm.store.users if kind.admits(u, crm.user["id"])]
    if "ids" in q:
        wanted = set(q["ids"].split(","))
        users = [u for u in users if u["id"] in wanted]
    shown, more = schema_changes.page_of(users, page, per_page)
    if not shown:
        return web.Response(status=204)
    info = {"per_page": per_page, "count": len(shown), "page": page, "more_records": more}
    return zoho_json({"users": [metadata.user_json(u, crm.created) for u in shown], "info": info})


@op("metadata")
async def create_users(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    status, body = schema_changes.create_users(crm.store, await read_json(request), crm.users)
    return _answer(status, body)


@op("metadata")
async def get_modules(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    admin = crm.store.users[0]
    mods = [
        metadata.module_json(m, i, admin, crm.created)
        for i, m in enumerate(crm.store.modules.values())
    ]
    return zoho_json({"modules": mods})


@op("create_module")
async def create_module(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    status, answer = schema_changes.create_module(crm.store, body, crm.edition.name)
    return _answer(status, answer)


@op("metadata")
async def get_module(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.store.module(request.match_info["api_name"])
    if mod is None:
        return web.Response(status=204)
    index = list(crm.store.modules).index(mod.api_name)
    body = metadata.module_json(mod, index, crm.store.users[0], crm.created)
    modules = crm.store.modules
    body["fields"] = [metadata.field_json(mod, f, crm.created, modules) for f in mod.fields]
    return zoho_json({"modules": [body]})


@op("metadata")
async def get_fields(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    name = request.query.get("module")
    if not name:
        raise reply(
            wire.error(
                "REQUIRED_PARAM_MISSING",
                wire.MSG_PARAM_MISSING,
                {"param_name": "module", "param": "module"},
            )
        )
    mod = crm.store.module(name)
    if mod is None:
        raise reply(
            wire.error(
                "INVALID_DATA", wire.MSG_INVALID_DATA, {"param_name": "module", "param": name}
            )
        )
    modules = crm.store.modules
    fields = [metadata.field_json(mod, f, crm.created, modules) for f in mod.fields]
    return zoho_json({"fields": fields})


@op("metadata")
async def create_fields(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    status, answer = schema_changes.create_fields(crm.store, request.query.get("module"), body)
    return _answer(status, answer)


def _answer(status: int, body: dict[str, object]) -> web.StreamResponse:
    """A schema change's answer; errors are counted by their first code."""
    if status < 400:
        return zoho_json(body, status)
    items = next((v for v in body.values() if isinstance(v, list)), [body])
    first = items[0] if items and isinstance(items[0], dict) else body
    return zoho_json(body, status, str(first.get("code")))
