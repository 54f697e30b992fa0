"""Zoho CRM v8: record writes, paged reads, search and COQL lookups, Bulk Write and Bulk Read.

Every call reserves its credits (costs from ``zmigrate.quotas``) and marks itself *heavy*
when Zoho counts it against the sub-concurrency pool of 10: search, COQL, sorted reads and
writes of more than 10 records. Reads page with ``page_token`` from the first page on, so an
export never stops at the 2,000 records that ``page`` alone can reach.

Bulk Write is split into steps (``upload`` → ``create_write_job`` → ``wait_write`` →
``write_result``) so a checkpoint can save the file and job ids between them and, after a
crash, poll a saved job instead of importing the file twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import FormData

from zmigrate import quotas
from zmigrate.auth import TokenSource
from zmigrate.client.bulk import iter_csv, unzip_csv, write_outcomes, zip_csv
from zmigrate.client.crm_wire import (
    coql_literal,
    escape_criteria,
    listed,
    page_of,
    parse_read_job,
    parse_write_job,
    write_results,
)
from zmigrate.client.http import Channel, Response, Transport
from zmigrate.client.models import BulkJob, BulkWriteResult, Page, RecordOutcome
from zmigrate.clock import Clock
from zmigrate.errors import RequestRejected, ServerError

HEAVY_WRITE_OVER = quotas.CRM_HEAVY_WRITE_OVER
"""Writes of more than this many records count against the sub-concurrency pool."""
POLL_FIRST, POLL_FACTOR, POLL_MAX = (
    quotas.BULK_POLL_FIRST,
    quotas.BULK_POLL_FACTOR,
    quotas.BULK_POLL_MAX,
)
"""Bulk Read polling: first wait, growth, longest wait (Zoho seconds)."""
WRITE_PROGRESS_COUNTS = ("added_count", "updated_count", "skipped_count")
"""A Bulk Write job's rows done so far, as its status counts them."""
POLL_TIMEOUT = 6 * 3600.0
"""Give up waiting for one bulk job after this long (Zoho seconds)."""

__all__ = [
    "HEAVY_WRITE_OVER",
    "CrmClient",
    "coql_literal",
    "escape_criteria",
    "write_results",
]


class CrmClient:
    """CRM calls for one org, through its CRM channel (credits, concurrency, sub-concurrency)."""

    def __init__(
        self,
        transport: Transport,
        channel: Channel,
        tokens: TokenSource,
        clock: Clock,
        version: str = "v8",
        org_id: str | None = None,
        downloads: Channel | None = None,
    ) -> None:
        """``downloads``: the CRM channel with a pacer of its own for bulk result files
        (Zoho serves 10 a minute); it shares the gates, credits and usage of ``channel``."""
        self.transport, self.channel, self.tokens, self.clock = transport, channel, tokens, clock
        self.version = version
        self.downloads = downloads or channel
        self._org_id = org_id

    @property
    def base(self) -> str:
        return f"/crm/{self.version}"

    @property
    def bulk_base(self) -> str:
        return f"/crm/bulk/{self.version}"

    async def _call(
        self,
        method: str,
        target: str,
        *,
        credits: int,
        content: bool = False,
        channel: Channel | None = None,
        **kw: Any,
    ) -> Response:
        """Call ``target``: an absolute URL, or a path on the API (or ``content``) host.

        The host is read after a token is at hand, since the token's ``api_domain`` names it.
        """
        if not target.startswith(("http://", "https://")):
            await self.tokens.token()
            target = (self.tokens.content_url if content else self.tokens.api_url) + target
        return await self.transport.request(
            channel or self.channel, method, target, credits=credits, **kw
        )

    # -- records ---------------------------------------------------------------------------

    async def insert(
        self, module: str, records: Sequence[Mapping[str, Any]], trigger: Sequence[str] = ()
    ) -> list[RecordOutcome]:
        """Create up to 100 records. Not idempotent: an ambiguous failure is raised, not resent."""
        body = {"data": list(records), "trigger": list(trigger)}
        return await self._write("POST", f"{self.base}/{module}", body, "insert", False)

    async def update(
        self, module: str, records: Sequence[Mapping[str, Any]], trigger: Sequence[str] = ()
    ) -> list[RecordOutcome]:
        """Update up to 100 records, each carrying its ``id``."""
        body = {"data": list(records), "trigger": list(trigger)}
        return await self._write("PUT", f"{self.base}/{module}", body, "update", True)

    async def upsert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        duplicate_check_fields: Sequence[str] = (),
        trigger: Sequence[str] = (),
        *,
        idempotent: bool = True,
    ) -> list[RecordOutcome]:
        """Insert or update up to 100 records, matched on ``duplicate_check_fields``.

        Safe to resend after an ambiguous failure: the second send updates what the first
        created, so it is retried like any idempotent call; unless the caller must know a
        send may have landed (``idempotent=False`` raises ``Unconfirmed``).
        """
        body: dict[str, Any] = {"data": list(records), "trigger": list(trigger)}
        if duplicate_check_fields:
            body["duplicate_check_fields"] = list(duplicate_check_fields)
        url = f"{self.base}/{module}/upsert"
        return await self._write("POST", url, body, "insert", idempotent)

    async def delete(self, module: str, ids: Sequence[str]) -> list[RecordOutcome]:
        """Delete up to 100 records in one call (``DELETE /{module}?ids=``), 1 credit.

        Idempotent (a record already gone answers INVALID_DATA with its id), so it is
        resent like any idempotent call after an ambiguous failure.
        """
        if not 1 <= len(ids) <= quotas.CRM_WRITE_MAX:
            raise RequestRejected(f"a CRM delete takes 1 to {quotas.CRM_WRITE_MAX} ids")
        resp = await self._call(
            "DELETE",
            f"{self.base}/{module}",
            params={"ids": ",".join(ids)},
            credits=quotas.CREDITS_GET,
        )
        return write_results(resp.body, len(ids), "delete")

    async def _write(
        self, method: str, url: str, body: dict[str, Any], action: str, idempotent: bool
    ) -> list[RecordOutcome]:
        count = len(body["data"])
        if not 1 <= count <= quotas.CRM_WRITE_MAX:
            raise RequestRejected(
                f"a CRM write takes 1 to {quotas.CRM_WRITE_MAX} records, got {count}; "
                "split the batch"
            )
        resp = await self._call(
            method,
            url,
            json=body,
            credits=quotas.write_credits(count),
            heavy=count > HEAVY_WRITE_OVER,
            idempotent=idempotent,
        )
        return write_results(resp.body, count, action)

    async def get_page(
        self,
        module: str,
        fields: Sequence[str],
        *,
        page_token: str | None = None,
        page: int | None = None,
        per_page: int = quotas.CRM_PAGE_MAX,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> Page:
        """One page of records (``fields`` is required by Zoho, at most 50)."""
        params = {"fields": ",".join(fields), "per_page": str(per_page)}
        if page_token:
            params["page_token"] = page_token
        elif page:
            params["page"] = str(page)
        if sort_by:
            params["sort_by"] = sort_by
            if sort_order:
                params["sort_order"] = sort_order
        resp = await self._call(
            "GET",
            f"{self.base}/{module}",
            params=params,
            credits=quotas.CREDITS_GET,
            heavy=bool(sort_by),
        )
        return page_of(resp, page or 1)

    async def iter_records(
        self, module: str, fields: Sequence[str], per_page: int = quotas.CRM_PAGE_MAX
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of ``module``, following ``next_page_token`` (never stops at 2,000)."""
        page = await self.get_page(module, fields, per_page=per_page)
        while True:
            for record in page.records:
                yield record
            if not page.more:
                return
            if page.next_page_token:
                page = await self.get_page(
                    module, fields, page_token=page.next_page_token, per_page=per_page
                )
            else:  # an API without tokens: plain page numbers (Zoho stops these at 2,000)
                page = await self.get_page(module, fields, page=page.page + 1, per_page=per_page)

    async def search(
        self,
        module: str,
        criteria: str,
        *,
        fields: Sequence[str] = (),
        page: int = 1,
        per_page: int = quotas.CRM_PAGE_MAX,
    ) -> Page:
        """One page of ``GET /{module}/search?criteria=...`` (no match: an empty page)."""
        params = {"criteria": criteria, "page": str(page), "per_page": str(per_page)}
        if fields:
            params["fields"] = ",".join(fields)
        resp = await self._call(
            "GET",
            f"{self.base}/{module}/search",
            params=params,
            credits=quotas.CREDITS_SEARCH,
            heavy=True,
        )
        return page_of(resp, page)

    async def find_by(
        self, module: str, field: str, value: object, fields: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Records whose ``field`` equals ``value`` (first page: a unique field has one)."""
        criteria = f"({field}:equals:{escape_criteria(value)})"
        return (await self.search(module, criteria, fields=fields)).records

    async def coql(self, query: str, *, limit: int = 200, offset: int = 0) -> Page:
        """Run ``select ... from ... where ...`` (no LIMIT clause: give ``limit``/``offset``)."""
        if not 1 <= limit <= 2_000:
            raise RequestRejected(f"COQL limit must be 1..2000, got {limit}")
        body = {"select_query": f"{query} limit {offset}, {limit}"}
        resp = await self._call(
            "POST",
            f"{self.base}/coql",
            json=body,
            credits=quotas.coql_credits(limit),
            heavy=True,
        )
        return page_of(resp, offset // limit + 1)

    async def org_id(self) -> str:
        """The CRM org id (``zgid``) that uploads name in ``X-CRM-ORG``; fetched once."""
        if self._org_id is None:
            resp = await self._call("GET", f"{self.base}/org", credits=quotas.CREDITS_METADATA)
            org = ((resp.body or {}).get("org") or [{}])[0]
            zgid = org.get("zgid") or org.get("id")
            if not zgid:
                raise ServerError("CRM /org answered without the org id (zgid)", body=resp.body)
            self._org_id = str(zgid)
        return self._org_id

    # -- metadata (zmigrate schema pull) ---------------------------------------------------

    async def settings_modules(self) -> list[dict[str, Any]]:
        """``GET /settings/modules``: every module of the org, custom ones included."""
        resp = await self._call(
            "GET", f"{self.base}/settings/modules", credits=quotas.CREDITS_METADATA
        )
        return listed(resp, "modules")

    async def settings_fields(self, module: str) -> list[dict[str, Any]]:
        """``GET /settings/fields?module=``: a module's fields (HTTP 204: none)."""
        resp = await self._call(
            "GET",
            f"{self.base}/settings/fields",
            params={"module": module},
            credits=quotas.CREDITS_METADATA,
        )
        return listed(resp, "fields")

    async def users(
        self, page: int = 1, user_type: str = "AllUsers", per_page: int = quotas.CRM_PAGE_MAX
    ) -> Page:
        """One page of ``GET /users?type=`` (AllUsers: active, inactive and deleted)."""
        params = {"type": user_type, "page": str(page), "per_page": str(per_page)}
        resp = await self._call(
            "GET", f"{self.base}/users", params=params, credits=quotas.CREDITS_METADATA
        )
        body = resp.body if isinstance(resp.body, dict) else {}
        info = body.get("info") or {}
        users = listed(resp, "users")
        return Page(users, bool(info.get("more_records")), None, int(info.get("page") or page))

    async def create_fields(
        self, module: str, fields: Sequence[Mapping[str, Any]], credits: int
    ) -> list[dict[str, Any]]:
        """``POST /settings/fields?module=`` (at most 5 fields): one result per field. Not
        idempotent: an ambiguous failure is raised (``Unconfirmed``), not resent."""
        resp = await self._call(
            "POST",
            f"{self.base}/settings/fields",
            params={"module": module},
            json={"fields": list(fields)},
            credits=credits,
            idempotent=False,
        )
        return listed(resp, "fields")

    # -- Bulk Write ------------------------------------------------------------------------

    async def upload(self, zip_bytes: bytes, filename: str = "data.zip") -> str:
        """Upload a zipped CSV to the content host; returns its ``file_id``."""
        org = await self.org_id()

        def form() -> FormData:
            body = FormData()
            body.add_field("file", zip_bytes, filename=filename, content_type="application/zip")
            return body

        resp = await self._call(
            "POST",
            f"/crm/{self.version}/upload",
            content=True,
            data=form,
            headers={"feature": "bulk-write", "X-CRM-ORG": org},
            credits=quotas.CREDITS_METADATA,
        )
        file_id = ((resp.body or {}).get("details") or {}).get("file_id")
        if not file_id:
            raise ServerError("CRM upload answered without a file_id", body=resp.body)
        return str(file_id)

    async def create_write_job(
        self,
        module: str,
        operation: str,
        file_id: str,
        field_mappings: Sequence[Mapping[str, Any]],
        find_by: str | None = None,
    ) -> str:
        """Start a Bulk Write job on an uploaded file; returns the job id (save it).

        Not retried after an ambiguous failure: a second job would import the file twice.
        """
        resource: dict[str, Any] = {
            "type": "data",
            "module": {"api_name": module},
            "file_id": file_id,
            "field_mappings": list(field_mappings),
        }
        if find_by:
            resource["find_by"] = find_by
        body = {"operation": operation, "resource": [resource]}
        resp = await self._call(
            "POST",
            f"{self.bulk_base}/write",
            json=body,
            credits=quotas.CREDITS_BULK_WRITE,
            idempotent=False,
        )
        job_id = ((resp.body or {}).get("details") or {}).get("id")
        if not job_id:
            raise ServerError("Bulk Write answered without a job id", body=resp.body)
        return str(job_id)

    async def write_job(self, job_id: str) -> BulkJob:
        """The current state of a Bulk Write job."""
        resp = await self._call(
            "GET", f"{self.bulk_base}/write/{job_id}", credits=quotas.CREDITS_GET
        )
        return parse_write_job(resp.body or {})

    async def wait_write(
        self, job_id: str, timeout: float = POLL_TIMEOUT, rows: int | None = None
    ) -> BulkJob:
        """Poll a Bulk Write job until it is COMPLETED or FAILED, just created with ``rows``
        rows: first at its predicted finish, then as its own progress predicts
        (``quotas.bulk_write_poll_wait``). Of unknown size or age (a job saved before a crash),
        it is polled at once, and its ``total_count`` then tells its size."""
        created = self.clock.now()
        deadline = created + timeout
        seen: list[tuple[float, int]] = []
        if rows is None:  # a saved job: its status says how big it is and how far it got
            job = await self.write_job(job_id)
            if job.done:
                return job
            rows = job.counts.get("total_count", quotas.CRM_BULK_WRITE_ROWS)
            seen.append((0.0, _write_progress(job)))
        while True:
            delay = quotas.bulk_write_poll_wait(rows, self.clock.now() - created, seen)
            if self.clock.now() + delay > deadline:
                raise ServerError(
                    f"bulk job {job_id} not done after {timeout:.0f} s; "
                    "resume later to poll it again"
                )
            await self.clock.sleep(delay)
            job = await self.write_job(job_id)
            if job.done:
                return job
            seen.append((self.clock.now() - created, _write_progress(job)))

    async def write_result(self, job: BulkJob) -> list[RecordOutcome]:
        """Download a finished job's result file: one outcome per row of the uploaded file."""
        if not job.download_url:
            raise ServerError(f"Bulk Write job {job.id} has no result to download ({job.state})")
        data = await self.download(job.download_url)
        rows = self.transport.foreground.paced(iter_csv(data))  # CPU: a thread, yielding
        return await asyncio.to_thread(write_outcomes, rows)  # to Books/Inventory calls

    async def bulk_write(
        self,
        module: str,
        operation: str,
        header: Sequence[str],
        rows: Sequence[Mapping[str, Any]],
        find_by: str | None = None,
        field_mappings: Sequence[Mapping[str, Any]] | None = None,
        on_job: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> BulkWriteResult:
        """All Bulk Write steps for one file of at most 25,000 rows (columns = ``header``).

        ``on_job(job_id, file_id)`` is awaited once the job exists, before it is polled: a
        caller saves the id there, so a crash while polling never leads to a second job.
        A failed job without a result file has no outcomes.
        """
        data = await asyncio.to_thread(zip_csv, header, rows)
        return await self.bulk_write_file(
            module, operation, header, data, len(rows), find_by, field_mappings, on_job
        )

    async def bulk_write_file(
        self,
        module: str,
        operation: str,
        header: Sequence[str],
        data: bytes,
        rows: int,
        find_by: str | None = None,
        field_mappings: Sequence[Mapping[str, Any]] | None = None,
        on_job: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> BulkWriteResult:
        """``bulk_write`` of a file already zipped (``zip_csv``) holding ``rows`` rows: a
        caller that zips its own records holds no second copy of them while the job runs."""
        file_id = await self.upload(data)
        mappings = field_mappings or [{"api_name": c, "index": i} for i, c in enumerate(header)]
        job_id = await self.create_write_job(module, operation, file_id, mappings, find_by)
        if on_job is not None:
            await on_job(job_id, file_id)
        job = await self.wait_write(job_id, rows=rows)
        outcomes = [] if job.failed and not job.download_url else await self.write_result(job)
        return BulkWriteResult(job, outcomes)

    # -- Bulk Read -------------------------------------------------------------------------

    async def create_read_job(
        self,
        module: str,
        fields: Sequence[str],
        criteria: Mapping[str, Any] | None = None,
        page: int = 1,
        page_token: str | None = None,
    ) -> str:
        """Start a Bulk Read (export) job for one result page; returns the job id."""
        query: dict[str, Any] = {"module": {"api_name": module}, "fields": list(fields)}
        if criteria:
            query["criteria"] = dict(criteria)
        if page_token:
            query["page_token"] = page_token
        else:
            query["page"] = page
        resp = await self._call(
            "POST",
            f"{self.bulk_base}/read",
            json={"query": query},
            credits=quotas.CREDITS_BULK_READ,
        )
        data = ((resp.body or {}).get("data") or [{}])[0]
        if data.get("status") == "error":  # refused inside a data list, HTTP 400
            raise RequestRejected(
                f"Bulk Read of {module} refused: {data.get('code')} {data.get('message', '')}",
                status=resp.status,
                code=data.get("code"),
                body=resp.body,
            )
        job_id = (data.get("details") or {}).get("id")
        if not job_id:
            raise ServerError("Bulk Read answered without a job id", body=resp.body)
        return str(job_id)

    async def read_job(self, job_id: str) -> BulkJob:
        """The current state of a Bulk Read job."""
        resp = await self._call(
            "GET", f"{self.bulk_base}/read/{job_id}", credits=quotas.CREDITS_GET
        )
        return parse_read_job(resp.body or {})

    async def wait_read(self, job_id: str, timeout: float = POLL_TIMEOUT) -> BulkJob:
        """Poll a Bulk Read job until it is COMPLETED or FAILURE."""
        return await self._wait(self.read_job, job_id, timeout)

    async def read_result(self, job: BulkJob) -> list[dict[str, str]]:
        """The rows of a finished Bulk Read job (one page of at most 200,000)."""
        url = job.download_url or f"/crm/bulk/{self.version}/read/{job.id}/result"
        return await asyncio.to_thread(unzip_csv, await self.download(url))

    async def bulk_read(
        self, module: str, fields: Sequence[str], criteria: Mapping[str, Any] | None = None
    ) -> AsyncIterator[list[dict[str, str]]]:
        """Export ``module``: one list of rows per result page, following ``more_records``."""
        page, token = 1, None
        while True:
            job_id = await self.create_read_job(module, fields, criteria, page, token)
            job = await self.wait_read(job_id)
            if job.failed:
                raise ServerError(f"Bulk Read job {job_id} of {module} failed", body=dict(job.raw))
            yield await self.read_result(job)
            if not job.more_records:
                return
            page, token = job.page + 1, job.next_page_token

    # -- shared ----------------------------------------------------------------------------

    async def download(self, url: str) -> bytes:
        """GET a result file (absolute URL, or a path on the API host)."""
        resp = await self._call(
            "GET", url, credits=quotas.CREDITS_GET, raw=True, channel=self.downloads
        )
        return resp.body if isinstance(resp.body, bytes) else b""

    async def _wait(
        self, status: Callable[[str], Awaitable[BulkJob]], job_id: str, timeout: float
    ) -> BulkJob:
        deadline = self.clock.now() + timeout
        delay = POLL_FIRST
        while True:
            job = await status(job_id)
            if job.done:
                return job
            if self.clock.now() + delay > deadline:
                raise ServerError(
                    f"bulk job {job_id} still {job.state} after {timeout:.0f} s; "
                    "resume later to poll it again"
                )
            await self.clock.sleep(delay)
            delay = min(POLL_MAX, delay * POLL_FACTOR)


def _write_progress(job: BulkJob) -> int:
    """Rows of a Bulk Write job done so far, as its status counts them."""
    return sum(job.counts.get(k, 0) for k in WRITE_PROGRESS_COUNTS)
