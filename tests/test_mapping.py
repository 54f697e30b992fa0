"""Mapping rows to Zoho payloads: transforms, value maps, lookups and line items."""

from __future__ import annotations

from pathlib import Path

import pytest

from zmigrate.manifest import FieldMap, load_manifest
from zmigrate.mapping import (
    MappingError,
    map_record,
    to_date,
    to_datetime,
    to_decimal,
    to_integer,
)
from zmigrate.sources import iter_records

PLANS = Path(__file__).resolve().parent.parent / "plans"
SAMPLE = load_manifest(PLANS / "sample.toml")


def ids(step: str, key: str) -> str | None:
    return f"{step}-{key}"


def fm(**kw) -> FieldMap:
    return FieldMap("f", 1, column="c", **kw)


def test_date_and_datetime_formats():
    assert to_date("31/12/2024", fm(format="%d/%m/%Y")) == "2024-12-31"
    assert to_date("2024-12-31T10:00:00", fm()) == "2024-12-31"
    assert to_datetime("2024-12-31 08:05", fm(format="%Y-%m-%d %H:%M", tz="+05:30")) == (
        "2024-12-31T08:05:00+05:30"
    )
    assert to_datetime("2024-12-31T08:05:09.5-04:00", fm()) == "2024-12-31T08:05:09-04:00"
    assert to_datetime("2024-12-31T08:05:09", fm()) == "2024-12-31T08:05:09+00:00"


def test_decimals():
    assert to_decimal("1,234.50", fm()) == 1234.5
    assert to_decimal("1.234,5", fm(format=",")) == 1234.5
    assert to_decimal("12", fm()) == 12 and isinstance(to_decimal("12", fm()), int)
    assert to_decimal("2.345", fm(places=2)) == 2.35
    assert to_integer("1,000", fm()) == 1000
    with pytest.raises(ValueError):
        to_integer("1.5", fm())


def test_crm_record_with_value_map_and_lookups():
    deals = SAMPLE.step("deals")
    row = {
        "deal_ref": "D1",
        "title": "Big one",
        "status": "WON",
        "amount": "1,000.5",
        "close_date": "02/03/2025",
        "account_ref": "A7",
        "contact_ref": "",
    }
    assert map_record(deals, [row], ids) == {
        "Deal_Name": "Big one",
        "Amount": 1000.5,
        "Closing_Date": "2025-03-02",
        "Stage": "Closed Won",
        "Account_Name": {"id": "accounts-A7"},
    }


def test_unknown_enum_value_fails_the_record():
    deals = SAMPLE.step("deals")
    row = {"title": "t", "status": "maybe", "amount": "1", "close_date": "02/03/2025"}
    with pytest.raises(MappingError, match="Stage: value 'maybe' is not in the value map") as info:
        map_record(deals, [row], ids)
    assert info.value.step == "deals" and info.value.column == "status"


def test_unresolved_lookup_fails_unless_optional():
    deals = SAMPLE.step("deals")
    row = {
        "title": "t",
        "status": "won",
        "amount": "1",
        "close_date": "02/03/2025",
        "account_ref": "A1",
        "contact_ref": "C9",
    }

    def only_accounts(step: str, key: str) -> str | None:
        return "1" if step == "accounts" else None

    out = map_record(deals, [row], only_accounts)
    assert "Contact_Name" not in out and out["Account_Name"] == {"id": "1"}
    with pytest.raises(MappingError, match="no record of step 'accounts' has key 'A1'"):
        map_record(deals, [row], lambda s, k: None)


def test_bad_date_and_empty_mandatory_fail():
    deals = SAMPLE.step("deals")
    row = {"title": "t", "status": "won", "amount": "1", "close_date": "2025-13-45"}
    with pytest.raises(MappingError, match="Closing_Date: expected a date in format %d/%m/%Y"):
        map_record(deals, [row], ids)
    row = {"title": " ", "status": "won", "amount": "1", "close_date": "02/03/2025"}
    with pytest.raises(MappingError, match="Deal_Name: mandatory field is empty"):
        map_record(deals, [row], ids)


def test_books_invoice_line_items_from_consecutive_rows():
    invoices = SAMPLE.step("invoices")
    record = next(iter_records(invoices))
    out = map_record(invoices, record.rows, ids)
    assert out["invoice_number"] == record.key == "INV-000001"
    assert out["customer_id"] == "customers-" + record.rows[0]["customer_ref"]
    assert len(out["line_items"]) == len(record.rows) >= 1
    first = out["line_items"][0]
    assert first["item_id"] == "items-" + record.rows[0]["sku"]
    assert first["rate"] == float(record.rows[0]["unit_price"])
    assert set(first) == {"item_id", "quantity", "rate"}
    assert out["date"].count("-") == 2


def test_jsonl_values_and_constants():
    items = SAMPLE.step("items")
    row = {"sku": "S1", "name": "Kit", "price": 12.5, "cost": 7, "stock": 3, "unit": "pcs"}
    out = map_record(items, [row], ids)
    assert out == {
        "sku": "S1",
        "name": "Kit",
        "rate": 12.5,
        "purchase_rate": 7.0,
        "initial_stock": 3,
        "unit": "pcs",
        "item_type": "inventory",
        "product_type": "goods",
    }


def test_too_long_value_fails():
    accounts = SAMPLE.step("accounts")
    row = {"account_ref": "A1", "name": "x" * 201}
    with pytest.raises(MappingError, match="201 characters, at most 200"):
        map_record(accounts, [row], ids)
