"""Zoho's official Python SDK for CRM v8 (``zohocrmsdk8-0``) inserts and reads records
against the sandbox, pointed at it with its own custom-environment hook.

The SDK is synchronous (requests), so it runs in a worker thread while the sandbox serves
from the test's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("zohocrmsdk", reason="zohocrmsdk8-0 (test extra) is not installed")

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # noqa: E402
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.record import (  # noqa: E402
    ActionWrapper,
    APIException,
    BodyWrapper,
    Field,
    Record,
    RecordOperations,
    ResponseWrapper,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.record.record_operations import GetRecordsParam  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig  # noqa: E402

from zmigrate.sandbox import Sandbox  # noqa: E402


def sdk_roundtrip(sb: Sandbox, workdir: Path) -> dict[str, Any]:
    """Initialise the SDK on the sandbox, insert two leads (one invalid), read them back."""
    creds = sb.credentials
    environment = DataCenter.Environment(
        sb.urls["api"], sb.urls["accounts"] + "/oauth/v2/token", sb.urls["content"]
    )
    token = OAuthToken(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
    )
    Initializer.initialize(
        environment=environment,
        token=token,
        store=FileStore(str(workdir / "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=str(workdir),
    )
    ops = RecordOperations("Leads")
    good, bad = Record(), Record()
    good.add_field_value(Field.Leads.last_name(), "Sdk")
    good.add_field_value(Field.Leads.company(), "Zoho SDK Co")
    good.add_field_value(Field.Leads.email(), "sdk@example.com")
    bad.add_field_value(Field.Leads.last_name(), "NoCompany")
    bad.add_key_value("Company", None)
    body = BodyWrapper()
    body.set_data([good, bad])
    created = ops.create_records(body)
    out: dict[str, Any] = {"create_status": created.get_status_code(), "results": []}
    wrapper = created.get_object()
    assert isinstance(wrapper, ActionWrapper), wrapper
    for item in wrapper.get_data():
        if isinstance(item, SuccessResponse):
            out["results"].append(("success", item.get_details()["id"]))
        elif isinstance(item, APIException):
            out["results"].append((item.get_code().get_value(), item.get_details()))
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Last_Name,Company,Email,Created_Time")
    got = ops.get_records(params)
    out["get_status"] = got.get_status_code()
    listing = got.get_object()
    assert isinstance(listing, ResponseWrapper), listing
    out["records"] = [
        (r.get_id(), r.get_key_value("Last_Name"), r.get_key_value("Email"), r.get_created_time())
        for r in listing.get_data()
    ]
    return out


async def test_sdk_inserts_and_reads_leads(make_sandbox, tmp_path: Path) -> None:
    sb = await make_sandbox(clock_speed=1)
    logging.getLogger("SDKLogger").setLevel(logging.WARNING)
    out = await asyncio.to_thread(sdk_roundtrip, sb, tmp_path)
    assert out["create_status"] == 207
    (ok, new_id), (code, details) = out["results"]
    assert ok == "success" and len(str(new_id)) == 19
    assert code == "MANDATORY_NOT_FOUND" and details["api_name"] == "Company"
    assert out["get_status"] == 200
    ((rid, last, email, created),) = out["records"]
    assert (str(rid), last, email) == (str(new_id), "Sdk", "sdk@example.com")
    stored = sb.products["crm"].store.find("Leads", str(rid))["Created_Time"]
    assert stored.endswith("+05:30") and created == datetime.fromisoformat(stored)
    assert sb.stats.bugs == 0
    state = sb.state()
    assert state["counts"]["crm"]["Leads"] == 1
    assert state["products"]["crm"]["credits"]["by_operation"]["insert"] == 1
