"""The accounts server: Zoho's OAuth token endpoint and the token store behind it.

``POST {accounts}/oauth/v2/token`` (parameters in the query string or a form body, as Zoho
accepts both) with ``grant_type``:

- ``refresh_token`` (client_id, client_secret, refresh_token) → access_token, scope,
  api_domain, token_type "Bearer", expires_in 3600;
- ``client_credentials`` (client_id, client_secret, scope, optional soid) → the same;
- ``authorization_code`` (client_id, client_secret, code, optional redirect_uri) → the same
  plus a new refresh_token. Codes come from ``POST /__sandbox__/code`` (Zoho's API console
  "Self Client → Generate Code"), are single-use and live 3 Zoho minutes.

Errors come back as Zoho sends them: HTTP 200 with ``{"error": "invalid_client"}``,
``invalid_client_secret``, ``invalid_code`` (unknown/used/expired code or refresh token),
``unsupported_grant_type``, ``invalid_scope``; more than ``token_rate_limit`` (10) access
tokens from one grant in 10 Zoho minutes → HTTP 400 "Access Denied"; a grant's 16th live
access token invalidates its oldest (Zoho's token limits; CRM's token-validity page says 15
live tokens per refresh token, other Zoho pages 30: the stricter is kept).

Data centers: ``{accounts}/oauth/v2/token`` is the accounts server of the sandbox's own data
center (``SandboxConfig.data_center``); ``{accounts}/dc/{dc}/oauth/v2/token`` is another data
center's (``eu``, ``in``, ``com.au``, ...): it accepts the same client and issues a token
marked with that data center, which then fails on the API (``Failure.WRONG_DC``), as real
Zoho does when an org lives elsewhere. Tokens are kept by their SHA-256 only, also in the
journal (``--state-dir``), which gets every grant, code and access token as it is issued.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections import deque
from dataclasses import dataclass

from aiohttp import web

from zmigrate.clock import Clock
from zmigrate.quotas import DATA_CENTERS, TOKEN_LIFETIME
from zmigrate.sandbox.core import FORM_TYPES, SANDBOX, BadJson, read_form, zoho_json
from zmigrate.sandbox.journal import Journal

CODE_LIFETIME = 180.0
"""Grant codes from the API console expire after three minutes."""
MAX_LIVE_PER_GRANT = 15
"""Live access tokens one refresh token (or client) may hold; the 16th invalidates the oldest
(CRM's token-validity page; other Zoho pages say 30, the stricter is kept)."""
PURGE_EVERY = 1_000
"""Access tokens issued between two sweeps of expired ones."""
TOKEN_RATE_WINDOW = 600.0
"""Zoho allows a limited number of access tokens per grant in ten minutes."""


@dataclass(frozen=True)
class TokenInfo:
    """What an access token stands for; stored on the request as ``request[TOKEN]``."""

    client_id: str
    scopes: tuple[str, ...]
    dc: str
    issued_at: float
    expires_at: float
    soid: str | None = None


@dataclass(frozen=True)
class Grant:
    """A refresh token or a one-time code: who it belongs to and what it allows."""

    client_id: str
    scopes: tuple[str, ...]
    expires_at: float | None = None  # codes only


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A token shaped like Zoho's: ``1000.<32 hex>.<32 hex>``."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def parse_scopes(raw: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in raw.replace(" ", ",").split(",") if s.strip())


class TokenStore:
    """Clients, refresh tokens, codes and access tokens, all in Zoho (clock) time."""

    def __init__(
        self,
        clock: Clock,
        client_id: str,
        client_secret: str,
        rate_limit: int,
        journal: Journal | None = None,
    ) -> None:
        self.clock = clock
        self.journal = journal or Journal(None)
        self.client_id = client_id
        self.client_secret = client_secret
        self.rate_limit = rate_limit
        self._refresh: dict[str, Grant] = {}
        self._codes: dict[str, Grant] = {}
        self._access: dict[str, TokenInfo] = {}
        self._issued: dict[str, deque[float]] = {}
        self._since_purge = 0
        self._live: dict[str, deque[str]] = {}

    def add_refresh_token(self, token: str, scopes: tuple[str, ...]) -> None:
        key = _digest(token)
        self._refresh[key] = Grant(self.client_id, scopes)
        self.journal.put("token.refresh", key, scopes)

    def issue_code(self, scopes: tuple[str, ...]) -> str:
        """A single-use grant code, as the API console's Self Client generates."""
        code = new_token()
        key = _digest(code)
        self._codes[key] = grant = Grant(self.client_id, scopes, self.clock.now() + CODE_LIFETIME)
        self.journal.put("token.code", key, grant)
        return code

    def issue_access(
        self, scopes: tuple[str, ...], dc: str, soid: str | None = None, grant: str = ""
    ) -> tuple[str, TokenInfo]:
        """A new access token valid for ``TOKEN_LIFETIME`` Zoho seconds.

        A grant keeps at most ``MAX_LIVE_PER_GRANT`` tokens: issuing one more deletes the
        oldest live one, as Zoho does (the 16th token of a refresh token kills the first).
        """
        now = self.clock.now()
        self._purge(now)
        token = new_token()
        info = TokenInfo(self.client_id, scopes, dc, now, now + TOKEN_LIFETIME, soid)
        key = _digest(token)
        self._access[key] = info
        self.journal.put("token.access", key, info)
        if grant:
            live = self._live.setdefault(grant, deque())
            while live and (live[0] not in self._access or self._access[live[0]].expires_at <= now):
                live.popleft()  # expired or deleted: no longer counts toward the limit
            live.append(key)
            if len(live) > MAX_LIVE_PER_GRANT:
                oldest = live.popleft()
                self._access.pop(oldest, None)
                self.journal.delete("token.access", oldest)
            self.journal.put("token.live", grant, list(live))
        return token, info

    def lookup(self, token: str) -> TokenInfo | None:
        """The live token's info, or None when unknown or expired."""
        info = self._access.get(_digest(token))
        if info is None or info.expires_at <= self.clock.now():
            return None
        return info

    def exchange(
        self, params: dict[str, str], dc: str, api_domain: str
    ) -> tuple[int, dict[str, str | int]]:
        """Answer one token request: (HTTP status, body)."""
        grant_type = params.get("grant_type", "")
        if grant_type not in ("refresh_token", "client_credentials", "authorization_code"):
            return 200, {"error": "unsupported_grant_type"}
        if params.get("client_id") != self.client_id:
            return 200, {"error": "invalid_client"}
        if params.get("client_secret") != self.client_secret:
            return 200, {"error": "invalid_client_secret"}
        now = self.clock.now()
        new_refresh: str | None = None
        soid = None
        if grant_type == "refresh_token":
            key = _digest(params.get("refresh_token", ""))
            grant = self._refresh.get(key)
            if grant is None:
                return 200, {"error": "invalid_code"}
            scopes = grant.scopes
        elif grant_type == "authorization_code":
            key = _digest(params.get("code", ""))
            grant = self._codes.pop(key, None)
            self.journal.delete("token.code", key)
            if grant is None or (grant.expires_at or 0) <= now:
                return 200, {"error": "invalid_code"}
            scopes = grant.scopes
            new_refresh = new_token()
            self.add_refresh_token(new_refresh, scopes)
        else:
            scopes = parse_scopes(params.get("scope", ""))
            if not scopes:
                return 200, {"error": "invalid_scope"}
            key = "client:" + self.client_id
            soid = params.get("soid") or None
        if not self._allow(key, now):
            return 400, {
                "error_description": "You have made too many requests continuously. "
                "Please try again after some time.",
                "error": "Access Denied",
                "status": "failure",
            }
        token, _ = self.issue_access(scopes, dc, soid, grant=key)
        body: dict[str, str | int] = {"access_token": token}
        if new_refresh:
            body["refresh_token"] = new_refresh
        body.update(
            scope=" ".join(scopes),
            api_domain=api_domain,
            token_type="Bearer",
            expires_in=TOKEN_LIFETIME,
        )
        return 200, body

    def _allow(self, key: str, now: float) -> bool:
        times = self._issued.setdefault(key, deque())
        while times and times[0] <= now - TOKEN_RATE_WINDOW:
            times.popleft()
        if len(times) >= self.rate_limit:
            return False
        times.append(now)
        self.journal.put("token.issued", key, list(times))
        return True

    def _purge(self, now: float) -> None:
        """Drop expired tokens now and then, so long runs don't grow the store forever."""
        self._since_purge += 1
        if self._since_purge >= PURGE_EVERY:
            self._since_purge = 0
            expired = [k for k, v in self._access.items() if v.expires_at <= now]
            for key in expired:
                del self._access[key]
                self.journal.delete("token.access", key)

    def restore(self) -> None:
        """Take back the grants, codes and tokens the journal holds (a restart)."""
        j = self.journal
        for key, scopes in j.rows("token.refresh"):
            self._refresh[key] = Grant(self.client_id, tuple(scopes))
        for key, g in j.rows("token.code"):
            self._codes[key] = Grant(g["client_id"], tuple(g["scopes"]), g["expires_at"])
        for key, v in j.rows("token.access"):
            self._access[key] = TokenInfo(**{**v, "scopes": tuple(v["scopes"])})
        self._live = {grant: deque(keys) for grant, keys in j.rows("token.live")}
        self._issued = {key: deque(times) for key, times in j.rows("token.issued")}


async def _token_endpoint(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    dc = request.match_info.get("dc", sandbox.config.data_center)
    if dc not in DATA_CENTERS:
        return zoho_json({"error": "invalid_data_center"}, status=404, code="invalid_dc")
    params = dict(request.query)
    if request.content_type in FORM_TYPES:
        with contextlib.suppress(BadJson):  # an unreadable form is a request without fields
            form = await read_form(request)
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    status, body = sandbox.tokens.exchange(params, dc, sandbox.urls["api"])
    sandbox.commit()  # the token is durable before the client has it
    error = body.get("error")
    if error:
        sandbox.stats.count_error("accounts", error)
    return zoho_json(body, status=status, code=error)


def add_accounts_routes(app: web.Application) -> None:
    """Register the token endpoint (own data center, and ``/dc/{dc}/...`` for the others)."""
    app.router.add_post("/oauth/v2/token", _token_endpoint)
    app.router.add_post("/dc/{dc}/oauth/v2/token", _token_endpoint)
