"""Zoho's limits as data: API credits, editions, plans, windows (and the org's day) and pace.

Shared by the planner (estimates), the run (pacing) and the sandbox (enforcement), so
the three can never disagree about a number. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

PER_MINUTE_CAP = 100
"""Books and Inventory: requests per minute per organization, on every plan."""

MINUTE = 60.0
DAY = 86_400.0
LONG_BLOCK = 5 * MINUTE
"""A throttle whose Retry-After is longer than this (Zoho's code 44 says 1800 s: the org is
blocked) pauses the run like a daily cap rather than holding its calls in a wait."""


def local_day(now: float, zone: dt.tzinfo) -> int:
    """The org's day number at ``now``: days since the epoch in its time zone (UTC: now // DAY)."""
    offset = dt.datetime.fromtimestamp(now, zone).utcoffset() or dt.timedelta(0)
    return int((now + offset.total_seconds()) // DAY)


def next_local_midnight(now: float, zone: dt.tzinfo) -> float:
    """Epoch seconds of the next midnight in ``zone``: when the org's daily cap resets."""
    today = dt.datetime.fromtimestamp(now, zone).date()
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return midnight.timestamp()


TOKEN_LIFETIME = 3_600
"""Access tokens live exactly one hour on every Zoho product."""

CRM_WRITE_MAX = 100
"""Records per CRM insert/update/upsert request."""
CRM_PAGE_MAX = 200
"""Records per CRM GET page."""
CRM_DISCRETE_PAGE_LIMIT = 2_000
"""Records reachable with page/per_page before a page_token is required."""
CRM_BULK_WRITE_ROWS = 25_000
"""Rows per Bulk Write CSV file."""
CRM_BULK_READ_PAGE = 200_000
"""Records per Bulk Read result page."""
BOOKS_PAGE_MAX = 200
"""Records per Books/Inventory list page."""
CRM_SUB_CONCURRENCY = 10
"""Shared pool for resource-intensive CRM calls, on every edition."""
CRM_BULK_DOWNLOADS_PER_MINUTE = 10
CRM_HEAVY_WRITE_OVER = 10
"""Writes of more records than this are resource-intensive: they also take from the
sub-concurrency pool."""
"""Bulk result files downloaded per minute (Zoho's Bulk Read documentation)."""


@dataclass(frozen=True)
class FinancePlan:
    """A Books or Inventory plan: daily cap and concurrent calls (per-minute cap is fixed)."""

    product: str
    name: str
    daily_limit: int
    concurrency: int
    per_minute: int = PER_MINUTE_CAP


BOOKS_PLANS: dict[str, FinancePlan] = {
    p.name: p
    for p in (
        FinancePlan("books", "free", 1_000, 5),
        FinancePlan("books", "standard", 2_000, 10),
        FinancePlan("books", "professional", 5_000, 10),
        FinancePlan("books", "premium", 10_000, 10),
        FinancePlan("books", "elite", 10_000, 10),
        FinancePlan("books", "ultimate", 10_000, 10),
    )
}

INVENTORY_PLANS: dict[str, FinancePlan] = {
    p.name: p
    for p in (
        FinancePlan("inventory", "free", 1_000, 5),
        FinancePlan("inventory", "standard", 2_000, 10),
        FinancePlan("inventory", "professional", 5_000, 10),
        FinancePlan("inventory", "premium", 10_000, 10),
        FinancePlan("inventory", "enterprise", 10_000, 10),
    )
}


@dataclass(frozen=True)
class CrmEdition:
    """A CRM edition: credits over a rolling 24 h window and concurrent calls."""

    name: str
    base_credits: int
    per_user_credits: int
    max_credits: int | None  # None: unlimited
    concurrency: int
    sub_concurrency: int = CRM_SUB_CONCURRENCY

    def daily_credits(self, users: int) -> int | None:
        """Credits available per rolling 24 h for an org with ``users`` licences."""
        total = self.base_credits + self.per_user_credits * max(0, users)
        return total if self.max_credits is None else min(total, self.max_credits)


CRM_EDITIONS: dict[str, CrmEdition] = {
    e.name: e
    for e in (
        CrmEdition("free", 5_000, 0, 5_000, 5),
        CrmEdition("standard", 50_000, 250, 100_000, 10),
        CrmEdition("professional", 50_000, 500, 3_000_000, 15),
        CrmEdition("enterprise", 50_000, 1_000, 5_000_000, 20),
        CrmEdition("ultimate", 50_000, 2_000, None, 25),
    )
}
CRM_EDITION_ALIASES = {"starter": "standard", "zoho_one": "enterprise", "crm_plus": "ultimate"}

# Credit costs of CRM operations (card: "CRM API Credit Costs").
CREDITS_METADATA = 1
CREDITS_GET = 1
CREDITS_SEARCH = 1
CREDITS_CONVERT_LEAD = 5
CREDITS_SEND_MAIL = 20
CREDITS_MERGE = 50
CREDITS_BULK_READ = 50
CREDITS_BULK_WRITE = 500
CREDITS_MASS_CONVERT = 200


def write_credits(records: int) -> int:
    """Insert/update/upsert: 1 credit per 10 records (rounded up) in one request."""
    return max(1, math.ceil(records / 10))


def coql_credits(limit: int) -> int:
    """COQL: 1 credit up to 200 rows asked for, 2 up to 1,000, 3 up to 2,000."""
    if limit <= 200:
        return 1
    if limit <= 1_000:
        return 2
    return 3


@dataclass(frozen=True)
class DataCenter:
    """Where an org lives: its accounts server and API hosts."""

    code: str
    accounts_url: str
    api_url: str
    content_url: str


def _dc(code: str, accounts: str, apis: str) -> DataCenter:
    return DataCenter(code, f"https://{accounts}", f"https://www.{apis}", f"https://content.{apis}")


DATA_CENTERS: dict[str, DataCenter] = {
    d.code: d
    for d in (
        _dc("com", "accounts.zoho.com", "zohoapis.com"),
        _dc("eu", "accounts.zoho.eu", "zohoapis.eu"),
        _dc("in", "accounts.zoho.in", "zohoapis.in"),
        _dc("com.au", "accounts.zoho.com.au", "zohoapis.com.au"),
        _dc("jp", "accounts.zoho.jp", "zohoapis.jp"),
        _dc("ca", "accounts.zohocloud.ca", "zohoapis.ca"),
        _dc("com.cn", "accounts.zoho.com.cn", "zohoapis.com.cn"),
        _dc("sa", "accounts.zoho.sa", "zohoapis.sa"),
    )
}


def crm_edition(name: str) -> CrmEdition:
    """Look up an edition by name or alias (case-insensitive); KeyError if unknown."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return CRM_EDITIONS[CRM_EDITION_ALIASES.get(key, key)]


# Pace assumptions for estimates. Zoho publishes none of these; they are typical figures, and
# the sandbox's defaults should match them so that a rehearsal confirms the plan.
TYPICAL_LATENCY = {"crm": 0.8, "books": 0.5, "inventory": 0.5}
UPLOAD_BYTES_PER_SECOND = 2_000_000
"""Attachment upload pace assumed per call (2 MB/s; Zoho publishes none)."""
"""Seconds one API call takes, by product (a 100-record CRM write, one Books create)."""
LATENCY_SPREAD = 0.35
"""Spread (log-normal sigma) of one call's latency around its median: a step's last calls end
with the slowest of them, about 0.6 of a mean latency after the rest for 10 at once."""
BULK_QUEUE_SECONDS = 3.0
"""Seconds a bulk job waits in Zoho's queue (state ADDED) before it starts."""
BULK_WRITE_ROWS_PER_SECOND = 2_000
"""Rows a running Bulk Write job processes per second."""
BULK_READ_ROWS_PER_SECOND = 10_000
"""Records a running Bulk Read job exports per second."""
BULK_POLL_FIRST, BULK_POLL_FACTOR, BULK_POLL_MAX = 2.0, 1.5, 60.0
"""Bulk Read status polls (and a Bulk Write job of unknown size): at once, then after 2 s,
each wait 1.5 times longer, at most 60 s."""
BULK_POLL_STEADY = 2.0
"""Bulk Write status polls after the predicted finish: this many seconds apart at least."""
BULK_POLL_SLACK = 0.05
"""A predicted finish is pushed back by this share of the running time left: a pace is never
exact, and a poll a little late costs a fraction of a second where one a little early costs
a credit and another poll."""


def bulk_write_poll_wait(
    rows: int, elapsed: float = 0.0, seen: Sequence[tuple[float, int]] = ()
) -> float:
    """Seconds to wait before the next status poll of a Bulk Write job of ``rows`` rows.

    ``elapsed``: seconds since the job was created; ``seen``: what its statuses said so far,
    as (seconds since creation, rows done). Before any status the job is predicted to finish
    after ``BULK_QUEUE_SECONDS`` and ``rows`` at ``BULK_WRITE_ROWS_PER_SECOND``; after one, at
    the pace its own progress shows (between its last two statuses, else since the queue).
    Polls land at that finish (``BULK_POLL_SLACK`` of the running time later), never closer
    than ``BULK_POLL_STEADY`` apart.
    """
    running = 1 + BULK_POLL_SLACK
    if not seen:
        finish = BULK_QUEUE_SECONDS + rows / BULK_WRITE_ROWS_PER_SECOND * running
        return max(0.0, finish - elapsed)
    at, done = seen[-1]
    before_at, before = seen[-2] if len(seen) > 1 else (BULK_QUEUE_SECONDS, 0)
    pace = float(BULK_WRITE_ROWS_PER_SECOND)
    if done > before and at > before_at:
        pace = (done - before) / (at - before_at)  # the job's own pace
    start = at if done > 0 else max(at, BULK_QUEUE_SECONDS)
    finish = start + max(0, rows - done) / pace * running
    return max(BULK_POLL_STEADY, finish - elapsed)


CRM_PAGINATION_LIMIT = 100_000
"""Records reachable through GET pages even with page_token; Bulk Read goes further."""
TOKEN_RENEW_BEFORE = 300.0
"""Renew an access token this many seconds before it expires (one token: 3,300 s of work)."""
CRM_BULK_JOBS_AT_ONCE = 3
"""Bulk jobs a run keeps going at once (they share the sub-concurrency pool of 10)."""
COQL_IN_VALUES_MAX = 50
"""Values per COQL ``in (...)`` look-up of existing records (an update finds ids this way)."""
