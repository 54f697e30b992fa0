"""Bulk Write and Bulk Read: zip-of-CSV in and out, jobs that run at Zoho's pace.

Jobs are plain objects advanced by an asyncio task each (`run_write`, `run_read`); they only
touch the store between Clock sleeps, so a 25,000-row file is processed in chunks at
``WRITE_ROWS_PER_SECOND`` Zoho time and survives the client that started it going away.
CSV is streamed row by row; the only large structures are the stored records themselves
and the result CSV being built.

With ``--state-dir``, a Bulk Write job's rows go to the journal in one transaction when the
job completes (with its result and counts), so a sandbox killed mid-job restarts the job
from its first row, and a Bulk Read job's result is kept once it completes.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zmigrate import quotas
from zmigrate.clock import Clock
from zmigrate.sandbox.journal import Batch

from . import wire
from .catalog import OrgModule as Module
from .query import Node, matches
from .store import CrmStore

WRITE_ROWS_PER_SECOND = quotas.BULK_WRITE_ROWS_PER_SECOND
"""Zoho processes a few thousand rows a second once a job is picked up."""
READ_RECORDS_PER_SECOND = quotas.BULK_READ_ROWS_PER_SECOND
QUEUE_SECONDS = quotas.BULK_QUEUE_SECONDS
"""A job waits this long in ADDED (Zoho's queue) before it starts."""
CHUNK = 500
WRITE_SLICE = 50
"""Bulk Write rows applied between two yields of the sandbox's loop (a few ms of CPU): at a
fast clock the rows are CPU-bound, and the Books, Inventory and CRM REST calls the same
loop answers wait for the slice, as they never wait for a bulk job on real Zoho."""
RESULT_COLUMNS = ("STATUS", "RECORD_ID", "ERRORS")
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
"""Zoho takes zip files of at most 25 MB."""


class BulkError(Exception):
    """A bulk request Zoho refuses: HTTP status and error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body
        super().__init__(body.get("code"))


def read_upload(data: bytes) -> tuple[str, bytes, int]:
    """(CSV name, CSV bytes, data rows) of an uploaded zip holding one CSV."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if len(names) != 1 or not names[0].lower().endswith(".csv"):
                raise zipfile.BadZipFile("expected exactly one CSV")
            content = zf.read(names[0])
    except (zipfile.BadZipFile, OSError, ValueError):
        raise BulkError(
            400,
            wire.error(
                "INVALID_FILE_FORMAT", "invalid file format. only zip format is supported", {}
            ),
        ) from None
    rows = max(0, sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8-sig")))) - 1)
    if rows > quotas.CRM_BULK_WRITE_ROWS:
        raise BulkError(
            400,
            wire.error(
                "LIMIT_EXCEEDED",
                "File size too large to process",
                {"limit": quotas.CRM_BULK_WRITE_ROWS, "count": rows},
            ),
        )
    return names[0].rsplit("/", 1)[-1], content, rows


def zip_csv(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, text)
    return buf.getvalue()


# Bulk Write -----------------------------------------------------------------------------------
@dataclass
class Upload:
    file_id: str
    name: str
    content: bytes
    rows: int
    created_time: str


@dataclass
class WriteJob:
    id: str
    operation: str
    module: Module
    upload: Upload
    find_by: str | None
    mappings: list[dict[str, Any]]
    ignore_empty: bool
    created_time: str
    state: str = "ADDED"
    added: int = 0
    updated: int = 0
    skipped: int = 0
    result: bytes | None = None
    behind: float = 0.0
    """Zoho seconds it completed after Zoho's pace would have (queue, then rows at
    ``WRITE_ROWS_PER_SECOND``): the machine's CPU could not keep that pace at this clock."""

    def saved(self) -> dict[str, Any]:
        """The job as the journal keeps it (the upload and result are kept apart)."""
        return {
            "id": self.id,
            "operation": self.operation,
            "module": self.module.api_name,
            "file_id": self.upload.file_id,
            "find_by": self.find_by,
            "mappings": self.mappings,
            "ignore_empty": self.ignore_empty,
            "created_time": self.created_time,
            "state": self.state,
            "counts": [self.added, self.updated, self.skipped],
        }

    @classmethod
    def from_saved(
        cls,
        data: dict[str, Any],
        upload: Upload,
        result: bytes | None,
        modules: dict[str, Module],
    ) -> WriteJob:
        """A journaled job; one that had not completed starts again from ADDED."""
        job = cls(
            data["id"],
            data["operation"],
            modules[data["module"]],
            upload,
            data["find_by"],
            data["mappings"],
            data["ignore_empty"],
            data["created_time"],
        )
        if data["state"] == "COMPLETED" and result is not None:
            job.state, job.result = "COMPLETED", result
            job.added, job.updated, job.skipped = data["counts"]
        return job

    def as_json(self, user: dict[str, str], download_url: str) -> dict[str, Any]:
        """The job as ``GET /crm/bulk/v8/write/{id}`` shows it."""
        file_status = {"ADDED": "ADDED", "IN PROGRESS": "IN PROGRESS"}.get(self.state, "COMPLETED")
        resource: dict[str, Any] = {
            "status": file_status,
            "type": "data",
            "module": {
                "api_name": self.module.api_name,
                "id": self.module.id,
            },
            "file_id": self.upload.file_id,
            "ignore_empty": self.ignore_empty,
            "field_mappings": self.mappings,
            "file": {
                "status": file_status,
                "name": self.upload.name,
                "added_count": self.added,
                "skipped_count": self.skipped,
                "updated_count": self.updated,
                "total_count": self.upload.rows,
            },
        }
        if self.find_by:
            resource["find_by"] = self.find_by
        body: dict[str, Any] = {
            "status": self.state,
            "character_encoding": "UTF-8",
            "resource": [resource],
            "id": self.id,
            "created_by": {"id": user["id"], "name": user["name"]},
            "operation": self.operation,
            "created_time": self.created_time,
        }
        if self.state == "COMPLETED":
            body["result"] = {"download_url": download_url}
        return body


def _refuse(code: str, message: str, details: dict[str, Any] | None = None) -> BulkError:
    return BulkError(400, wire.error(code, message, details))


def plan_write(
    body: Any, store: CrmStore, uploads: dict[str, Upload], job_id: str, now: float
) -> WriteJob:
    """Check a job request (``POST /crm/bulk/v8/write``) and return the job, or BulkError."""
    if not isinstance(body, dict) or body.get("operation") not in ("insert", "update", "upsert"):
        raise _refuse(
            "MANDATORY_NOT_FOUND",
            "required key operation is not found in request body.",
            {"api_name": "operation", "json_path": "$.operation"},
        )
    resources = body.get("resource")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        raise _refuse(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "resource", "json_path": "$.resource"},
        )
    res = resources[0]
    mod, upload = _module_and_upload(res, uploads, store)
    header = next(csv.reader(io.StringIO(upload.content.decode("utf-8-sig"))), [])
    mappings = res.get("field_mappings")
    if not isinstance(mappings, list) or not mappings:
        mappings = [{"api_name": col, "index": i} for i, col in enumerate(header)]
    for m in mappings:
        _check_mapping(m, mod, store, len(header))
    operation = body["operation"]
    find_by = res.get("find_by")
    _check_mapped_keys(operation, find_by, {m["api_name"] for m in mappings}, mod, store)
    return WriteJob(
        id=job_id,
        operation=operation,
        module=mod,
        upload=upload,
        find_by=find_by,
        mappings=mappings,
        ignore_empty=bool(body.get("ignore_empty", res.get("ignore_empty", False))),
        created_time=wire.format_time(now),
    )


def _module_and_upload(
    res: dict[str, Any], uploads: dict[str, Upload], store: CrmStore
) -> tuple[Module, Upload]:
    """The module and the uploaded file a job ``resource`` names."""
    name = str((res.get("module") or {}).get("api_name", ""))
    mod = store.modules.get(name)
    if mod is None or not mod.records_api:
        raise _refuse("MODULE_NOT_AVAILABLE", f"Requested module '{name}' is not available.", {})
    upload = uploads.get(str(res.get("file_id")))
    if upload is None:
        raise _refuse("INVALID_FILE_ID", "improper file id", {"file_id": str(res.get("file_id"))})
    return mod, upload


def _check_mapping(m: object, mod: Module, store: CrmStore, columns: int) -> None:
    """One ``field_mappings`` entry: a writable field, a key ``find_by`` for a lookup, and
    the index of an existing column."""
    api_name = m.get("api_name") if isinstance(m, dict) else None
    f = mod.field(str(api_name))
    if not isinstance(m, dict) or f is None or (not f.api_create and api_name != "id"):
        raise _refuse("INVALID_FIELD_NAME", f"invalid mapping. invalid api_name {api_name}.", {})
    lookup_key = m.get("find_by")
    target = store.modules.get(f.lookup) if f.lookup else None
    if target and lookup_key and lookup_key not in store.key_fields(target):
        raise _refuse("INVALID_FIELD_NAME", f"invalid mapping. invalid find_by {lookup_key}.", {})
    index = m.get("index")
    if not isinstance(index, int) or not 0 <= index < columns:
        raise _refuse(
            "COLUMN_INDEX_NOT_FOUND",
            f"required key index for field {api_name} is not found in request body.",
            {"api_name": str(api_name)},
        )


def _check_mapped_keys(
    operation: str, find_by: object, mapped: set[str], mod: Module, store: CrmStore
) -> None:
    """Updates need a mapped key field to find records by; inserts every mandatory field."""
    if operation in ("update", "upsert") and (
        find_by not in mapped or find_by not in store.key_fields(mod)
    ):
        raise _refuse(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "find_by", "json_path": "$.resource[0].find_by"},
        )
    if operation in ("insert", "upsert") and not set(mod.mandatory) <= mapped:
        raise _refuse(
            "MANDATORY_FIELDS_NOT_MAPPED", "All mandatory fields are not mapped for the layout", {}
        )


def _cell_value(store: CrmStore, mod: Module, mapping: dict[str, Any], cell: str) -> Any:
    """A CSV cell as the JSON value the REST API would take, or ValueError."""
    f = mod.field(mapping["api_name"])
    assert f is not None
    kind = f.data_type
    if kind in ("integer", "bigint"):
        return int(cell)
    if kind in ("currency", "double", "percent"):
        return float(cell)
    if kind == "multiselectpicklist":
        return [v for v in cell.split(";") if v]
    if kind == "boolean":
        if cell.lower() not in ("true", "false"):
            raise ValueError(cell)
        return cell.lower() == "true"
    if kind == "lookup" and f.lookup:
        key = mapping.get("find_by") or "id"
        found = store.find_by(f.lookup, key, cell)
        if found is None:
            raise ValueError(cell)
        return found
    return cell


def _row_data(
    job: WriteJob,
    store: CrmStore,
    row: list[str],
    column: dict[str, str],
    errors: dict[str, list[str]],
) -> tuple[dict[str, Any], str | None]:
    """The record's values from one CSV row by the job's mappings, and its ``find_by`` value;
    a cell that does not convert is an INVALID_DATA error of its column."""
    data: dict[str, Any] = {}
    find_value = None
    for m in job.mappings:
        index = m["index"]
        cell = row[index] if index < len(row) else ""
        if m["api_name"] == job.find_by:
            find_value = cell
        if m["api_name"] == "id":
            continue
        if cell == "":
            if not job.ignore_empty:
                data[m["api_name"]] = None
            continue
        try:
            data[m["api_name"]] = _cell_value(store, job.module, m, cell)
            if m.get("module"):  # a multi-module lookup's module, as ``$se_module``
                data["$se_module"] = m["module"]
        except ValueError:
            errors.setdefault("INVALID_DATA", []).append(column[m["api_name"]])
    return data, find_value


def write_row(
    job: WriteJob, store: CrmStore, header: list[str], row: list[str], now: float
) -> tuple[str, str, str]:
    """Apply one CSV row; (STATUS, RECORD_ID, ERRORS) for the result file.

    ERRORS names every problem as Zoho does: ``CODE-Column`` with the columns of one code
    joined by ``,`` and codes joined by ``:`` (``MANDATORY_NOT_FOUND-Company,Last_Name``)."""
    mod = job.module
    column = {m["api_name"]: header[m["index"]] for m in job.mappings}
    errors: dict[str, list[str]] = {}
    data, find_value = _row_data(job, store, row, column, errors)
    existing = None
    if job.operation in ("update", "upsert") and find_value:
        rid = store.find_by(mod.api_name, job.find_by or "id", find_value)
        existing = store.find(mod.api_name, rid) if rid else None
    if job.operation == "update" and existing is None:
        errors.setdefault("INVALID_DATA", []).append(column.get(job.find_by or "id", "id"))
    values, problems = store.validate(mod, data, 0, existing)
    for problem in problems:
        api_name = problem["details"].get("api_name", "")
        errors.setdefault(problem["code"], []).append(column.get(api_name, api_name))
    if errors:
        text = ":".join(f"{code}-{','.join(dict.fromkeys(cols))}" for code, cols in errors.items())
        return "SKIPPED", "", text
    if existing is not None:
        store.change(mod.api_name, existing, values, now)
        return "UPDATED", existing["id"], ""
    return "ADDED", store.create(mod.api_name, values, now)["id"], ""


def result_columns(job: WriteJob) -> list[int]:
    """Zoho's result file keeps the first three mapped columns of the upload."""
    return sorted({m["index"] for m in job.mappings})[:3]


async def run_write(
    job: WriteJob, store: CrmStore, clock: Clock, commit: Callable[[Batch], None]
) -> None:
    """Take the job through ADDED → IN PROGRESS → COMPLETED at Zoho's pace; its rows, result
    and final state are committed together (``commit``) when it completes."""
    batch = Batch()
    due = clock.now() + QUEUE_SECONDS
    await clock.sleep(QUEUE_SECONDS)
    job.state = "IN PROGRESS"
    reader = csv.reader(io.StringIO(job.upload.content.decode("utf-8-sig")))
    header = next(reader, [])
    result = io.BytesIO()
    # the result is compressed as its rows are written: no zipping between the last row and
    # COMPLETED, where a status poll would find every row done and the job still running
    with (
        zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open(f"{job.module.api_name}-{job.upload.name}", "w") as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out, lineterminator="\n")
        kept = result_columns(job)
        writer.writerow([*(header[i] for i in kept), *RESULT_COLUMNS])
        done, started = 0, clock.now()
        for row in reader:
            with store.journal.into(batch):
                status, record_id, errors = write_row(job, store, header, row, clock.now())
            if status == "ADDED":
                job.added += 1
            elif status == "UPDATED":
                job.updated += 1
            else:
                job.skipped += 1
            cells = [row[i] if i < len(row) else "" for i in kept]
            writer.writerow([*cells, status, record_id, errors])
            done += 1
            if done % WRITE_SLICE == 0:  # at Zoho's pace, the time spent on the rows included
                await clock.sleep(max(0.0, started + done / WRITE_ROWS_PER_SECOND - clock.now()))
        await clock.sleep(max(0.0, started + done / WRITE_ROWS_PER_SECOND - clock.now()))
    job.result = result.getvalue()
    job.behind = max(0.0, clock.now() - (due + done / WRITE_ROWS_PER_SECOND))
    job.state = "COMPLETED"
    batch.changes[("crm.write_job", job.id)] = job.saved()
    batch.changes[("crm.blob", f"write/{job.id}")] = job.result
    commit(batch)


# Bulk Read ------------------------------------------------------------------------------------
@dataclass
class ReadJob:
    id: str
    module: Module
    fields: list[str]
    criteria: Node | None
    query: dict[str, Any]
    page: int
    created_time: str
    state: str = "ADDED"
    count: int = 0
    more_records: bool = False
    result: bytes | None = None

    def saved(self) -> dict[str, Any]:
        """The job as the journal keeps it (criteria are parsed again from ``query``)."""
        return {
            "id": self.id,
            "module": self.module.api_name,
            "fields": self.fields,
            "query": self.query,
            "page": self.page,
            "created_time": self.created_time,
            "state": self.state,
            "count": self.count,
            "more_records": self.more_records,
        }

    def details(self, user: dict[str, str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": "read",
            "state": self.state,
            "created_by": {"id": user["id"], "name": user["name"]},
            "created_time": self.created_time,
        }

    def as_json(self, user: dict[str, str], page_token: str) -> dict[str, Any]:
        """The job as ``GET /crm/bulk/v8/read/{id}`` shows it."""
        body = {**self.details(user), "query": self.query, "file_type": "csv"}
        if self.state == "COMPLETED":
            body["result"] = {
                "page": self.page,
                "per_page": quotas.CRM_BULK_READ_PAGE,
                "count": self.count,
                "download_url": f"/crm/bulk/v8/read/{self.id}/result",
                "more_records": self.more_records,
                "next_page_token": page_token,
            }
        return body


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


async def run_read(
    job: ReadJob, store: CrmStore, clock: Clock, commit: Callable[[Batch], None]
) -> None:
    """Export one page (up to 200,000 records) of the job's module to a zipped CSV."""
    await clock.sleep(QUEUE_SECONDS)
    job.state = "IN PROGRESS"
    records = list(store.records[job.module.api_name].values())
    skip = (job.page - 1) * quotas.CRM_BULK_READ_PAGE
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ["Id", *[f for f in job.fields if f != "id"]]
    writer.writerow(columns)
    matched = 0
    for n, rec in enumerate(records, 1):
        if job.criteria is None or matches(job.criteria, rec):
            matched += 1
            if matched > skip + quotas.CRM_BULK_READ_PAGE:
                job.more_records = True
                break
            if matched > skip:
                writer.writerow([rec["id"], *(csv_value(rec.get(f)) for f in columns[1:])])
        if n % (CHUNK * 10) == 0:
            await clock.sleep(CHUNK * 10 / READ_RECORDS_PER_SECOND)
    job.count = max(0, min(matched, skip + quotas.CRM_BULK_READ_PAGE) - skip)
    job.result = zip_csv(f"{job.id}.csv", out.getvalue())
    job.state = "COMPLETED"
    batch = Batch()
    batch.changes[("crm.read_job", job.id)] = job.saved()
    batch.changes[("crm.blob", f"read/{job.id}")] = job.result
    commit(batch)
