"""Taxes and currencies named in a record, turned into what Books takes: ids and rates.

A manifest names a tax by its name (``line_items[].tax_name = "VAT 20"``) and a currency by
its code (``currency_code = "EUR"``); Books takes a line's ``tax_id``, a contact's
``currency_id`` and a document's ``exchange_rate`` (its currency is its party's). The org's
lists (``GET /settings/taxes``, ``/settings/currencies``) are read once per run; a name or
code the org lacks fails the record with a clear reason instead of a Zoho refusal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from zmigrate.schema.finance import Resource


class Setting(StrEnum):
    """The settings lists a record may name entries of (the key of their list answer)."""

    TAXES = "taxes"
    CURRENCIES = "currencies"
    LOCATIONS = "locations"


SETTING_PATHS = {
    Setting.TAXES: "/settings/taxes",
    Setting.CURRENCIES: "/settings/currencies",
    Setting.LOCATIONS: "/locations",
}


class UnknownSetting(LookupError):
    """A tax name or currency code the org does not have."""


def needed(payload: Mapping[str, Any]) -> set[Setting]:
    """Which of the org's lists ``payload`` names entries of."""
    out: set[Setting] = set()
    if any(isinstance(line, Mapping) and line.get("tax_name") for line in _lines(payload)):
        out.add(Setting.TAXES)
    if payload.get("currency_code"):
        out.add(Setting.CURRENCIES)
    if any(isinstance(x, Mapping) and x.get("location_name") for x in _stock(payload)):
        out.add(Setting.LOCATIONS)
    return out


def resolve(
    entry: Resource | None,
    payload: Mapping[str, Any],
    lists: Mapping[Setting, Sequence[Mapping[str, Any]]],
) -> dict[str, Any]:
    """``payload`` with tax names as tax ids and currency codes as ids or rates."""
    out = dict(payload)
    taxes = {str(t.get("tax_name", "")).strip().lower(): t for t in lists.get(Setting.TAXES, [])}
    if any(isinstance(line, Mapping) and line.get("tax_name") for line in _lines(payload)):
        out["line_items"] = [_taxed(line, taxes) for line in _lines(payload)]
    if any(isinstance(x, Mapping) and x.get("location_name") for x in _stock(payload)):
        places = {str(p.get("location_name", "")).strip().lower(): p
                  for p in lists.get(Setting.LOCATIONS, [])}  # fmt: skip
        out["locations"] = [_located(x, places) for x in _stock(payload)]
    code = out.pop("currency_code", None)
    if code:
        currency = _currency(str(code), lists.get(Setting.CURRENCIES, []))
        if entry is not None and entry.module == "contacts":
            out["currency_id"] = str(currency["currency_id"])
        elif not currency.get("is_base_currency") and out.get("exchange_rate") is None:
            out["exchange_rate"] = currency.get("exchange_rate", 1.0)
    return out


def _lines(payload: Mapping[str, Any]) -> list[Any]:
    lines = payload.get("line_items")
    return lines if isinstance(lines, list) else []


def _stock(payload: Mapping[str, Any]) -> list[Any]:
    stock = payload.get("locations")
    return stock if isinstance(stock, list) else []


def _located(entry: Any, places: Mapping[str, Mapping[str, Any]]) -> Any:
    """An item's stock entry with its location's id for the location's name."""
    if not isinstance(entry, Mapping) or not entry.get("location_name"):
        return entry
    name = str(entry["location_name"])
    place = places.get(name.strip().lower())
    if place is None:
        known = ", ".join(sorted(str(p.get("location_name")) for p in places.values())) or "none"
        raise UnknownSetting(
            f"location '{name}' is not one of the org's locations ({known}); add it in "
            f"Inventory (Settings > Locations) or map another name"
        )
    clean = {k: v for k, v in entry.items() if k != "location_name"}
    clean["location_id"] = str(place["location_id"])
    return clean


def _taxed(line: Any, taxes: Mapping[str, Mapping[str, Any]]) -> Any:
    if not isinstance(line, Mapping) or not line.get("tax_name"):
        return line
    name = str(line["tax_name"])
    tax = taxes.get(name.strip().lower())
    if tax is None:
        known = ", ".join(sorted(str(t.get("tax_name")) for t in taxes.values())) or "none"
        raise UnknownSetting(
            f"tax '{name}' is not one of the org's taxes ({known}); create it in Books "
            f"(Settings > Taxes) or map another name"
        )
    clean = {k: v for k, v in line.items() if k != "tax_name"}
    clean["tax_id"] = str(tax["tax_id"])
    return clean


def _currency(code: str, currencies: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    for c in currencies:
        if str(c.get("currency_code", "")).upper() == code.strip().upper():
            return c
    known = ", ".join(sorted(str(c.get("currency_code")) for c in currencies)) or "none"
    raise UnknownSetting(
        f"currency '{code}' is not enabled in the org ({known}); add it in Books "
        f"(Settings > Currencies) first"
    )
