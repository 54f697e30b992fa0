"""Zoho Books v3 and Inventory v1: one record per request, paged lists, find by unique field.

Both products speak the same dialect (flat ``{"code","message"}`` answers, ``page_context``
lists, ``organization_id`` on every call), so one client serves either, with its own channel:
the 100/min pacer, the plan's concurrency, never shared between the two.

A create is not idempotent: if it fails in a way that may have reached Zoho (a reset, a
timeout, a 500), sending it again could make a duplicate. ``create`` therefore first looks
for the record by its unique field (contact_name, name, invoice_number, ...) and only sends
again if it is not there.

A daily cap (code 45) resets at midnight in the organization's time zone, which Zoho gives as
``time_zone`` in ``GET /organizations/{id}``: when Zoho's answer does not say when the cap
resets, the client asks for the org once and computes that midnight (UTC if it can't tell).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zmigrate import quotas, schema
from zmigrate.auth import TokenSource
from zmigrate.client.codes import ORGANIZATION_CODES, BooksCode
from zmigrate.client.finance_refs import SETTING_PATHS, Setting
from zmigrate.client.finance_stock import NoOrderLine, needs_order, order_lines, split_query
from zmigrate.client.http import Channel, Response, Transport
from zmigrate.client.models import Page, Product, RecordOutcome
from zmigrate.errors import ConfigError, QuotaExhausted, RequestRejected, Unconfirmed, ZohoError
from zmigrate.schema.finance import resource

API_PATHS = {Product.BOOKS: "/books/v3", Product.INVENTORY: "/inventory/v1"}
APPLIED_LISTS = {"creditnotes": "invoices_credited"}
"""Where a record lists what was applied to it (``GET /creditnotes/{id}``)."""
ZONE_ABBREVIATIONS = {
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "MST": "America/Denver",
    "CST": "America/Chicago",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "GMT": "Etc/UTC",
    "UTC": "Etc/UTC",
    "IST": "Asia/Kolkata",
}
"""Abbreviations in ``time_zone`` (Zoho's own organization sample says ``"PST"``)."""


def org_zone(name: object) -> dt.tzinfo:
    """An organization's ``time_zone`` (an IANA name or a common abbreviation) → tzinfo; UTC
    when it is missing or unknown."""
    text = str(name or "").strip()
    try:
        return ZoneInfo(ZONE_ABBREVIATIONS.get(text.upper(), text))
    except (ValueError, ZoneInfoNotFoundError):
        return dt.UTC


def resource_keys(product: str, module: str) -> tuple[str, str, str]:
    """(singular JSON key, id field, list key) of a module: ("payment", "payment_id",
    "customerpayments"), from the module table (a module it lacks: from its name)."""
    entry = resource(product, module)
    if entry is not None:
        return entry.singular, entry.id_field, entry.list_key
    singular = module.rstrip("s")
    return singular, f"{singular}_id", module


def record_path(product: str, module: str, record_id: str = "") -> str:
    """A module's endpoint, or one record's (a one-per-org module has no ids in its paths)."""
    entry = resource(product, module)
    base = entry.endpoint if entry else f"/{module}"
    return base if not record_id or (entry and entry.single) else f"{base}/{record_id}"


def unique_field(product: str, module: str, record: Mapping[str, Any]) -> str | None:
    """The first unique field of the module that ``record`` has a value for, if any."""
    mod = schema.module(product, module)
    if mod is None:
        return None
    order = [mod.display_field] + [f.api_name for f in mod.fields]
    for name in order:
        f = mod.field(name)
        if f is not None and f.unique and record.get(name) not in (None, ""):
            return name
    return None


class FinanceClient:
    """Books or Inventory calls for one organization, through that product's channel."""

    def __init__(
        self,
        transport: Transport,
        channel: Channel,
        tokens: TokenSource,
        product: Product | str,
        organization_id: str | None = None,
    ) -> None:
        """``organization_id``: this product's org, if not the credentials' own."""
        if product not in API_PATHS:
            raise ValueError(f"not a finance product: {product}")
        self.transport, self.channel, self.tokens = transport, channel, tokens
        self.product, self.organization_id = Product(product), organization_id
        self.zone: dt.tzinfo | None = None
        """The org's time zone, once a daily cap made the client ask for it."""
        self.lists: dict[Setting, list[dict[str, Any]]] = {}
        self.lists_lock = asyncio.Lock()

    async def base(self) -> str:
        """The product's API root, once a token has told us the API host (``api_domain``)."""
        await self.tokens.token()
        return self.tokens.api_url + API_PATHS[self.product]

    def _params(self, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
        org = self.organization_id or self.tokens.organization_id
        if org and not str(org).isdigit():
            raise ConfigError(
                f"organization_id {org!r} is not a Zoho organization id (digits only); "
                f"GET {API_PATHS[self.product]}/organizations lists yours"
            )
        if not org:
            raise ConfigError(
                f"ZOHO_ORGANIZATION_ID is not set; {self.product} needs it on every call "
                f"(GET {API_PATHS[self.product]}/organizations lists yours)"
            )
        params = {"organization_id": org}
        params.update({k: str(v) for k, v in (extra or {}).items()})
        return params

    async def _call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> Response:
        """One call; an organization Zoho refuses stops the run instead of failing each record."""
        url = await self.base() + path
        query = self._params(params)
        try:
            return await self.transport.request(self.channel, method, url, params=query, **kw)
        except QuotaExhausted as exc:
            if exc.code == BooksCode.DAILY and exc.resets_at is None:
                now = self.transport.clock.now()
                exc.resets_at = quotas.next_local_midnight(now, await self.time_zone())
            raise
        except RequestRejected as exc:
            if exc.code in ORGANIZATION_CODES:
                raise ConfigError(
                    f"{self.product} refused organization_id {query['organization_id']} "
                    f"(code {exc.code}); set ZOHO_ORGANIZATION_ID to one of your organizations "
                    f"(GET {API_PATHS[self.product]}/organizations lists them)"
                ) from exc
            raise

    async def time_zone(self) -> dt.tzinfo:
        """The org's time zone from ``GET /organizations/{id}`` (asked once; UTC if Zoho
        does not answer it)."""
        if self.zone is None:
            org = self._params()["organization_id"]
            url = f"{await self.base()}/organizations/{org}"
            try:
                body = (await self.transport.request(self.channel, "GET", url, attempts=1)).body
            except ZohoError:
                body = None
            found = body.get("organization") if isinstance(body, dict) else None
            self.zone = org_zone(found.get("time_zone") if isinstance(found, dict) else None)
        return self.zone

    async def create(
        self, module: str, record: Mapping[str, Any], *, unique: str | None = None
    ) -> RecordOutcome:
        """Create one record; a refusal comes back as a failed outcome, not an exception.

        ``unique`` names the field to reconcile on after an ambiguous failure (default: the
        module's first unique field present in ``record``). Without one, such a failure is
        raised, since only the caller can tell whether sending again is safe.
        """
        singular, id_key, _ = resource_keys(self.product, module)
        key = unique or unique_field(self.product, module, record)
        # A supplied document number (invoice_number, ...) is the record's key: keep it, even
        # when the org numbers documents automatically (Zoho's documented switch).
        entry = resource(self.product, module)
        number = entry.number if entry else None
        body, params = split_query(entry, record)
        if number and record.get(number):
            params["ignore_auto_number_generation"] = "true"
        if entry is not None and needs_order(entry, body):
            order_id = params.get("salesorder_id", "")
            try:
                order_lines(body, await self.get(entry.lines_of, order_id), order_id)
            except NoOrderLine as exc:
                return RecordOutcome(0, False, code="NO_ORDER_LINE", message=str(exc))
        attempts: int | None = None  # the policy's cap, less the sends spent before a lookup
        while True:
            try:
                resp = await self._call(
                    "POST",
                    record_path(self.product, module),
                    params=params,
                    json=body,
                    idempotent=False,
                    attempts=attempts,
                )
            except RequestRejected as exc:
                return RecordOutcome(0, False, code=exc.code, message=str(exc))
            except Unconfirmed as exc:
                if key is None:  # only the caller can tell whether sending again is safe
                    raise exc.cause from exc
                found = await self.find_by(module, key, record[key])
                if found is not None:
                    return RecordOutcome(0, True, str(found.get(id_key)), "found", record=found)
                attempts = exc.sends_left
                continue
            created = (resp.body or {}).get(singular) or {}
            return RecordOutcome(0, True, str(created.get(id_key)), "insert", 0, "", record=created)

    async def update(self, module: str, record_id: str, record: Mapping[str, Any]) -> RecordOutcome:
        """Update one record by id (idempotent: retried like any transient failure); fields
        fixed once the record exists (a package's lines) are left out."""
        singular, id_key, _ = resource_keys(self.product, module)
        entry = resource(self.product, module)
        body = {k: v for k, v in record.items() if not entry or k not in entry.fixed}
        try:
            path = record_path(self.product, module, record_id)
            resp = await self._call("PUT", path, json=body)
        except RequestRejected as exc:
            return RecordOutcome(0, False, record_id, code=exc.code, message=str(exc))
        updated = (resp.body or {}).get(singular) or {}
        new_id = str(updated.get(id_key, record_id))
        return RecordOutcome(0, True, new_id, "update", 0, "", record=updated)

    async def get(self, module: str, record_id: str) -> dict[str, Any] | None:
        """One record by id, or None if Zoho says it does not exist (HTTP 404)."""
        singular, _, _ = resource_keys(self.product, module)
        try:
            resp = await self._call("GET", record_path(self.product, module, record_id))
        except RequestRejected as exc:
            if exc.status == 404:
                return None
            raise
        return (resp.body or {}).get(singular)

    async def delete(self, module: str, record_id: str) -> RecordOutcome:
        """Delete one record by id; a record already gone (HTTP 404) comes back ``gone``.

        Idempotent, so resent like any idempotent call; a refusal (an invoice with a
        payment, a contact with transactions) is a failed outcome with Zoho's reason.
        """
        try:
            await self._call("DELETE", record_path(self.product, module, record_id))
        except RequestRejected as exc:
            if exc.status == 404:
                return RecordOutcome(0, True, record_id, "gone", exc.code, str(exc))
            return RecordOutcome(0, False, record_id, code=exc.code, message=str(exc))
        return RecordOutcome(0, True, record_id, "delete")

    async def list_page(
        self,
        module: str,
        page: int = 1,
        per_page: int = quotas.BOOKS_PAGE_MAX,
        filters: Mapping[str, Any] | None = None,
    ) -> Page:
        """One page of a list (``filters`` as Zoho's query parameters, e.g. contact_name)."""
        _, _, plural = resource_keys(self.product, module)
        entry = resource(self.product, module)
        if entry is not None and entry.single:  # the org's one record, if any
            found = await self.get(module, "")
            return Page([found] if found else [], False, None, 1)
        params = {"page": page, "per_page": per_page, **(filters or {})}
        resp = await self._call("GET", f"/{module}", params=params)
        body = resp.body or {}
        context = body.get("page_context") or {}
        return Page(
            list(body.get(plural) or []),
            bool(context.get("has_more_page")),
            None,
            int(context.get("page") or page),
        )

    async def iter_all(
        self, module: str, filters: Mapping[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of a list, page after page, 200 at a time."""
        page = 1
        while True:
            result = await self.list_page(module, page, filters=filters)
            for record in result.records:
                yield record
            if not result.more:
                return
            page = result.page + 1

    async def find_by(self, module: str, field: str, value: Any) -> dict[str, Any] | None:
        """The record whose ``field`` equals ``value`` exactly, or None.

        Asks Zoho to filter by ``field`` and checks each answer itself, so a server that
        filters loosely (prefix, case) or not at all still gives the exact match.
        """
        wanted = str(value)
        entry = resource(self.product, module)
        if entry is not None and entry.single:  # the org's one record, read by GET
            found = await self.get(module, "")
            return found if found and str(found.get(field)) == wanted else None
        async for record in self.iter_all(module, filters={field: value}):
            if str(record.get(field)) == wanted:
                return record
        return None

    async def settings_list(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every entry of a settings list (``/settings/taxes`` → ``taxes``, ``/locations`` →
        ``locations``), page after page while ``page_context.has_more_page`` says so."""
        entries: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {"page": page, "per_page": quotas.BOOKS_PAGE_MAX}
            body = (await self._call("GET", path, params=params)).body or {}
            entries.extend(body.get(key) or [])
            if not (body.get("page_context") or {}).get("has_more_page"):
                return entries
            page += 1

    async def org_lists(self, wanted: set[Setting]) -> dict[Setting, list[dict[str, Any]]]:
        """The org's taxes and currencies, each read once (a run's records share them)."""
        async with self.lists_lock:
            for key in sorted(wanted - set(self.lists)):
                self.lists[key] = await self.settings_list(SETTING_PATHS[key], key)
        return {k: self.lists[k] for k in wanted}

    async def apply(
        self, module: str, record_id: str, entries: list[dict[str, Any]], *, check: bool
    ) -> RecordOutcome:
        """Apply ``entries`` to a record by its own request (a credit note's invoices:
        ``POST /creditnotes/{id}/invoices``), exactly once.

        ``check`` (a retried record, a lost answer): first read the record and leave out the
        entries already applied (same document id), so nothing is applied twice.
        """
        entry = resource(self.product, module)
        if entry is None or not entry.applied:
            raise ValueError(f"{module} takes no applications")
        todo, attempts = entries, None
        path = f"/{module}/{record_id}/{entry.applied}"
        while True:
            if check:
                todo = await self._not_applied(module, record_id, entry.applied_key, todo)
            if not todo:
                return RecordOutcome(0, True, record_id, "found")
            try:
                body = {entry.applied: todo}
                await self._call("POST", path, json=body, idempotent=False, attempts=attempts)
            except RequestRejected as exc:
                return RecordOutcome(0, False, record_id, code=exc.code, message=str(exc))
            except Unconfirmed as exc:
                if not exc.sends_left:
                    raise exc.cause from exc
                check, attempts = True, exc.sends_left
                continue
            return RecordOutcome(0, True, record_id, "applied")

    async def _not_applied(
        self, module: str, record_id: str, key: str, entries: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The entries whose document the record does not list as applied yet."""
        record = await self.get(module, record_id) or {}
        done = {str(a.get(key)) for a in record.get(APPLIED_LISTS.get(module, "")) or []}
        return [e for e in entries if str(e.get(key)) not in done]

    async def preferences(self) -> dict[str, Any]:
        """``GET /settings/preferences``: the org's preferences, with custom field definitions
        per entity under ``customfields`` (Zoho documents no other way to list them)."""
        return dict((await self._call("GET", "/settings/preferences")).body or {})
