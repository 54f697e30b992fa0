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

The handlers live by concern in ``record_routes``, ``bulk_routes`` and ``metadata_routes``;
the route table below binds each to this product.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from aiohttp import web

from zmigrate import quotas
from zmigrate.errors import UsageError
from zmigrate.sandbox.core import Admission, Failure, Product, read_json, zoho_json
from zmigrate.sandbox.journal import Journal

from . import bulk, bulk_routes, metadata_routes, record_routes, related_routes, wire
from .bulk_routes import saved_read_job
from .catalog import OrgModule as Module
from .catalog import SchemaError, builtin_modules, snapshot_modules, snapshot_users, user_meta
from .credits import CreditLedger, Pool, is_heavy, operation_cost
from .query import ModuleLookup, QueryError, parse_coql
from .routing import OPERATIONS, Handler, reply
from .store import CrmStore

if TYPE_CHECKING:
    from zmigrate.sandbox.app import Sandbox


class CrmProduct(Product):
    """One CRM org: its records, credits, concurrency pools and bulk jobs."""

    name: ClassVar[str] = "crm"
    api_prefixes: ClassVar[tuple[str, ...]] = ("/crm/v8", "/crm/bulk/v8")
    content_prefixes: ClassVar[tuple[str, ...]] = ("/crm/v8/upload", "/v2/crm")
    scope_prefixes: ClassVar[tuple[str, ...]] = ("ZohoCRM.", "ZohoFiles.")
    accepts_bearer: ClassVar[bool] = True

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox)
        config = sandbox.config
        self.edition = quotas.crm_edition(config.crm_edition)
        self.users = config.crm_users
        self.org_id = sandbox.credentials.organization_id
        count = min(config.crm_user_count, config.crm_users)
        self.modules, self.org_users = org_schema(config.schema, count)
        """The org's schema at start: built-in standard modules or the snapshot's."""
        admin = next((u for u in self.org_users if u.get("status") == "active"), self.org_users[0])
        self.user = {"id": admin["id"], "name": admin["full_name"], "email": admin["email"]}
        """The token's owner: the org's first active user (default owner, Created_By)."""
        self.created = wire.format_time(sandbox.clock.now())
        self.operations: dict[Callable[..., object], str] = {}
        """Operation of each bound route handler, for admission (None: not a CRM route)."""
        self._fresh()

    def _fresh(self) -> None:
        journal = self.sandbox.journal
        self.store = CrmStore(
            self.user,
            journal,
            list(self.modules),
            [dict(u) for u in self.org_users],
            self.sandbox.config.strict_fields,
        )
        self.ledger = CreditLedger(
            self.sandbox.clock, self.edition.daily_credits(self.users), journal
        )
        self.pool = Pool(self.edition.concurrency)
        self.sub_pool = Pool(self.edition.sub_concurrency)
        self.refused: Counter[str] = Counter()
        self.uploads: dict[str, bulk.Upload] = {}
        self.write_jobs: dict[str, bulk.WriteJob] = {}
        self.read_jobs: dict[str, bulk.ReadJob] = {}
        self.attachments = related_routes.Attachments(journal)
        self.tasks: set[asyncio.Task[None]] = set()
        self.downloads: deque[float] = deque()
        self.unfinished: list[bulk.WriteJob | bulk.ReadJob] = []
        """Journaled jobs a restart found not completed: run again from the start."""

    # ---- plug-in interface -------------------------------------------------------------
    def add_routes(self, api: web.Application, content: web.Application) -> None:
        r = api.router
        h = self._bind
        r.add_get("/crm/v8/org", h(metadata_routes.get_org))
        r.add_get("/crm/v8/users", h(metadata_routes.get_users))
        r.add_post("/crm/v8/users", h(metadata_routes.create_users))
        r.add_get("/crm/v8/settings/modules", h(metadata_routes.get_modules))
        r.add_post("/crm/v8/settings/modules", h(metadata_routes.create_module))
        r.add_get("/crm/v8/settings/modules/{api_name}", h(metadata_routes.get_module))
        r.add_get("/crm/v8/settings/fields", h(metadata_routes.get_fields))
        r.add_post("/crm/v8/settings/fields", h(metadata_routes.create_fields))
        r.add_post("/crm/v8/coql", h(record_routes.coql))
        r.add_post("/crm/v8/Leads/{id}/actions/convert", h(record_routes.convert))
        r.add_post("/crm/bulk/v8/write", h(bulk_routes.create_write_job))
        r.add_get("/crm/bulk/v8/write/{job_id}", h(bulk_routes.get_write_job))
        r.add_post("/crm/bulk/v8/read", h(bulk_routes.create_read_job))
        r.add_get("/crm/bulk/v8/read/{job_id}", h(bulk_routes.get_read_job))
        r.add_get("/crm/bulk/v8/read/{job_id}/result", h(bulk_routes.read_result))
        related_routes.add_routes(r, h)
        r.add_get("/crm/v8/{module}/search", h(record_routes.search))
        r.add_post("/crm/v8/{module}/upsert", h(record_routes.upsert))
        r.add_get("/crm/v8/{module}/actions/count", h(record_routes.count))
        r.add_get("/crm/v8/{module}", h(record_routes.list_records))
        r.add_post("/crm/v8/{module}", h(record_routes.insert))
        r.add_put("/crm/v8/{module}", h(record_routes.update))
        r.add_delete("/crm/v8/{module}", h(record_routes.delete))
        r.add_get("/crm/v8/{module}/{id}", h(record_routes.get_record))
        r.add_put("/crm/v8/{module}/{id}", h(record_routes.update_one))
        r.add_delete("/crm/v8/{module}/{id}", h(record_routes.delete_one))
        content.router.add_post("/crm/v8/upload", h(bulk_routes.upload))
        content.router.add_get(
            "/v2/crm/{org}/bulk-write/{job_id}/{name}", h(bulk_routes.write_result)
        )

    def _bind(self, fn: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await fn(self, request)

        self.operations[handler] = OPERATIONS.get(fn, "get")
        return handler

    async def start(self) -> None:
        for job in self.unfinished:
            self.run(job)
        self.unfinished.clear()

    def run(self, job: bulk.WriteJob | bulk.ReadJob) -> None:
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
        operation = self.operations.get(request.match_info.handler)
        if operation is None:
            return Admission()
        records, limit = 0, 0
        try:
            if operation in ("insert", "update", "upsert"):
                records = await _count_records(request)
            elif operation == "coql":
                limit = await _coql_limit(request, self.store.module)
        except web.HTTPRequestEntityTooLarge:
            return Admission(self.fail(Failure.BODY_TOO_LARGE))
        sorted_get = operation == "get" and ("sort_by" in request.query or "cvid" in request.query)
        heavy = is_heavy(operation, records, sorted_get)
        if not self.pool.try_take():
            return Admission(self.throttled("concurrency", self.pool.limit))
        if heavy and not self.sub_pool.try_take():
            self.pool.release()
            return Admission(self.throttled("sub_concurrency", self.sub_pool.limit))
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

    def throttled(self, pool: str, limit: int) -> web.Response:
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
            "schema": {
                "modules": len(self.store.modules),
                "custom_fields": sum(
                    1 for m in self.store.modules.values() for f in m.fields if f.custom
                ),
                "users": len(self.store.users),
            },
            "bulk_write_jobs": dict(jobs),
            "bulk_write_most_behind": round(
                max((j.behind for j in self.write_jobs.values()), default=0.0), 1
            ),
            "bulk_read_jobs": dict(reads),
        }

    def records(self, module: str, query: Mapping[str, str]) -> list[dict[str, Any]] | None:
        if module == "Attachments":
            return list(self.attachments.meta.values())
        mod = self.store.module(module)
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
        self.attachments.restore()
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
            job = bulk.WriteJob.from_saved(data, upload, result, self.store.modules)
            self.write_jobs[job_id] = job
            if job.state != "COMPLETED":
                self.unfinished.append(job)
        for job_id, data in sorted(journal.rows("crm.read_job")):
            read = saved_read_job(data, journal.get("crm.blob", f"read/{job_id}"), self.store)
            self.read_jobs[job_id] = read
            if read.state != "COMPLETED":
                self.unfinished.append(read)

    # ---- helpers -----------------------------------------------------------------------
    def module_of(self, request: web.Request) -> Module:
        mod = self.store.module(request.match_info["module"])
        if mod is None or not mod.records_api:
            raise reply(
                wire.error("INVALID_MODULE", wire.MSG_INVALID_MODULE, {"resource_path_index": 0})
            )
        return mod

    def now(self) -> float:
        return self.sandbox.clock.now()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def read_rows(self, request: web.Request) -> tuple[list[Any], dict[str, Any]]:
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


# ---- small pure helpers ----------------------------------------------------------------------
def org_schema(path: str | None, users: int) -> tuple[list[Module], list[dict[str, Any]]]:
    """The org's modules and users: a snapshot file's, else the built-in standard modules
    and ``users`` generated users (the admin first)."""
    if path is None:
        return builtin_modules(), [user_meta(i, str(wire.ID_BASE + 5)) for i in range(users)]
    try:
        data = orjson.loads(Path(path).read_bytes())
        modules, org_users = snapshot_modules(data), snapshot_users(data)
    except OSError as e:
        raise UsageError(f"sandbox schema {path}: cannot read it ({e.strerror})") from None
    except orjson.JSONDecodeError as e:
        raise UsageError(f"sandbox schema {path}: not JSON ({e}); pull one again") from None
    except SchemaError as e:
        raise UsageError(f"sandbox schema {path}: {e}; pull one again") from None
    if not org_users:
        org_users = [user_meta(0, str(wire.ID_BASE + 5))]
    return modules, org_users


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


async def _coql_limit(request: web.Request, modules: ModuleLookup) -> int:
    try:
        body = orjson.loads(await request.read())
        return parse_coql(body["select_query"], modules).limit
    except (orjson.JSONDecodeError, QueryError, KeyError, TypeError):
        return 0
