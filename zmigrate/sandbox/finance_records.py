"""What Books and Inventory fill in on a record: array entries (line items, contact persons,
applications), taxes and totals, a document's party, currency and number.

Taxes and currencies come from the org's settings (``/settings/taxes``,
``/settings/currencies``): a line's ``tax_id`` or a contact's ``currency_id`` the org lacks
is refused (code 1002, "... does not exist.", as for any missing record; a guess for these).
A line's tax is ``item_total × tax_percentage / 100``; a document's ``total`` is its
``sub_total`` plus ``tax_total``. An item's ``locations[]`` (Inventory) name locations of the
org, each with its opening stock. A document takes its party's currency, with
``exchange_rate`` as given, else the currency's rate in the org's settings (1 for the base).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zmigrate.sandbox.core import Reply
from zmigrate.sandbox.finance_values import check_value, error, invalid
from zmigrate.schema import Field

Exists = Callable[[str, str], dict[str, Any]]
"""``exists(module, id)``: the record, or ``Reply`` with Zoho's 1002."""


def clean_entries(f: Field, value: Any, exists: Exists) -> list[dict[str, Any]]:
    """An array field's entries, each field checked and each lookup found."""
    if not isinstance(value, list) or not value:
        raise invalid(f.api_name)
    subfields = {s.api_name: s for s in f.subfields}
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise invalid(f"{f.api_name}[{i}]")
        clean: dict[str, Any] = {}
        for name, v in entry.items():
            sub = subfields.get(name)
            if sub is None:
                raise invalid(f"{f.api_name}[{i}].{name}")
            if sub.read_only or v is None:
                continue
            clean[name] = check_value(sub, v, f"{f.api_name}[{i}].{name}")
            if sub.lookup and sub.lookup != "items":
                exists(sub.lookup, clean[name])
        for sub in f.subfields:
            if sub.mandatory and sub.api_name not in clean:
                where = f"{f.api_name}[{i}].{sub.api_name}"
                raise Reply(error(400, 4, f"Mandatory field {where} is missing."))
        out.append(clean)
    return out


def line_item(
    clean: dict[str, Any], where: str, exists: Exists, taxes: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """A line as stored: the item's name and rate by default, its tax, its total."""
    item = exists("items", clean["item_id"]) if "item_id" in clean else None
    if item is None and "name" not in clean:
        raise Reply(error(400, 4, f"Mandatory field {where}.item_id is missing."))
    if item is not None:
        clean.setdefault("name", item["name"])
        clean.setdefault("rate", item.get("rate", 0))
    clean.setdefault("rate", 0)
    clean.setdefault("quantity", 1)
    clean["item_total"] = round(clean["rate"] * clean["quantity"], 2)
    clean.pop("tax_name", None)
    if clean.get("tax_id"):
        tax = taxes.get(str(clean["tax_id"]))
        if tax is None:
            raise Reply(error(400, 1002, "Tax does not exist."))
        clean["tax_name"] = tax["tax_name"]
        clean["tax_percentage"] = tax["tax_percentage"]
    return clean


def totals(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """sub_total, tax_total and total of a document's lines."""
    sub = round(sum(line["item_total"] for line in lines), 2)
    tax = round(sum(line["item_total"] * line.get("tax_percentage", 0) / 100 for line in lines), 2)
    return {"sub_total": sub, "tax_total": tax, "total": round(sub + tax, 2)}


def currency_of(
    contact: Mapping[str, Any], given_rate: Any, currencies: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """A document's currency_code and exchange_rate: its party's currency."""
    code = contact.get("currency_code") or "USD"
    found = next((c for c in currencies.values() if c["currency_code"] == code), None)
    rate = given_rate if given_rate is not None else (found or {}).get("exchange_rate", 1.0)
    return {"currency_code": code, "exchange_rate": rate}


def contact_currency(values: dict[str, Any], currencies: Mapping[str, dict[str, Any]]) -> None:
    """A contact's ``currency_id`` must be one of the org's; its code comes with it."""
    cid = values.get("currency_id")
    if cid is None:
        return
    found = currencies.get(str(cid))
    if found is None:
        raise Reply(error(400, 1002, "Currency does not exist."))
    values["currency_code"] = found["currency_code"]


def stock_at(entry: dict[str, Any], locations: Mapping[str, dict[str, Any]]) -> None:
    """An item's opening stock in one of the org's locations (refused if it has no such one:
    code 1002, a guess); ``location_stock_on_hand`` starts at the opening stock."""
    entry.pop("location_name", None)
    found = locations.get(str(entry.get("location_id", "")))
    if found is None:
        raise Reply(error(400, 1002, "Location does not exist."))
    entry["location_name"] = found["location_name"]
    entry["location_stock_on_hand"] = entry.get("initial_stock", 0)
