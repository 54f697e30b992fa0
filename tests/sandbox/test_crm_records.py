"""CRM records over HTTP: status codes, per-record results, pagination, search, COQL, auth.

Every answer is also checked against Zoho's OpenAPI files as it arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import oas_check as oas
import pytest

from zmigrate.sandbox import Sandbox, SandboxConfig, start_sandbox

DIR = oas.default_directory()
CHECKER = oas.OasChecker(DIR) if DIR else None


@pytest.fixture
async def crm(sandbox: Sandbox) -> AsyncIterator[oas.CheckedClient]:
    async with aiohttp.ClientSession() as session:
        client = oas.CheckedClient(session, sandbox.urls, sandbox.issue_token(), CHECKER)
        yield client
        assert client.problems == []
        assert sandbox.stats.bugs == 0


async def insert_leads(crm: oas.CheckedClient, n: int, start: int = 0) -> list[str]:
    ids: list[str] = []
    for base in range(start, start + n, 100):
        rows = [
            {"Last_Name": f"L{i:05d}", "Company": "Co", "Email": f"l{i}@x.io", "No_of_Employees": i}
            for i in range(base, min(base + 100, start + n))
        ]
        status, body = await crm.call("POST", "/crm/v8/Leads", json={"data": rows})
        assert status == 201
        ids += [item["details"]["id"] for item in body["data"]]
    return ids


async def test_write_status_codes(crm: oas.CheckedClient) -> None:
    ok = {"Last_Name": "A", "Company": "C"}
    assert (await crm.call("POST", "/crm/v8/Leads", json={"data": [ok]}))[0] == 201
    assert (await crm.call("POST", "/crm/v8/Leads", json={"data": [ok, {}]}))[0] == 207
    status, body = await crm.call("POST", "/crm/v8/Leads", json={"data": [{}, {"Company": "C"}]})
    assert status == 400 and [i["code"] for i in body["data"]] == ["MANDATORY_NOT_FOUND"] * 2
    status, body = await crm.call("POST", "/crm/v8/Leads", json={"data": [ok] * 101})
    assert status == 400 and body["code"] == "LIMIT_EXCEEDED" and body["details"]["limit"] == 100


async def test_created_time_carries_the_org_offset(crm: oas.CheckedClient) -> None:
    status, body = await crm.call(
        "POST", "/crm/v8/Leads", json={"data": [{"Last_Name": "A", "Company": "C"}]}
    )
    details = body["data"][0]["details"]
    assert details["Created_Time"].endswith("+05:30") and len(details["id"]) == 19
    status, body = await crm.call("GET", "/crm/v8/Leads?fields=Created_Time,Last_Name")
    assert body["data"][0]["Created_Time"] == details["Created_Time"]
    q = "select Last_Name from Leads where Created_Time > '2000-01-01T00:00:00Z'"
    status, body = await crm.call("POST", "/crm/v8/coql", json={"select_query": q})
    assert status == 200 and body["info"]["count"] == 1


async def test_discrete_pagination_then_page_token(crm: oas.CheckedClient) -> None:
    ids = await insert_leads(crm, 2_100)
    status, body = await crm.call("GET", "/crm/v8/Leads?fields=Last_Name&page=10&per_page=200")
    assert status == 200 and body["info"]["more_records"] and body["data"][0]["id"] == ids[1800]
    status, body = await crm.call("GET", "/crm/v8/Leads?fields=Last_Name&page=11&per_page=200")
    assert status == 400 and body["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    assert body["details"]["limit"] == 2000
    status, body = await crm.call("GET", "/crm/v8/Leads?fields=Last_Name&per_page=201")
    assert status == 400
    seen: list[str] = []
    path = "/crm/v8/Leads?fields=Last_Name,Email&per_page=200"
    for _ in range(20):
        status, body = await crm.call("GET", path)
        assert status == 200
        seen += [r["id"] for r in body["data"]]
        if not body["info"]["more_records"]:
            break
        token = body["info"]["next_page_token"]
        path = f"/crm/v8/Leads?fields=Last_Name,Email&per_page=200&page_token={token}"
    assert seen == ids
    status, body = await crm.call("GET", f"{path}&page=2")
    assert status == 400


async def test_sort_and_ids(crm: oas.CheckedClient) -> None:
    ids = await insert_leads(crm, 5)
    status, body = await crm.call(
        "GET", "/crm/v8/Leads?fields=Last_Name&sort_by=id&sort_order=desc"
    )
    assert [r["id"] for r in body["data"]] == ids[::-1]
    status, body = await crm.call("GET", f"/crm/v8/Leads?ids={ids[1]},{ids[3]}&fields=Email")
    assert [r["Email"] for r in body["data"]] == ["l1@x.io", "l3@x.io"]
    status, body = await crm.call("GET", f"/crm/v8/Leads/{ids[0]}")
    assert body["data"][0]["Last_Name"] == "L00000"
    assert (await crm.call("GET", "/crm/v8/Leads/1"))[0] == 204


async def test_update_upsert_delete_roundtrip(crm: oas.CheckedClient) -> None:
    ids = await insert_leads(crm, 3)
    body = {"data": [{"id": ids[0], "City": "Pune"}, {"id": ids[1], "Email": "l2@x.io"}]}
    status, out = await crm.call("PUT", "/crm/v8/Leads", json=body)
    assert status == 207
    assert out["data"][1]["code"] == "DUPLICATE_DATA"
    assert out["data"][1]["details"]["duplicate_record"]["id"] == ids[2]
    up = {
        "data": [{"Last_Name": "New", "Company": "C", "Email": "L0@X.IO", "City": "Delhi"}],
        "duplicate_check_fields": ["Email"],
    }
    status, out = await crm.call("POST", "/crm/v8/Leads/upsert", json=up)
    assert out["data"][0]["action"] == "update" and out["data"][0]["details"]["id"] == ids[0]
    status, out = await crm.call("GET", f"/crm/v8/Leads/{ids[0]}")
    assert out["data"][0]["City"] == "Delhi" and out["data"][0]["Last_Name"] == "New"
    not_a_key = {**up, "duplicate_check_fields": ["Last_Name"]}
    status, out = await crm.call("POST", "/crm/v8/Leads/upsert", json=not_a_key)
    assert status == 400 and out["code"] == "INVALID_DATA"
    status, out = await crm.call("DELETE", f"/crm/v8/Leads?ids={ids[0]},{ids[1]}")
    assert status == 200 and [i["message"] for i in out["data"]] == ["record deleted"] * 2
    status, out = await crm.call("GET", "/crm/v8/Leads/actions/count")
    assert out["count"] == "1"


async def test_search_and_coql_results(crm: oas.CheckedClient) -> None:
    await insert_leads(crm, 30)
    status, body = await crm.call(
        "GET",
        "/crm/v8/Leads/search?criteria=((No_of_Employees:greater_than:25)or(Last_Name:equals:L00001))",
    )
    assert sorted(r["Last_Name"] for r in body["data"]) == [
        "L00001",
        *[f"L{i:05d}" for i in range(26, 30)],
    ]
    status, body = await crm.call("GET", "/crm/v8/Leads/search?email=l7@x.io")
    assert [r["Last_Name"] for r in body["data"]] == ["L00007"]
    q = (
        "select Last_Name from Leads where No_of_Employees >= 10"
        " order by No_of_Employees desc limit 2, 5"
    )
    status, body = await crm.call("POST", "/crm/v8/coql", json={"select_query": q})
    assert [r["Last_Name"] for r in body["data"]] == [f"L{i:05d}" for i in (27, 26, 25, 24, 23)]
    assert body["info"] == {"count": 5, "more_records": True}
    q = "select COUNT(id) from Leads where Last_Name like 'L0001%'"
    status, body = await crm.call("POST", "/crm/v8/coql", json={"select_query": q})
    assert body["data"] == [{"COUNT(id)": 10}]
    status, body = await crm.call("POST", "/crm/v8/coql", json={"select_query": "select id Leads"})
    assert status == 400 and body["code"] == "SYNTAX_ERROR"


async def test_bearer_wrong_dc_and_scope(sandbox: Sandbox, crm: oas.CheckedClient) -> None:
    status, _ = await crm.call("GET", "/crm/v8/org", scheme="Bearer")
    assert status == 200
    async with aiohttp.ClientSession() as session:
        eu = oas.CheckedClient(session, sandbox.urls, sandbox.issue_token(dc="eu"), CHECKER)
        status, body = await eu.call("GET", "/crm/v8/org")
        assert status == 401 and body["code"] == "INVALID_TOKEN"
        books = oas.CheckedClient(
            session, sandbox.urls, sandbox.issue_token("ZohoBooks.fullaccess.all"), CHECKER
        )
        status, body = await books.call("GET", "/crm/v8/Leads?fields=Last_Name")
        assert status == 401 and body["code"] == "OAUTH_SCOPE_MISMATCH"
        assert eu.problems == books.problems == []


async def test_records_are_visible_in_the_admin_api(
    sandbox: Sandbox, crm: oas.CheckedClient
) -> None:
    await insert_leads(crm, 3)
    async with aiohttp.ClientSession() as session:
        async with session.get(sandbox.urls["api"] + "/__sandbox__/records/crm/Leads") as resp:
            body = await resp.json()
        async with session.get(sandbox.urls["api"] + "/__sandbox__/state") as resp:
            state = await resp.json()
    assert body["count"] == 3 and body["records"][0]["Last_Name"] == "L00000"
    assert state["counts"]["crm"]["Leads"] == 3
    assert state["products"]["crm"]["credits"]["by_operation"] == {"insert": 1}


@pytest.mark.parametrize(
    ("scope", "method", "path", "allowed"),
    [
        ("ZohoCRM.modules.READ", "GET", "/crm/v8/Leads?fields=Last_Name", True),
        ("ZohoCRM.modules.READ", "POST", "/crm/v8/Leads", False),
        ("ZohoCRM.modules.leads.ALL", "POST", "/crm/v8/Leads", True),
        ("ZohoCRM.modules.ALL", "POST", "/crm/v8/coql", False),
        ("ZohoCRM.coql.READ", "POST", "/crm/v8/coql", True),
        ("ZohoCRM.modules.ALL", "GET", "/crm/v8/org", False),
        ("ZohoCRM.org.READ", "GET", "/crm/v8/org", True),
        ("ZohoCRM.settings.fields.READ", "GET", "/crm/v8/settings/fields?module=Leads", True),
        ("ZohoCRM.modules.ALL", "POST", "/crm/bulk/v8/read", False),
        ("ZohoCRM.bulk.READ", "GET", "/crm/bulk/v8/read/1", True),
        ("ZohoCRM.bulk.READ", "GET", "/crm/bulk/v8/write/1", False),
        ("ZohoCRM.bulk.CREATE", "GET", "/crm/bulk/v8/write/1", True),
        ("ZohoCRM.bulk.CREATE", "POST", "/crm/bulk/v8/read", False),
    ],
)
async def test_scopes_per_operation(
    sandbox: Sandbox, scope: str, method: str, path: str, allowed: bool
) -> None:
    async with aiohttp.ClientSession() as session:
        client = oas.CheckedClient(session, sandbox.urls, sandbox.issue_token(scope), CHECKER)
        body = {"select_query": "select id from Leads"} if "coql" in path else {"data": [{}]}
        status, answer = await client.call(method, path, json=body)
        assert client.problems == []
    refused = status == 401 and answer["code"] == "OAUTH_SCOPE_MISMATCH"
    assert refused != allowed, (status, answer)


async def test_records_ids_indexes_and_credits_survive_a_restart(tmp_path) -> None:
    config = {"clock_speed": 60, "state_dir": str(tmp_path)}
    async with start_sandbox(SandboxConfig(**config)) as sb, aiohttp.ClientSession() as session:
        crm = oas.CheckedClient(session, sb.urls, sb.issue_token(), CHECKER)
        ids = await insert_leads(crm, 3)
    async with start_sandbox(SandboxConfig(**config)) as sb, aiohttp.ClientSession() as session:
        crm = oas.CheckedClient(session, sb.urls, sb.issue_token(), CHECKER)
        status, body = await crm.call("GET", f"/crm/v8/Leads/{ids[2]}")
        assert body["data"][0]["Email"] == "l2@x.io"
        dup = {"Last_Name": "X", "Company": "C", "Email": "L1@x.io"}
        status, body = await crm.call(
            "POST", "/crm/v8/Leads", json={"data": [dup, {**dup, "Email": "n@x.io"}]}
        )
        assert [i["code"] for i in body["data"]] == ["DUPLICATE_DATA", "SUCCESS"]
        assert int(body["data"][1]["details"]["id"]) > int(ids[2])
        assert crm.problems == []
        assert sb.state()["products"]["crm"]["credits"]["used_24h"] == 3  # insert, get, insert
