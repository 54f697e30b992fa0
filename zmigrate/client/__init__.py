"""The layer that talks to Zoho: one :class:`Zoho` per run, with `.crm`, `.books`, `.inventory`.

Each product gets its own :class:`~zmigrate.client.http.Channel` built from
``zmigrate.quotas`` (never shared): Books and Inventory a 100/min sliding-window pacer and
the plan's concurrency; CRM the edition's concurrency, the sub-concurrency pool of 10 and a
credit ledger over the rolling 24 h. ``Zoho.usage()`` says what was spent, for the report.

Typical use::

    async with open_zoho(Credentials.from_env(os.environ), Clock(), Limits()) as zoho:
        outcomes = await zoho.crm.upsert("Contacts", rows, ["Email"])
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace

import aiohttp

from zmigrate import quotas
from zmigrate.auth import Credentials, TokenSource
from zmigrate.client.crm import CrmClient
from zmigrate.client.finance import FinanceClient
from zmigrate.client.http import Channel, RetryPolicy, Transport, Usage
from zmigrate.client.models import BulkJob, BulkWriteResult, Page, Product, RecordOutcome
from zmigrate.client.session import single_send_session
from zmigrate.clock import Clock
from zmigrate.pacing import CreditLedger, Gate, WindowPacer

__all__ = [
    "BulkJob",
    "BulkWriteResult",
    "Channel",
    "Credentials",
    "Limits",
    "Page",
    "Product",
    "RecordOutcome",
    "RetryPolicy",
    "TokenSource",
    "Usage",
    "Zoho",
    "open_zoho",
]


@dataclass(frozen=True)
class Limits:
    """Which plan/edition each product is on; every number is looked up in ``quotas``."""

    books_plan: str = "premium"
    inventory_plan: str = "enterprise"
    crm_edition: str = "enterprise"
    crm_users: int = 1
    pacer_margin: float = 0.0
    """Extra Zoho seconds a pacer slot stays taken after its window (clock-skew guard)."""

    def books(self) -> quotas.FinancePlan:
        return quotas.BOOKS_PLANS[self.books_plan.lower()]

    def inventory(self) -> quotas.FinancePlan:
        return quotas.INVENTORY_PLANS[self.inventory_plan.lower()]

    def crm(self) -> quotas.CrmEdition:
        return quotas.crm_edition(self.crm_edition)

    def crm_budget(self) -> int | None:
        return self.crm().daily_credits(self.crm_users)


class Zoho:
    """All three products of one org, each behind its own quotas."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenSource,
        clock: Clock,
        limits: Limits | None = None,
        policy: RetryPolicy | None = None,
        crm_credit_history: Iterable[tuple[float, int]] = (),
        organizations: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``organizations`` maps "books"/"inventory" to an org id when they differ from the
        credentials' organization_id; ``crm_credit_history`` seeds the ledger on resume."""
        self.limits = limits = limits or Limits()
        orgs = organizations or {}
        self.clock = clock
        self.tokens = tokens
        self.transport = Transport(session, tokens, clock, policy, rng)
        self.channels: dict[str, Channel] = {
            Product.BOOKS: self._finance_channel(
                Product.BOOKS, limits.books(), limits.pacer_margin
            ),
            Product.INVENTORY: self._finance_channel(
                Product.INVENTORY, limits.inventory(), limits.pacer_margin
            ),
            Product.CRM: Channel(
                Product.CRM,
                Gate(limits.crm().concurrency),
                heavy_gate=Gate(limits.crm().sub_concurrency),
                ledger=CreditLedger(limits.crm_budget(), history=list(crm_credit_history)),
            ),
        }
        crm = self.channels[Product.CRM]
        downloads = replace(
            crm,
            pacer=WindowPacer(quotas.CRM_BULK_DOWNLOADS_PER_MINUTE, quotas.MINUTE, clock),
        )
        self.crm = CrmClient(self.transport, crm, tokens, clock, downloads=downloads)
        self.books = FinanceClient(
            self.transport, self.channels[Product.BOOKS], tokens, Product.BOOKS, orgs.get("books")
        )
        self.inventory = FinanceClient(
            self.transport,
            self.channels[Product.INVENTORY],
            tokens,
            Product.INVENTORY,
            orgs.get("inventory"),
        )

    def _finance_channel(self, name: Product, plan: quotas.FinancePlan, margin: float) -> Channel:
        pacer = WindowPacer(plan.per_minute, quotas.MINUTE, self.clock, margin)
        return Channel(name, Gate(plan.concurrency), pacer=pacer)

    def usage(self) -> dict[str, dict[str, object]]:
        """Per product: requests, successes, retries, credits, errors by class and code."""
        report: dict[str, dict[str, object]] = {}
        for name, ch in self.channels.items():
            report[str(name)] = {**asdict(ch.usage), "peak_concurrency": ch.gate.peak}
        return report

    def crm_credits_available(self) -> int | None:
        """Credits left in the rolling window now (None: unlimited edition)."""
        ledger = self.channels[Product.CRM].ledger
        return ledger.available(self.clock.now()) if ledger is not None else None


@asynccontextmanager
async def open_zoho(
    credentials: Credentials,
    clock: Clock,
    limits: Limits | None = None,
    policy: RetryPolicy | None = None,
    crm_credit_history: Iterable[tuple[float, int]] = (),
    organizations: Mapping[str, str] | None = None,
    rng: random.Random | None = None,
) -> AsyncIterator[Zoho]:
    """An aiohttp session, a token source and a :class:`Zoho` on them, closed on exit.

    ``policy`` caps the sends of every request, token requests included; ``rng`` draws the
    jitter of their backoff (seeded: a rehearsal's waits can be replayed)."""
    async with single_send_session() as session:
        tokens = TokenSource(session, credentials, clock, policy=policy, rng=rng)
        yield Zoho(session, tokens, clock, limits, policy, crm_credit_history, organizations, rng)
