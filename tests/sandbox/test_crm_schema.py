"""The sandbox as a replica of the user's CRM org: custom fields and modules created through
Zoho's metadata APIs, enforced on every record path; an org started from a snapshot; users."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import oas_check as oas
import pytest
from test_crm_bulk import mapping, run_job, unzipped_rows

from zmigrate.errors import UsageError
from zmigrate.sandbox import Sandbox

# The snapshot format's keys (zmigrate.schema/1, README "Schema snapshots").
FIELD_KEYS = (
    *("api_name", "field_label", "data_type", "json_type", "length", "decimal_place"),
    *("system_mandatory", "read_only", "custom_field", "operation_type", "unique"),
    *("pick_list_values", "lookup", "multi_module_lookup", "currency", "formula", "auto_number"),
)
MODULE_KEYS = (
    *("api_name", "module_name", "singular_label", "plural_label", "generated_type"),
    *("api_supported", "creatable", "editable", "deletable"),
)
USER_KEYS = ("id", "email", "full_name", "status", "confirm", "role", "profile")

LEGACY = {
    "field_label": "Legacy ID",
    "api_name": "Legacy_ID",
    "data_type": "text",
    "length": 100,
    "unique": {"case_sensitive": False},
}


@pytest.fixture
async def crm(make_sandbox: Any) -> Any:
    sb = await make_sandbox(clock_speed=3600)
    async with aiohttp.ClientSession() as session:
        client = oas.CheckedClient(session, sb.urls, sb.issue_token(), None)
        yield sb, client
        assert sb.stats.bugs == 0


async def bulk_read(client: oas.CheckedClient, query: dict[str, Any]) -> list[dict[str, str]]:
    status, body = await client.call("POST", "/crm/bulk/v8/read", json={"query": query})
    assert status == 201, body
    job_id = body["data"][0]["details"]["id"]
    for _ in range(2_000):
        _, body = await client.call("GET", f"/crm/bulk/v8/read/{job_id}")
        if body["data"][0]["state"] == "COMPLETED":
            _, data = await client.call("GET", f"/crm/bulk/v8/read/{job_id}/result")
            return unzipped_rows(data)
        await asyncio.sleep(0.005)
    raise AssertionError("bulk read never completed")


async def coql(client: oas.CheckedClient, query: str) -> list[dict[str, Any]]:
    status, body = await client.call("POST", "/crm/v8/coql", json={"select_query": query})
    assert status in (200, 204), body
    return body["data"] if body else []


async def test_a_unique_custom_field_works_on_every_record_path(crm: Any) -> None:
    sb, c = crm
    path = "/crm/v8/settings/fields?module=Accounts"
    status, body = await c.call("POST", path, json={"fields": [LEGACY]})
    assert status == 201
    assert body["fields"][0]["code"] == "SUCCESS" and body["fields"][0]["details"]["id"]
    status, body = await c.call("POST", path, json={"fields": [LEGACY]})
    assert status == 400 and body["fields"][0]["code"] == "DUPLICATE_DATA"
    second = {"field_label": "Tax Code", "data_type": "text", "unique": {"case_sensitive": False}}
    status, body = await c.call("POST", path, json={"fields": [second]})
    assert status == 201  # Accounts has no unique standard field: Legacy_ID is the first
    third = {"field_label": "VAT Code", "data_type": "text", "unique": {"case_sensitive": False}}
    status, body = await c.call("POST", path, json={"fields": [third]})
    assert status == 400 and body["fields"][0]["code"] == "LIMIT_EXCEEDED"  # 2 a module
    _, body = await c.call("GET", path)
    field = next(f for f in body["fields"] if f["api_name"] == "Legacy_ID")
    assert field["custom_field"] is True and field["unique"] == {"casesensitive": "0"}
    assert (field["data_type"], field["length"], field["field_label"]) == ("text", 100, "Legacy ID")
    assert next(f for f in body["fields"] if f["api_name"] == "Phone")["unique"] == {}

    # REST insert, a case-insensitive duplicate, a value too long
    rows = [
        {"Account_Name": "Acme", "Legacy_ID": "L-1"},
        {"Account_Name": "Beta", "Legacy_ID": "l-1"},
        {"Account_Name": "Gamma", "Legacy_ID": "x" * 101},
    ]
    status, body = await c.call("POST", "/crm/v8/Accounts", json={"data": rows})
    assert status == 207
    assert [i["code"] for i in body["data"]] == ["SUCCESS", "DUPLICATE_DATA", "INVALID_DATA"]
    assert body["data"][1]["details"]["api_name"] == "Legacy_ID"
    acme = body["data"][0]["details"]["id"]
    # upsert by the custom unique field
    up = {"data": [{"Account_Name": "Acme Renamed", "Legacy_ID": "L-1"}]}
    up["duplicate_check_fields"] = ["Legacy_ID"]  # type: ignore[assignment]
    status, body = await c.call("POST", "/crm/v8/Accounts/upsert", json=up)
    assert status == 200 and body["data"][0]["action"] == "update"
    assert (
        body["data"][0]["duplicate_field"] == "Legacy_ID"
        and body["data"][0]["details"]["id"] == acme
    )
    # Bulk Write: upsert found by the custom field, insert of a new one
    text = "Name,Legacy\nAcme Bulk,L-1\nDelta,L-2\n"
    job = {
        "operation": "upsert",
        "resource": {
            "module": {"api_name": "Accounts"},
            "find_by": "Legacy_ID",
            "field_mappings": mapping("Account_Name", "Legacy_ID"),
        },
    }
    done, _ = await run_job(c, sb, text, **job)
    file = done["resource"][0]["file"]
    assert (file["updated_count"], file["added_count"]) == (1, 1)
    # read back: GET, COQL, Bulk Read
    _, body = await c.call("GET", f"/crm/v8/Accounts/{acme}?fields=Account_Name,Legacy_ID")
    assert body["data"][0]["Legacy_ID"] == "L-1" and body["data"][0]["Account_Name"] == "Acme Bulk"
    hits = await coql(c, "select Account_Name, Legacy_ID from Accounts where Legacy_ID = 'l-2'")
    assert [(h["Account_Name"], h["Legacy_ID"]) for h in hits] == [("Delta", "L-2")]
    rows_read = await bulk_read(
        c, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name", "Legacy_ID"]}
    )
    assert sorted(r["Legacy_ID"] for r in rows_read) == ["L-1", "L-2"]


async def test_created_fields_follow_zoho_rules(crm: Any) -> None:
    sb, c = crm
    path = "/crm/v8/settings/fields?module=Contacts"
    fields = [
        {"field_label": "Employee Identification number", "data_type": "integer"},
        {
            "field_label": "Interests",
            "data_type": "multiselectpicklist",
            "pick_list_values": [{"display_value": "Golf"}, {"display_value": "Chess"}],
        },
        {"field_label": "Score", "data_type": "formula", "formula": {"return_type": "double"}},
    ]
    status, body = await c.call("POST", path, json={"fields": fields})
    assert status == 201 and len(body["fields"]) == 3
    _, body = await c.call("GET", path)
    by_name = {f["api_name"]: f for f in body["fields"]}
    assert by_name["Employee_Identification_number"]["json_type"] == "integer"
    assert by_name["Interests"]["json_type"] == "jsonarray"
    assert by_name["Score"]["operation_type"]["api_create"] is False
    six = [{"field_label": f"F{i}", "data_type": "text"} for i in range(6)]
    assert (await c.call("POST", path, json={"fields": six}))[0] == 400
    too_long = {"field_label": "Code", "data_type": "phone", "length": 31}
    status, body = await c.call("POST", path, json={"fields": [too_long]})
    assert status == 400 and body["fields"][0]["details"]["maximum_length"] == 30
    row = {
        "Last_Name": "Ng",
        "Interests": ["Golf", "Sailing"],  # a value the picklist lacks is taken, as Zoho does
        "Employee_Identification_number": 42,
        "Nickname": "ignored",  # no such field: Zoho ignores it
    }
    status, body = await c.call("POST", "/crm/v8/Contacts", json={"data": [row]})
    assert status == 201, body
    rid = body["data"][0]["details"]["id"]
    formula = {"Last_Name": "F", "Score": 3.5}
    status, body = await c.call("POST", "/crm/v8/Contacts", json={"data": [formula]})
    assert status == 400 and body["data"][0]["details"]["api_name"] == "Score"
    _, body = await c.call("GET", f"/crm/v8/Contacts/{rid}")
    assert body["data"][0]["Interests"] == ["Golf", "Sailing"] and "Nickname" not in body["data"][0]
    rows_read = await bulk_read(
        c, {"module": {"api_name": "Contacts"}, "fields": ["Last_Name", "Interests"]}
    )
    assert rows_read[0]["Interests"] == "Golf;Sailing"
    hits = await coql(c, "select Interests from Contacts where Interests like '%sailing%'")
    assert [h["Interests"] for h in hits] == [["Golf", "Sailing"]]
    hits = await coql(c, "select Last_Name from Contacts where Interests > 'a' order by Interests")
    assert [h["Last_Name"] for h in hits] == ["Ng"]
    assert sb.state()["products"]["crm"]["schema"]["custom_fields"] == 3


async def test_strict_fields_refuses_unknown_names(make_sandbox: Any) -> None:
    sb = await make_sandbox(strict_fields=True)
    async with aiohttp.ClientSession() as session:
        c = oas.CheckedClient(session, sb.urls, sb.issue_token(), None)
        row = {"Last_Name": "Ng", "Nickname": "x"}
        status, body = await c.call("POST", "/crm/v8/Contacts", json={"data": [row]})
    assert status == 400 and body["data"][0]["code"] == "INVALID_DATA"
    assert body["data"][0]["details"] == {"api_name": "Nickname", "json_path": "$.data[0].Nickname"}


async def test_a_custom_module_end_to_end(crm: Any) -> None:
    sb, c = crm
    module = {
        "singular_label": "Vehicle",
        "plural_label": "Vehicles",
        "profiles": [{"id": "1"}],
    }
    status, body = await c.call("POST", "/crm/v8/settings/modules", json={"modules": [module]})
    assert status == 200 and body["modules"][0]["message"] == "module created"
    assert sb.state()["products"]["crm"]["credits"]["by_operation"]["create_module"] == 500
    status, body = await c.call("POST", "/crm/v8/settings/modules", json={"modules": [module]})
    assert status == 400 and body["modules"][0]["code"] == "DUPLICATE_DATA"
    _, body = await c.call("GET", "/crm/v8/settings/modules")
    vehicles = next(m for m in body["modules"] if m["api_name"] == "Vehicles")
    assert (vehicles["module_name"], vehicles["generated_type"]) == ("CustomModule1", "custom")
    fields = [
        {"field_label": "Seats", "data_type": "integer"},
        {"field_label": "VIN", "data_type": "text", "unique": {"case_sensitive": False}},
        {
            "field_label": "Owner Account",
            "data_type": "lookup",
            "lookup": {"module": {"api_name": "Accounts"}},
        },
    ]
    path = "/crm/v8/settings/fields?module=Vehicles"
    assert (await c.call("POST", path, json={"fields": fields}))[0] == 201
    _, body = await c.call("POST", "/crm/v8/Accounts", json={"data": [{"Account_Name": "Acme"}]})
    acme = body["data"][0]["details"]["id"]
    rows = [
        {"Name": "Van", "Seats": 8, "VIN": "V1", "Owner_Account": {"id": acme}},
        {"Name": "Car", "Seats": "four"},
        {"Seats": 2},
    ]
    status, body = await c.call("POST", "/crm/v8/Vehicles", json={"data": rows})
    assert [i["code"] for i in body["data"]] == ["SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND"]
    text = "Name,Seats,VIN\nBus,40,V2\nBike,1,v1\n"
    job = {
        "operation": "insert",
        "resource": {
            "module": {"api_name": "Vehicles"},
            "field_mappings": mapping("Name", "Seats", "VIN"),
        },
    }
    done, _ = await run_job(c, sb, text, **job)
    assert (
        done["resource"][0]["file"]["added_count"],
        done["resource"][0]["file"]["skipped_count"],
    ) == (1, 1)
    hits = await coql(c, "select Name, Owner_Account from Vehicles where Seats > 5 order by Seats")
    assert [h["Name"] for h in hits] == ["Van", "Bus"]
    assert hits[0]["Owner_Account"] == {"id": acme}  # COQL shows lookups by id only
    rows_read = await bulk_read(c, {"module": {"api_name": "Vehicles"}, "fields": ["Name", "VIN"]})
    assert sorted(r["VIN"] for r in rows_read) == ["V1", "V2"]
    up = {"data": [{"Name": "van", "Seats": 9}]}  # a custom module's upsert key is Name
    status, body = await c.call("POST", "/crm/v8/Vehicles/upsert", json=up)
    assert body["data"][0]["action"] == "update" and body["data"][0]["duplicate_field"] == "Name"
    _, body = await c.call("GET", "/crm/v8/Vehicles?fields=Name,Seats")
    assert sorted((r["Name"], r["Seats"]) for r in body["data"]) == [("Bus", 40), ("van", 9)]


async def test_custom_modules_need_enterprise(make_sandbox: Any) -> None:
    sb = await make_sandbox(crm_edition="professional")
    module = {"singular_label": "Boat", "plural_label": "Boats", "profiles": [{"id": "1"}]}
    async with aiohttp.ClientSession() as session:
        c = oas.CheckedClient(session, sb.urls, sb.issue_token(), None)
        status, body = await c.call("POST", "/crm/v8/settings/modules", json={"modules": [module]})
    assert status == 400 and body["code"] == "NOT_SUPPORTED"


def _field(api_name: str, data_type: str, **over: Any) -> dict[str, Any]:
    json_type = {"integer": "integer", "lookup": "jsonobject", "ownerlookup": "jsonobject"}
    json_type["multiselectpicklist"] = "jsonarray"
    out = {
        "api_name": api_name,
        "field_label": api_name.replace("_", " "),
        "data_type": data_type,
        "json_type": json_type.get(data_type, "string"),
        "length": 120,
        "decimal_place": None,
        "system_mandatory": False,
        "read_only": False,
        "custom_field": False,
        "operation_type": {"api_create": True, "api_update": True},
        "unique": {},
        "pick_list_values": [],
        "lookup": {},
        "multi_module_lookup": {},
        "currency": {},
        "formula": {},
        "auto_number": {},
    }
    return {**out, **over}


def _module(api_name: str, fields: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    out = {
        "api_name": api_name,
        "module_name": api_name,
        "singular_label": api_name[:-1],
        "plural_label": api_name,
        "generated_type": "default",
        "api_supported": True,
        "creatable": True,
        "editable": True,
        "deletable": True,
    }
    return {**out, **over, "fields": fields}


def _user(n: int, status: str, admin: bool = False) -> dict[str, Any]:
    return {
        "id": str(5_000_000_000_000_000_000 + n),
        "email": f"zmusertst{n}@zmgrt.com",
        "full_name": f"User Number{n}",
        "status": status,
        "confirm": status != "deleted",
        "role": {"name": "CEO" if admin else "Rep", "id": "900"},
        "profile": {"name": "Administrator" if admin else "Standard", "id": "901"},
    }


SNAPSHOT: dict[str, Any] = {
    "format": "zmigrate.schema/1",
    "pulled_at": "2026-11-29T22:00:00Z",
    "data_center": "com",
    "crm": {
        "modules": [
            _module(
                "Accounts",
                [
                    _field("Account_Name", "text", length=200, system_mandatory=True),
                    _field("Owner", "ownerlookup"),
                    _field(
                        "Legacy_ID",
                        "text",
                        length=50,
                        custom_field=True,
                        unique={"casesensitive": "0"},
                    ),
                    _field(
                        "Sectors",
                        "multiselectpicklist",
                        custom_field=True,
                        pick_list_values=[
                            {"display_value": "Retail", "actual_value": "Retail"},
                            {"display_value": "Houston", "actual_value": "Houston Showroom"},
                        ],
                    ),
                    _field(
                        "Account_Number",
                        "autonumber",
                        read_only=True,
                        operation_type={"api_create": False, "api_update": False},
                        auto_number={"prefix": "AC-", "start_number": 1},
                    ),
                ],
            ),
            _module(
                "Vehicles",
                [
                    _field("Name", "text", system_mandatory=True),
                    _field("Seats", "integer", length=9, custom_field=True),
                    _field(
                        "Fleet_Owner",
                        "lookup",
                        custom_field=True,
                        lookup={"module": {"api_name": "Accounts"}},
                    ),
                ],
                module_name="CustomModule3",
                singular_label="Vehicle",
                generated_type="custom",
            ),
            _module("Home", [], api_supported=False, creatable=False),
        ],
        "users": [
            _user(1, "active", admin=True),
            _user(2, "active"),
            _user(3, "disabled"),
            _user(4, "deleted"),
        ],
    },
}


def _trim(field: dict[str, Any]) -> dict[str, Any]:
    """A GET field answer cut to the snapshot's keys, nested values as the spec keeps them."""
    out = {k: field.get(k) for k in FIELD_KEYS}
    out["operation_type"] = {k: field["operation_type"][k] for k in ("api_create", "api_update")}
    out["pick_list_values"] = [
        {"display_value": v["display_value"], "actual_value": v["actual_value"]}
        for v in field["pick_list_values"]
    ]
    if field["lookup"]:
        out["lookup"] = {"module": {"api_name": field["lookup"]["module"]["api_name"]}}
    return out


async def test_an_org_started_from_a_snapshot_gives_it_back(
    make_sandbox: Any, tmp_path: Path
) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SNAPSHOT))
    sb: Sandbox = await make_sandbox(schema=str(path))
    async with aiohttp.ClientSession() as session:
        c = oas.CheckedClient(session, sb.urls, sb.issue_token(), None)
        _, body = await c.call("GET", "/crm/v8/settings/modules")
        modules = []
        for m in body["modules"]:
            _, fields = await c.call("GET", f"/crm/v8/settings/fields?module={m['api_name']}")
            trimmed = [_trim(f) for f in fields["fields"]] if fields else []
            modules.append({**{k: m[k] for k in MODULE_KEYS}, "fields": trimmed})
        _, users = await c.call("GET", "/crm/v8/users?type=AllUsers")
        pulled = {
            **{k: SNAPSHOT[k] for k in ("format", "pulled_at", "data_center")},
            "crm": {
                "modules": modules,
                "users": [{k: u[k] for k in USER_KEYS} for u in users["users"]],
            },
        }
        assert pulled == SNAPSHOT
        # the org it describes: an owner must be an active user, autonumbers are refused
        rows = [
            {
                "Account_Name": "A",
                "Owner": {"id": _user(2, "")["id"]},
                "Sectors": ["Houston Showroom"],
            },
            {"Account_Name": "B", "Owner": {"id": _user(3, "")["id"]}},
            {"Account_Name": "C", "Account_Number": "AC-9"},
            {"Account_Name": "D", "Legacy_ID": "x" * 51},
        ]
        status, body = await c.call("POST", "/crm/v8/Accounts", json={"data": rows})
        assert [i["code"] for i in body["data"]] == [
            "SUCCESS",
            "INVALID_DATA",
            "INVALID_DATA",
            "INVALID_DATA",
        ]
        acme = body["data"][0]["details"]["id"]
        _, body = await c.call("GET", f"/crm/v8/Accounts/{acme}?fields=Owner,Sectors")
        assert body["data"][0]["Owner"]["name"] == "User Number2"
        row = {"Name": "Van", "Seats": 3, "Fleet_Owner": {"id": acme}}
        assert (await c.call("POST", "/crm/v8/Vehicles", json={"data": [row]}))[0] == 201
        hits = await coql(c, "select Name, Fleet_Owner from Vehicles where Seats = 3")
        assert hits[0]["Fleet_Owner"] == {"id": acme}  # COQL shows lookups by id only
        assert (await c.call("POST", "/crm/v8/Home", json={"data": [{"Name": "x"}]}))[0] == 400
        assert (await c.call("POST", "/crm/v8/Leads", json={"data": [{"Last_Name": "x"}]}))[
            0
        ] == 400
        _, me = await c.call("GET", "/crm/v8/users?type=CurrentUser")
        assert [u["email"] for u in me["users"]] == ["zmusertst1@zmgrt.com"]


async def test_a_snapshot_that_is_not_one_is_refused(make_sandbox: Any, tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(
        json.dumps({"format": "zmigrate.schema/1", "crm": {"modules": [{"fields": []}]}})
    )
    with pytest.raises(UsageError, match=r"crm.modules\[0\].api_name"):
        await make_sandbox(schema=str(path))


async def test_users_by_type_and_page(make_sandbox: Any) -> None:
    sb = await make_sandbox(crm_user_count=5)
    async with aiohttp.ClientSession() as session:
        c = oas.CheckedClient(session, sb.urls, sb.issue_token(), None)
        seen = []
        for page in (1, 2, 3):
            status, body = await c.call(
                "GET", f"/crm/v8/users?type=ActiveUsers&page={page}&per_page=2"
            )
            assert status == 200
            seen += [u["id"] for u in body["users"]]
            assert body["info"] == {
                "per_page": 2,
                "count": len(body["users"]),
                "page": page,
                "more_records": page < 3,
            }
        assert len(set(seen)) == 5
        assert (await c.call("GET", "/crm/v8/users?page=4&per_page=2"))[0] == 204
        assert (await c.call("GET", "/crm/v8/users?per_page=201"))[0] == 400
        assert (await c.call("GET", "/crm/v8/users?type=Everyone"))[0] == 400
        _, body = await c.call("GET", "/crm/v8/users?type=AdminUsers")
        assert [u["profile"]["name"] for u in body["users"]] == ["Administrator"]
        # any active user can own a record
        owner = seen[3]
        row = {"Last_Name": "Ng", "Owner": {"id": owner}}
        status, body = await c.call("POST", "/crm/v8/Contacts", json={"data": [row]})
        assert status == 201
        rid = body["data"][0]["details"]["id"]
        _, body = await c.call("GET", f"/crm/v8/Contacts/{rid}?fields=Owner")
        assert body["data"][0]["Owner"]["id"] == owner
