"""The product plug-in interface, and the small helpers every product's handlers share.

A *product* (Books, Inventory, CRM) is a subclass of :class:`Product`. The core
(``zmigrate.sandbox.app``) owns everything products have in common and calls a product only
through the methods below, so a new product plugs in beside the others by adding one line to
``zmigrate.sandbox.installed.INSTALLED``.

Per API request, the shared middleware does, in this order:

1. pick the product whose ``api_prefixes`` (api host) or ``content_prefixes`` (content host)
   start the path (longest prefix wins); no product → 404 in Books' flat shape;
2. count the request (``Stats.requests``);
3. authenticate: ``Authorization: Zoho-oauthtoken <t>`` (``Bearer <t>`` too when
   ``accepts_bearer``); malformed headers, unknown, expired, other-data-center or out-of-scope
   tokens are answered with ``product.fail(Failure.X)``. The token's
   :class:`~zmigrate.sandbox.tokens.TokenInfo` is stored as ``request[TOKEN]``;
4. ``await product.admit(request)`` → :class:`Admission`: a ``rejection`` response (quota,
   missing organization, ...) or a ``release`` callback run after the handler, plus headers
   added to the final response (rate-limit headers);
5. concurrency tracking (in flight and peak per product), then latency, then faults
   (internal error → ``product.fail(Failure.INTERNAL_ERROR)`` without running the handler;
   connection reset; response lost after the handler committed);
6. the route handler the product registered in ``add_routes``. Handlers may raise
   :class:`Reply` to answer early; :class:`BadJson` and oversized bodies are answered with
   ``fail(MALFORMED_JSON)`` / ``fail(BODY_TOO_LARGE)``; unknown routes or methods with
   ``fail(UNKNOWN_URL)`` / ``fail(METHOD_NOT_ALLOWED)``; an unexpected exception with
   ``fail(INTERNAL_ERROR)`` and a count in ``Stats.bugs`` (tests assert it stays 0);
7. every response whose ``resp[ZOHO_CODE]`` is set (see :func:`zoho_json`) with status >= 400
   is counted in ``Stats.errors[product][str(code)]``.

The admin API (``/__sandbox__/...``) asks each product for ``counts()``, ``state()``,
``records(module, query)``, ``reset()``; persistence is ``sandbox.journal`` (``put``/``delete``
as state changes, committed by the core before each answer) and ``restore(journal)``.

What a product may use of ``self.sandbox``: ``config`` (SandboxConfig), ``clock`` (Zoho time),
``credentials``, ``urls`` (set once listening: build absolute URLs at request time), ``rng``
(seeded), ``shared`` (a dict products share state through), ``stats.count_error(product,
code)`` (errors not carried by a response's ``ZOHO_CODE``, e.g. per-record CRM errors).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

if TYPE_CHECKING:
    from zmigrate.sandbox.app import Sandbox
    from zmigrate.sandbox.journal import Journal
    from zmigrate.sandbox.tokens import TokenInfo

ZOHO_CODE = web.ResponseKey[int | str]("zoho_code")
"""Key under which a response carries the Zoho error code it answers with (for counting):
``resp[ZOHO_CODE] = "INVALID_DATA"``; :func:`zoho_json` sets it from its ``code``."""
TOKEN: web.RequestKey[TokenInfo] = web.RequestKey("zoho_token")
"""Request key of the authenticated token's ``TokenInfo``."""
SANDBOX: web.AppKey[Sandbox] = web.AppKey("sandbox")
"""App key of the running :class:`~zmigrate.sandbox.app.Sandbox` (on every sandbox app)."""


class Failure(enum.Enum):
    """Situations the core detects and each product renders in its own wire format."""

    MISSING_TOKEN = "missing_token"
    MALFORMED_TOKEN = "malformed_token"  # an Authorization header of another scheme
    INVALID_TOKEN = "invalid_token"  # unknown, expired or deleted (revoked)
    BEARER_REFUSED = "bearer_refused"  # "Bearer" where only "Zoho-oauthtoken" is accepted
    WRONG_DC = "wrong_dc"  # token issued by another data center's accounts server
    SCOPE_MISMATCH = "scope_mismatch"
    UNKNOWN_URL = "unknown_url"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"
    BODY_TOO_LARGE = "body_too_large"
    MALFORMED_JSON = "malformed_json"


class Reply(Exception):  # noqa: N818 - an answer, not an error
    """Raised by a handler to answer at once with ``response``."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(response.status)
        self.response = response


class BadJson(Exception):  # noqa: N818
    """The request body is not the JSON the endpoint expects."""


@dataclass
class Admission:
    """A product's decision on a request before its handler runs."""

    rejection: web.StreamResponse | None = None
    release: Callable[[], None] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def zoho_json(body: Any, status: int = 200, code: int | str | None = None) -> web.Response:
    """A JSON response (orjson); ``code`` marks it for error counting by the core."""
    resp = web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
    if code is not None:
        resp[ZOHO_CODE] = code
    return resp


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_form(request: web.Request) -> Mapping[str, Any]:
    """The request's form fields; raises :class:`BadJson` when the form cannot be parsed."""
    try:
        return await request.post()
    except (ValueError, HttpProcessingError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadJson(f"unreadable form body: {exc}") from exc


async def read_json(request: web.Request) -> Any:
    """The request's JSON body: raw JSON, or a form field ``JSONString`` (Books accepts both).

    Raises :class:`BadJson` when absent or malformed; an oversized body raises aiohttp's
    ``HTTPRequestEntityTooLarge``, which the core answers in the product's format.
    """
    if request.content_type in FORM_TYPES:
        form = await read_form(request)
        raw = form.get("JSONString")
        if not isinstance(raw, str):
            raise BadJson("JSONString missing")
        data = raw.encode()
    else:
        data = await request.read()
    if not data.strip():
        raise BadJson("empty body")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadJson(str(exc)) from exc


class Product:
    """Base class of a sandbox product. Subclasses set the class attributes and override."""

    name: ClassVar[str]
    """"books", "inventory", "crm": the key in the admin API and in ``Stats``."""
    api_prefixes: ClassVar[tuple[str, ...]] = ()
    """Path prefixes served on the api host, e.g. ("/books/v3",)."""
    content_prefixes: ClassVar[tuple[str, ...]] = ()
    """Path prefixes served on the content host (CRM uploads)."""
    scope_prefixes: ClassVar[tuple[str, ...]] = ()
    """A token needs at least one scope starting with one of these ("ZohoBooks.")."""
    accepts_bearer: ClassVar[bool] = False
    """CRM accepts ``Authorization: Bearer``; Books and Inventory refuse it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def add_routes(self, api: web.Application, content: web.Application) -> None:
        """Register handlers on the api and content applications."""

    async def start(self) -> None:
        """Called once the listeners run (``sandbox.urls`` is set): start background work."""

    async def stop(self) -> None:
        """Called before the listeners close (also after a failed start): stop background work."""

    def fail(self, failure: Failure, detail: str = "") -> web.Response:
        """The product's answer to a failure the core detected (set ``ZOHO_CODE``)."""
        raise NotImplementedError

    def scope_allows(self, scopes: tuple[str, ...], request: web.Request) -> bool:
        """Whether a token with ``scopes`` may call this request (default: any product scope)."""
        return any(s.startswith(self.scope_prefixes) for s in scopes)

    async def admit(self, request: web.Request) -> Admission:
        """Quota and tenancy checks before the handler; default admits everything."""
        return Admission()

    def counts(self) -> dict[str, int]:
        """Records per module (admin ``state``)."""
        return {}

    def state(self) -> dict[str, Any]:
        """Product-specific state for the admin API (quota use, credits, ...)."""
        return {}

    def records(self, module: str, query: Mapping[str, str]) -> list[dict[str, Any]] | None:
        """Stored records of ``module`` (None: no such module)."""
        return None

    def reset(self) -> None:
        """Forget all records and quota use (credentials and tokens stay)."""

    def restore(self, journal: Journal) -> None:
        """Take back the state the journal holds (a restart with ``--state-dir``). Products
        record each change with ``self.sandbox.journal.put/delete`` as they make it."""
