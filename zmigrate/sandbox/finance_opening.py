"""Books' opening balances, ``/settings/openingbalances``: one record per org.

Zoho's shape (Books API docs, "Opening Balance"): ``{"date", "accounts": [{"account_id",
"debit_or_credit", "exchange_rate", "currency_id", "amount", "location_id"}]}``, answered
as ``opening_balance`` with each line's ``acount_split_id`` (Zoho's spelling) and
``bcy_amount`` (amount × exchange rate), and ``total``. The sandbox keeps debits = credits in
the base currency (Zoho balances the rest into "Opening Balance Adjustments": a difference),
refuses a second POST while one exists (code and message guessed) and answers GET with an
empty ``opening_balance`` when there is none (a guess).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from zmigrate.sandbox.core import Reply, read_json, zoho_json
from zmigrate.sandbox.finance_lists import ORG_PARAM
from zmigrate.sandbox.finance_values import error
from zmigrate.schema.finance import resource

if TYPE_CHECKING:
    from zmigrate.sandbox.finance import FinanceProduct

OPENING = "openingbalances"
EXISTS = "Opening balance has already been created. Edit it instead."
UNBALANCED = "The opening balance is not balanced: total debits and credits must be equal."


def balance(accounts: list[dict[str, Any]]) -> float:
    """Each line's ``bcy_amount``; the total of either side (refused unless they match)."""
    sides = {"debit": 0.0, "credit": 0.0}
    for line in accounts:
        line["bcy_amount"] = round(line["amount"] * float(line.get("exchange_rate") or 1.0), 2)
        sides[line["debit_or_credit"]] += line["bcy_amount"]
    if round(sides["debit"], 2) != round(sides["credit"], 2) or not sides["debit"]:
        raise Reply(error(400, 2, UNBALANCED))
    return round(sides["debit"], 2)


class OpeningBalances:
    """The endpoint's handlers over a Books product's store and field checks."""

    def __init__(self, product: FinanceProduct) -> None:
        self.product = product
        self.module = product.modules[OPENING]
        entry = resource("books", OPENING)
        assert entry is not None
        self.entry = entry

    def add_routes(self, r: web.UrlDispatcher, prefix: str) -> None:
        path = prefix + self.entry.endpoint
        r.add_get(path, self.get)
        r.add_post(path, self.create)
        r.add_put(path, self.update)
        r.add_delete(path, self.delete)

    def _current(self, org: str) -> dict[str, Any] | None:
        return next(iter(self.product.store.table(org, OPENING).values()), None)

    def _write(self, org: str, body: Any, old: dict[str, Any] | None) -> dict[str, Any]:
        values = self.product._validate(org, self.module, body, old)
        row = {**(old or {}), **values}
        row["total"] = balance(row["accounts"])
        row.setdefault("opening_balance_id", self.product.store.new_id())
        row.setdefault("price_precision", 2)
        self.product._store(org, self.module, row, old)
        return row

    async def get(self, request: web.Request) -> web.Response:
        row = self._current(request.query[ORG_PARAM]) or {}
        return zoho_json({"code": 0, "message": "success", "opening_balance": row})

    async def create(self, request: web.Request) -> web.Response:
        org = request.query[ORG_PARAM]
        if self._current(org) is not None:
            raise Reply(error(400, 2, EXISTS))
        row = self._write(org, await read_json(request), None)
        body = {"code": 0, "message": self.entry.messages[0], "opening_balance": row}
        return zoho_json(body, 201)

    async def update(self, request: web.Request) -> web.Response:
        org = request.query[ORG_PARAM]
        old = self._current(org)
        if old is None:
            raise Reply(error(404, 1002, "Opening Balance does not exist."))
        row = self._write(org, await read_json(request), old)
        return zoho_json({"code": 0, "message": self.entry.messages[1], "opening_balance": row})

    async def delete(self, request: web.Request) -> web.Response:
        org = request.query[ORG_PARAM]
        old = self._current(org)
        if old is None:
            raise Reply(error(404, 1002, "Opening Balance does not exist."))
        self.product.store.drop(org, OPENING, old["opening_balance_id"])
        self.product.store.index(org, OPENING, "date").pop(str(old["date"]).lower(), None)
        return zoho_json({"code": 0, "message": self.entry.messages[2]})
