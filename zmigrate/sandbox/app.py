"""The sandbox core: configuration, the three listeners, shared middleware, admin API, state.

Start it in-process (tests, ``zmigrate run --sandbox``)::

    async with start_sandbox(SandboxConfig(clock_speed=600), clock=clock) as sb:
        sb.urls         # {"accounts": "http://127.0.0.1:P1", "api": ..., "content": ...}
        sb.credentials  # Credentials: client_id, client_secret, refresh_token,
                        # organization_id, organization_ids, data_center, scope
        sb.clock        # the zmigrate.clock.Clock shared with the engine
        sb.issue_token()            # an access token straight from the store (tests)
        sb.state()                  # what GET /__sandbox__/state answers
        sb.products["books"]        # the Product plug-ins (see zmigrate.sandbox.core)
        sb.stats                    # requests, peaks, errors by code, faults, bugs

Three aiohttp listeners stand for Zoho's three hosts: accounts (``/oauth/v2/token``), api
(``/books/v3``, ``/inventory/v1``, ``/crm/v8``, ...) and content (CRM uploads). ``port`` fixes
the api port; then accounts is ``port+1`` and content ``port+2`` unless set. Every listener
also serves the admin API (``zmigrate.sandbox.admin``):

- ``GET /__sandbox__/state``: clock, record counts per product/module, requests per product,
  in flight and peak concurrency per product, errors by code per product (``accounts`` too),
  faults injected, unexpected exceptions (``bugs``), product-specific state (quota use);
- ``GET /__sandbox__/records/{product}/{module}[?organization_id=]``: the records as stored;
- ``POST /__sandbox__/reset``: forget records and quota use (credentials and tokens stay);
- ``GET|POST /__sandbox__/clock`` ``{"advance": seconds}``: read or move the Zoho clock;
- ``POST /__sandbox__/code`` ``{"scope": "..."}``: a grant code for ``authorization_code``;
- ``GET|POST /__sandbox__/faults`` ``{"fault_rate", "lost_response_rate", "latency_ms",
  "slow_ms"}``: read or change the fault knobs while running;
- ``POST /__sandbox__/save``: fold the state's write-ahead log into its file (with
  ``state_dir``; every answered write is already durable, see ``zmigrate.sandbox.journal``).
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from zmigrate.clock import Clock
from zmigrate.errors import UsageError
from zmigrate.quotas import BOOKS_PLANS, DATA_CENTERS, INVENTORY_PLANS, crm_edition
from zmigrate.sandbox.admin import ADMIN_PREFIX, add_admin_routes
from zmigrate.sandbox.core import (
    SANDBOX,
    TOKEN,
    ZOHO_CODE,
    BadJson,
    Failure,
    Product,
    Reply,
    zoho_json,
)
from zmigrate.sandbox.faults import Fault, Faults
from zmigrate.sandbox.journal import Batch, Journal
from zmigrate.sandbox.tokens import TokenStore, add_accounts_routes, parse_scopes

log = logging.getLogger("zmigrate.sandbox")

LEGACY_STATE_FILE = "sandbox-state.json"
DEFAULT_SCOPE = (
    "ZohoBooks.fullaccess.all,ZohoInventory.fullaccess.all,ZohoCRM.modules.ALL,"
    "ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,ZohoCRM.bulk.ALL,"
    "ZohoCRM.coql.READ,ZohoFiles.files.ALL"
)
"""Scopes of the refresh token the sandbox issues at start: everything zmigrate needs."""


@dataclass
class SandboxConfig:
    """Every sandbox option (``zmigrate sandbox --help`` mirrors them)."""

    host: str = "127.0.0.1"
    port: int = 0
    accounts_port: int | None = None
    content_port: int | None = None
    clock_speed: float = 1.0
    books_plan: str = "standard"
    inventory_plan: str = "standard"
    crm_edition: str = "enterprise"
    crm_users: int = 10
    crm_user_count: int = 3
    """Users the CRM org starts with (the admin first); no more than ``crm_users`` licenses."""
    crm_throttle_status: int = 429
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    lost_response_rate: float = 0.0
    slow_ms: float = 5_000.0
    seed: int = 0
    state_dir: str | None = None
    data_center: str = "com"
    organizations: int = 1
    max_body_bytes: int = 5 * 1024 * 1024
    max_upload_bytes: int = 30 * 1024 * 1024
    token_rate_limit: int = 10
    schema: str | None = None
    """A ``zmigrate.schema/1`` snapshot the CRM org starts from (else built-in modules)."""
    strict_fields: bool = False
    """Refuse unknown CRM field names in record writes (Zoho ignores them)."""
    block_seconds: float = 1800.0
    """How long a Books/Inventory org stays blocked after exceeding 100 calls a minute."""
    org_time_zone: str = "Etc/UTC"
    """The Books/Inventory organizations' time zone: their daily caps reset at its midnight."""
    rate_limit_headers: bool = True
    """Books/Inventory answers carry ``X-Rate-Limit-*`` (Zoho documents none: off tests that)."""

    def __post_init__(self) -> None:
        problems = []
        if self.books_plan not in BOOKS_PLANS:
            problems.append(f"books plan '{self.books_plan}' (one of {', '.join(BOOKS_PLANS)})")
        if self.inventory_plan not in INVENTORY_PLANS:
            problems.append(
                f"inventory plan '{self.inventory_plan}' (one of {', '.join(INVENTORY_PLANS)})"
            )
        try:
            crm_edition(self.crm_edition)
        except KeyError:
            problems.append(f"CRM edition '{self.crm_edition}'")
        if self.data_center not in DATA_CENTERS:
            problems.append(f"data center '{self.data_center}' (one of {', '.join(DATA_CENTERS)})")
        if self.crm_throttle_status not in (400, 429):
            problems.append("CRM throttle status (400 or 429)")
        if self.clock_speed <= 0:
            problems.append("clock speed (must be positive)")
        if not 0 <= self.fault_rate <= 1 or not 0 <= self.lost_response_rate <= 1:
            problems.append("fault rates (between 0 and 1)")
        if self.crm_user_count < 1:
            problems.append("CRM user count (at least 1)")
        if self.organizations < 1:
            problems.append("organizations (at least 1)")
        if self.block_seconds <= 0:
            problems.append("block seconds (must be positive)")
        if not known_zone(self.org_time_zone):
            problems.append(f"time zone '{self.org_time_zone}' (an IANA name: Asia/Kolkata)")
        if problems:
            raise UsageError("invalid sandbox setting: " + "; ".join(problems))


def known_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


@dataclass(frozen=True)
class Credentials:
    """What the sandbox's "API console" issued: a Self Client and its org(s)."""

    client_id: str
    client_secret: str
    refresh_token: str
    organization_id: str
    organization_ids: tuple[str, ...]
    data_center: str
    scope: str = DEFAULT_SCOPE

    @classmethod
    def generate(cls, rng: random.Random, config: SandboxConfig) -> Credentials:
        alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        hexdigits = "0123456789abcdef"
        orgs = tuple(
            str(rng.randrange(600_000_000, 900_000_000)) for _ in range(config.organizations)
        )
        return cls(
            client_id="1000." + "".join(rng.choice(alnum) for _ in range(30)),
            client_secret="".join(rng.choice(hexdigits) for _ in range(42)),
            refresh_token="1000."
            + "".join(rng.choice(hexdigits) for _ in range(32))
            + "."
            + "".join(rng.choice(hexdigits) for _ in range(32)),
            organization_id=orgs[0],
            organization_ids=orgs,
            data_center=config.data_center,
        )


@dataclass
class Stats:
    """Counters behind the admin ``state``: all cheap increments on the hot path."""

    requests: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    errors: dict[str, Counter[str]] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)
    bugs: int = 0

    def count_error(self, product: str, code: int | str) -> None:
        self.errors.setdefault(product, Counter())[str(code)] += 1

    def enter(self, product: str) -> None:
        self.in_flight[product] += 1
        if self.in_flight[product] > self.peak[product]:
            self.peak[product] = self.in_flight[product]

    def leave(self, product: str) -> None:
        self.in_flight[product] -= 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "in_flight": {k: v for k, v in self.in_flight.items() if v},
            "peak_concurrency": dict(self.peak),
            "errors": {p: dict(c) for p, c in self.errors.items()},
            "faults": dict(self.faults),
            "bugs": self.bugs,
        }


class Sandbox:
    """A running sandbox: its config, clock, credentials, token store, products and stats."""

    def __init__(self, config: SandboxConfig, clock: Clock | None = None) -> None:
        # imported here: product modules may import this one (for types or helpers)
        from zmigrate.sandbox.installed import INSTALLED

        self.config = config
        self.journal = Journal(config.state_dir)
        """Where every answered write goes before its answer (``--state-dir``; else off)."""
        saved_creds = self.journal.get("meta", "credentials")
        if saved_creds is None and self._legacy_state():
            self.journal.close()
            raise UsageError(
                f"{self._legacy_state()} holds a sandbox state this version cannot read; "
                "move it away to start fresh"
            )
        start = self.journal.get("meta", "clock_now")
        if clock is None:
            clock = Clock(config.clock_speed, start=start)
        elif start is not None and start > clock.now():
            clock.advance(start - clock.now())
        self.clock = clock
        self.rng = random.Random(config.seed)
        """Seeded randomness for credentials and products' own deterministic choices."""
        if saved_creds is not None:
            self.credentials = Credentials(
                **{**saved_creds, "organization_ids": tuple(saved_creds["organization_ids"])}
            )
        else:
            self.credentials = Credentials.generate(self.rng, config)
            self.journal.put("meta", "credentials", asdict(self.credentials))
        self.tokens = TokenStore(
            clock,
            self.credentials.client_id,
            self.credentials.client_secret,
            config.token_rate_limit,
            self.journal,
        )
        self.tokens.add_refresh_token(
            self.credentials.refresh_token, parse_scopes(self.credentials.scope)
        )
        self.faults = Faults(
            config.seed,
            config.fault_rate,
            config.lost_response_rate,
            config.latency_ms,
            config.slow_ms,
        )
        self.stats = Stats()
        self.urls: dict[str, str] = {}
        self.shared: dict[str, Any] = {}
        """State products share (Books and Inventory: one store of orgs, contacts, items)."""
        self.products: dict[str, Product] = {cls.name: cls(self) for cls in INSTALLED}
        self._load_finance_settings()
        if saved_creds is not None:
            self.tokens.restore()
            for product in self.products.values():
                product.restore(self.journal)
        self.commit()  # credentials and clock are durable before anyone learns them
        self._runners: list[web.AppRunner] = []

    # ---- in-process helpers -------------------------------------------------------------
    def issue_token(self, scopes: str | None = None, dc: str | None = None) -> str:
        """A fresh access token (default: the refresh token's scopes, own data center)."""
        token, _ = self.tokens.issue_access(
            parse_scopes(scopes or self.credentials.scope), dc or self.config.data_center
        )
        return token

    def state(self) -> dict[str, Any]:
        return {
            "clock": {"now": self.clock.now(), "speed": self.clock.speed},
            "counts": {name: p.counts() for name, p in self.products.items()},
            **self.stats.as_dict(),
            "products": {name: p.state() for name, p in self.products.items()},
            "fault_settings": self.faults.settings(),
        }

    def reset(self) -> None:
        for product in self.products.values():
            product.reset()
        self.stats = Stats()

    def _load_finance_settings(self) -> None:
        """Serve ``--schema``'s ``books``/``inventory`` sections (the CRM reads its own)."""
        try:
            data = orjson.loads(Path(self.config.schema or "").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return  # no snapshot, or one the CRM product has already refused
        for name, product in self.products.items():
            if name in ("books", "inventory") and isinstance(data.get(name), dict):
                product.load_settings(data[name])  # type: ignore[attr-defined]

    # ---- persistence ----------------------------------------------------------------------
    def _legacy_state(self) -> Path | None:
        """A state file of the versions that saved only on a clean stop, if one is there."""
        if not self.config.state_dir:
            return None
        path = Path(self.config.state_dir) / LEGACY_STATE_FILE
        return path if path.exists() else None

    def commit(self, batch: Batch | None = None) -> None:
        """Make the pending changes (or ``batch``'s) durable, with the clock's reading."""
        target = self.journal.current if batch is None else batch
        if self.journal.enabled and target.changes:
            target.changes[("meta", "clock_now")] = self.clock.now()
            self.journal.commit(target)

    def save(self) -> None:
        """Everything answered is already durable; fold the write-ahead log into the file."""
        self.commit()
        self.journal.checkpoint()

    # ---- serving -------------------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        accounts = self._new_app(cfg.max_body_bytes)
        api = self._new_app(cfg.max_body_bytes, self._api_middleware("api"))
        content = self._new_app(cfg.max_upload_bytes, self._api_middleware("content"))
        add_accounts_routes(accounts)
        for product in self.products.values():
            product.add_routes(api, content)
        ports = {
            "api": cfg.port,
            "accounts": cfg.accounts_port if cfg.accounts_port is not None else _next(cfg.port, 1),
            "content": cfg.content_port if cfg.content_port is not None else _next(cfg.port, 2),
        }
        try:
            for name, app in (("api", api), ("accounts", accounts), ("content", content)):
                runner = web.AppRunner(app, access_log=None, handle_signals=False)
                await runner.setup()
                self._runners.append(runner)
                site = web.TCPSite(runner, cfg.host, ports[name])
                await site.start()
                host, port = runner.addresses[0][:2]
                self.urls[name] = f"http://{host}:{port}"
            for product in self.products.values():
                await product.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for product in self.products.values():
            await product.stop()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        self.commit()
        self.journal.close()

    def _new_app(self, max_size: int, *middlewares: Middleware) -> web.Application:
        app = web.Application(client_max_size=max_size, middlewares=(_safety_net, *middlewares))
        app[SANDBOX] = self
        add_admin_routes(app)
        return app

    def _api_middleware(self, host: str) -> Middleware:
        table = sorted(
            (
                (prefix, product)
                for product in self.products.values()
                for prefix in (product.api_prefixes if host == "api" else product.content_prefixes)
            ),
            key=lambda pair: -len(pair[0]),
        )

        @web.middleware
        async def middleware(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            path = request.path
            if path.startswith(ADMIN_PREFIX):
                return await handler(request)
            product = next((p for prefix, p in table if path.startswith(prefix)), None)
            if product is None:
                self.stats.count_error("unknown", 5)
                return zoho_json({"code": 5, "message": "Invalid URL Passed"}, 404, 5)
            return await self._serve(product, request, handler)

        return middleware

    async def _serve(
        self,
        product: Product,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        name = product.name
        self.stats.requests[name] += 1
        failure = self._authenticate(product, request)
        if failure is not None:
            return self._counted(name, product.fail(failure))
        admission = await product.admit(request)
        if admission.rejection is not None:
            self.commit()
            return self._counted(name, admission.rejection)
        self.stats.enter(name)
        try:
            delay = self.faults.latency()
            fault = self.faults.draw()
            if fault is Fault.SLOW:
                delay += self.faults.slow_ms / 1000.0
            if delay:
                await self.clock.sleep(delay)
            if fault is not Fault.NONE:
                self.stats.faults[fault.value] += 1
            if fault is Fault.INTERNAL_ERROR:
                response: web.StreamResponse = product.fail(Failure.INTERNAL_ERROR)
            elif fault is Fault.RESET:
                raise _reset(request)
            else:
                response = await self._handle(product, request, handler)
                if fault is Fault.LOST_RESPONSE:
                    raise _reset(request)
        finally:
            self.stats.leave(name)
            if admission.release is not None:
                admission.release()
            self.commit()  # before the answer leaves (or is lost after the commit)
        if admission.headers and not response.prepared:
            response.headers.update(admission.headers)
        return self._counted(name, response)

    async def _handle(
        self,
        product: Product,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except Reply as reply:
            return reply.response
        except BadJson as exc:
            return product.fail(Failure.MALFORMED_JSON, str(exc))
        except web.HTTPRequestEntityTooLarge:
            return product.fail(Failure.BODY_TOO_LARGE)
        except web.HTTPMethodNotAllowed:
            return product.fail(Failure.METHOD_NOT_ALLOWED, request.method)
        except web.HTTPNotFound:
            return product.fail(Failure.UNKNOWN_URL, request.path)
        except ConnectionError:
            # The client went away mid-request (an engine's Ctrl-C): no one reads this answer,
            # and it is not a sandbox bug.
            return web.Response(status=499, reason="Client Closed Request")
        except Exception:
            self.stats.bugs += 1
            log.exception("sandbox bug while serving %s %s", request.method, request.path)
            return product.fail(Failure.INTERNAL_ERROR)

    def _authenticate(self, product: Product, request: web.Request) -> Failure | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return Failure.MISSING_TOKEN
        scheme, _, token = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and not product.accepts_bearer:
            return Failure.BEARER_REFUSED
        if scheme not in ("zoho-oauthtoken", "bearer"):
            return Failure.MALFORMED_TOKEN
        info = self.tokens.lookup(token.strip())
        if info is None:
            return Failure.INVALID_TOKEN
        if info.dc != self.config.data_center:
            return Failure.WRONG_DC
        if not product.scope_allows(info.scopes, request):
            return Failure.SCOPE_MISMATCH
        request[TOKEN] = info
        return None

    def _counted(self, product: str, response: web.StreamResponse) -> web.StreamResponse:
        if response.status >= 400:
            code = response.get(ZOHO_CODE)
            if code is not None:
                self.stats.count_error(product, code)
        return response


@web.middleware
async def _safety_net(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Last line: an unexpected exception is counted as a bug and answered Zoho-style."""
    try:
        return await handler(request)
    except (web.HTTPException, ConnectionError):
        raise
    except Exception:
        request.app[SANDBOX].stats.bugs += 1
        log.exception("sandbox bug while serving %s %s", request.method, request.path)
        return zoho_json({"code": 1000, "message": "Internal error"}, 500, 1000)


def _next(port: int, offset: int) -> int:
    return port + offset if port else 0


def _reset(request: web.Request) -> Exception:
    """Abort the connection (the client sees a reset); the returned exception is raised to
    leave the handler and is never written, since the transport is gone."""
    if request.transport is not None:
        request.transport.abort()
    return web.HTTPException()


@contextlib.asynccontextmanager
async def start_sandbox(
    config: SandboxConfig | None = None, clock: Clock | None = None
) -> AsyncIterator[Sandbox]:
    """Run a sandbox for the duration of the ``async with`` block."""
    sandbox = Sandbox(config or SandboxConfig(), clock)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()
