"""The one retry policy, and the one place that knows aiohttp's failures.

Every request to Zoho, API call or token request alike, is sent at most
``RetryPolicy.attempts`` times (6 by default: the first send and 5 retries), whatever the
errors; the run above the transport never resends on its own, except a write whose first
send may have landed (``Unconfirmed``), which is looked up by key and resent within the
same cap. Which failures are retried is decided by their class in ``zmigrate.errors``::

    policy = RetryPolicy()
    await clock.sleep(policy.delay(attempt, error, rng.random()))
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from zmigrate.errors import ConcurrencyLimited, NetworkError, Throttled, ZohoError
from zmigrate.quotas import MINUTE

MAX_SENDS = 6
"""Sends of one request at most (first send included), for every kind of failure."""


@dataclass(frozen=True)
class RetryPolicy:
    """How many sends, and how long to wait between them (Zoho seconds)."""

    attempts: int = MAX_SENDS
    base: float = 1.0
    cap: float = 60.0
    window: float = MINUTE

    def delay(self, attempt: int, error: ZohoError, rand: float, windowed: bool = True) -> float:
        """Wait before attempt ``attempt + 1``; ``rand`` in [0, 1) gives the jitter.

        Throttled where Zoho counts in windows (``windowed``: Books, Inventory, the accounts
        server) waits out Retry-After or a whole window; everything else backs off
        exponentially with full jitter, bounded by ``cap`` and never less than Retry-After.
        """
        floor = error.retry_after or 0.0
        if windowed and isinstance(error, Throttled) and not isinstance(error, ConcurrencyLimited):
            return max(floor, self.window if error.retry_after is None else 0.0)
        backoff = min(self.cap, self.base * 2.0 ** (attempt - 1)) * rand
        return max(floor, backoff)


NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError)
"""What aiohttp raises when a request fails on the way (resets, refusals, timeouts)."""


def network_error(exc: BaseException, url: str) -> NetworkError:
    """aiohttp / timeout exceptions → NetworkError (the only place that knows aiohttp's tree)."""
    return NetworkError(f"{type(exc).__name__} talking to {url}: {exc}", url=url)


def never_sent(exc: BaseException) -> bool:
    """True if the request surely did not reach Zoho (the connection was never made)."""
    return isinstance(exc, aiohttp.ClientConnectorError)
