"""The sandbox's related records: notes with v8's ``Parent_Id`` (module and id), the Notes
and Attachments related lists of a parent, multipart uploads with Zoho's size refusal, and
downloads, each charged its credits."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import FormData

from zmigrate.sandbox.crm import related_routes
from zmigrate.schema import related


async def _account(call: Any, name: str = "Acme") -> str:
    status, body, _ = await call(
        "POST", "/crm/v8/Accounts", json={"data": [{"Account_Name": name}]}
    )
    assert status == 201
    return str(body["data"][0]["details"]["id"])


async def test_notes_land_on_their_parent_and_list_there(call: Any, sandbox: Any) -> None:
    acc = await _account(call)
    other = await _account(call, "Other")
    parent = {"module": {"api_name": "Accounts"}, "id": acc}
    status, body, _ = await call(
        "POST",
        "/crm/v8/Notes",
        json={"data": [{"Note_Title": "Met", "Note_Content": "went well", "Parent_Id": parent}]},
    )
    assert status == 201 and body["data"][0]["message"] == "record added"
    status, body, _ = await call(
        "POST", f"/crm/v8/Accounts/{acc}/Notes", json={"data": [{"Note_Content": "second"}]}
    )
    assert status == 201
    await call("POST", f"/crm/v8/Accounts/{other}/Notes", json={"data": [{"Note_Content": "x"}]})
    status, body, _ = await call(
        "GET", f"/crm/v8/Accounts/{acc}/Notes", params={"fields": "Note_Title,Note_Content"}
    )
    assert status == 200
    assert [n["Note_Content"] for n in body["data"]] == ["went well", "second"]
    status, body, _ = await call(
        "GET", f"/crm/v8/Accounts/{acc}/Notes", params={"fields": "Parent_Id"}
    )
    ref = body["data"][0]["Parent_Id"]
    assert ref["id"] == acc and ref["name"] == "Acme"
    assert ref["module"]["api_name"] == "Accounts"
    status, body, _ = await call("GET", f"/crm/v8/Accounts/{acc}/Notes")
    assert status == 400 and body["code"] == "REQUIRED_PARAM_MISSING"
    status, body, _ = await call(
        "GET", "/crm/v8/Accounts/6421337000000999999/Notes", params={"fields": "Note_Title"}
    )
    assert status == 400 and body["details"] == {"resource_path_index": 1}
    wrong = {"module": {"api_name": "Deals"}, "id": acc}
    status, body, _ = await call(
        "POST", "/crm/v8/Notes", json={"data": [{"Note_Content": "x", "Parent_Id": wrong}]}
    )
    assert status == 400 and body["data"][0]["details"]["api_name"] == "Parent_Id"


async def test_attachments_upload_list_download_and_size_limit(
    call: Any, sandbox: Any, http: aiohttp.ClientSession, token: str, monkeypatch: Any
) -> None:
    acc = await _account(call)
    form = FormData()
    form.add_field("file", b"%PDF-1.4 hello", filename="q4.pdf")
    status, body, _ = await call("POST", f"/crm/v8/Accounts/{acc}/Attachments", data=form)
    assert status == 200, body
    assert body["data"][0]["message"] == "attachment uploaded successfully"
    att = body["data"][0]["details"]["id"]
    status, body, _ = await call(
        "GET", f"/crm/v8/Accounts/{acc}/Attachments", params={"fields": "File_Name,Size"}
    )
    [shown] = body["data"]
    assert (shown["File_Name"], shown["Size"], shown["$se_module"]) == ("q4.pdf", "14", "Accounts")
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    url = f"{sandbox.urls['api']}/crm/v8/Accounts/{acc}/Attachments/{att}"
    async with http.get(url, headers=headers) as resp:
        assert resp.status == 200 and await resp.read() == b"%PDF-1.4 hello"
    monkeypatch.setattr(related_routes, "ATTACHMENT_MAX_BYTES", 10)
    form = FormData()
    form.add_field("file", b"x" * 11, filename="big.bin")
    status, body, _ = await call("POST", f"/crm/v8/Accounts/{acc}/Attachments", data=form)
    assert status == 413 and body["code"] == "FILE_SIZE_MORE_THAN_ALLOWED_SIZE"
    assert related.ATTACHMENT_MAX_BYTES == 100 * 1024 * 1024
    crm = sandbox.products["crm"].state()["credits"]["by_operation"]
    assert crm["upload_attachment"] == 2  # refused by size after admission: still charged


async def test_an_event_takes_its_participants_and_shows_them(call: Any) -> None:
    """v8's ``Participants``: contacts by id and addresses; an unknown id is refused."""
    status, body, _ = await call(
        "POST", "/crm/v8/Contacts", json={"data": [{"Last_Name": "Daly", "Email": "pd@x.com"}]}
    )
    contact = str(body["data"][0]["details"]["id"])
    event = {
        "Event_Title": "Kick-off",
        "Start_DateTime": "2026-03-02T10:00:00+00:00",
        "End_DateTime": "2026-03-02T11:00:00+00:00",
        "Participants": [
            {"type": "contact", "participant": contact},
            {"type": "email", "participant": "guest@example.com"},
        ],
    }
    status, body, _ = await call("POST", "/crm/v8/Events", json={"data": [event]})
    assert status == 201, body
    event_id = body["data"][0]["details"]["id"]
    status, body, _ = await call("GET", f"/crm/v8/Events/{event_id}")
    shown = body["data"][0]["Participants"]
    assert [(p["type"], p["participant"], p["name"]) for p in shown] == [
        ("contact", contact, "Daly"),
        ("email", "guest@example.com", "guest@example.com"),
    ]
    assert shown[0]["Email"] == "pd@x.com" and shown[0]["status"] == "not_known"
    bad = {**event, "Participants": [{"type": "contact", "participant": "6421337000000999999"}]}
    status, body, _ = await call("POST", "/crm/v8/Events", json={"data": [bad]})
    assert status == 400 and body["data"][0]["details"]["api_name"] == "Participants"
