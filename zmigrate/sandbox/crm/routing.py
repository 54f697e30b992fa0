"""What every CRM route shares: the handler type, the operation tag admission charges by,
immediate error replies, query parameters and the status of a multi-record write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from zmigrate.sandbox.core import Reply, zoho_json

from . import wire

if TYPE_CHECKING:
    from .api import CrmProduct

Handler = Callable[["CrmProduct", web.Request], Awaitable[web.StreamResponse]]
OPERATIONS: dict[Handler, str] = {}
"""The operation admission charges each tagged handler as (see `op`); untagged: ``get``."""


def reply(body: Any, status: int = 400) -> Reply:
    """Answer at once with a CRM JSON body (error codes are counted by the core)."""
    code = body.get("code") if isinstance(body, dict) else None
    return Reply(zoho_json(body, status, code if status >= 400 else None))


def op(name: str) -> Callable[[Handler], Handler]:
    """Tag a handler with the operation admission charges it as."""

    def tag(fn: Handler) -> Handler:
        OPERATIONS[fn] = name
        return fn

    return tag


def write_status(items: list[dict[str, Any]], all_ok: int) -> int:
    """201/200 when every record succeeded, 400 when none did, 207 for a mix."""
    ok = sum(1 for i in items if i.get("status") == "success")
    return all_ok if ok == len(items) else 400 if ok == 0 else 207


def write_reply(items: list[dict[str, Any]], all_ok: int) -> web.Response:
    """The answer to a multi-record write, with the first error's code when all failed."""
    status = write_status(items, all_ok)
    code = items[0]["code"] if status == 400 else None
    return zoho_json({"data": items}, status, code)


def field_list(raw: str) -> list[str]:
    return [f.strip() for f in raw.split(",") if f.strip()]


def int_param(q: Mapping[str, str], name: str, default: int, maximum: int | None) -> int:
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
