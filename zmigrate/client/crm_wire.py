"""CRM answers and literals as values: COQL and criteria literals, write results, bulk job
statuses, list pages. Pure: no I/O (the client in ``zmigrate.client.crm`` sends the calls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zmigrate.client.http import Response
from zmigrate.client.models import BulkJob, Page, RecordOutcome
from zmigrate.errors import ServerError


def escape_criteria(value: object) -> str:
    """A value inside ``(Field:equals:value)``: Zoho wants ``(``, ``)`` and ``,`` escaped."""
    text = str(value).replace("\\", "\\\\")
    for ch in "(),":
        text = text.replace(ch, "\\" + ch)
    return text


def coql_literal(value: object) -> str:
    """A COQL literal: numbers bare, text single-quoted with quotes escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def write_results(body: object, count: int, default_action: str) -> list[RecordOutcome]:
    """A write answer's ``data`` list → one outcome per input record, in input order."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != count:
        raise ServerError(f"CRM answered a write of {count} records without {count} results")
    outcomes = []
    for index, item in enumerate(data):
        details = item.get("details") or {}
        if item.get("status") == "success":
            action = item.get("action") or default_action
            outcomes.append(
                RecordOutcome(index, True, details.get("id"), action, item.get("code"), "", details)
            )
        else:
            outcomes.append(
                RecordOutcome(
                    index,
                    False,
                    None,
                    None,
                    item.get("code"),
                    str(item.get("message", "")),
                    details,
                )
            )
    return outcomes


def parse_write_job(body: Mapping[str, Any]) -> BulkJob:
    """A Bulk Write status answer → BulkJob (counts from the first resource's file)."""
    resources = body.get("resource") or [{}]
    file = resources[0].get("file") or {}
    counts = {k: int(v) for k, v in file.items() if k.endswith("_count")}
    state = str(body.get("status", ""))
    if resources[0].get("status") == "FAILED":
        state = "FAILED"
    result = body.get("result") or {}
    return BulkJob(str(body.get("id")), state, result.get("download_url"), counts, raw=body)


def parse_read_job(body: Mapping[str, Any]) -> BulkJob:
    """A Bulk Read status answer (``data[0]``) → BulkJob."""
    data = (body.get("data") or [{}])[0]
    result = data.get("result") or {}
    return BulkJob(
        str(data.get("id")),
        str(data.get("state", "")),
        result.get("download_url"),
        {"count": int(result.get("count") or 0)},
        bool(result.get("more_records")),
        result.get("next_page_token"),
        int(result.get("page") or 1),
        raw=data,
    )


def page_of(resp: Response, page: int) -> Page:
    """A list answer (records, COQL, search) → Page; HTTP 204 is an empty last page."""
    body = resp.body if isinstance(resp.body, dict) else {}
    info = body.get("info") or {}
    return Page(
        list(body.get("data") or []),
        bool(info.get("more_records")),
        info.get("next_page_token"),
        int(info.get("page") or page),
    )


def listed(resp: Response, key: str) -> list[dict[str, Any]]:
    """The list under ``key`` of a metadata answer; HTTP 204 (nothing there) is empty."""
    body = resp.body if isinstance(resp.body, dict) else {}
    return list(body.get(key) or [])
