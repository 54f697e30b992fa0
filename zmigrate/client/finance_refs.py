"""Taxes and currencies named in a record, turned into what Books takes: ids and rates.

A manifest names a tax by its name (``line_items[].tax_name = "VAT 20"``) and a currency by
its code (``currency_code = "EUR"``); Books takes a line's ``tax_id``, a contact's
``currency_id`` and a document's ``exchange_rate`` (its currency is its party's). The org's
lists (``GET /settings/taxes``, ``/settings/currencies``) are read once per run; a name or
code the org lacks fails the record with a clear reason instead of a Zoho refusal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _ByName:
    """Entries of a record's array that name one of the org's settings: the name is swapped
    for the setting's id (a line's ``tax_name`` for its ``tax_id``)."""

    array: str
    name_key: str
    id_key: str
    setting: Setting
    what: str
    fix: str

    def entries(self, payload: Mapping[str, Any]) -> list[Any]:
        found = payload.get(self.array)
        return found if isinstance(found, list) else []

    def named(self, payload: Mapping[str, Any]) -> bool:
        return any(isinstance(e, Mapping) and e.get(self.name_key) for e in self.entries(payload))

    def resolved(
        self, payload: Mapping[str, Any], lists: Mapping[Setting, Sequence[Mapping[str, Any]]]
    ) -> list[Any]:
        known = {str(k.get(self.name_key, "")).strip().lower(): k
                 for k in lists.get(self.setting, [])}  # fmt: skip
        return [self._one(e, known) for e in self.entries(payload)]

    def _one(self, entry: Any, known: Mapping[str, Mapping[str, Any]]) -> Any:
        if not isinstance(entry, Mapping) or not entry.get(self.name_key):
            return entry
        name = str(entry[self.name_key])
        setting = known.get(name.strip().lower())
        if setting is None:
            listed = ", ".join(sorted(str(k.get(self.name_key)) for k in known.values())) or "none"
            raise UnknownSetting(
                f"{self.what} '{name}' is not one of the org's {self.setting} ({listed}); "
                f"{self.fix} or map another name"
            )
        clean = {k: v for k, v in entry.items() if k != self.name_key}
        clean[self.id_key] = str(setting[self.id_key])
        return clean


BY_NAME = (
    _ByName(
        "line_items", "tax_name", "tax_id", Setting.TAXES, "tax",
        "create it in Books (Settings > Taxes)",
    ),
    _ByName(
        "locations", "location_name", "location_id", Setting.LOCATIONS, "location",
        "add it in Inventory (Settings > Locations)",
    ),
)  # fmt: skip
"""A line's tax and an item's stock location, named in the manifest, sent by id."""


def needed(payload: Mapping[str, Any]) -> set[Setting]:
    """Which of the org's lists ``payload`` names entries of."""
    out = {b.setting for b in BY_NAME if b.named(payload)}
    if payload.get("currency_code"):
        out.add(Setting.CURRENCIES)
    return out


def resolve(
    entry: Resource | None,
    payload: Mapping[str, Any],
    lists: Mapping[Setting, Sequence[Mapping[str, Any]]],
) -> dict[str, Any]:
    """``payload`` with tax names as tax ids and currency codes as ids or rates."""
    out = dict(payload)
    for by_name in BY_NAME:
        if by_name.named(payload):
            out[by_name.array] = by_name.resolved(payload, lists)
    code = out.pop("currency_code", None)
    if code:
        currency = _currency(str(code), lists.get(Setting.CURRENCIES, []))
        if entry is not None and entry.module == "contacts":
            out["currency_id"] = str(currency["currency_id"])
        elif not currency.get("is_base_currency") and out.get("exchange_rate") is None:
            out["exchange_rate"] = currency.get("exchange_rate", 1.0)
    return out


def _currency(code: str, currencies: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    for c in currencies:
        if str(c.get("currency_code", "")).upper() == code.strip().upper():
            return c
    known = ", ".join(sorted(str(c.get("currency_code")) for c in currencies)) or "none"
    raise UnknownSetting(
        f"currency '{code}' is not enabled in the org ({known}); add it in Books "
        f"(Settings > Currencies) first"
    )
