"""`zmigrate schema pull` as a user runs it (a real process) against the sandbox over loopback,
and Books/Inventory settings and custom fields on the sandbox's wire."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import orjson
import pytest

from zmigrate.errors import UsageError
from zmigrate.sandbox import Sandbox

ZMIGRATE = [str(Path(sys.executable).parent / "zmigrate")]
CUSTOM = {
    "customfield_id": "460000000090001",
    "api_name": "cf_legacy_id",
    "label": "Legacy ID",
    "data_type": "string",
    "is_mandatory": False,
}
BOOKS_SECTION = {
    "custom_fields": {"contacts": [CUSTOM]},
    "taxes": [{"tax_id": "77001", "tax_name": "VAT", "tax_percentage": 20.0, "tax_type": "tax"}],
    "currencies": [
        {
            "currency_id": "77010",
            "currency_code": "EUR",
            "currency_name": "Euro",
            "exchange_rate": 1.0,
            "is_base_currency": True,
        },
        {
            "currency_id": "77011",
            "currency_code": "USD",
            "currency_name": "US Dollar",
            "exchange_rate": 0.92,
            "is_base_currency": False,
        },
    ],
}


def sandbox_env(sb: Sandbox, **extra: str) -> dict[str, str]:
    """What a user would export to reach this sandbox (and no other ZOHO_* variable)."""
    c = sb.credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    env.update(
        ZOHO_CLIENT_ID=c.client_id,
        ZOHO_CLIENT_SECRET=c.client_secret,
        ZOHO_REFRESH_TOKEN=c.refresh_token,
        ZOHO_ORGANIZATION_ID=c.organization_id,
        ZOHO_DC=c.data_center,
        ZOHO_ACCOUNTS_URL=sb.urls["accounts"],
        ZOHO_API_URL=sb.urls["api"],
        ZOHO_CONTENT_URL=sb.urls["content"],
    )
    env.update(extra)
    return env


async def zmigrate(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in its own process while this loop keeps serving the sandbox."""
    proc = await asyncio.create_subprocess_exec(
        *ZMIGRATE,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_pull_writes_what_the_metadata_apis_answer_and_costs_what_it_said(
    sandbox, call, tmp_path
):
    out = tmp_path / "schema.json"
    code, stdout, stderr = await zmigrate(sandbox_env(sandbox), "schema", "pull", "--out", str(out))
    assert code == 0, stderr + stdout
    credits = sandbox.state()["products"]["crm"]["credits"]["total"]
    requests = dict(sandbox.stats.requests)
    snap = orjson.loads(out.read_bytes())
    assert snap["format"] == "zmigrate.schema/1" and snap["data_center"] == "com"

    status, modules, _ = await call("GET", "/crm/v8/settings/modules", org=None)
    wanted = [m for m in modules["modules"] if m["api_supported"]]
    assert [m["api_name"] for m in snap["crm"]["modules"]] == [m["api_name"] for m in wanted]
    for pulled, listed in zip(snap["crm"]["modules"], wanted, strict=True):
        assert pulled["module_name"] == listed["module_name"]
        assert pulled["singular_label"] == listed["singular_label"]
        _, body, _ = await call(
            "GET", "/crm/v8/settings/fields", org=None, params={"module": listed["api_name"]}
        )
        fields = body["fields"]
        assert [f["api_name"] for f in pulled["fields"]] == [f["api_name"] for f in fields]
        for mine, theirs in zip(pulled["fields"], fields, strict=True):
            for key in ("data_type", "json_type", "length", "system_mandatory", "read_only"):
                assert mine[key] == theirs[key], (listed["api_name"], theirs["api_name"], key)
            assert mine["unique"] == (theirs["unique"] or {})
            assert mine["operation_type"]["api_create"] == theirs["operation_type"]["api_create"]
            assert [v["actual_value"] for v in mine["pick_list_values"]] == [
                v["actual_value"] for v in theirs["pick_list_values"]
            ]
            target = (theirs.get("lookup") or {}).get("module", {}).get("api_name")
            assert mine["lookup"].get("module", {}).get("api_name") == target
    assert any(f["unique"] for m in snap["crm"]["modules"] for f in m["fields"])
    assert any(f["lookup"] for m in snap["crm"]["modules"] for f in m["fields"])

    _, users, _ = await call("GET", "/crm/v8/users", org=None, params={"type": "AllUsers"})
    assert [u["id"] for u in snap["crm"]["users"]] == [u["id"] for u in users["users"]]
    assert snap["crm"]["users"][0]["email"] == users["users"][0]["email"]

    for product, prefix in (("books", "/books/v3"), ("inventory", "/inventory/v1")):
        _, taxes, _ = await call("GET", f"{prefix}/settings/taxes")
        _, currencies, _ = await call("GET", f"{prefix}/settings/currencies")
        assert [t["tax_id"] for t in snap[product]["taxes"]] == [
            t["tax_id"] for t in taxes["taxes"]
        ]
        assert [c["currency_code"] for c in snap[product]["currencies"]] == ["USD", "EUR"]
        assert snap[product]["currencies"][0]["is_base_currency"] is True
    _, locations, _ = await call("GET", "/inventory/v1/locations")
    assert snap["inventory"]["locations"] == [
        {"location_id": x["location_id"], "location_name": x["location_name"],
         "is_primary": x["is_primary"], "status": x["status"]}
        for x in locations["locations"]
    ]  # fmt: skip
    assert "locations" not in snap["books"]

    # the bill printed before the field reads is what the sandbox charged
    billed = re.search(r"cost: crm: (\d+) credits", stdout)
    assert billed, stdout
    assert int(billed.group(1)) == 1 + len(wanted) + 1 == credits == requests["crm"]
    assert f"spent: crm: {credits} requests, {credits} credits" in stdout
    assert "books: 3 requests" in stdout and "inventory: 4 requests" in stdout
    assert requests["books"] == 3 and requests["inventory"] == 4

    c = sandbox.credentials
    text = out.read_text() + stdout + stderr
    for secret in (c.client_secret, c.refresh_token, *sandbox.tokens._access):
        assert secret not in text


async def test_dry_run_prints_the_bill_and_sends_nothing(sandbox, tmp_path):
    out = tmp_path / "schema.json"
    env = sandbox_env(sandbox)
    code, stdout, stderr = await zmigrate(env, "schema", "pull", "--dry-run", "--out", str(out))
    assert code == 0, stderr
    assert "1 credit to list the modules" in stdout and "books: 3 requests" in stdout
    assert "nothing sent" in stdout
    code, stdout, _ = await zmigrate(env, "schema", "pull", "--dry-run", "--json")
    assert code == 0 and orjson.loads(stdout)["bill"]["inventory_requests"] == 4
    assert not out.exists()
    assert sum(sandbox.stats.requests.values()) == 0
    assert sandbox.state()["products"]["crm"]["credits"]["total"] == 0


async def test_json_summary_and_crm_only(sandbox, tmp_path):
    out = tmp_path / "crm.json"
    env = sandbox_env(sandbox)
    code, stdout, stderr = await zmigrate(
        env, "schema", "pull", "--products", "crm", "--json", "--out", str(out)
    )
    assert code == 0, stderr
    summary = orjson.loads(stdout)
    snap = orjson.loads(out.read_bytes())
    assert "books" not in snap and "inventory" not in snap
    assert summary["spent"]["crm"]["credits"] == summary["bill"]["crm_credits"]
    assert summary["counts"]["crm_modules"] == len(snap["crm"]["modules"])
    assert sandbox.stats.requests.get("books", 0) == 0


@pytest.mark.parametrize(
    ("args", "env_change", "wanted"),
    [
        ((), {"ZOHO_CLIENT_SECRET": ""}, "ZOHO_CLIENT_SECRET"),
        (("--products", "books"), {"ZOHO_ORGANIZATION_ID": ""}, "ZOHO_ORGANIZATION_ID"),
        (("--products", "crm,ledger"), {}, "--products"),
        (("--out", "/nonexistent-dir/s.json", "--products", "crm"), {}, "--out"),
        (("--products", "books"), {"ZOHO_ORGANIZATION_ID": "12345"}, "refused organization_id"),
    ],
)
async def test_errors_are_one_line_with_exit_2(sandbox, args, env_change, wanted):
    env = sandbox_env(sandbox, **env_change)
    code, stdout, stderr = await zmigrate(env, "schema", "pull", *args)
    assert code == 2, stderr + stdout
    last = stderr.strip().splitlines()[-1]  # earlier lines: progress of what was read
    assert last.startswith("zmigrate schema pull: ") and wanted in last
    assert "Traceback" not in stderr


async def test_a_snapshot_section_served_back_and_pulled_the_same(sandbox, tmp_path):
    sandbox.products["books"].load_settings(BOOKS_SECTION)  # type: ignore[attr-defined]
    out = tmp_path / "schema.json"
    code, _, stderr = await zmigrate(
        sandbox_env(sandbox), "schema", "pull", "--products", "books", "--out", str(out)
    )
    assert code == 0, stderr
    assert orjson.loads(out.read_bytes())["books"] == BOOKS_SECTION


async def test_books_record_custom_fields_round_trip(sandbox, call):
    sandbox.products["books"].load_settings(BOOKS_SECTION)  # type: ignore[attr-defined]
    _, prefs, _ = await call("GET", "/books/v3/settings/preferences")
    assert prefs["customfields"]["contact"][0]["api_name"] == "cf_legacy_id"

    body = {"contact_name": "Acme", "custom_fields": [{"api_name": "cf_legacy_id", "value": "L-1"}]}
    status, created, _ = await call("POST", "/books/v3/contacts", json=body)
    assert status == 201, created
    contact_id = created["contact"]["contact_id"]
    status, got, _ = await call("GET", f"/books/v3/contacts/{contact_id}")
    entry = got["contact"]["custom_fields"][0]
    assert (entry["customfield_id"], entry["api_name"], entry["label"], entry["value"]) == (
        CUSTOM["customfield_id"], "cf_legacy_id", "Legacy ID", "L-1",
    )  # fmt: skip

    change = {"custom_fields": [{"customfield_id": CUSTOM["customfield_id"], "value": "L-2"}]}
    status, updated, _ = await call("PUT", f"/books/v3/contacts/{contact_id}", json=change)
    assert status == 200 and updated["contact"]["custom_fields"][0]["value"] == "L-2"

    unknown = {"contact_name": "Other", "custom_fields": [{"api_name": "cf_nope", "value": "x"}]}
    status, refused, _ = await call("POST", "/books/v3/contacts", json=unknown)
    assert status == 400 and refused["code"] == 120100 and "cf_nope" in refused["message"]
    status, refused, _ = await call("POST", "/inventory/v1/contacts", json=body)
    assert refused["code"] == 120100  # Inventory has its own definitions (none here)


async def test_settings_wire_shapes_and_a_malformed_section(sandbox, call):
    status, taxes, _ = await call("GET", "/books/v3/settings/taxes")
    assert status == 200 and taxes["code"] == 0 and taxes["message"] == "success"
    assert taxes["page_context"]["has_more_page"] is False and len(taxes["taxes"]) == 1
    status, _, _ = await call("GET", "/books/v3/locations")
    assert status == 404  # Books has no locations list
    status, refused, _ = await call("GET", "/inventory/v1/settings/taxes", org=None)
    assert status == 400 and refused["code"] == 6024
    with pytest.raises(UsageError, match=r"books.taxes\[0\] has no tax_id"):
        sandbox.products["books"].load_settings({"taxes": [{"tax_name": "x"}]})  # type: ignore[attr-defined]
