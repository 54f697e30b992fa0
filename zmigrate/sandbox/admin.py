"""The sandbox's admin API (``/__sandbox__/…`` on every listener; see ``zmigrate.sandbox.app``):
state, stored records, reset, the clock, grant codes, fault knobs and saving the state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from zmigrate.sandbox.core import SANDBOX, Reply, zoho_json
from zmigrate.sandbox.tokens import parse_scopes

if TYPE_CHECKING:
    from zmigrate.sandbox.app import Sandbox

ADMIN_PREFIX = "/__sandbox__/"


async def _admin_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Reply(zoho_json({"error": f"malformed JSON: {exc}"}, 400)) from exc
    if not isinstance(body, dict):
        raise Reply(zoho_json({"error": "expected a JSON object"}, 400))
    return body


def _admin(
    fn: Callable[[Sandbox, web.Request], Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        sandbox = request.app[SANDBOX]
        try:
            return zoho_json(await fn(sandbox, request))
        except Reply as reply:
            return reply.response
        finally:
            sandbox.commit()

    return handler


async def _state(sb: Sandbox, request: web.Request) -> Any:
    return sb.state()


async def _records(sb: Sandbox, request: web.Request) -> Any:
    name, module = request.match_info["product"], request.match_info["module"]
    product = sb.products.get(name)
    records = product.records(module, request.query) if product else None
    if records is None:
        raise Reply(zoho_json({"error": f"no module {name}/{module}"}, 404))
    return {"product": name, "module": module, "count": len(records), "records": records}


async def _reset_all(sb: Sandbox, request: web.Request) -> Any:
    sb.reset()
    return {"reset": True}


async def _clock(sb: Sandbox, request: web.Request) -> Any:
    if request.method == "POST":
        advance = (await _admin_body(request)).get("advance", 0)
        if not isinstance(advance, int | float) or advance < 0:
            raise Reply(zoho_json({"error": "advance must be a non-negative number"}, 400))
        sb.clock.advance(float(advance))
        sb.journal.put("meta", "clock_now", sb.clock.now())
    return {"now": sb.clock.now(), "speed": sb.clock.speed}


async def _code(sb: Sandbox, request: web.Request) -> Any:
    scope = (await _admin_body(request)).get("scope") or sb.credentials.scope
    return {"code": sb.tokens.issue_code(parse_scopes(str(scope))), "expires_in": 180}


async def _faults(sb: Sandbox, request: web.Request) -> Any:
    if request.method == "POST":
        body = await _admin_body(request)
        for key in sb.faults.settings():
            if key in body:
                value = body[key]
                if not isinstance(value, int | float) or value < 0:
                    raise Reply(zoho_json({"error": f"{key} must be a non-negative number"}, 400))
                setattr(sb.faults, key, float(value))
    return sb.faults.settings()


async def _save(sb: Sandbox, request: web.Request) -> Any:
    sb.save()
    return {"saved": sb.config.state_dir is not None}


def add_admin_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(ADMIN_PREFIX + "state", _admin(_state))
    r.add_get(ADMIN_PREFIX + "records/{product}/{module}", _admin(_records))
    r.add_post(ADMIN_PREFIX + "reset", _admin(_reset_all))
    r.add_route("*", ADMIN_PREFIX + "clock", _admin(_clock))
    r.add_post(ADMIN_PREFIX + "code", _admin(_code))
    r.add_route("*", ADMIN_PREFIX + "faults", _admin(_faults))
    r.add_post(ADMIN_PREFIX + "save", _admin(_save))
