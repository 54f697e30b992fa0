"""Zoho CRM v8 on the sandbox: records, COQL, lead conversion, metadata, Bulk Write/Read.

The product plugs into the sandbox core (`zmigrate.sandbox.core.Product`). Admission
(`CrmProduct.admit`) charges the call's credits by the card's table over a rolling 24 h
window and takes a slot from the edition's concurrency pool, plus one from the
sub-concurrency pool of 10 for Zoho's resource-intensive calls. Refusals:

- concurrency / sub-concurrency: ``TOO_MANY_REQUESTS`` with HTTP 429, or HTTP 400 when the
  sandbox runs with ``crm_throttle_status=400`` (as some integrations see it);
- credits: HTTP 429 ``LIMIT_EXCEEDED`` with ``details.limit`` (the 24 h budget).

Paths: api host ``/crm/v8/...`` and ``/crm/bulk/v8/{write,read}``; content host
``POST /crm/v8/upload`` (headers ``feature: bulk-write`` and ``X-CRM-ORG``) and the Bulk
Write result ``/v2/crm/{org}/bulk-write/{job}/{job}.zip`` (absolute ``download_url``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, ClassVar

import orjson
from aiohttp import web

from zmigrate import quotas
from zmigrate.sandbox.core import Admission, Failure, Product, Reply, read_json, zoho_json
from zmigrate.sandbox.journal import Journal
from zmigrate.schema import CRM_MODULES, Module

from . import bulk, metadata, wire
from .credits import CreditLedger, Pool, is_heavy, operation_cost
from .query import (
    Compare,
    Group,
    Node,
    QueryError,
    bulk_criteria,
    matches,
    parse_coql,
    parse_criteria,
)
from .store import CrmStore, crm_module

Handler = Callable[["CrmProduct", web.Request], Awaitable[web.StreamResponse]]
PAGE_TOKEN_LIFETIME = quotas.DAY
PAGE_TOKEN_MAX = 100_000
"""Records reachable through page_token before PAGINATION_LIMIT_EXCEEDED."""
MAX_FIELDS = 50
SEARCH_MAX = 2_000
DOWNLOADS_PER_MINUTE = 10
SORTABLE = ("id", "Created_Time", "Modified_Time")


def reply(body: Any, status: int = 400) -> Reply:
    """Answer at once with a CRM JSON body (error codes are counted by the core)."""
    code = body.get("code") if isinstance(body, dict) else None
    return Reply(zoho_json(body, status, code if status >= 400 else None))


def op(name: str) -> Callable[[Handler], Handler]:
    """Tag a handler with the operation admission charges it as."""

    def tag(fn: Handler) -> Handler:
        fn.crm_op = name  # type: ignore[attr-defined]
        return fn

    return tag


def write_status(items: list[dict[str, Any]], all_ok: int) -> int:
    ok = sum(1 for i in items if i.get("status") == "success")
    return all_ok if ok == len(items) else 400 if ok == 0 else 207


class CrmProduct(Product):
    """One CRM org: its records, credits, concurrency pools and bulk jobs."""

    name: ClassVar[str] = "crm"
    api_prefixes: ClassVar[tuple[str, ...]] = ("/crm/v8", "/crm/bulk/v8")
    content_prefixes: ClassVar[tuple[str, ...]] = ("/crm/v8/upload", "/v2/crm")
    scope_prefixes: ClassVar[tuple[str, ...]] = ("ZohoCRM.", "ZohoFiles.")
    accepts_bearer: ClassVar[bool] = True

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox)
        config = sandbox.config
        self.edition = quotas.crm_edition(config.crm_edition)
        self.users = config.crm_users
        self.org_id = sandbox.credentials.organization_id
        self.user = {
            "id": str(wire.ID_BASE + 5),
            "name": "Sandbox Admin",
            "email": "crmsandbox@zmgrt.com",
        }
        self.created = wire.format_time(sandbox.clock.now())
        self._fresh()

    def _fresh(self) -> None:
        journal = self.sandbox.journal
        self.store = CrmStore(self.user, journal)
        self.ledger = CreditLedger(
            self.sandbox.clock, self.edition.daily_credits(self.users), journal
        )
        self.pool = Pool(self.edition.concurrency)
        self.sub_pool = Pool(self.edition.sub_concurrency)
        self.refused: Counter[str] = Counter()
        self.uploads: dict[str, bulk.Upload] = {}
        self.write_jobs: dict[str, bulk.WriteJob] = {}
        self.read_jobs: dict[str, bulk.ReadJob] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.downloads: deque[float] = deque()
        self.unfinished: list[bulk.WriteJob | bulk.ReadJob] = []
        """Journaled jobs a restart found not completed: run again from the start."""

    # ---- plug-in interface -------------------------------------------------------------
    def add_routes(self, api: web.Application, content: web.Application) -> None:
        r = api.router
        h = self._bind
        r.add_get("/crm/v8/org", h(CrmProduct.get_org))
        r.add_get("/crm/v8/users", h(CrmProduct.get_users))
        r.add_get("/crm/v8/settings/modules", h(CrmProduct.get_modules))
        r.add_get("/crm/v8/settings/modules/{api_name}", h(CrmProduct.get_module))
        r.add_get("/crm/v8/settings/fields", h(CrmProduct.get_fields))
        r.add_post("/crm/v8/coql", h(CrmProduct.coql))
        r.add_post("/crm/v8/Leads/{id}/actions/convert", h(CrmProduct.convert))
        r.add_post("/crm/bulk/v8/write", h(CrmProduct.create_write_job))
        r.add_get("/crm/bulk/v8/write/{job_id}", h(CrmProduct.get_write_job))
        r.add_post("/crm/bulk/v8/read", h(CrmProduct.create_read_job))
        r.add_get("/crm/bulk/v8/read/{job_id}", h(CrmProduct.get_read_job))
        r.add_get("/crm/bulk/v8/read/{job_id}/result", h(CrmProduct.read_result))
        r.add_get("/crm/v8/{module}/search", h(CrmProduct.search))
        r.add_post("/crm/v8/{module}/upsert", h(CrmProduct.upsert))
        r.add_get("/crm/v8/{module}/actions/count", h(CrmProduct.count))
        r.add_get("/crm/v8/{module}", h(CrmProduct.list_records))
        r.add_post("/crm/v8/{module}", h(CrmProduct.insert))
        r.add_put("/crm/v8/{module}", h(CrmProduct.update))
        r.add_delete("/crm/v8/{module}", h(CrmProduct.delete))
        r.add_get("/crm/v8/{module}/{id}", h(CrmProduct.get_record))
        r.add_put("/crm/v8/{module}/{id}", h(CrmProduct.update_one))
        r.add_delete("/crm/v8/{module}/{id}", h(CrmProduct.delete_one))
        content.router.add_post("/crm/v8/upload", h(CrmProduct.upload))
        content.router.add_get(
            "/v2/crm/{org}/bulk-write/{job_id}/{name}", h(CrmProduct.write_result)
        )

    def _bind(self, fn: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await fn(self, request)

        handler.crm_op = getattr(fn, "crm_op", "get")  # type: ignore[attr-defined]
        return handler

    async def start(self) -> None:
        for job in self.unfinished:
            self._run(job)
        self.unfinished.clear()

    def _run(self, job: bulk.WriteJob | bulk.ReadJob) -> None:
        clock, commit = self.sandbox.clock, self.sandbox.commit
        if isinstance(job, bulk.WriteJob):
            self._spawn(bulk.run_write(job, self.store, clock, commit))
        else:
            self._spawn(bulk.run_read(job, self.store, clock, commit))

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def fail(self, failure: Failure, detail: str = "") -> web.Response:
        table = {
            Failure.MISSING_TOKEN: (401, "AUTHENTICATION_FAILURE", wire.MSG_AUTH_FAILED),
            Failure.MALFORMED_TOKEN: (401, "INVALID_TOKEN", wire.MSG_INVALID_TOKEN),
            Failure.INVALID_TOKEN: (401, "INVALID_TOKEN", wire.MSG_INVALID_TOKEN),
            Failure.BEARER_REFUSED: (401, "INVALID_TOKEN", wire.MSG_INVALID_TOKEN),
            Failure.WRONG_DC: (401, "INVALID_TOKEN", wire.MSG_INVALID_TOKEN),
            Failure.SCOPE_MISMATCH: (
                401,
                "OAUTH_SCOPE_MISMATCH",
                "invalid oauth scope to access this URL",
            ),
            Failure.UNKNOWN_URL: (404, "INVALID_URL_PATTERN", wire.MSG_INVALID_URL),
            Failure.METHOD_NOT_ALLOWED: (
                405,
                "INVALID_REQUEST_METHOD",
                "The http request method type is not a valid one",
            ),
            Failure.INTERNAL_ERROR: (500, "INTERNAL_ERROR", "Internal server error occurred."),
            Failure.MALFORMED_JSON: (400, "INVALID_DATA", wire.MSG_INVALID_DATA),
        }
        if failure is Failure.BODY_TOO_LARGE:
            limit = {"maximum_length": str(self.sandbox.config.max_body_bytes)}
            body = wire.error("INVALID_DATA", wire.MSG_INVALID_DATA, limit)
            return zoho_json(body, 413, "INVALID_DATA")
        status, code, message = table[failure]
        return zoho_json(wire.error(code, message), status, code)

    def scope_allows(self, scopes: tuple[str, ...], request: web.Request) -> bool:
        """Zoho's scope families: ``ZohoCRM.<family>.<ALL|action>``, e.g. records need
        ``ZohoCRM.modules.ALL`` (or ``.READ`` for a GET, ``.CREATE`` for a POST, ...), COQL
        ``ZohoCRM.coql.READ``, bulk jobs ``ZohoCRM.bulk.*``, uploads ``ZohoFiles.files.*``.
        Module-specific scopes (``ZohoCRM.modules.leads.ALL``) count for every module."""
        family, fixed = _scope_family(request.path)
        # COQL is a POST that reads, Bulk Write job details a GET that needs CREATE; other
        # methods go on to be answered 405.
        action = fixed or SCOPE_ACTIONS.get(request.method)
        for scope in (s.lower() for s in scopes):
            if scope.startswith(family) and (
                action is None or scope.rsplit(".", 1)[-1] in ("all", action)
            ):
                return True
        return False

    async def admit(self, request: web.Request) -> Admission:
        operation = getattr(request.match_info.handler, "crm_op", None)
        if operation is None:
            return Admission()
        records, limit = 0, 0
        try:
            if operation in ("insert", "update", "upsert"):
                records = await _count_records(request)
            elif operation == "coql":
                limit = await _coql_limit(request)
        except web.HTTPRequestEntityTooLarge:
            return Admission(self.fail(Failure.BODY_TOO_LARGE))
        sorted_get = operation == "get" and ("sort_by" in request.query or "cvid" in request.query)
        heavy = is_heavy(operation, records, sorted_get)
        if not self.pool.try_take():
            return Admission(self._throttled("concurrency", self.pool.limit))
        if heavy and not self.sub_pool.try_take():
            self.pool.release()
            return Admission(self._throttled("sub_concurrency", self.sub_pool.limit))
        cost = operation_cost(operation, records, limit)
        if self.ledger.reserve(operation, cost) is not None:
            self.pool.release()
            if heavy:
                self.sub_pool.release()
            self.refused["credits"] += 1
            body = wire.error(
                "LIMIT_EXCEEDED", "API credits exhausted", {"limit": self.ledger.budget}
            )
            return Admission(zoho_json(body, 429, "LIMIT_EXCEEDED"))

        def release() -> None:
            self.pool.release()
            if heavy:
                self.sub_pool.release()

        return Admission(release=release)

    def _throttled(self, pool: str, limit: int) -> web.Response:
        self.refused[pool] += 1
        status = self.sandbox.config.crm_throttle_status
        body = wire.error("TOO_MANY_REQUESTS", "too many requests", {"limit": limit, "type": pool})
        return zoho_json(body, status, "TOO_MANY_REQUESTS")

    def counts(self) -> dict[str, int]:
        return self.store.counts()

    def state(self) -> dict[str, Any]:
        jobs = Counter(j.state for j in self.write_jobs.values())
        reads = Counter(j.state for j in self.read_jobs.values())
        return {
            "edition": self.edition.name,
            "users": self.users,
            "credits": {
                "budget": self.ledger.budget,
                "used_24h": self.ledger.used(),
                "total": self.ledger.total,
                "by_operation": dict(self.ledger.by_operation),
            },
            "concurrency": {
                "limit": self.pool.limit,
                "current": self.pool.current,
                "peak": self.pool.peak,
            },
            "sub_concurrency": {
                "limit": self.sub_pool.limit,
                "current": self.sub_pool.current,
                "peak": self.sub_pool.peak,
            },
            "refused": dict(self.refused),
            "records": self.store.counts(),
            "bulk_write_jobs": dict(jobs),
            "bulk_read_jobs": dict(reads),
        }

    def records(self, module: str, query: Mapping[str, str]) -> list[dict[str, Any]] | None:
        mod = crm_module(module)
        if mod is None:
            return None
        return [self.store.render(mod, r) for r in self.store.records[mod.api_name].values()]

    def reset(self) -> None:
        for task in self.tasks:
            task.cancel()
        self._fresh()
        self.sandbox.journal.clear("crm.")

    def restore(self, journal: Journal) -> None:
        self.store.restore()
        self.ledger.restore()
        for file_id, meta in journal.rows("crm.upload"):
            content = journal.get("crm.blob", f"upload/{file_id}", b"")
            self.uploads[file_id] = bulk.Upload(
                file_id, meta["name"], content, meta["rows"], meta["created_time"]
            )
        for job_id, data in sorted(journal.rows("crm.write_job")):
            upload = self.uploads.get(data["file_id"])
            if upload is None:
                continue
            result = journal.get("crm.blob", f"write/{job_id}")
            job = bulk.WriteJob.from_saved(data, upload, result)
            self.write_jobs[job_id] = job
            if job.state != "COMPLETED":
                self.unfinished.append(job)
        for job_id, data in sorted(journal.rows("crm.read_job")):
            read = self._read_job(data, journal.get("crm.blob", f"read/{job_id}"))
            self.read_jobs[job_id] = read
            if read.state != "COMPLETED":
                self.unfinished.append(read)

    @staticmethod
    def _read_job(data: dict[str, Any], result: bytes | None) -> bulk.ReadJob:
        """A journaled Bulk Read job; one that had not completed starts again."""
        mod = CRM_MODULES[data["module"]]
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

    # ---- helpers -----------------------------------------------------------------------
    def _module(self, request: web.Request) -> Module:
        mod = crm_module(request.match_info["module"])
        if mod is None:
            raise reply(
                wire.error("INVALID_MODULE", wire.MSG_INVALID_MODULE, {"resource_path_index": 0})
            )
        return mod

    def _now(self) -> float:
        return self.sandbox.clock.now()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _rows(self, request: web.Request) -> tuple[list[Any], dict[str, Any]]:
        body = await read_json(request)
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows:
            raise reply(
                wire.error(
                    "MANDATORY_NOT_FOUND",
                    wire.MSG_MANDATORY,
                    {"api_name": "data", "json_path": "$.data"},
                )
            )
        if len(rows) > quotas.CRM_WRITE_MAX:
            raise reply(
                wire.error("LIMIT_EXCEEDED", wire.MSG_RECORD_LIMIT, {"limit": quotas.CRM_WRITE_MAX})
            )
        return rows, body

    # ---- metadata ----------------------------------------------------------------------
    @op("metadata")
    async def get_org(self, request: web.Request) -> web.StreamResponse:
        org = metadata.org_json(self.org_id, self.user, self.edition.name, self.users)
        return zoho_json({"org": [org]})

    @op("metadata")
    async def get_users(self, request: web.Request) -> web.StreamResponse:
        users = [metadata.user_json(self.user, self.created)]
        info = {"per_page": quotas.CRM_PAGE_MAX, "count": 1, "page": 1, "more_records": False}
        return zoho_json({"users": users, "info": info})

    @op("metadata")
    async def get_modules(self, request: web.Request) -> web.StreamResponse:
        mods = [metadata.module_json(m, self.user, self.created) for m in CRM_MODULES.values()]
        return zoho_json({"modules": mods})

    @op("metadata")
    async def get_module(self, request: web.Request) -> web.StreamResponse:
        mod = crm_module(request.match_info["api_name"])
        if mod is None:
            return web.Response(status=204)
        body = metadata.module_json(mod, self.user, self.created)
        body["fields"] = [metadata.field_json(mod, f, self.created) for f in mod.fields]
        return zoho_json({"modules": [body]})

    @op("metadata")
    async def get_fields(self, request: web.Request) -> web.StreamResponse:
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
        return zoho_json(
            {"fields": [metadata.field_json(mod, f, self.created) for f in mod.fields]}
        )

    # ---- records -----------------------------------------------------------------------
    @op("get")
    async def list_records(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        q = request.query
        if "ids" in q:
            return self._records_by_id(mod, q)
        fields = _list_fields(q)
        per_page = _int_param(q, "per_page", quotas.CRM_PAGE_MAX, quotas.CRM_PAGE_MAX)
        now = self._now()
        at = _page_from_token(q, mod, now) if "page_token" in q else _page_from_number(q, per_page)
        ordered = self.store.ordered(mod.api_name, at.sort_by, at.descending)
        window = list(islice(ordered, at.offset, at.offset + per_page + 1))
        recs = window[:per_page]
        if not recs:
            return web.Response(status=204)
        info = _page_info(mod, at, per_page, len(recs), len(window) > per_page, now)
        data = [self.store.render(mod, r, fields) for r in recs]
        return zoho_json({"data": data, "info": info})

    def _records_by_id(self, mod: Module, q: Mapping[str, str]) -> web.StreamResponse:
        """``GET /{module}?ids=..``: the records found, in the order asked."""
        ids = [i for i in q["ids"].split(",") if i][: quotas.CRM_WRITE_MAX]
        recs = [r for i in ids if (r := self.store.find(mod.api_name, i)) is not None]
        fields = _fields(q["fields"]) if "fields" in q else None
        if not recs:
            return web.Response(status=204)
        data = [self.store.render(mod, r, fields) for r in recs]
        info = {"per_page": len(data), "count": len(data), "page": 1, "more_records": False}
        return zoho_json({"data": data, "info": info})

    @op("get")
    async def get_record(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        rec = self.store.find(mod.api_name, request.match_info["id"])
        if rec is None:
            return web.Response(status=204)
        fields = _fields(request.query["fields"]) if request.query.get("fields") else None
        return zoho_json({"data": [self.store.render(mod, rec, fields)]})

    @op("get")
    async def count(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        return zoho_json({"count": str(len(self.store.records[mod.api_name]))})

    @op("insert")
    async def insert(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        rows, _ = await self._rows(request)
        items = self.store.insert(mod, rows, self._now())
        return self._write_reply(items, 201)

    @op("update")
    async def update(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        rows, _ = await self._rows(request)
        return self._write_reply(self.store.update(mod, rows, self._now()), 200)

    @op("update")
    async def update_one(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        rows, _ = await self._rows(request)
        items = self.store.update(mod, rows[:1], self._now(), request.match_info["id"])
        return self._write_reply(items, 200)

    @op("upsert")
    async def upsert(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        rows, body = await self._rows(request)
        asked = body.get("duplicate_check_fields")
        if asked is not None:
            bad = (
                [f for f in asked if f == "id" or f not in self.store.key_fields(mod)]
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
        return self._write_reply(self.store.upsert(mod, rows, self._now(), asked), 200)

    def _write_reply(self, items: list[dict[str, Any]], all_ok: int) -> web.Response:
        status = write_status(items, all_ok)
        code = items[0]["code"] if status == 400 else None
        return zoho_json({"data": items}, status, code)

    @op("delete")
    async def delete(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
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
        return self._write_reply(self.store.delete(mod, ids), 200)

    @op("delete")
    async def delete_one(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        return self._write_reply(self.store.delete(mod, [request.match_info["id"]]), 200)

    @op("search")
    async def search(self, request: web.Request) -> web.StreamResponse:
        mod = self._module(request)
        q = request.query
        try:
            node = _search_filter(q, mod)
        except QueryError as exc:
            raise reply(exc.body) from None
        per_page = _int_param(q, "per_page", quotas.CRM_PAGE_MAX, quotas.CRM_PAGE_MAX)
        page = _int_param(q, "page", 1, None)
        offset = (page - 1) * per_page
        if offset + per_page > SEARCH_MAX:
            raise reply(
                wire.error("LIMIT_EXCEEDED", "Record count exceeded", {"limit": SEARCH_MAX})
            )
        hits = (r for r in self.store.ordered(mod.api_name) if matches(node, r))
        window = list(islice(hits, offset, offset + per_page + 1))
        recs = window[:per_page]
        if not recs:
            return web.Response(status=204)
        fields = _fields(q["fields"]) if q.get("fields") else None
        data = [self.store.render(mod, r, fields) for r in recs]
        more = len(window) > per_page and offset + per_page < SEARCH_MAX
        info = {"per_page": per_page, "count": len(recs), "page": page, "more_records": more}
        return zoho_json({"data": data, "info": info})

    # ---- COQL and conversion ------------------------------------------------------------
    @op("coql")
    async def coql(self, request: web.Request) -> web.StreamResponse:
        body = await read_json(request)
        text = body.get("select_query") if isinstance(body, dict) else None
        try:
            query = parse_coql(text)
        except QueryError as exc:
            raise reply(exc.body) from None
        mod = query.module
        hits = [
            r
            for r in self.store.records[mod.api_name].values()
            if query.where is None or matches(query.where, r)
        ]
        if query.count:
            return zoho_json(
                {"data": [{query.count: len(hits)}], "info": {"count": 1, "more_records": False}}
            )
        for name, descending in reversed(query.order):
            hits.sort(key=_nulls_last(name), reverse=descending)
        window = hits[query.offset : query.offset + query.limit]
        if not window:
            return web.Response(status=204)
        data = []
        for rec in window:
            row: dict[str, Any] = {}
            for name in query.select:
                f = mod.field(name)
                value = rec.get(name)
                row[name] = (
                    {"id": value}
                    if f and value is not None and f.data_type in ("lookup", "ownerlookup")
                    else value
                )
            row["id"] = rec["id"]
            data.append(row)
        more = len(hits) > query.offset + query.limit
        return zoho_json({"data": data, "info": {"count": len(data), "more_records": more}})

    @op("convert")
    async def convert(self, request: web.Request) -> web.StreamResponse:
        body = await read_json(request)
        rows = body.get("data") if isinstance(body, dict) else None
        first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        status, out = self.store.convert_lead(request.match_info["id"], first, self._now())
        code = (
            out.get("code") or (out.get("data") or [{}])[0].get("code") if status >= 400 else None
        )
        return zoho_json(out, status, code)

    # ---- Bulk Write ------------------------------------------------------------------------
    @op("upload")
    async def upload(self, request: web.Request) -> web.StreamResponse:
        if (
            request.headers.get("feature") != "bulk-write"
            or request.headers.get("X-CRM-ORG") != self.org_id
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
            name, content, rows = bulk.read_upload(data)
        except bulk.BulkError as exc:
            return zoho_json(exc.body, exc.status, exc.body["code"])
        upload = bulk.Upload(
            self.store.new_id(), name, content, rows, wire.format_time(self._now())
        )
        self.uploads[upload.file_id] = upload
        meta = {"name": name, "rows": rows, "created_time": upload.created_time}
        self.sandbox.journal.put("crm.upload", upload.file_id, meta)
        self.sandbox.journal.put("crm.blob", f"upload/{upload.file_id}", content)
        details = {"file_id": int(upload.file_id), "created_time": upload.created_time}
        body = {
            "status": "success",
            "code": "FILE_UPLOAD_SUCCESS",
            "message": "file uploaded.",
            "details": details,
        }
        return zoho_json(body)

    @op("bulk_write")
    async def create_write_job(self, request: web.Request) -> web.StreamResponse:
        body = await read_json(request)
        try:
            job = bulk.plan_write(body, self.store, self.uploads, self.store.new_id(), self._now())
        except bulk.BulkError as exc:
            return zoho_json(exc.body, exc.status, exc.body["code"])
        self.write_jobs[job.id] = job
        self.sandbox.journal.put("crm.write_job", job.id, job.saved())
        self._run(job)
        details = {"id": job.id, "created_by": {"id": self.user["id"], "name": self.user["name"]}}
        return zoho_json(
            {"status": "success", "code": "SUCCESS", "message": "success", "details": details}, 201
        )

    @op("get")
    async def get_write_job(self, request: web.Request) -> web.StreamResponse:
        job = self.write_jobs.get(request.match_info["job_id"])
        if job is None:
            raise reply(
                wire.error(
                    "RESOURCE_NOT_FOUND",
                    "The requested resource doesn't exist.",
                    {"resource": "job_id"},
                )
            )
        url = (
            f"{self.sandbox.urls['content']}/v2/crm/{self.org_id}/bulk-write/{job.id}/{job.id}.zip"
        )
        return zoho_json(job.as_json(self.user, url))

    @op("download")
    async def write_result(self, request: web.Request) -> web.StreamResponse:
        job = self.write_jobs.get(request.match_info["job_id"])
        if job is None or job.result is None or request.match_info["org"] != self.org_id:
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
    async def create_read_job(self, request: web.Request) -> web.StreamResponse:
        body = await read_json(request)
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, dict):
            raise reply(wire.error("REQUEST_BODY_IS_EMPTY", "request body is empty", {}))
        name = str((query.get("module") or {}).get("api_name", ""))
        mod = CRM_MODULES.get(name)
        if mod is None:
            raise reply(
                wire.error("MODULE_NOT_SUPPORTED", f"the module {name} is not supported", {})
            )
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
            "module": {"api_name": mod.api_name, "id": CrmStore.module_id(mod.api_name)},
            "fields": fields,
            "page": page,
        }
        if query.get("criteria") is not None:
            echo["criteria"] = query["criteria"]
        job = bulk.ReadJob(
            self.store.new_id(), mod, fields, criteria, echo, page, wire.format_time(self._now())
        )
        self.read_jobs[job.id] = job
        self.sandbox.journal.put("crm.read_job", job.id, job.saved())
        self._run(job)
        item = {
            "status": "success",
            "code": "ADDED_SUCCESSFULLY",
            "message": "Added successfully.",
            "details": job.details(self.user),
        }
        return zoho_json({"data": [item], "info": {}}, 201)

    @op("get")
    async def get_read_job(self, request: web.Request) -> web.StreamResponse:
        job = self.read_jobs.get(request.match_info["job_id"])
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
        return zoho_json({"data": [job.as_json(self.user, token)]})

    @op("download")
    async def read_result(self, request: web.Request) -> web.StreamResponse:
        job = self.read_jobs.get(request.match_info["job_id"])
        if job is None or job.result is None:
            raise reply(
                wire.error(
                    "RESOURCE_NOT_FOUND",
                    "The requested resource doesn't exist.",
                    {"resource": "job_id"},
                )
            )
        now = self._now()
        while self.downloads and self.downloads[0] <= now - quotas.MINUTE:
            self.downloads.popleft()
        if len(self.downloads) >= DOWNLOADS_PER_MINUTE:
            return self._throttled("downloads", DOWNLOADS_PER_MINUTE)
        self.downloads.append(now)
        return _zip_response(job.result, f"{job.id}.zip")


# ---- small pure helpers ----------------------------------------------------------------------
SCOPE_ACTIONS = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}
SCOPE_FAMILIES = (
    ("/crm/v8/org", "zohocrm.org.", None),
    ("/crm/v8/users", "zohocrm.users.", None),
    ("/crm/v8/settings", "zohocrm.settings.", None),
    ("/crm/v8/coql", "zohocrm.coql.", "read"),
    ("/crm/v8/upload", "zohofiles.files.", None),
    ("/crm/bulk/v8/write", "zohocrm.bulk.", "create"),
    ("/v2/crm/", "zohocrm.bulk.", "create"),
    ("/crm/bulk/v8/read", "zohocrm.bulk.", "read"),
)


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
    fields = _fields(q["fields"])
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


def _page_from_token(q: Mapping[str, str], mod: Module, now: float) -> PagePosition:
    """The position a ``page_token`` carries (its sort wins over the query's)."""
    _sort_order(q)
    if "page" in q:
        raise _invalid_param("page", q["page"])
    at = _read_token(q["page_token"], mod.api_name, now)
    if at is None:
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
    page = _int_param(q, "page", 1, None)
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
    mod: Module, at: PagePosition, per_page: int, count: int, more: bool, now: float
) -> dict[str, Any]:
    """A listing's ``info``, with page tokens to the next and previous pages."""
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
        info["next_page_token"] = _make_token(mod.api_name, after, now)
    if at.offset > 0:
        before = PagePosition(
            max(0, at.offset - per_page), max(1, at.page - 1), at.sort_by, at.descending
        )
        info["previous_page_token"] = _make_token(mod.api_name, before, now)
    return info


def _scope_family(path: str) -> tuple[str, str | None]:
    """(scope prefix, the action it needs whatever the method) for a CRM path."""
    return next(
        ((fam, action) for prefix, fam, action in SCOPE_FAMILIES if path.startswith(prefix)),
        ("zohocrm.modules.", None),
    )


async def _count_records(request: web.Request) -> int:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return 0
    rows = body.get("data") if isinstance(body, dict) else None
    return len(rows) if isinstance(rows, list) else 0


async def _coql_limit(request: web.Request) -> int:
    try:
        body = orjson.loads(await request.read())
        return parse_coql(body["select_query"]).limit
    except (orjson.JSONDecodeError, QueryError, KeyError, TypeError):
        return 0


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


def _nulls_last(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    """COQL ORDER BY key on ``name``: empty values after the others (before when DESC)."""

    def key(rec: dict[str, Any]) -> tuple[bool, Any]:
        value = rec.get(name)
        return value is None, value if value is not None else ""

    return key


def _fields(raw: str) -> list[str]:
    return [f.strip() for f in raw.split(",") if f.strip()]


def _int_param(q: Mapping[str, str], name: str, default: int, maximum: int | None) -> int:
    raw = q.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        raise reply(
            wire.error("INVALID_DATA", wire.MSG_INVALID_DATA, {"param_name": name, "param": raw})
        )
    return value


def _make_token(module: str, at: PagePosition, now: float) -> str:
    raw = {
        "m": module,
        "o": at.offset,
        "p": at.page,
        "s": at.sort_by,
        "d": at.descending,
        "x": now + PAGE_TOKEN_LIFETIME,
    }
    return base64.urlsafe_b64encode(orjson.dumps(raw)).decode().rstrip("=")


def _read_token(token: str, module: str, now: float) -> PagePosition | None:
    """The position in a live page token of ``module``, else None."""
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or not {"m", "o", "p", "s", "d", "x"} <= set(raw):
        return None
    if raw["m"] != module or raw["x"] < now:
        return None
    return PagePosition(raw["o"], raw["p"], raw["s"], raw["d"])


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
