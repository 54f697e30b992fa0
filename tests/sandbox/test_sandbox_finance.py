"""Books v3 and Inventory v1: organizations, CRUD of every module, lists, Zoho's error shapes."""

from __future__ import annotations

import orjson
import pytest


async def make(call, path: str, body: dict) -> dict:
    status, resp, _ = await call("POST", path, json=body)
    assert status == 201, resp
    assert resp["code"] == 0
    return resp


async def test_organizations(sandbox, call) -> None:
    org = sandbox.credentials.organization_id
    for prefix in ("/books/v3", "/inventory/v1"):
        status, body, _ = await call("GET", f"{prefix}/organizations", org=None)
        assert status == 200 and body["code"] == 0
        assert [o["organization_id"] for o in body["organizations"]] == [org]
        status, one, _ = await call("GET", f"{prefix}/organizations/{org}", org=None)
        assert one["organization"]["organization_id"] == org
        status, missing, _ = await call("GET", f"{prefix}/organizations/1", org=None)
        assert (status, missing["code"]) == (404, 1002)


async def test_books_contact_crud(call) -> None:
    created = await make(call, "/books/v3/contacts", {"contact_name": "Acme", "email": "a@x.io"})
    assert created["message"] == "The contact has been added."
    contact = created["contact"]
    cid = contact["contact_id"]
    assert cid.isdigit() and len(cid) >= 15
    assert contact["contact_name"] == "Acme" and contact["status"] == "active"

    status, got, _ = await call("GET", f"/books/v3/contacts/{cid}")
    assert (status, got["code"], got["message"]) == (200, 0, "success")
    assert got["contact"] == contact

    status, upd, _ = await call("PUT", f"/books/v3/contacts/{cid}", json={"phone": "555"})
    assert status == 200 and upd["contact"]["phone"] == "555"
    assert upd["contact"]["contact_name"] == "Acme"

    status, deleted, _ = await call("DELETE", f"/books/v3/contacts/{cid}")
    assert (status, deleted) == (200, {"code": 0, "message": "The contact has been deleted."})
    status, gone, _ = await call("GET", f"/books/v3/contacts/{cid}")
    assert (status, gone) == (404, {"code": 1002, "message": "Contact does not exist."})
    # the name is free again
    await make(call, "/books/v3/contacts", {"contact_name": "acme"})


async def test_invoice_validates_customer_and_items(call) -> None:
    cid = (await make(call, "/books/v3/contacts", {"contact_name": "Buyer"}))["contact"][
        "contact_id"
    ]
    iid = (await make(call, "/books/v3/items", {"name": "Bolt", "rate": 2.5}))["item"]["item_id"]
    inv = (
        await make(
            call,
            "/books/v3/invoices",
            {"customer_id": cid, "line_items": [{"item_id": iid, "quantity": 4}]},
        )
    )["invoice"]
    assert inv["invoice_number"] == "INV-000001"
    assert inv["customer_name"] == "Buyer" and inv["total"] == 10.0
    assert inv["line_items"][0]["name"] == "Bolt" and inv["line_items"][0]["line_item_id"]

    bad_customer = {"customer_id": "999", "line_items": [{"item_id": iid}]}
    status, body, _ = await call("POST", "/books/v3/invoices", json=bad_customer)
    assert (status, body["code"]) == (400, 1002)
    bad_item = {"customer_id": cid, "line_items": [{"item_id": "999"}]}
    status, body, _ = await call("POST", "/books/v3/invoices", json=bad_item)
    assert (status, body["code"]) == (400, 1002)
    status, body, _ = await call("POST", "/books/v3/invoices", json={"customer_id": cid})
    assert (status, body["code"]) == (400, 4)
    dup = {"customer_id": cid, "invoice_number": "INV-000001", "line_items": [{"item_id": iid}]}
    status, body, _ = await call("POST", "/books/v3/invoices", json=dup)
    assert (status, body["code"]) == (400, 1001)

    status, upd, _ = await call(
        "PUT",
        f"/books/v3/invoices/{inv['invoice_id']}",
        json={"line_items": [{"name": "Labour", "rate": 50, "quantity": 2}]},
    )
    assert status == 200 and upd["invoice"]["total"] == 100
    status, listed, _ = await call("GET", "/books/v3/invoices")
    assert "line_items" not in listed["invoices"][0]


async def test_items_are_shared_between_books_and_inventory(call) -> None:
    item = (await make(call, "/inventory/v1/items", {"name": "Gear", "rate": 3, "sku": "G-1"}))[
        "item"
    ]
    status, body, _ = await call("GET", f"/books/v3/items/{item['item_id']}")
    assert status == 200 and body["item"]["sku"] == "G-1"
    status, body, _ = await call("POST", "/books/v3/items", json={"name": "GEAR", "rate": 1})
    assert (status, body["code"]) == (400, 1001)
    status, body, _ = await call(
        "POST", "/books/v3/items", json={"name": "Other", "rate": 1, "sku": "G-1"}
    )
    assert (status, body["code"]) == (400, 1001)


@pytest.mark.parametrize(
    ("module", "party", "number"),
    [("salesorders", "customer_id", "SO-000001"), ("purchaseorders", "vendor_id", "PO-000001")],
)
async def test_inventory_orders_crud(call, module: str, party: str, number: str) -> None:
    contact = {"contact_name": "Party", "contact_type": "vendor"}
    pid = (await make(call, "/inventory/v1/contacts", contact))["contact"]["contact_id"]
    iid = (await make(call, "/inventory/v1/items", {"name": "Nut", "rate": 1}))["item"]["item_id"]
    singular = module[:-1]
    order = (
        await make(
            call,
            f"/inventory/v1/{module}",
            {party: pid, "line_items": [{"item_id": iid, "quantity": 5}]},
        )
    )[singular]
    oid = order[f"{singular}_id"]
    assert order[f"{singular}_number"] == number and order["total"] == 5
    status, got, _ = await call("GET", f"/inventory/v1/{module}/{oid}")
    assert status == 200 and got[singular][party] == pid
    status, upd, _ = await call("PUT", f"/inventory/v1/{module}/{oid}", json={"notes": "rush"})
    assert status == 200 and upd[singular]["notes"] == "rush"
    status, body, _ = await call("DELETE", f"/inventory/v1/{module}/{oid}")
    assert status == 200 and body["code"] == 0
    status, body, _ = await call("GET", f"/inventory/v1/{module}/{oid}")
    assert (status, body["code"]) == (404, 1002)
    status, body, _ = await call(
        "POST", f"/inventory/v1/{module}", json={party: "12345", "line_items": [{"item_id": iid}]}
    )
    assert (status, body["code"]) == (400, 1002)


async def test_list_pages_and_filters(sandbox, call) -> None:
    org = sandbox.credentials.organization_id
    books = sandbox.products["books"]
    for i in range(205):  # straight into the store: this test is about paging, not quotas
        books.insert(org, "contacts", {"contact_name": f"C{i:03d}"})
    status, page1, _ = await call("GET", "/books/v3/contacts")
    ctx = page1["page_context"]
    assert (ctx["page"], ctx["per_page"], ctx["has_more_page"]) == (1, 200, True)
    assert len(page1["contacts"]) == 200
    _, page2, _ = await call("GET", "/books/v3/contacts", params={"page": "2"})
    assert len(page2["contacts"]) == 5 and page2["page_context"]["has_more_page"] is False
    _, big, _ = await call("GET", "/books/v3/contacts", params={"per_page": "500"})
    assert big["page_context"]["per_page"] == 200
    _, small, _ = await call("GET", "/books/v3/contacts", params={"per_page": "10", "page": "3"})
    assert [c["contact_name"] for c in small["contacts"]][0] == "C020"
    _, exact, _ = await call("GET", "/books/v3/contacts", params={"contact_name": "c007"})
    assert [c["contact_name"] for c in exact["contacts"]] == ["C007"]
    _, starts, _ = await call(
        "GET", "/books/v3/contacts", params={"contact_name_startswith": "C20"}
    )
    assert len(starts["contacts"]) == 5
    _, text, _ = await call("GET", "/books/v3/contacts", params={"search_text": "19"})
    assert len(text["contacts"]) == 12  # C019, C119, C190..C199
    for bad in ({"page": "0"}, {"per_page": "x"}):
        status, body, _ = await call("GET", "/books/v3/contacts", params=bad)
        assert (status, body["code"]) == (400, 2)


async def test_bad_input_gets_zoho_errors(sandbox, call) -> None:
    cases = [
        ({"json": {"contact_name": "X", "bogus": 1}}, 400, 2),
        ({"json": {"email": "a@b.c"}}, 400, 4),
        ({"json": {"contact_name": 7}}, 400, 2),
        ({"json": {"contact_name": "X" * 201}}, 400, 15),
        ({"json": {"contact_name": "X", "contact_type": "alien"}}, 400, 2),
        ({"json": ["not", "an", "object"]}, 400, 1038),
        ({"data": b"{broken", "headers": {"Content-Type": "application/json"}}, 400, 1038),
        ({"data": b""}, 400, 1038),
    ]
    for kw, status, code in cases:
        got, body, _ = await call("POST", "/books/v3/contacts", **kw)
        assert (got, body["code"]) == (status, code), kw
        assert set(body) == {"code", "message"}
    status, body, _ = await call("POST", "/books/v3/contacts", json={"contact_name": "X" * 201})
    assert body["message"] == 'Please ensure that the "contact_name" has less than 200 characters.'
    status, body, _ = await call("POST", "/books/v3/items", json={"name": "N", "rate": "abc"})
    assert (status, body["code"]) == (400, 2)
    big = {"contact_name": "Big", "payment_terms": "9" * 30}
    assert (await call("POST", "/books/v3/contacts", json=big))[1]["code"] == 2
    garbage = {"Content-Type": "multipart/form-data; boundary=xx"}
    status, body, _ = await call(
        "POST", "/books/v3/contacts", data=b"--xx\r\ngarbage", headers=garbage
    )
    assert (status, body["code"]) == (400, 1038)
    for page in ("9" * 30, "\u00b2", "-1"):
        status, body, _ = await call("GET", "/books/v3/contacts", params={"page": page})
        assert (status, body["code"]) == (400, 2), page
    assert sandbox.state()["bugs"] == 0


async def test_jsonstring_form_body_is_accepted(call) -> None:
    form = {"JSONString": orjson.dumps({"contact_name": "Form Co"}).decode()}
    status, body, _ = await call("POST", "/books/v3/contacts", data=form)
    assert status == 201 and body["contact"]["contact_name"] == "Form Co"


async def test_oversized_body(make_sandbox, http) -> None:
    sb = await make_sandbox(max_body_bytes=1024)
    headers = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    params = {"organization_id": sb.credentials.organization_id}
    body = {"contact_name": "X", "notes": "n" * 5000}
    async with http.post(
        sb.urls["api"] + "/books/v3/contacts", params=params, headers=headers, json=body
    ) as resp:
        assert resp.status == 413
        assert (await resp.json())["code"] == 2
    assert sb.state()["counts"]["books"]["contacts"] == 0


async def test_unknown_urls_methods_and_orgs(sandbox, call) -> None:
    assert (await call("GET", "/books/v3/projects"))[:2] == (
        404,
        {"code": 5, "message": "Invalid URL Passed"},
    )
    assert (await call("GET", "/nothing/here"))[:2] == (
        404,
        {"code": 5, "message": "Invalid URL Passed"},
    )
    status, body, _ = await call("PATCH", "/books/v3/contacts")
    assert (status, body["code"]) == (405, 37)
    # Zoho: 6024 without organization_id, 2 for a malformed one, 6041 for another user's
    for org, code, words in (
        (None, 6024, "belongs to multiple organizations"),
        ("YOUR ORG", 2, "Invalid value passed for organization_id"),
        ("123", 6041, "not associated with the CompanyID/CompanyName:123."),
    ):
        status, body, _ = await call("GET", "/books/v3/contacts", org=org)
        assert (status, body["code"], set(body)) == (400, code, {"code", "message"}), org
        assert words in body["message"], org
    # Inventory has no invoices module
    assert (await call("GET", "/inventory/v1/invoices"))[0] == 404


FAMILIES = [
    ("/books/v3", "contacts"),
    ("/books/v3", "items"),
    ("/books/v3", "invoices"),
    ("/inventory/v1", "contacts"),
    ("/inventory/v1", "items"),
    ("/inventory/v1", "salesorders"),
    ("/inventory/v1", "purchaseorders"),
]


@pytest.mark.parametrize(("prefix", "module"), FAMILIES)
async def test_every_module_lists_creates_gets_updates_deletes(call, prefix, module) -> None:
    party = (await make(call, f"{prefix}/contacts", {"contact_name": "P"}))["contact"]["contact_id"]
    item = (await make(call, f"{prefix}/items", {"name": "I", "rate": 4}))["item"]["item_id"]
    lines = [{"item_id": item, "quantity": 2}]
    bodies = {
        "contacts": {"contact_name": "New"},
        "items": {"name": "New", "rate": 1},
        "invoices": {"customer_id": party, "line_items": lines},
        "salesorders": {"customer_id": party, "line_items": lines},
        "purchaseorders": {"vendor_id": party, "line_items": lines},
    }
    singular = module[:-1]
    created = (await make(call, f"{prefix}/{module}", bodies[module]))[singular]
    rid = created[f"{singular}_id"]
    status, listed, _ = await call("GET", f"{prefix}/{module}")
    assert status == 200 and rid in [r[f"{singular}_id"] for r in listed[module]]
    assert listed["page_context"]["has_more_page"] is False
    status, got, _ = await call("GET", f"{prefix}/{module}/{rid}")
    assert status == 200 and got[singular] == created
    change = {"description": "n"} if module == "items" else {"notes": "n"}
    status, upd, _ = await call("PUT", f"{prefix}/{module}/{rid}", json=change)
    assert status == 200 and upd["code"] == 0
    assert upd[singular]["last_modified_time"] >= created["last_modified_time"]
    status, deleted, _ = await call("DELETE", f"{prefix}/{module}/{rid}")
    assert (status, deleted["code"]) == (200, 0)
    assert (await call("GET", f"{prefix}/{module}/{rid}"))[0] == 404
    assert (await call("DELETE", f"{prefix}/{module}/{rid}"))[0] == 404
