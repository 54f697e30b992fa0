"""CRM answers Zoho documents that the sandbox's first pass lacked: COQL joins, GROUP BY and
aggregates with Zoho's refusals, upsert's ``duplicate_field: null``, pagination misuse.

Every answer is also checked against Zoho's OpenAPI files as it arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import oas_check as oas
import pytest

from zmigrate.sandbox import Sandbox

DIR = oas.default_directory()
CHECKER = oas.OasChecker(DIR) if DIR else None


@pytest.fixture
async def crm(sandbox: Sandbox) -> AsyncIterator[oas.CheckedClient]:
    async with aiohttp.ClientSession() as session:
        client = oas.CheckedClient(session, sandbox.urls, sandbox.issue_token(), CHECKER)
        yield client
        assert client.problems == []
        assert sandbox.stats.bugs == 0


async def coql(crm: oas.CheckedClient, query: str) -> tuple[int, Any]:
    return await crm.call("POST", "/crm/v8/coql", json={"select_query": query})


async def ids_of(crm: oas.CheckedClient, module: str, rows: list[dict[str, Any]]) -> list[str]:
    status, body = await crm.call("POST", f"/crm/v8/{module}", json={"data": rows})
    assert status == 201, body
    return [item["details"]["id"] for item in body["data"]]


async def test_coql_joins_through_lookups_in_select_and_where(crm: oas.CheckedClient) -> None:
    (parent,) = await ids_of(crm, "Accounts", [{"Account_Name": "King"}])
    child, other = await ids_of(
        crm,
        "Accounts",
        [{"Account_Name": "Prince", "Parent_Account": {"id": parent}}, {"Account_Name": "Solo"}],
    )
    await ids_of(
        crm,
        "Contacts",
        [
            {"Last_Name": "A", "Account_Name": {"id": child}},
            {"Last_Name": "B", "Account_Name": {"id": other}},
            {"Last_Name": "C"},
        ],
    )
    status, body = await coql(
        crm, "select Last_Name, Account_Name.Account_Name from Contacts order by Last_Name"
    )
    assert status == 200
    assert [(r["Last_Name"], r["Account_Name.Account_Name"]) for r in body["data"]] == [
        ("A", "Prince"),
        ("B", "Solo"),
        ("C", None),
    ]
    # Zoho's own join sample (COQL-Joins page): two relations, quoted columns
    status, body = await coql(
        crm,
        "select 'Account_Name.Parent_Account','Account_Name.Parent_Account.Account_Name' "
        "from Contacts where (Account_Name.Parent_Account.Account_Name = 'King') limit 1",
    )
    assert status == 200 and len(body["data"]) == 1
    row = body["data"][0]
    assert row["Account_Name.Parent_Account"] == {"id": parent}
    assert row["Account_Name.Parent_Account.Account_Name"] == "King"
    status, body = await coql(
        crm, "select id from Contacts where Account_Name.Parent_Account.Owner.Email is null"
    )
    assert status == 400 and body["code"] == "INVALID_QUERY"  # three relations: refused
    status, body = await coql(crm, "select Last_Name.Account_Name from Contacts")
    assert status == 400 and body["code"] == "INVALID_QUERY"  # not a lookup


async def test_coql_group_by_and_aggregates(crm: oas.CheckedClient) -> None:
    rows = [
        {"Deal_Name": f"D{i}", "Stage": stage, "Amount": amount, "Closing_Date": "2026-12-31"}
        for i, (stage, amount) in enumerate(
            [("Qualification", 10), ("Qualification", 30), ("Closed Won", 5), ("Closed Won", None)]
        )
    ]
    await ids_of(crm, "Deals", [{k: v for k, v in r.items() if v is not None} for r in rows])
    status, body = await coql(
        crm,
        "select Stage, COUNT(id), SUM(Amount), MIN(Amount), MAX(Amount), AVG(Amount) "
        "from Deals group by Stage order by Stage desc",
    )
    assert status == 200 and body["info"] == {"count": 2, "more_records": False}
    assert body["data"] == [
        {
            "Stage": "Qualification",
            "COUNT(id)": 2,
            "SUM(Amount)": 40.0,
            "MIN(Amount)": 10.0,
            "MAX(Amount)": 30.0,
            "AVG(Amount)": 20.0,
        },
        {
            "Stage": "Closed Won",
            "COUNT(id)": 2,
            "SUM(Amount)": 5.0,
            "MIN(Amount)": 5.0,
            "MAX(Amount)": 5.0,
            "AVG(Amount)": 5.0,
        },
    ]
    status, body = await coql(
        crm, "select COUNT(Amount) as priced from Deals where Amount is not null"
    )
    assert status == 200 and body["data"] == [{"priced": 3}]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        # Zoho's own example (COQL-Limitations page)
        ("select id from Contacts where id is not null order by id,id", "DUPLICATE_DATA"),
        ("select Stage from Deals group by Stage, Stage", "DUPLICATE_DATA"),
        ("select COUNT(id), COUNT(id) from Deals", "DUPLICATE_DATA"),
        ("select COUNT(id) as n, SUM(Amount) as n from Deals", "DUPLICATE_ALIAS"),
        (
            "select Stage from Deals group by Stage, Deal_Name, Amount, Closing_Date, Owner",
            "LIMIT_EXCEEDED",
        ),
        (
            "select COUNT(id), SUM(Amount), MIN(Amount), MAX(Amount), AVG(Amount), "
            "MIN(Closing_Date) from Deals",
            "LIMIT_EXCEEDED",
        ),
        (
            "select id from Deals order by Deal_Name, Stage, Amount, Closing_Date, Owner, "
            "Created_Time, Modified_Time, Created_By, Modified_By, Description, Probability",
            "LIMIT_EXCEEDED",
        ),
        ("select Deal_Name, COUNT(id) from Deals group by Stage", "INVALID_QUERY"),
        ("select SUM(Deal_Name) from Deals", "INVALID_QUERY"),
    ],
)
async def test_coql_refusals(crm: oas.CheckedClient, query: str, code: str) -> None:
    status, body = await coql(crm, query)
    assert (status, body["code"], body["status"]) == (400, code, "error")


async def test_upsert_insert_carries_a_null_duplicate_field(crm: oas.CheckedClient) -> None:
    """Zoho's upsert sample answers an insert with ``"duplicate_field": null``."""
    row = {"Last_Name": "U", "Email": "u@x.io"}
    status, body = await crm.call("POST", "/crm/v8/Contacts/upsert", json={"data": [row]})
    assert status == 200
    first = body["data"][0]
    assert first["action"] == "insert" and "duplicate_field" in first
    assert first["duplicate_field"] is None and first["message"] == "record added"
    status, body = await crm.call("POST", "/crm/v8/Contacts/upsert", json={"data": [row]})
    again = body["data"][0]
    assert (again["action"], again["duplicate_field"]) == ("update", "Email")
    assert again["message"] == "record updated"


async def test_page_tokens_refuse_page_and_other_parameters(crm: oas.CheckedClient) -> None:
    rows = [{"Last_Name": f"P{i:03d}", "Company": "Co"} for i in range(100)]
    for base in range(0, 300, 100):
        batch = [dict(r, Last_Name=f"{r['Last_Name']}-{base}") for r in rows]
        assert (await crm.call("POST", "/crm/v8/Leads", json={"data": batch}))[0] == 201
    path = "/crm/v8/Leads?fields=Last_Name,Company&per_page=100"
    status, body = await crm.call("GET", path)
    token = body["info"]["next_page_token"]
    status, body = await crm.call("GET", f"{path}&page_token={token}")
    assert status == 200 and body["info"]["page"] == 2  # the same parameters: the next page
    # `page` together with `page_token`
    status, body = await crm.call("GET", f"{path}&page_token={token}&page=2")
    assert (status, body["code"], body["details"]["param_name"]) == (400, "INVALID_DATA", "page")
    # the token with parameters other than those it was issued for
    for other in (
        "/crm/v8/Leads?fields=Last_Name,Company&per_page=50",
        "/crm/v8/Leads?fields=Last_Name&per_page=100",
        f"{path}&sort_by=Created_Time&sort_order=desc",
    ):
        status, body = await crm.call("GET", f"{other}&page_token={token}")
        assert (status, body["code"]) == (400, "INVALID_DATA"), other
        assert body["details"]["param_name"] == "page_token"
    status, body = await crm.call(
        "GET", f"/crm/v8/Contacts?fields=Last_Name,Company&per_page=100&page_token={token}"
    )
    assert (status, body["code"]) == (400, "INVALID_DATA")  # another module's token
