"""Field values as the sandbox's CRM store keeps them: each ``data_type``'s coercion of what
a write sends, and the errors Zoho answers for a value that does not fit (``Invalid``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from . import wire
from .catalog import OrgField as Field

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

EXPECTED_TYPE = {
    "currency": "double",
    "double": "double",
    "integer": "integer",
    "bigint": "bigint",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "email": "email",
    "percent": "double",
    "multiselectpicklist": "jsonarray",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
}


class Invalid(Exception):
    """A value that does not fit its field; carries Zoho's per-record error."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        super().__init__(body["code"])


class Refused(Exception):
    """A value its field's type refuses; ``details`` replace the default expected type."""

    def __init__(self, details: dict[str, str] | None = None) -> None:
        self.details = details
        super().__init__()


def _number(f: Field, value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused
    return value


def _integer(f: Field, value: object) -> int:
    if isinstance(value, str) and f.data_type == "bigint" and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused
    return value


def _boolean(f: Field, value: object) -> bool:
    if not isinstance(value, bool):
        raise Refused
    return value


def _date(f: Field, value: object) -> str:
    if not isinstance(value, str) or len(value) != 10:
        raise Refused
    try:
        date.fromisoformat(value)
    except ValueError:
        raise Refused from None
    return value


def _datetime(f: Field, value: object) -> str:
    normal = wire.normalize_datetime(value) if isinstance(value, str) else None
    if normal is None:
        raise Refused
    return normal


def _text(f: Field, value: object) -> str:
    """Text-like fields (text, email, phone, picklist, ...): numbers are taken as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Refused
    if f.data_type == "email" and not EMAIL.match(value):
        raise Refused
    if f.max_length is not None and len(value) > f.max_length:
        raise Refused({"maximum_length": str(f.max_length)})
    return value


def _multi(f: Field, value: object) -> list[str]:
    """A multi-select picklist: a JSON array of values, kept as a list."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refused
    return list(value)


COERCERS: dict[str, Callable[[Field, object], object]] = {
    "currency": _number,
    "double": _number,
    "percent": _number,
    "multiselectpicklist": _multi,
    "integer": _integer,
    "bigint": _integer,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
}
"""Stored form of a value per field type (others are text; lookups need the store).
Picklists take values the field does not list: Zoho adds them rather than refusing."""


def parent_module(raw: Any) -> Any:
    """The module a v8 multi-module reference names (``{"module": {"api_name"}, "id"}``)."""
    module = raw.get("module") if isinstance(raw, dict) else None
    return module.get("api_name") if isinstance(module, dict) else None


def coercer(data_type: str) -> Callable[[Field, object], object]:
    """How a value of ``data_type`` is stored (text-like types: as text)."""
    return COERCERS.get(data_type, _text)
