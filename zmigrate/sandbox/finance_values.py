"""Books/Inventory field values as Zoho checks them, and its flat error answers.

A value that does not fit its field is answered ``{"code": 2, "message": "Invalid value
passed for <field>"}`` (HTTP 400); a text over its length with code 15.
"""

from __future__ import annotations

import math
import re
from typing import Any

from aiohttp import web

from zmigrate.sandbox.core import Reply, zoho_json
from zmigrate.schema import Field

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def error(status: int, code: int, message: str) -> web.Response:
    return zoho_json({"code": code, "message": message}, status, code)


def invalid(name: str) -> Reply:
    return Reply(error(400, 2, f"Invalid value passed for {name}"))


def number(value: Any, name: str, integer: bool = False) -> float | int:
    """A JSON number (or numeric text) Zoho can store; code 2 otherwise."""
    if isinstance(value, bool):
        raise invalid(name)
    if isinstance(value, str):
        try:
            value = float(value) if not integer else int(value)
        except ValueError:
            raise invalid(name) from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(name)
    if integer and (isinstance(value, float) and not value.is_integer()):
        raise invalid(name)
    if abs(value) >= 2**63:  # JSON numbers Zoho can store; orjson cannot write more either
        raise invalid(name)
    return int(value) if integer else value


def _boolean(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(name)
    return value


def _record_id(value: object, name: str) -> str:
    """A lookup's record id: digits, given as a string or a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        raise invalid(name)
    return value


def _text(f: Field, value: object, name: str) -> str:
    """Text-like fields (text, email, date, picklist, ...), within their length and choices."""
    if not isinstance(value, str):
        raise invalid(name)
    if f.max_length is not None and len(value) > f.max_length:
        raise Reply(
            error(
                400, 15, f'Please ensure that the "{name}" has less than {f.max_length} characters.'
            )
        )
    if f.picklist and value not in f.picklist:
        raise invalid(name)
    if f.data_type == "date" and value and not DATE_RE.match(value):
        raise invalid(name)
    if f.data_type == "email" and value and "@" not in value:
        raise invalid(name)
    return value


def check_value(f: Field, value: Any, name: str) -> Any:
    """``value`` as stored for field ``f``; raises ``Reply`` (code 2) when it does not fit."""
    kind = f.data_type
    if kind in ("currency", "double"):
        return number(value, name)
    if kind in ("integer", "bigint"):
        return number(value, name, integer=True)
    if kind == "boolean":
        return _boolean(value, name)
    if kind == "lookup":
        return _record_id(value, name)
    return _text(f, value, name)
