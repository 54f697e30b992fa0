"""Pure parts of the CRM sandbox: store validation, COQL, criteria, credits, bulk files."""

from __future__ import annotations

import io
import zipfile

import pytest

from zmigrate import quotas
from zmigrate.clock import Clock
from zmigrate.sandbox.crm import bulk, wire
from zmigrate.sandbox.crm.catalog import OrgField, builtin_modules, field_meta
from zmigrate.sandbox.crm.credits import CreditLedger, Pool, is_heavy, operation_cost
from zmigrate.sandbox.crm.query import (
    QueryError,
    bulk_criteria,
    matches,
    parse_coql,
    parse_criteria,
)
from zmigrate.sandbox.crm.store import CrmStore, Invalid

USER = {"id": "6421337000000000005", "name": "Sandbox Admin", "email": "a@b.c"}
CRM_MODULES = {m.api_name: m for m in builtin_modules()}
LEADS, ACCOUNTS, CONTACTS = CRM_MODULES["Leads"], CRM_MODULES["Accounts"], CRM_MODULES["Contacts"]
MODULES = CRM_MODULES.get


@pytest.fixture
def store() -> CrmStore:
    return CrmStore(USER)


def test_ids_are_19_digit_strings_counting_up(store: CrmStore) -> None:
    first, second = store.new_id(), store.new_id()
    assert len(first) == 19 and first.isdigit() and int(second) > int(first)


def test_per_record_errors_name_field_and_json_path(store: CrmStore) -> None:
    items = store.insert(
        LEADS,
        [
            {"Last_Name": "A", "Company": "C", "Email": "a@x.io"},
            {"Last_Name": "B", "Company": "C", "No_of_Employees": "ten"},
            {"Company": "C"},
            {"Last_Name": "D", "Company": "C", "Email": "A@X.IO"},
            {"Last_Name": "E", "Company": "C", "Lead_Status": "Nope"},
            {"Last_Name": "x" * 81, "Company": "C"},
            "not an object",
        ],
        0.0,
    )
    assert [i["code"] for i in items] == [
        "SUCCESS",
        "INVALID_DATA",
        "MANDATORY_NOT_FOUND",
        "DUPLICATE_DATA",
        "SUCCESS",  # a picklist value the field lacks: Zoho adds it, it does not refuse
        "INVALID_DATA",
        "INVALID_DATA",
    ]
    assert items[1]["details"] == {
        "api_name": "No_of_Employees",
        "json_path": "$.data[1].No_of_Employees",
        "expected_data_type": "integer",
    }
    assert items[2]["details"]["json_path"] == "$.data[2].Last_Name"
    assert items[3]["details"]["duplicate_record"]["id"] == items[0]["details"]["id"]
    assert items[5]["details"]["maximum_length"] == "80"
    assert store.counts()["Leads"] == 2


def test_lookups_must_exist_and_render_with_names(store: CrmStore) -> None:
    account = store.insert(ACCOUNTS, [{"Account_Name": "Acme"}], 0.0)[0]["details"]["id"]
    ok, bad = store.insert(
        CONTACTS,
        [
            {"Last_Name": "A", "Account_Name": {"id": account}},
            {"Last_Name": "B", "Account_Name": "1"},
        ],
        0.0,
    )
    assert ok["code"] == "SUCCESS" and bad["code"] == "INVALID_DATA"
    rec = store.find("Contacts", ok["details"]["id"])
    assert store.render(CONTACTS, rec, ["Account_Name"])["Account_Name"] == {
        "name": "Acme",
        "id": account,
    }


def test_update_keeps_mandatory_and_refuses_blanking_it(store: CrmStore) -> None:
    rid = store.insert(LEADS, [{"Last_Name": "A", "Company": "C"}], 0.0)[0]["details"]["id"]
    ok, blank, missing, unknown = store.update(
        LEADS,
        [{"id": rid, "City": "Pune"}, {"id": rid, "Company": ""}, {"City": "x"}, {"id": "9"}],
        5.0,
    )
    assert ok["message"] == "record updated"
    assert blank["code"] == "MANDATORY_NOT_FOUND" and blank["details"]["api_name"] == "Company"
    assert missing["code"] == "MANDATORY_NOT_FOUND" and missing["details"]["api_name"] == "id"
    assert unknown == wire.invalid_id("9")
    assert store.find("Leads", rid)["City"] == "Pune"


def test_upsert_defaults_to_system_duplicate_check_then_unique(store: CrmStore) -> None:
    assert store.duplicate_fields(LEADS, None) == ("Email",)
    assert store.duplicate_fields(CRM_MODULES["Products"], None) == ("Product_Name", "Product_Code")
    first = store.upsert(LEADS, [{"Last_Name": "A", "Company": "C", "Email": "a@x.io"}], 0.0, None)
    again = store.upsert(LEADS, [{"Last_Name": "B", "Email": "A@x.io"}], 1.0, None)
    assert first[0]["action"] == "insert" and first[0]["duplicate_field"] is None
    assert again[0]["action"] == "update" and again[0]["duplicate_field"] == "Email"
    assert again[0]["details"]["id"] == first[0]["details"]["id"]
    deals = CRM_MODULES["Deals"]
    deal = {"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2026-12-31"}
    store.insert(deals, [deal, deal], 3.0)
    first_deal = next(iter(store.records["Deals"]))
    by_name = store.upsert(deals, [{"Deal_Name": "d", "Amount": 5.0}], 4.0, None)
    assert by_name[0]["details"]["id"] == first_deal
    assert by_name[0]["duplicate_field"] == "Deal_Name"
    assert store.key_fields(LEADS) == ("id", "Email")
    assert store.key_fields(CRM_MODULES["Products"]) == ("id", "Product_Name", "Product_Code")


def test_datetimes_need_an_offset_and_come_back_in_the_org_offset(store: CrmStore) -> None:
    assert wire.format_time(0) == "1970-01-01T05:30:00+05:30"
    when = OrgField.of(field_meta("Call_Time", "datetime"))
    assert store.coerce(LEADS, when, "2026-01-01T00:00:00Z", 0) == "2026-01-01T05:30:00+05:30"
    assert store.coerce(LEADS, when, "2026-01-01T01:00:00-08:00", 0) == "2026-01-01T14:30:00+05:30"
    for bad in ("2026-01-01T00:00:00", "2026-01-01", 1_700_000_000):
        with pytest.raises(Invalid) as info:
            store.coerce(LEADS, when, bad, 3)
        assert info.value.body["details"]["expected_data_type"] == "datetime"
        assert info.value.body["details"]["json_path"] == "$.data[3].Call_Time"


def test_convert_lead_creates_account_contact_deal_once(store: CrmStore) -> None:
    lead = store.insert(LEADS, [{"Last_Name": "L", "Company": "Co", "Email": "l@x.io"}], 0.0)
    lead_id = lead[0]["details"]["id"]
    deal = {"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2026-12-31"}
    status, body = store.convert_lead(lead_id, {"Deals": deal}, 1.0)
    assert status == 200
    details = body["data"][0]["details"]
    contact = store.find("Contacts", details["Contacts"]["id"])
    deal_rec = store.find("Deals", details["Deals"]["id"])
    assert contact["Account_Name"] == details["Accounts"]["id"] == deal_rec["Account_Name"]
    assert deal_rec["Contact_Name"] == contact["id"]
    assert store.counts()["Leads"] == 0
    assert store.convert_lead(lead_id, {}, 2.0)[1]["code"] == "ID_ALREADY_CONVERTED"


def test_coql_parses_conditions_order_and_limit() -> None:
    q = parse_coql(
        "SELECT Last_Name, Email FROM Leads WHERE (City = 'Pune' OR City like 'Mum%') "
        "AND No_of_Employees >= 10 ORDER BY Last_Name DESC LIMIT 5, 20",
        MODULES,
    )
    assert (q.module.api_name, q.select, q.offset, q.limit) == (
        "Leads",
        ["Last_Name", "Email"],
        5,
        20,
    )
    assert q.order == [("Last_Name", True)]
    assert matches(q.where, {"City": "mumbai", "No_of_Employees": 12})
    assert not matches(q.where, {"City": "Pune", "No_of_Employees": 3})
    assert parse_coql("select COUNT(id) from Leads", MODULES).aggregates[0].key == "COUNT(id)"
    assert parse_coql("select id from Leads limit 10 offset 30", MODULES).offset == 30
    n = parse_coql(
        "select id from Leads where Email is null and City not in ('a','b')", MODULES
    ).where
    assert matches(n, {"City": "c"}) and not matches(n, {"City": "a"})
    b = parse_coql("select id from Leads where Annual_Revenue between 10 and 20", MODULES).where
    assert matches(b, {"Annual_Revenue": 15}) and not matches(b, {"Annual_Revenue": 25})


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("select from Leads", "SYNTAX_ERROR"),
        ("select Last_Name Leads", "SYNTAX_ERROR"),
        ("select Nope from Leads", "INVALID_QUERY"),
        ("select id from Nope", "INVALID_QUERY"),
        ("select id from Leads where No_of_Employees = 'x'", "INVALID_QUERY"),
        ("select id from Leads limit 2001", "LIMIT_EXCEEDED"),
        ("select id from Leads limit 99999, 2000", "LIMIT_EXCEEDED"),
        ("select id from Leads where City = 'a' and City = 'b' and City = 'c'", "SYNTAX_ERROR"),
        ("select id from Leads where City = 'a' or City = 'b' and City = 'c'", "SYNTAX_ERROR"),
        ("select id from Leads where City in (" + ",".join(["'x'"] * 101) + ")", "LIMIT_EXCEEDED"),
    ],
)
def test_coql_errors(query: str, code: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_coql(query, MODULES)
    assert info.value.body["code"] == code
    if code == "SYNTAX_ERROR":
        assert set(info.value.body["details"]) == {"line", "column", "near"}


def test_coql_pairs_quotes_and_criteria_limit() -> None:
    paired = parse_coql(
        "select id from Leads where ((City = 'a' and City = 'b') or City = 'c')", MODULES
    )
    assert matches(paired.where, {"City": "c"}) and not matches(paired.where, {"City": "a"})
    quoted = parse_coql("select id from Leads where Last_Name = 'O''Brien'", MODULES).where
    assert matches(quoted, {"Last_Name": "O'Brien"})
    backslashed = parse_coql("select id from Leads where Last_Name = 'O\\'Brien'", MODULES).where
    assert matches(backslashed, {"Last_Name": "O'Brien"})
    nested = "City = 'x'"
    for _ in range(25):
        nested = f"({nested} or City = 'y')"
    with pytest.raises(QueryError) as info:
        parse_coql(f"select id from Leads where {nested}", MODULES)
    assert info.value.body["details"] == {"by": "where", "limit": 25}


def test_search_and_bulk_criteria() -> None:
    node = parse_criteria("((Last_Name:equals:O\\(Brien\\))and(City:starts_with:Pu))", LEADS)
    assert matches(node, {"Last_Name": "o(brien)", "City": "Pune"})
    assert not matches(node, {"Last_Name": "o(brien)", "City": "Delhi"})
    with pytest.raises(QueryError):
        parse_criteria("(Last_Name:sounds_like:x)", LEADS)
    spec = {
        "group_operator": "or",
        "group": [
            {"api_name": "City", "comparator": "equal", "value": "Pune"},
            {"api_name": "No_of_Employees", "comparator": "greater_than", "value": 100},
        ],
    }
    crit = bulk_criteria(spec, LEADS)
    assert matches(crit, {"City": "pune"}) and matches(crit, {"No_of_Employees": 101})
    assert not matches(crit, {"City": "x", "No_of_Employees": 5})


def test_credit_costs_follow_the_card() -> None:
    assert operation_cost("get") == 1
    assert operation_cost("insert", records=100) == 10
    assert operation_cost("upsert", records=11) == 2
    assert operation_cost("coql", limit=200) == 1
    assert operation_cost("coql", limit=1000) == 2
    assert operation_cost("coql", limit=2000) == 3
    assert operation_cost("convert") == 5
    assert operation_cost("bulk_read") == 50
    assert operation_cost("bulk_write") == 500
    assert is_heavy("insert", records=11) and not is_heavy("insert", records=10)
    assert is_heavy("get", sorted_get=True) and is_heavy("coql") and not is_heavy("get")


def test_ledger_rolls_over_24_hours() -> None:
    clock = Clock(speed=1.0, start=1_000_000.0)
    ledger = CreditLedger(clock, budget=10)
    assert ledger.reserve("get", 6) is None
    clock.advance(3_600)
    assert ledger.reserve("get", 4) is None
    resets = ledger.reserve("get", 1)
    assert resets is not None and resets == pytest.approx(1_000_000.0 + quotas.DAY, abs=1)
    clock.advance(quotas.DAY - 3_600 + 1)
    assert ledger.used() == 4 and ledger.reserve("get", 6) is None
    assert ledger.by_operation["get"] == 16


def test_pool_counts_peak() -> None:
    pool = Pool(2)
    assert pool.try_take() and pool.try_take() and not pool.try_take()
    pool.release()
    assert pool.try_take() and pool.peak == 2


def zipped(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("rows.csv", text)
    return buf.getvalue()


def test_upload_accepts_25000_rows_and_refuses_25001() -> None:
    rows = "Last_Name\n" + "x\n" * quotas.CRM_BULK_WRITE_ROWS
    assert bulk.read_upload(zipped(rows))[2] == quotas.CRM_BULK_WRITE_ROWS
    with pytest.raises(bulk.BulkError) as info:
        bulk.read_upload(zipped(rows + "x\n"))
    assert info.value.body["code"] == "LIMIT_EXCEEDED"
    with pytest.raises(bulk.BulkError):
        bulk.read_upload(b"plain text")
