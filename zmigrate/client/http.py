"""The one place where HTTP meets Zoho's quotas: pacing, gates, credits, error mapping, retries.

Every request goes through :meth:`Transport.request` with the :class:`Channel` of its product
(Books, Inventory and CRM never share a quota). Answers are mapped to the error tree of
``zmigrate.errors`` by :func:`classify` (codes from ``zmigrate.client.codes``) and aiohttp
exceptions by ``zmigrate.retry.network_error``; the retry loop is the only one in zmigrate,
sends a request at most ``RetryPolicy.attempts`` times (``zmigrate.retry.MAX_SENDS``, 6) and
decides by error *class* only:

- ``Throttled`` (code 44, HTTP 429, CRM TOO_MANY_REQUESTS by 429 or 400): the window is
  full. Stop sending on this product until Retry-After (Books/Inventory: else one whole
  window) has passed; don't hammer. A Retry-After longer than ``quotas.LONG_BLOCK`` (code
  44 blocks the organization for 1800 s) is ``Blocked`` (a ``QuotaExhausted``): the run
  pauses until it ends.
- ``ConcurrencyLimited`` (1070; CRM TOO_MANY_REQUESTS naming a concurrency pool): one
  parallel call fewer on this product (or on CRM's heavy-call pool), then retry.
- ``ServerError`` / ``NetworkError``: bounded exponential backoff with full jitter, never
  shorter than Retry-After. A request that is not idempotent (a create) is resent only if
  it surely never reached Zoho (connection refused); otherwise, after the backoff,
  ``Unconfirmed`` is raised and the caller looks the record up before sending again
  (``FinanceClient.create``, the run's CRM inserts and Bulk Write jobs).
- ``AuthError``: drop the token, fetch a new one, retry once; a second refusal is raised.
- ``QuotaExhausted`` and ``RequestRejected`` are raised at once. A daily cap that Zoho's
  headers said is spent, or CRM credits the ledger can't cover, are refused before sending.
  A daily cap (45) without a reset header has ``resets_at`` None: the finance client knows
  the org's time zone, whose midnight resets it.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson

from zmigrate.auth import TokenSource
from zmigrate.client.codes import (
    BOOKS_AUTH_CODES,
    CRM_AUTH_CODES,
    CRM_POOL_TYPES,
    CRM_SERVER_CODES,
    CRM_THROTTLE_CODES,
    BooksCode,
    CrmCode,
)
from zmigrate.client.models import Product
from zmigrate.clock import Clock
from zmigrate.errors import (
    AuthError,
    Blocked,
    ConcurrencyLimited,
    QuotaExhausted,
    RequestRejected,
    ServerError,
    Throttled,
    TransientError,
    Unconfirmed,
    ZohoError,
)
from zmigrate.foreground import Foreground
from zmigrate.pacing import CreditLedger, Gate, Reservation, WindowPacer
from zmigrate.quotas import DAY, LONG_BLOCK
from zmigrate.retry import NETWORK_ERRORS, RetryPolicy, network_error, never_sent

__all__ = ["Attempt", "Channel", "Response", "RetryPolicy", "Transport", "Usage", "classify"]

MIN_REAL_TIMEOUT = 10.0


@dataclass(frozen=True)
class Response:
    """A successful (or per-record) answer: HTTP status, decoded body, headers."""

    status: int
    body: Any
    headers: Mapping[str, str]


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Retry-After as seconds to wait (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now_epoch)
    except (TypeError, ValueError):
        return None


def _code(body: object) -> object:
    return body.get("code") if isinstance(body, dict) else None


def _message(body: object, status: int) -> str:
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {status}"


def classify(
    status: int, body: object, headers: Mapping[str, str], url: str, now: float
) -> ZohoError | None:
    """Map one answer to our error tree, or None if it is a success (or per-record outcomes).

    CRM writes answer 207 or 400 with a ``data`` list of per-record results: those are not
    request errors, the CRM client turns them into outcomes. A throttle asking to wait longer
    than ``LONG_BLOCK`` is a pause (``QuotaExhausted`` until its end), not a retry.
    """
    error = _classify(status, body, headers, url, now)
    if (
        isinstance(error, Throttled)
        and not isinstance(error, ConcurrencyLimited)
        and error.retry_after is not None
        and error.retry_after > LONG_BLOCK
    ):
        return _blocked(error, now)
    return error


def _blocked(error: Throttled, now: float) -> Blocked:
    """A throttle with a long Retry-After: the org is blocked until then (code 44: 1800 s)."""
    wait = error.retry_after or 0.0
    until = now + wait
    end = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(until))
    return Blocked(
        f"{error}: Zoho blocked the organization for {wait:.0f} s (Retry-After), until {end}; "
        "resume after that (zmigrate paces below the per-minute cap, so this means another "
        "client shares the org's quota)",
        resets_at=until,
        status=error.status,
        code=error.code,
        body=error.body,
        url=error.url,
        retry_after=error.retry_after,
    )


def _classify(
    status: int, body: object, headers: Mapping[str, str], url: str, now: float
) -> ZohoError | None:
    retry_after = parse_retry_after(headers.get("Retry-After"), now)
    code = _code(body)
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "body": body,
        "url": url,
        "retry_after": retry_after,
    }
    message = f"{_message(body, status)} (HTTP {status}, code {code}, {url})"
    if isinstance(code, bool):
        code = None
    if isinstance(code, int):  # Books / Inventory
        return _classify_finance(code, status, headers, now, message, kw)
    if code in CRM_THROTTLE_CODES or status == 429:
        details = body.get("details") if isinstance(body, dict) else None
        if isinstance(details, dict) and details.get("type") in CRM_POOL_TYPES:
            return ConcurrencyLimited(message, **kw)
        if code == CrmCode.LIMIT_EXCEEDED:
            resets_at = now + retry_after if retry_after is not None else now + DAY
            return QuotaExhausted(
                f"{message}: the CRM credit budget of the rolling 24 h is spent; resume later",
                resets_at=resets_at,
                **kw,
            )
        return Throttled(message, **kw)
    if status >= 500 or code in CRM_SERVER_CODES:
        return ServerError(message, **kw)
    if status == 401 or code in CRM_AUTH_CODES:
        return AuthError(message, **kw)
    if status < 400:
        return None
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return None  # per-record results of a write
    return RequestRejected(message, **kw)


def _classify_finance(
    code: int,
    status: int,
    headers: Mapping[str, str],
    now: float,
    message: str,
    kw: dict[str, Any],
) -> ZohoError | None:
    """A Books / Inventory answer with a numeric ``code``."""
    if code == BooksCode.SUCCESS and status < 400:
        return None
    if code == BooksCode.PER_MINUTE:
        return Throttled(message, **kw)
    if code == BooksCode.CONCURRENCY:
        return ConcurrencyLimited(message, **kw)
    if code == BooksCode.DAILY:
        wait = parse_retry_after(headers.get("X-Rate-Limit-Reset"), now) or kw["retry_after"]
        resets_at = now + wait if wait is not None else None  # the org's midnight: its client
        return QuotaExhausted(
            f"{message}: the daily API cap is spent; resume after it resets",
            resets_at=resets_at,
            **kw,
        )
    if code == BooksCode.INTERNAL or status >= 500:
        return ServerError(message, **kw)
    if status == 401 or code in BOOKS_AUTH_CODES:
        return AuthError(message, **kw)
    if status == 429:
        return Throttled(message, **kw)
    return RequestRejected(message, **kw)


def is_charged(sent: bool, error: ZohoError | None) -> bool:
    """Whether an attempt's credits count as spent: it may have reached Zoho, which did not
    refuse it up front (throttling and token refusals happen before any work)."""
    return sent and not isinstance(error, Throttled | AuthError)


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt, as told to ``Transport.observers`` (per-step accounting, reports)."""

    product: Product
    started: float
    """Zoho time it was sent (after waiting for the quotas)."""
    ended: float
    """Zoho time its answer (or failure) came back."""
    credits: int
    """Credits charged for it (0 when refused up front or never sent)."""
    error: ZohoError | None


@dataclass
class Usage:
    """What one product has cost so far, for the run report (actual vs planned)."""

    requests: int = 0
    ok: int = 0
    retries: int = 0
    credits: int = 0
    daily_remaining: int | None = None
    """Books/Inventory: the daily cap left, as the last X-Rate-Limit-Remaining said."""
    daily_resets_at: float | None = None
    """Zoho time the daily cap resets, from the last X-Rate-Limit-Reset (seconds to go)."""
    errors: dict[str, int] = field(default_factory=dict)

    def count_error(self, error: ZohoError) -> None:
        key = type(error).__name__
        if error.code is not None:
            key = f"{key}:{error.code}"
        self.errors[key] = self.errors.get(key, 0) + 1


@dataclass
class Channel:
    """One product's quotas in one org: pace, parallel calls, heavy-call pool, credits."""

    product: Product
    gate: Gate
    pacer: WindowPacer | None = None
    heavy_gate: Gate | None = None
    ledger: CreditLedger | None = None
    usage: Usage = field(default_factory=Usage)


def _encode_body(
    json: object, data: Any, headers: Mapping[str, str] | None
) -> tuple[Any, dict[str, str]]:
    """The body and headers of one attempt (a ``data`` function makes a fresh one-shot body)."""
    send_headers = dict(headers or {})
    if callable(data):  # a body that can be sent only once (multipart form): one per attempt
        data = data()
    if json is not None:
        data = orjson.dumps(json)
        send_headers["Content-Type"] = "application/json"
    return data, send_headers


class Transport:
    """Send requests through a Channel's quotas with token handling, mapping and retries.

    ``timeout`` is in Zoho seconds, but never shorter than ``min_real_timeout`` real seconds:
    a fast sandbox clock shrinks latency, not the machine's own processing time.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenSource,
        clock: Clock,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        timeout: float = 120.0,
        min_real_timeout: float = MIN_REAL_TIMEOUT,
    ) -> None:
        self.session, self.tokens, self.clock = session, tokens, clock
        self.timeout, self.min_real_timeout = timeout, min_real_timeout
        self.observers: list[Callable[[Attempt], None]] = []
        """Called after every attempt, retries included (Zoho time, credits charged)."""
        self.policy = policy or RetryPolicy()
        self.foreground = Foreground()
        """Windowed calls in flight, which bulk preparation on threads yields to."""
        self.rng = rng or random.Random()

    async def request(
        self,
        channel: Channel,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        credits: int = 0,
        heavy: bool = False,
        idempotent: bool = True,
        raw: bool = False,
        attempts: int | None = None,
    ) -> Response:
        """One logical call, retried as the error classes say; the body is JSON unless ``raw``.

        Sent at most ``attempts`` times (default: the policy's cap), token refusals included.
        ``data`` may be a function making the body, for bodies that can be sent only once
        (aiohttp's FormData): it is called for each attempt.
        ``credits`` are reserved in the channel's ledger before each attempt (QuotaExhausted
        if the budget can't cover them) and given back if Zoho refused the call unprocessed
        (throttling, auth). ``heavy`` also takes a place in the sub-concurrency pool.
        A call that is not ``idempotent`` and may have reached Zoho raises ``Unconfirmed``
        after its backoff, with the sends it has left, instead of being sent again.
        """
        cap = self.policy.attempts if attempts is None else attempts
        auth_retried = False
        attempt = 0
        while True:
            attempt += 1
            error, sent, response, token = await self._attempt(
                channel, method, url, params, json, data, headers, credits, heavy, raw
            )
            if error is None and response is not None:
                channel.gate.succeeded()
                return response
            assert error is not None
            channel.usage.count_error(error)
            if attempt >= cap:
                raise error
            if isinstance(error, AuthError) and not auth_retried:
                auth_retried = True
                self.tokens.invalidate(token or "")
                channel.usage.retries += 1
                continue
            if not isinstance(error, TransientError):
                raise error
            await self._back_off(channel, error, attempt, heavy)
            # Zoho refused a throttled call before doing anything: safe to send again
            if not idempotent and sent and not isinstance(error, Throttled):
                raise Unconfirmed(error, sends=attempt, sends_left=cap - attempt)
            channel.usage.retries += 1

    async def _back_off(
        self, channel: Channel, error: TransientError, attempt: int, heavy: bool
    ) -> None:
        """Wait as the policy says after ``error``; throttling blocks the product meanwhile."""
        if isinstance(error, ConcurrencyLimited):
            if heavy and channel.heavy_gate is not None:
                channel.heavy_gate.shrink()
            else:
                channel.gate.shrink()
        windowed = channel.pacer is not None
        delay = self.policy.delay(attempt, error, self.rng.random(), windowed)
        if isinstance(error, Throttled) and channel.pacer is not None:
            channel.pacer.block_until(self.clock.now() + delay)
        await self.clock.sleep(delay)

    async def _attempt(
        self,
        channel: Channel,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json: object,
        data: Any,
        headers: Mapping[str, str] | None,
        credits: int,
        heavy: bool,
        raw: bool,
    ) -> tuple[ZohoError | None, bool, Response | None, str | None]:
        """Send once through the quotas; (error, whether it may have reached Zoho, response,
        token). The token is taken once the quotas let the call go: a call that waited in them
        for longer than a token lives must not be sent with an expired one."""
        self._refuse_when_daily_cap_spent(channel, url)
        ledger = channel.ledger if credits else None
        reservation = ledger.reserve(credits, self.clock.now()) if ledger is not None else None
        body, send_headers = _encode_body(json, data, headers)
        token: str | None = None
        error: ZohoError | None = None
        sent = False
        sent_at: float | None = None
        response: Response | None = None
        try:
            async with self._admitted(channel, heavy):
                token = await self.tokens.token()
                send_headers["Authorization"] = f"Zoho-oauthtoken {token}"
                channel.usage.requests += 1
                sent, sent_at = True, self.clock.now()
                response = await self._send(method, url, params, body, send_headers, raw)
        except NETWORK_ERRORS as exc:
            error, sent = network_error(exc, url), not never_sent(exc)
        finally:
            if response is not None:
                now = self.clock.now()
                error = classify(response.status, response.body, response.headers, url, now)
            if reservation is not None and ledger is not None:
                self._settle(channel, ledger, reservation, is_charged(sent, error))
        if error is None:
            channel.usage.ok += 1
        if sent_at is not None:
            self._observe(channel, sent_at, credits if is_charged(sent, error) else 0, error)
        if response is not None:
            self._note_daily_cap(channel.usage, response.headers)
        return error, sent, response, token

    def _refuse_when_daily_cap_spent(self, channel: Channel, url: str) -> None:
        """Zoho said 0 calls are left today: send nothing until the reset."""
        usage = channel.usage
        if usage.daily_remaining == 0 and (usage.daily_resets_at or 0) > self.clock.now():
            raise QuotaExhausted(
                f"{channel.product}: the daily API cap is spent (Zoho said 0 left); "
                "resume the run after it resets",
                resets_at=usage.daily_resets_at,
                url=url,
            )

    @asynccontextmanager
    async def _admitted(self, channel: Channel, heavy: bool) -> AsyncIterator[None]:
        """Hold the heavy pool's place (heavy calls), the product's concurrency place and a
        window slot. The pool first: a call waiting for it holds no edition place that a
        light call could use; every call takes them in this one order, so none deadlocks."""
        async with AsyncExitStack() as stack:
            if heavy and channel.heavy_gate is not None:
                await stack.enter_async_context(channel.heavy_gate)
            await stack.enter_async_context(channel.gate)
            if channel.pacer is not None:
                await stack.enter_async_context(channel.pacer.slot())
                stack.enter_context(self.foreground.call())
            yield

    def _settle(
        self, channel: Channel, ledger: CreditLedger, reservation: Reservation, charged: bool
    ) -> None:
        """Charge the reserved credits, or give them back when Zoho did not count the call."""
        ledger.settle(reservation, self.clock.now(), charged=charged)
        if charged:
            channel.usage.credits += reservation.credits

    def _observe(
        self, channel: Channel, sent_at: float, credits: int, error: ZohoError | None
    ) -> None:
        if self.observers:
            seen = Attempt(channel.product, sent_at, self.clock.now(), credits, error)
            for observer in self.observers:
                observer(seen)

    def _note_daily_cap(self, usage: Usage, headers: Mapping[str, str]) -> None:
        """Remember what Books/Inventory said of the daily cap (headers absent: nothing)."""
        remaining = headers.get("X-Rate-Limit-Remaining", "")
        if remaining.isdigit():
            usage.daily_remaining = int(remaining)
            reset = parse_retry_after(headers.get("X-Rate-Limit-Reset"), self.clock.now())
            usage.daily_resets_at = None if reset is None else self.clock.now() + reset

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str],
        raw: bool,
    ) -> Response:
        real = max(self.min_real_timeout, self.clock.real(self.timeout))
        timeout = aiohttp.ClientTimeout(total=real)
        async with self.session.request(
            method, url, params=params, data=body, headers=headers, timeout=timeout
        ) as resp:
            payload = await resp.read()
            decoded: Any = payload
            if not raw or resp.status >= 400:
                try:
                    decoded = orjson.loads(payload) if payload else None
                except orjson.JSONDecodeError:
                    decoded = {"message": payload[:200].decode("utf-8", "replace")}
            return Response(resp.status, decoded, resp.headers)
