"""CRM metadata routes: org, users, modules and fields (bodies built by `metadata`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from zmigrate import quotas
from zmigrate.sandbox.core import zoho_json
from zmigrate.schema import CRM_MODULES

from . import metadata, wire
from .routing import op, reply
from .store import crm_module

if TYPE_CHECKING:
    from .api import CrmProduct


@op("metadata")
async def get_org(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    org = metadata.org_json(crm.org_id, crm.user, crm.edition.name, crm.users)
    return zoho_json({"org": [org]})


@op("metadata")
async def get_users(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    users = [metadata.user_json(crm.user, crm.created)]
    info = {"per_page": quotas.CRM_PAGE_MAX, "count": 1, "page": 1, "more_records": False}
    return zoho_json({"users": users, "info": info})


@op("metadata")
async def get_modules(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mods = [metadata.module_json(m, crm.user, crm.created) for m in CRM_MODULES.values()]
    return zoho_json({"modules": mods})


@op("metadata")
async def get_module(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm_module(request.match_info["api_name"])
    if mod is None:
        return web.Response(status=204)
    body = metadata.module_json(mod, crm.user, crm.created)
    body["fields"] = [metadata.field_json(mod, f, crm.created) for f in mod.fields]
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
    mod = crm_module(name)
    if mod is None:
        raise reply(
            wire.error(
                "INVALID_DATA", wire.MSG_INVALID_DATA, {"param_name": "module", "param": name}
            )
        )
    return zoho_json({"fields": [metadata.field_json(mod, f, crm.created) for f in mod.fields]})
