"""OAuth for Zoho: credentials from the environment, access tokens renewed before they expire.

Two flows, both against ``{accounts}/oauth/v2/token``: ``refresh_token`` (a Self Client's
permanent refresh token) and ``client_credentials`` (with ``ZOHO_SOID``; no refresh token, a
new access token each hour). The accounts server comes from ``ZOHO_DC``; API and upload hosts
from the token's ``api_domain`` (a client must honour it), unless ``ZOHO_ACCOUNTS_URL`` /
``ZOHO_API_URL`` / ``ZOHO_CONTENT_URL`` override them (how a run reaches a sandbox).

Tokens and secrets never appear in a repr, a message or a log line.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import orjson

from zmigrate.clock import Clock
from zmigrate.errors import AuthError, ConfigError, NetworkError, Throttled, TransientError
from zmigrate.quotas import DATA_CENTERS, TOKEN_LIFETIME, TOKEN_RENEW_BEFORE
from zmigrate.retry import NETWORK_ERRORS, RetryPolicy, network_error
from zmigrate.scrub import register

TOKEN_PATH = "/oauth/v2/token"
ACCOUNTS_THROTTLED = "Access Denied"
"""The accounts server's ``error`` when too many tokens were asked for in a row."""
RENEW_BEFORE = TOKEN_RENEW_BEFORE
"""Renew an access token this many Zoho seconds before it expires."""
DEFAULT_SCOPE = (
    "ZohoCRM.modules.ALL,ZohoCRM.bulk.ALL,ZohoCRM.coql.READ,ZohoCRM.settings.ALL,"
    "ZohoCRM.org.READ,ZohoCRM.users.READ,ZohoFiles.files.ALL,"
    "ZohoBooks.fullaccess.all,ZohoInventory.fullaccess.all"
)
"""Scopes asked for in the client-credentials flow (``ZOHO_SCOPE`` overrides)."""


@dataclass(frozen=True)
class Credentials:
    """Who we are to Zoho and where it lives; secrets are kept out of ``repr``."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    soid: str | None = None
    dc: str = "com"
    organization_id: str | None = None
    accounts_url: str | None = None
    api_url: str | None = None
    content_url: str | None = None
    scope: str = DEFAULT_SCOPE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        """Read ``ZOHO_*`` variables; ConfigError names what is missing and how to fix it."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        missing = [n for n in ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET") if not get(n)]
        if not get("ZOHO_REFRESH_TOKEN") and not get("ZOHO_SOID"):
            missing.append("ZOHO_REFRESH_TOKEN (or ZOHO_SOID for client credentials)")
        if missing:
            raise ConfigError(
                f"missing environment variables: {', '.join(missing)}; set them from your "
                "Self Client in https://api-console.zoho.com, or run with --sandbox"
            )
        dc = (get("ZOHO_DC") or "com").lower()
        if dc not in DATA_CENTERS:
            raise ConfigError(
                f"ZOHO_DC={dc!r} is not a Zoho data center; use one of {', '.join(DATA_CENTERS)}"
            )
        return cls(
            client_id=get("ZOHO_CLIENT_ID") or "",
            client_secret=get("ZOHO_CLIENT_SECRET") or "",
            refresh_token=get("ZOHO_REFRESH_TOKEN"),
            soid=get("ZOHO_SOID"),
            dc=dc,
            organization_id=get("ZOHO_ORGANIZATION_ID"),
            accounts_url=get("ZOHO_ACCOUNTS_URL"),
            api_url=get("ZOHO_API_URL"),
            content_url=get("ZOHO_CONTENT_URL"),
            scope=get("ZOHO_SCOPE") or DEFAULT_SCOPE,
        )

    @property
    def token_url(self) -> str:
        """The data center's token endpoint, or the override's (with or without the path)."""
        base = (self.accounts_url or DATA_CENTERS[self.dc].accounts_url).rstrip("/")
        return base if base.endswith(TOKEN_PATH) else base + TOKEN_PATH

    def grant(self) -> dict[str, str]:
        """The form fields of a token request: refresh token if we have one, else client creds."""
        form = {"client_id": self.client_id, "client_secret": self.client_secret}
        if self.refresh_token:
            form |= {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        else:
            form |= {"grant_type": "client_credentials", "scope": self.scope}
            if self.soid:
                form["soid"] = self.soid
        return form


def content_url_for(api_url: str) -> str:
    """The upload host matching an API host: the DC's ``content.`` twin, else the host itself."""
    for dc in DATA_CENTERS.values():
        if api_url.rstrip("/") == dc.api_url:
            return dc.content_url
    host = urlsplit(api_url).hostname or ""
    if host.startswith("www.zohoapis."):
        return api_url.replace("://www.", "://content.", 1)
    return api_url


@dataclass(frozen=True)
class Token:
    """One access token and when it stops working (Zoho time)."""

    value: str = field(repr=False)
    expires_at: float
    api_domain: str | None = None
    scopes: tuple[str, ...] | None = None
    """The scopes the answer says it grants (None: the answer did not say)."""

    def fresh(self, now: float, renew_before: float = RENEW_BEFORE) -> bool:
        return now < self.expires_at - renew_before


def parse_token(body: object, sent_at: float) -> Token:
    """A token answer → Token; the accounts server's errors (HTTP 200 + ``error``) → ours."""
    if not isinstance(body, dict):
        raise AuthError("the accounts server answered without a JSON object", body=None)
    if "access_token" in body:
        lifetime = float(body.get("expires_in") or TOKEN_LIFETIME)
        register(str(body["access_token"]))  # masked wherever an error body echoes it
        scope = body.get("scope")
        scopes = tuple(str(scope).replace(",", " ").split()) if scope else None
        return Token(str(body["access_token"]), sent_at + lifetime, body.get("api_domain"), scopes)
    error = str(body.get("error", "unknown"))
    if error == ACCOUNTS_THROTTLED:
        raise Throttled("the accounts server refused: too many token requests", code=error)
    raise ConfigError(
        f"the accounts server refused the credentials ({error}); check ZOHO_CLIENT_ID, "
        "ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN/ZOHO_SOID, and that ZOHO_DC is the "
        "data center of your account"
    )


class TokenSource:
    """Access tokens on demand: one request at a time, renewed early and after a refusal."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        clock: Clock,
        renew_before: float = RENEW_BEFORE,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``policy``: the transport's own, so a token request is sent at most as often as
        any other request (the accounts server's throttling waits a whole window)."""
        self.session, self.credentials, self.clock = session, credentials, clock
        self.renew_before = renew_before
        self.policy, self.rng = policy or RetryPolicy(), rng or random.Random()
        self.refreshes = 0
        self._token: Token | None = None
        self._lock = asyncio.Lock()

    @property
    def organization_id(self) -> str | None:
        return self.credentials.organization_id

    @property
    def api_url(self) -> str:
        """API host: the override, else the token's ``api_domain``, else the data center's."""
        if self.credentials.api_url:
            return self.credentials.api_url.rstrip("/")
        if self._token and self._token.api_domain:
            return self._token.api_domain.rstrip("/")
        return DATA_CENTERS[self.credentials.dc].api_url

    @property
    def granted(self) -> tuple[str, ...] | None:
        """The scopes the current token's answer named (None: no token yet, or not said)."""
        return self._token.scopes if self._token else None

    @property
    def content_url(self) -> str:
        """Upload host (Bulk Write files): the override, else the API host's twin."""
        if self.credentials.content_url:
            return self.credentials.content_url.rstrip("/")
        return content_url_for(self.api_url)

    async def token(self) -> str:
        """A token valid for at least ``renew_before`` more Zoho seconds."""
        async with self._lock:
            if self._token is None or not self._token.fresh(self.clock.now(), self.renew_before):
                self._token = await self._fetch()
            return self._token.value

    def invalidate(self, value: str) -> None:
        """Zoho refused ``value`` (INVALID_TOKEN): the next ``token()`` fetches a new one.

        Only the token that was refused is dropped, so many calls failing with the same old
        token cause one renewal, not one each.
        """
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch(self) -> Token:
        """Ask the accounts server, retrying its throttling and outages under the policy."""
        attempt = 0
        while True:
            attempt += 1
            try:
                token = await self._ask()
            except TransientError as exc:
                if attempt >= self.policy.attempts:
                    raise
                await self.clock.sleep(self.policy.delay(attempt, exc, self.rng.random()))
            else:
                self.refreshes += 1
                return token

    async def _ask(self) -> Token:
        """One token request, its answer or failure mapped to the error tree."""
        sent_at = self.clock.now()
        url = self.credentials.token_url
        try:
            async with self.session.post(url, data=self.credentials.grant()) as resp:
                status, raw = resp.status, await resp.read()
        except NETWORK_ERRORS as exc:
            raise network_error(exc, url) from None
        if status >= 500:
            raise NetworkError(f"the accounts server answered HTTP {status}", status=status)
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        return parse_token(body, sent_at)
