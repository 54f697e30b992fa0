"""CRM v8 wire vocabulary: error bodies, timestamps and ids exactly as Zoho spells them.

Messages come from the enums of Zoho's OpenAPI files (`shared/zoho-crm-oas/v8.0/`), so a
client that matches on them sees what it would see from Zoho.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

ORG_TIME_ZONE = "Asia/Kolkata"
ORG_OFFSET = timezone(timedelta(hours=5, minutes=30))
"""The sandbox org's zone: a non-whole-hour offset, so clients that drop offsets show it."""

ID_BASE = 6_421_337_000_000_000_000
"""Zoho record ids are 19-digit numbers sent as strings; ids count up from here."""

MSG_INVALID_DATA = "invalid data"
MSG_MANDATORY = "required field not found"
MSG_DUPLICATE = "duplicate data"
MSG_INVALID_ID = "the id given seems to be invalid"
MSG_INVALID_MODULE = "The module name given seems to be invalid"
MSG_PARAM_MISSING = "mandatory param missing"
MSG_RECORD_LIMIT = "Record count exceeded"
MSG_INVALID_TOKEN = "invalid oauth token"
MSG_AUTH_FAILED = "Authentication failed"
MSG_INVALID_URL = "Please check if the URL trying to access is a correct one"
MSG_ALREADY_CONVERTED = "id already converted"


def error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """One CRM error object: ``{"code","details","message","status":"error"}``."""
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def field_error(code: str, api_name: str, index: int, **extra: Any) -> dict[str, Any]:
    """A per-record error pointing at ``$.data[index].api_name``."""
    message = {
        "MANDATORY_NOT_FOUND": MSG_MANDATORY,
        "DUPLICATE_DATA": MSG_DUPLICATE,
    }.get(code, MSG_INVALID_DATA)
    details = {"api_name": api_name, "json_path": f"$.data[{index}].{api_name}", **extra}
    return error(code, message, details)


def invalid_id(record_id: str) -> dict[str, Any]:
    return error("INVALID_DATA", MSG_INVALID_ID, {"id": record_id})


def format_time(epoch: float) -> str:
    """Zoho's datetime: seconds precision, org offset (``2026-11-25T08:50:51+05:30``)."""
    return datetime.fromtimestamp(int(epoch), ORG_OFFSET).isoformat()


def parse_datetime(text: str) -> datetime | None:
    """A client datetime: ISO 8601 with an explicit offset (``Z`` allowed), else None."""
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def normalize_datetime(text: str) -> str | None:
    """Store a datetime the way Zoho shows it back: in the org's offset."""
    value = parse_datetime(text)
    return None if value is None else value.astimezone(ORG_OFFSET).isoformat(timespec="seconds")
