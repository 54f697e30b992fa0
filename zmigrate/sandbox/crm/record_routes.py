"""CRM record routes: list, get, count, insert, update, upsert, delete, search, COQL and
lead conversion, with ``page_token`` paging. Each handler takes the `CrmProduct` it serves."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from zmigrate import quotas
from zmigrate.sandbox.core import Reply, read_json, zoho_json

from . import wire
from .catalog import OrgModule as Module
from .coql_run import run_coql
from .query import Compare, Group, Node, QueryError, matches, parse_coql, parse_criteria
from .routing import field_list, int_param, op, reply, write_reply

if TYPE_CHECKING:
    from .api import CrmProduct

PAGE_TOKEN_LIFETIME = quotas.DAY
PAGE_TOKEN_MAX = 100_000
"""Records reachable through page_token before PAGINATION_LIMIT_EXCEEDED."""
MAX_FIELDS = 50
SEARCH_MAX = 2_000
SORTABLE = ("id", "Created_Time", "Modified_Time")


@op("get")
async def list_records(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    q = request.query
    if "ids" in q:
        return _records_by_id(crm, mod, q)
    fields = _list_fields(q)
    per_page = int_param(q, "per_page", quotas.CRM_PAGE_MAX, quotas.CRM_PAGE_MAX)
    now = crm.now()
    asked = _Asked(per_page, ",".join(sorted(fields)))
    at = (
        _page_from_token(q, mod, now, asked)
        if "page_token" in q
        else _page_from_number(q, per_page)
    )
    ordered = crm.store.ordered(mod.api_name, at.sort_by, at.descending)
    window = list(islice(ordered, at.offset, at.offset + per_page + 1))
    recs = window[:per_page]
    if not recs:
        return web.Response(status=204)
    info = _page_info(mod, at, asked, len(recs), len(window) > per_page, now)
    data = [crm.store.render(mod, r, fields) for r in recs]
    return zoho_json({"data": data, "info": info})


def _records_by_id(crm: CrmProduct, mod: Module, q: Mapping[str, str]) -> web.StreamResponse:
    """``GET /{module}?ids=..``: the records found, in the order asked."""
    ids = [i for i in q["ids"].split(",") if i][: quotas.CRM_WRITE_MAX]
    recs = [r for i in ids if (r := crm.store.find(mod.api_name, i)) is not None]
    fields = field_list(q["fields"]) if "fields" in q else None
    if not recs:
        return web.Response(status=204)
    data = [crm.store.render(mod, r, fields) for r in recs]
    info = {"per_page": len(data), "count": len(data), "page": 1, "more_records": False}
    return zoho_json({"data": data, "info": info})


@op("get")
async def get_record(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    rec = crm.store.find(mod.api_name, request.match_info["id"])
    if rec is None:
        return web.Response(status=204)
    fields = field_list(request.query["fields"]) if request.query.get("fields") else None
    return zoho_json({"data": [crm.store.render(mod, rec, fields)]})


@op("get")
async def count(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    return zoho_json({"count": str(len(crm.store.records[mod.api_name]))})


@op("insert")
async def insert(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    rows, _ = await crm.read_rows(request)
    items = crm.store.insert(mod, rows, crm.now())
    return write_reply(items, 201)


@op("update")
async def update(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    rows, _ = await crm.read_rows(request)
    return write_reply(crm.store.update(mod, rows, crm.now()), 200)


@op("update")
async def update_one(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    rows, _ = await crm.read_rows(request)
    items = crm.store.update(mod, rows[:1], crm.now(), request.match_info["id"])
    return write_reply(items, 200)


@op("upsert")
async def upsert(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    rows, body = await crm.read_rows(request)
    asked = body.get("duplicate_check_fields")
    if asked is not None:
        bad = (
            [f for f in asked if f == "id" or f not in crm.store.key_fields(mod)]
            if isinstance(asked, list)
            else [asked]
        )
        if bad:
            raise reply(
                wire.error(
                    "INVALID_DATA",
                    wire.MSG_INVALID_DATA,
                    {
                        "api_name": "duplicate_check_fields",
                        "json_path": "$.duplicate_check_fields",
                    },
                )
            )
    return write_reply(crm.store.upsert(mod, rows, crm.now(), asked), 200)


@op("delete")
async def delete(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    ids = [i for i in request.query.get("ids", "").split(",") if i]
    if not ids:
        raise reply(
            wire.error(
                "REQUIRED_PARAM_MISSING",
                wire.MSG_PARAM_MISSING,
                {"param_name": "ids", "param": "ids"},
            )
        )
    if len(ids) > quotas.CRM_WRITE_MAX:
        raise reply(
            wire.error("LIMIT_EXCEEDED", wire.MSG_RECORD_LIMIT, {"limit": quotas.CRM_WRITE_MAX})
        )
    return write_reply(crm.store.delete(mod, ids), 200)


@op("delete")
async def delete_one(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    return write_reply(crm.store.delete(mod, [request.match_info["id"]]), 200)


@op("search")
async def search(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    mod = crm.module_of(request)
    q = request.query
    try:
        node = _search_filter(q, mod)
    except QueryError as exc:
        raise reply(exc.body) from None
    per_page = int_param(q, "per_page", quotas.CRM_PAGE_MAX, quotas.CRM_PAGE_MAX)
    page = int_param(q, "page", 1, None)
    offset = (page - 1) * per_page
    if offset + per_page > SEARCH_MAX:
        raise reply(wire.error("LIMIT_EXCEEDED", "Record count exceeded", {"limit": SEARCH_MAX}))
    hits = (r for r in crm.store.ordered(mod.api_name) if matches(node, r))
    window = list(islice(hits, offset, offset + per_page + 1))
    recs = window[:per_page]
    if not recs:
        return web.Response(status=204)
    fields = field_list(q["fields"]) if q.get("fields") else None
    data = [crm.store.render(mod, r, fields) for r in recs]
    more = len(window) > per_page and offset + per_page < SEARCH_MAX
    info = {"per_page": per_page, "count": len(recs), "page": page, "more_records": more}
    return zoho_json({"data": data, "info": info})


# ---- COQL and conversion ------------------------------------------------------------
@op("coql")
async def coql(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    text = body.get("select_query") if isinstance(body, dict) else None
    try:
        query = parse_coql(text, crm.store.module)
    except QueryError as exc:
        raise reply(exc.body) from None
    records = crm.store.records[query.module.api_name].values()
    data, more = run_coql(query, records, crm.store.find)
    if not data:
        return web.Response(status=204)
    return zoho_json({"data": data, "info": {"count": len(data), "more_records": more}})


@op("convert")
async def convert(crm: CrmProduct, request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    rows = body.get("data") if isinstance(body, dict) else None
    first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
    status, out = crm.store.convert_lead(request.match_info["id"], first, crm.now())
    code = out.get("code") or (out.get("data") or [{}])[0].get("code") if status >= 400 else None
    return zoho_json(out, status, code)


@dataclass(frozen=True)
class _Asked:
    """What a listing asked for besides its position; a page token is good only for the
    same (Zoho's page tokens are tied to the query that issued them)."""

    per_page: int
    fields: str


@dataclass(frozen=True)
class PagePosition:
    """Where a record listing starts, and its order (a page number or a page token)."""

    offset: int
    page: int
    sort_by: str
    descending: bool


def _invalid_param(name: str, value: str) -> Reply:
    return reply(
        wire.error("INVALID_DATA", wire.MSG_INVALID_DATA, {"param_name": name, "param": value})
    )


def _list_fields(q: Mapping[str, str]) -> list[str]:
    """The required ``fields`` of a listing, at most MAX_FIELDS."""
    if not q.get("fields"):
        raise reply(
            wire.error(
                "REQUIRED_PARAM_MISSING",
                wire.MSG_PARAM_MISSING,
                {"param_name": "fields", "param": "fields"},
            )
        )
    fields = field_list(q["fields"])
    if len(fields) > MAX_FIELDS:
        raise reply(
            wire.error(
                "LIMIT_EXCEEDED",
                "Max field limit exceeded",
                {"limit": MAX_FIELDS, "param_name": "fields"},
            )
        )
    return fields


def _sort_order(q: Mapping[str, str]) -> tuple[str, bool]:
    """(``sort_by``, descending): ``id`` ascending unless asked; a sort defaults to DESC."""
    sort_by = q.get("sort_by", "id")
    if sort_by not in SORTABLE:
        raise _invalid_param("sort_by", sort_by)
    return sort_by, q.get("sort_order", "desc" if "sort_by" in q else "asc") == "desc"


def _page_from_token(q: Mapping[str, str], mod: Module, now: float, asked: _Asked) -> PagePosition:
    """The position a ``page_token`` carries. ``page`` with it is refused, and so is the
    token with a ``per_page``, ``fields`` or sort other than those it was issued for."""
    sort_by, descending = _sort_order(q)
    if "page" in q:
        raise _invalid_param("page", q["page"])
    at = _read_token(q["page_token"], mod.api_name, now, asked)
    if at is None or ("sort_by" in q and (sort_by, descending) != (at.sort_by, at.descending)):
        raise _invalid_param("page_token", q["page_token"])
    if at.offset >= PAGE_TOKEN_MAX:
        raise reply(
            wire.error(
                "PAGINATION_LIMIT_EXCEEDED",
                "pagination limit exceeded",
                {"limit": PAGE_TOKEN_MAX},
            )
        )
    return at


def _page_from_number(q: Mapping[str, str], per_page: int) -> PagePosition:
    """The position of ``page`` (within the first 2,000 records, Zoho's discrete limit)."""
    sort_by, descending = _sort_order(q)
    page = int_param(q, "page", 1, None)
    offset = (page - 1) * per_page
    if offset + per_page > quotas.CRM_DISCRETE_PAGE_LIMIT:
        raise reply(
            wire.error(
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "cannot fetch records beyond 2000 without page_token; use page_token",
                {"limit": quotas.CRM_DISCRETE_PAGE_LIMIT},
            )
        )
    return PagePosition(offset, page, sort_by, descending)


def _page_info(
    mod: Module, at: PagePosition, asked: _Asked, count: int, more: bool, now: float
) -> dict[str, Any]:
    """A listing's ``info``, with page tokens to the next and previous pages."""
    per_page = asked.per_page
    info: dict[str, Any] = {
        "per_page": per_page,
        "count": count,
        "page": at.page,
        "sort_by": at.sort_by,
        "sort_order": "desc" if at.descending else "asc",
        "more_records": more,
        "page_token_expiry": wire.format_time(now + PAGE_TOKEN_LIFETIME),
    }
    if more:
        after = PagePosition(at.offset + per_page, at.page + 1, at.sort_by, at.descending)
        info["next_page_token"] = _make_token(mod.api_name, after, now, asked)
    if at.offset > 0:
        before = PagePosition(
            max(0, at.offset - per_page), max(1, at.page - 1), at.sort_by, at.descending
        )
        info["previous_page_token"] = _make_token(mod.api_name, before, now, asked)
    return info


def _search_filter(q: Mapping[str, str], mod: Module) -> Node:
    """The filter of a Search Records call: ``criteria``, ``email``/``phone`` (equal in any
    field of that type) or ``word`` (in any writable text-like field)."""
    if "criteria" in q:
        return parse_criteria(q["criteria"], mod)
    if "email" in q or "phone" in q:
        kind = "email" if "email" in q else "phone"
        wanted = q[kind].lower()
        return Group(
            "or", tuple(Compare(f, "eq", wanted) for f in mod.fields if f.data_type == kind)
        )
    if "word" in q:
        word = q["word"].lower()
        return Group(
            "or",
            tuple(
                Compare(f, "contains", word)
                for f in mod.fields
                if f.data_type in ("text", "email", "phone", "textarea") and not f.read_only
            ),
        )
    raise reply(
        wire.error(
            "REQUIRED_PARAM_MISSING",
            wire.MSG_PARAM_MISSING,
            {"param_name": "criteria", "param": "criteria"},
        )
    )


def _make_token(module: str, at: PagePosition, now: float, asked: _Asked) -> str:
    raw = {
        "n": asked.per_page,
        "f": asked.fields,
        "m": module,
        "o": at.offset,
        "p": at.page,
        "s": at.sort_by,
        "d": at.descending,
        "x": now + PAGE_TOKEN_LIFETIME,
    }
    return base64.urlsafe_b64encode(orjson.dumps(raw)).decode().rstrip("=")


def _read_token(token: str, module: str, now: float, asked: _Asked) -> PagePosition | None:
    """The position in a live page token of ``module`` issued for ``asked``, else None."""
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or not {"m", "o", "p", "s", "d", "x"} <= set(raw):
        return None
    if (
        raw["m"] != module
        or raw["x"] < now
        or (raw.get("n"), raw.get("f"))
        != (
            asked.per_page,
            asked.fields,
        )
    ):
        return None
    return PagePosition(raw["o"], raw["p"], raw["s"], raw["d"])
