"""Zoho Books v3 and Zoho Inventory v1: organizations and module CRUD, with their quotas.

Both products serve the same organizations and share their contacts and items, as a Books
and an Inventory subscription of one Zoho org do; each keeps its own quota pool per org.
Modules and fields come from ``zmigrate.schema`` (BOOKS_MODULES, INVENTORY_MODULES), plans
from ``zmigrate.quotas`` (BOOKS_PLANS, INVENTORY_PLANS).

Wire format (Zoho's): success ``{"code": 0, "message": ..., "<singular>": {...}}`` (HTTP 201
on create), lists ``{"code": 0, "message": "success", "<plural>": [...], "page_context":
{page, per_page, has_more_page, report_name, applied_filter, sort_column, sort_order}}``;
errors flat ``{"code": <int>, "message": "..."}``. Codes used:

====  ====  ==============================================================================
HTTP  code  when
====  ====  ==============================================================================
400   2     invalid value: bad field value, unknown field, page/per_page, a non-numeric
            organization_id
400   4     a mandatory field is missing
400   15    a text over its maximum length
400   6024  organization_id is missing
400   6041  organization_id names no organization of the user
400   1001  a unique value (item name, sku, invoice/order number) already exists
400   3062  a contact name already exists
400   1002  a referenced record (customer_id, vendor_id, item_id) does not exist
400   1038  the body is not well-formed JSON
401   14    missing or malformed Authorization header, a ``Bearer`` header, another data center
401   57    unknown, expired or deleted (revoked) token; a token without this product's scope
404   1002  the record in the URL does not exist
404   5     unknown URL
405   37    method not allowed on this URL
413   2     body over ``max_body_bytes``
429   44    more than 100 requests in a 60-second window (per product and org): the org is
            blocked for ``--block-seconds`` (1800), answered 44 with ``Retry-After`` throughout
429   45    daily cap of the plan reached (per product and org, per day of the org's time zone)
429   1070  concurrency cap of the plan reached (per product and org)
500   1000  internal error (fault injection)
====  ====  ==============================================================================

A ``custom_fields`` entry naming a custom field the org lacks is answered 400, code 120100
(``finance_settings``).

Codes 14, 1000, 1002, 44, 45, 1070, 2 ("Invalid value passed for ..."), 15, 57, 1038, 3062,
6024 and 6041 and their messages are Zoho's, as documented or observed (README, "The
sandbox"); 4, 1001, 5, 37, the HTTP status of field errors and 413 are best guesses.

Every response past the organization check (429s included) carries ``X-Rate-Limit-Limit``
(daily cap), ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset`` (Zoho seconds until the
day resets): Zoho documents no such headers, so a client must not depend on them
(``rate_limit_headers=False``, ``--no-rate-limit-headers``, leaves them out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from aiohttp import web

from zmigrate import zoho_scopes
from zmigrate.quotas import BOOKS_PAGE_MAX, BOOKS_PLANS, INVENTORY_PLANS, FinancePlan
from zmigrate.sandbox.core import Admission, Failure, Product, Reply, read_json, zoho_json
from zmigrate.sandbox.finance_ledger import (
    APPLY_MESSAGE,
    CREDITED,
    ENTRIES,
    OPEN_STATUS,
    Ledger,
    open_document,
    settle,
)
from zmigrate.sandbox.finance_lists import ORG_PARAM, list_filters, positive
from zmigrate.sandbox.finance_opening import OpeningBalances
from zmigrate.sandbox.finance_records import (
    clean_entries,
    contact_currency,
    currency_of,
    line_item,
    stock_at,
    totals,
)
from zmigrate.sandbox.finance_settings import CUSTOM_FIELDS, FinanceSettings
from zmigrate.sandbox.finance_stock import STOCK, Stock
from zmigrate.sandbox.finance_store import FinanceQuota, FinanceStore
from zmigrate.sandbox.finance_values import check_value, error, invalid
from zmigrate.sandbox.journal import Journal
from zmigrate.schema import BOOKS_MODULES, INVENTORY_MODULES, Field, Module
from zmigrate.schema.finance import LEDGER, Resource, resource

if TYPE_CHECKING:
    from zmigrate.sandbox.app import Sandbox


THROTTLE_MESSAGES = {
    44: "For security reasons your organization has been blocked as it have exceeded the maximum"
    " number of requests per minute that can originate from an organization.",
    45: "The API call for this organization has exceeded the maximum call rate limit of {limit}.",
    1070: "You have reached the maximum number of in process requests allowed. Kindly try again"
    " after some time.",
}
"""Zoho Books API v3 introduction, "API Call Limit" and "Concurrent Rate Limiter"."""
NOT_AUTHENTICATED = (
    "The request could not be authenticated as the authentication value you entered is invalid."
    " Enter a valid authentication value and try again."
)
NOT_AUTHORIZED = "You are not authorized to perform this operation"
"""Zoho's answer (401, code 57) to an expired or revoked token, or one without the scope."""
MISSING_ORG = (
    "This user belongs to multiple organizations, hence the parameter CompanyID/CompanyName is"
    " required for associating this user to a specific organization."
)


def entry_of(module: Module) -> Resource:
    """The module's table entry (its id field, number, messages, report name)."""
    found = resource(module.product, module.api_name)
    assert found is not None, module.api_name
    return found


def id_field(module: Module) -> str:
    return entry_of(module).id_field


def label(module: Module) -> str:
    return entry_of(module).label


class FinanceProduct(Product):
    """Books or Inventory over the shared store; subclasses name the product and plan."""

    modules: ClassVar[dict[str, Module]]
    owned: ClassVar[tuple[str, ...]]
    """Modules this product persists and resets (shared ones belong to Books)."""
    plans: ClassVar[dict[str, FinancePlan]]
    prefix: ClassVar[str]
    settings_lists: ClassVar[tuple[str, ...]] = ("taxes", "currencies")

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox)
        store = sandbox.shared.get("finance")
        if store is None:
            store = sandbox.shared["finance"] = FinanceStore(
                sandbox.credentials.organization_ids, sandbox.journal
            )
        self.store: FinanceStore = store
        plan_name = getattr(sandbox.config, f"{self.name}_plan")
        self.quota = self._new_quota(self.plans[plan_name])
        self.all_modules = {**BOOKS_MODULES, **INVENTORY_MODULES}
        self.settings = FinanceSettings(self.name, self.settings_lists)
        self.ledger = Ledger(store)
        self.stock = Stock(self)

    def _new_quota(self, plan: FinancePlan) -> FinanceQuota:
        config = self.sandbox.config
        return FinanceQuota(plan, config.block_seconds, ZoneInfo(config.org_time_zone))

    def load_settings(self, section: Mapping[str, Any]) -> None:
        """Serve a schema snapshot's ``books``/``inventory`` section (taxes, currencies,
        locations, custom fields) instead of a new org's defaults; UsageError if malformed."""
        self.settings.load(section)

    # ---- plug-in interface ---------------------------------------------------------------
    def add_routes(self, api: web.Application, content: web.Application) -> None:
        r = api.router
        r.add_get(f"{self.prefix}/organizations", self.list_orgs)
        r.add_get(f"{self.prefix}/organizations/{{org_id}}", self.get_org)
        r.add_get(f"{self.prefix}/settings/preferences", self.get_preferences)
        stocked = [name for name in self.modules if name in STOCK]
        self.settings.add_routes(r, self.prefix, served=stocked)
        if stocked:
            self.stock.add_routes(r, self.prefix)
        for name in self.modules:
            if entry_of(self.modules[name]).single:
                OpeningBalances(self).add_routes(r, self.prefix)
                continue
            if name in STOCK:
                continue
            r.add_get(f"{self.prefix}/{name}", self.list_records)
            r.add_post(f"{self.prefix}/{name}", self.create)
            r.add_get(f"{self.prefix}/{name}/{{record_id}}", self.get)
            r.add_put(f"{self.prefix}/{name}/{{record_id}}", self.update)
            r.add_delete(f"{self.prefix}/{name}/{{record_id}}", self.delete)
            applied = entry_of(self.modules[name]).applied
            if applied:
                r.add_post(f"{self.prefix}/{name}/{{record_id}}/{applied}", self.apply)

    def fail(self, failure: Failure, detail: str = "") -> web.Response:
        if failure in (Failure.INVALID_TOKEN, Failure.SCOPE_MISMATCH):
            return error(401, 57, NOT_AUTHORIZED)
        if failure is Failure.UNKNOWN_URL:
            return error(404, 5, "Invalid URL Passed")
        if failure is Failure.METHOD_NOT_ALLOWED:
            return error(405, 37, "The HTTP method is not allowed for the requested resource")
        if failure is Failure.INTERNAL_ERROR:
            return error(500, 1000, "Internal error")
        if failure is Failure.BODY_TOO_LARGE:
            return error(413, 2, "Invalid value passed for JSONString: the body is too large")
        if failure is Failure.MALFORMED_JSON:
            return error(400, 1038, "JSON is not well formed")
        return error(401, 14, NOT_AUTHENTICATED)

    async def admit(self, request: web.Request) -> Admission:
        if request.path.startswith(f"{self.prefix}/organizations"):
            return Admission()
        org = request.query.get(ORG_PARAM, "")
        refusal = self._org_refusal(org)
        if refusal is not None:
            return Admission(refusal)
        now = self.sandbox.clock.now()
        code = self.quota.admit(org, now)
        if code in (None, 44):  # a call taken, or the org's block (kept across restarts)
            self.sandbox.journal.put(f"quota/{self.name}", org, self.quota.snapshot(org))
        headers = self.quota.headers(org, now) if self.sandbox.config.rate_limit_headers else {}
        if code is not None:
            message = THROTTLE_MESSAGES[code].format(limit=self.quota.plan.daily_limit)
            refusal = error(429, code, message)
            refusal.headers.update(headers)
            if code == 44:
                refusal.headers["Retry-After"] = str(self.quota.retry_after(org, now))
            return Admission(refusal)
        return Admission(release=lambda: self.quota.release(org), headers=headers)

    def _org_refusal(self, org: str) -> web.Response | None:
        """Zoho's answer to a missing, malformed or foreign ``organization_id`` (or None)."""
        if not org:
            return error(400, 6024, MISSING_ORG)
        if not (org.isascii() and org.isdigit()):
            return error(400, 2, "Invalid value passed for organization_id")
        if org not in self.store.records:
            return error(
                400, 6041, f"This user is not associated with the CompanyID/CompanyName:{org}."
            )
        return None

    def counts(self) -> dict[str, int]:
        orgs = self.store.org_ids
        return {name: sum(len(self.store.table(o, name)) for o in orgs) for name in self.modules}

    def state(self) -> dict[str, Any]:
        return self.quota.state(self.sandbox.clock.now())

    def records(self, module: str, query: Mapping[str, str]) -> list[dict[str, Any]] | None:
        if module not in self.modules:
            return None
        org = query.get(ORG_PARAM, self.store.org_ids[0])
        if org not in self.store.records:
            return None
        return list(self.store.table(org, module).values())

    def reset(self) -> None:
        self.store.clear(self.owned)
        self.quota = self._new_quota(self.quota.plan)
        self.sandbox.journal.clear(f"quota/{self.name}")

    def restore(self, journal: Journal) -> None:
        uniques = {
            name: tuple(f.api_name for f in self.all_modules[name].fields if f.unique)
            for name in self.owned
        }
        self.store.restore(self.owned, uniques)
        self.quota.restore(dict(journal.rows(f"quota/{self.name}")))

    # ---- handlers ------------------------------------------------------------------------
    def _org(self, org_id: str) -> dict[str, Any]:
        index = self.store.org_ids.index(org_id)
        return {
            "organization_id": org_id,
            "name": f"Sandbox Org {index + 1}",
            "contact_name": "Sandbox Admin",
            "email": f"admin{index + 1}@sandbox.invalid",
            "is_default_org": index == 0,
            "plan_name": self.quota.plan.name.upper(),
            "language_code": "en",
            "fiscal_year_start_month": 0,
            "account_created_date": "2026-01-01",
            "time_zone": self.sandbox.config.org_time_zone,
            "is_org_active": True,
            "currency_id": "460000000000097",
            "currency_code": "USD",
            "currency_symbol": "$",
            "currency_format": "###,##0.00",
            "price_precision": 2,
        }

    async def list_orgs(self, request: web.Request) -> web.Response:
        orgs = [self._org(o) for o in self.store.org_ids]
        return zoho_json({"code": 0, "message": "success", "organizations": orgs})

    async def get_org(self, request: web.Request) -> web.Response:
        org_id = request.match_info["org_id"]
        if org_id not in self.store.records:
            return error(404, 1002, "Organization does not exist.")
        return zoho_json({"code": 0, "message": "success", "organization": self._org(org_id)})

    async def get_preferences(self, request: web.Request) -> web.Response:
        entity_of = {name: m.singular for name, m in self.modules.items()}
        return zoho_json(self.settings.preferences(entity_of))

    def scope_allows(self, scopes: tuple[str, ...], request: web.Request) -> bool:
        """Zoho scopes Books and Inventory by area (`zoho_scopes`): a token with only
        ``ZohoBooks.contacts.READ`` may list contacts, not create invoices (401 code 57)."""
        area = request.path[len(self.prefix) + 1 :].split("/", 1)[0]
        op = zoho_scopes.HTTP_OPS.get(request.method, zoho_scopes.ScopeOp.READ)
        return zoho_scopes.grants(scopes, zoho_scopes.finance_scope(self.name, area, op))

    def _module(self, request: web.Request) -> Module:
        return self.modules[request.path[len(self.prefix) + 1 :].split("/", 1)[0]]

    def _row(self, request: web.Request, module: Module) -> tuple[str, dict[str, Any]]:
        org = request.query[ORG_PARAM]
        row = self.store.table(org, module.api_name).get(request.match_info["record_id"])
        if row is None:
            raise Reply(error(404, 1002, f"{label(module)} does not exist."))
        return org, row

    async def list_records(self, request: web.Request) -> web.Response:
        module = self._module(request)
        query = request.query
        page = positive(query.get("page", "1"), "page")
        per_page = min(positive(query.get("per_page", str(BOOKS_PAGE_MAX)), "per_page"),
                       BOOKS_PAGE_MAX)  # fmt: skip
        rows: Collection[dict[str, Any]] = self.store.table(
            query[ORG_PARAM], module.api_name
        ).values()
        filters = list_filters(query, module)
        if filters:
            rows = [
                r
                for r in rows
                if all(test(str(r.get(name, "")).lower(), w) for name, test, w in filters)
            ]
        start = (page - 1) * per_page
        chunk = list(islice(rows, start, start + per_page + 1)) if start < len(rows) else []
        subforms = {f.api_name for f in module.fields if f.data_type == "subform"} | {CREDITED}
        listed = [
            {k: v for k, v in r.items() if k not in subforms} if subforms else r
            for r in chunk[:per_page]
        ]
        return zoho_json(
            {
                "code": 0,
                "message": "success",
                module.plural_key: listed,
                "page_context": {
                    "page": page,
                    "per_page": per_page,
                    "has_more_page": len(chunk) > per_page,
                    "report_name": entry_of(module).report_name,
                    "applied_filter": "Status.All",
                    "sort_column": "created_time",
                    "sort_order": "A",
                },
            }
        )

    async def get(self, request: web.Request) -> web.Response:
        module = self._module(request)
        _, row = self._row(request, module)
        return zoho_json({"code": 0, "message": "success", module.singular: row})

    def insert(self, org: str, module_name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a record as the API would, without a request or quota (seeding tests).

        Raises ``Reply`` (its ``response`` holds Zoho's error) when the body is refused.
        """
        module = self.modules[module_name]
        entry = entry_of(module)
        if entry.applied and isinstance(body, dict) and entry.applied in body:
            raise invalid(entry.applied)  # applied by its own request once the record exists
        row = self._complete(org, module, self._validate(org, module, body, None))
        if entry.keyed_by:
            self.ledger.pay(org, entry, row, None)
        self._store(org, module, row, None)
        return row

    async def create(self, request: web.Request) -> web.Response:
        module = self._module(request)
        row = self.insert(request.query[ORG_PARAM], module.api_name, await read_json(request))
        message = entry_of(module).messages[0]
        return zoho_json({"code": 0, "message": message, module.singular: row}, 201)

    async def apply(self, request: web.Request) -> web.Response:
        """``POST /creditnotes/{id}/invoices``: credits applied to invoices."""
        module = self._module(request)
        org, note = self._row(request, module)
        done = self.ledger.credit(org, note, await read_json(request))
        body = {"invoices": [{k: a[k] for k in ("invoice_id", "amount_applied")} for a in done]}
        return zoho_json({"code": 0, "message": APPLY_MESSAGE, "apply_to_invoices": body}, 201)

    async def update(self, request: web.Request) -> web.Response:
        module = self._module(request)
        org, old = self._row(request, module)
        values = self._validate(org, module, await read_json(request), old)
        entry = entry_of(module)
        row = {**old, **values, "last_modified_time": self._now_iso()}
        if module.api_name in ENTRIES:
            row.update(self.ledger.entry(org, module.api_name, row, old))
        elif "line_items" in values:
            row.update(self._totals(values["line_items"]))
        if entry.keyed_by:
            self.ledger.pay(org, entry, row, old)
        elif module.api_name in ("invoices", "bills"):
            settle(row, module.api_name)
        elif entry.applied:
            credited = sum(a["amount_applied"] for a in row.get(CREDITED, []))
            row["balance"] = round(row.get("total", 0.0) - credited, 2)
        if module.api_name == "contacts":
            contact_currency(row, self._settings_by_id("currencies"))
        row.update(self.stock.kept(module.api_name, old, values))
        self._store(org, module, row, old)
        return zoho_json({"code": 0, "message": entry.messages[1], module.singular: row})

    async def delete(self, request: web.Request) -> web.Response:
        module = self._module(request)
        org, old = self._row(request, module)
        entry = entry_of(module)
        self.ledger.check_delete(org, module.api_name, old)
        if entry.keyed_by:
            self.ledger.unpay(org, entry, old)
        self.store.drop(org, module.api_name, old[id_field(module)])
        for f in module.fields:
            if f.unique and isinstance(old.get(f.api_name), str):
                self.store.index(org, module.api_name, f.api_name).pop(
                    old[f.api_name].lower(), None
                )
        return zoho_json({"code": 0, "message": entry.messages[2]})

    # ---- record logic ------------------------------------------------------------------
    def _validate(
        self, org: str, module: Module, body: Any, old: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The body's writable fields, checked; raises ``Reply`` with Zoho's error."""
        if not isinstance(body, dict):
            raise Reply(error(400, 1038, "JSON is not well formed"))
        values = self._checked_fields(org, module, body)
        if CUSTOM_FIELDS in body:
            values[CUSTOM_FIELDS] = self.settings.custom_values(
                module.api_name, body[CUSTOM_FIELDS], old
            )
        for name in module.mandatory:
            if name not in values and (old is None or old.get(name) in (None, "", [])):
                raise Reply(error(400, 4, f"Mandatory field {name} is missing."))
        self._check_unique(org, module, values, old)
        return values

    def _checked_fields(self, org: str, module: Module, body: dict[str, Any]) -> dict[str, Any]:
        """Each writable field's stored value (line items checked, lookups found)."""
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name == CUSTOM_FIELDS:  # checked against the org's definitions
                continue
            f = module.field(name)
            if f is None:
                raise invalid(name)
            if f.read_only or value is None:
                continue
            if f.data_type == "subform":
                values[name] = self._lines(org, f, value)
            else:
                values[name] = check_value(f, value, name)
            if f.lookup:
                self._must_exist(org, f.lookup, values[name])
        return values

    def _check_unique(
        self, org: str, module: Module, values: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        """Refuse a unique field's value another record of the org already holds."""
        for f in module.fields:
            value = values.get(f.api_name)
            if f.unique and isinstance(value, str) and value:
                owner = self.store.index(org, module.api_name, f.api_name).get(value.lower())
                if owner is not None and (old is None or owner != old[id_field(module)]):
                    kind = values.get("contact_type") or (old or {}).get("contact_type")
                    raise Reply(self._duplicate(module, f, value, kind or "customer"))

    def _duplicate(self, module: Module, f: Field, value: str, kind: str) -> web.Response:
        if module.api_name == "contacts":
            return error(
                400, 3062, f'The {kind} "{value}" already exists. Please specify a different name.'
            )
        return error(400, 1001, f'{label(module)} "{value}" already exists.')

    def _must_exist(self, org: str, module_name: str, record_id: str) -> dict[str, Any]:
        table = self.store.table(org, module_name)
        row = (self.stock.locations(org) if module_name == "locations" else table).get(record_id)
        if row is None:
            target = self.all_modules[module_name]
            raise Reply(error(400, 1002, f"{label(target)} does not exist."))
        return row

    def _lines(self, org: str, f: Field, value: Any) -> list[dict[str, Any]]:
        """An array field's entries as stored (line items priced and taxed), each with an id."""

        def exists(module: str, rid: str) -> dict[str, Any]:
            return self._must_exist(org, module, rid)

        entries = clean_entries(f, value, exists)
        id_key = next(
            (s.api_name for s in f.subfields if s.read_only and s.api_name.endswith("_id")), None
        )
        priced = any(s.api_name == "rate" for s in f.subfields) and f.api_name == "line_items"
        taxes = self._settings_by_id("taxes")
        for i, clean in enumerate(entries):
            if priced:
                line_item(clean, f"{f.api_name}[{i}]", exists, taxes)
            if f.api_name == "locations":
                stock_at(clean, self.stock.locations(org))
            if id_key:
                clean[id_key] = self.store.new_id()
        return entries

    def _settings_by_id(self, key: str) -> dict[str, dict[str, Any]]:
        id_key = {"taxes": "tax_id", "currencies": "currency_id", "locations": "location_id"}[key]
        return {str(e[id_key]): e for e in self.settings.entries.get(key, [])}

    @staticmethod
    def _totals(lines: list[dict[str, Any]]) -> dict[str, Any]:
        return totals(lines)

    def _now_iso(self) -> str:
        now = dt.datetime.fromtimestamp(self.sandbox.clock.now(), dt.UTC)
        return now.strftime("%Y-%m-%dT%H:%M:%S+0000")

    def _complete(self, org: str, module: Module, values: dict[str, Any]) -> dict[str, Any]:
        """A new record: the values plus what Zoho fills in (id, number, status, times)."""
        now = self._now_iso()
        row: dict[str, Any] = {id_field(module): self.store.new_id()}
        name, entry = module.api_name, entry_of(module)
        if name == "contacts":
            row.update(contact_type="customer", company_name="", status="active")
            contact_currency(values, self._settings_by_id("currencies"))
        elif name == "items":
            row.update(status="active", item_type="sales", product_type="goods")
            if values.get("locations"):
                row["initial_stock"] = sum(x.get("initial_stock", 0) for x in values["locations"])
        elif name == "chartofaccounts":
            row.update(is_active=True)
        elif name in ENTRIES:
            row.update(self.ledger.entry(org, name, values))
        else:
            if entry.number:
                row[entry.number] = values.get(entry.number) or self.store.next_number(
                    org, name, entry.prefix
                )
            row.update(date=now[:10], status=OPEN_STATUS.get(name, "draft"))
            party = next(k for k, m in entry.lookups.items() if m == "contacts")
            contact = self.store.table(org, "contacts")[values[party]]
            row[party.replace("_id", "_name")] = contact["contact_name"]
            rates = self._settings_by_id("currencies")
            row.update(currency_of(contact, values.pop("exchange_rate", None), rates))
            values.pop("currency_code", None)  # a document takes its party's currency
            if "line_items" in values:
                row.update(self._totals(values["line_items"]))
        row.update(values)
        row.update(created_time=now, last_modified_time=now)
        if name in OPEN_STATUS:
            open_document(row, name)
        return row

    def _store(
        self, org: str, module: Module, row: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        rid = row[id_field(module)]
        for f in module.fields:
            if not f.unique:
                continue
            index = self.store.index(org, module.api_name, f.api_name)
            if old is not None and isinstance(old.get(f.api_name), str):
                index.pop(old[f.api_name].lower(), None)
            if isinstance(row.get(f.api_name), str) and row[f.api_name]:
                index[row[f.api_name].lower()] = rid
        self.store.save(org, module.api_name, rid, row)


class BooksProduct(FinanceProduct):
    name = "books"
    api_prefixes = ("/books/v3",)
    scope_prefixes = ("ZohoBooks.",)
    modules = BOOKS_MODULES
    owned = tuple(r.module for r in LEDGER if r.product == "books")
    plans = BOOKS_PLANS
    prefix = "/books/v3"


class InventoryProduct(FinanceProduct):
    name = "inventory"
    api_prefixes = ("/inventory/v1",)
    scope_prefixes = ("ZohoInventory.",)
    modules = INVENTORY_MODULES
    owned = tuple(r.module for r in LEDGER if r.product == "inventory" and not r.shared)
    plans = INVENTORY_PLANS
    prefix = "/inventory/v1"
    settings_lists = ("taxes", "currencies", "locations")
