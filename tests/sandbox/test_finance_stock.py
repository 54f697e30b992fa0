"""Inventory's stock in the sandbox: locations created as records, packages and shipments of
a sales order (no more packed than ordered, no package shipped twice, stock leaves its
location, the order fulfilled), transfer orders (no more than the source holds; stock moves),
item groups creating their items; document numbers unique."""

from __future__ import annotations

INV = "/inventory/v1"
HEAD = "460000000000111"


async def make(call, path: str, body: dict, params: dict | None = None) -> dict:
    status, resp, _ = await call("POST", INV + path, json=body, params=params)
    assert status == 201, resp
    return resp


async def refused(call, path: str, body: dict, params: dict | None = None) -> dict:
    status, resp, _ = await call("POST", INV + path, json=body, params=params)
    assert status == 400, resp
    return resp


async def stock(call, item_id: str) -> dict[str, float]:
    _, got, _ = await call("GET", f"{INV}/items/{item_id}")
    return {x["location_name"]: x["location_stock_on_hand"] for x in got["item"]["locations"]}


async def test_locations_transfers_packages_and_shipments(call) -> None:
    made = await make(call, "/locations", {"location_name": "Warehouse B"})
    assert made["message"] == "The location has been created."
    wb = made["location"]["location_id"]
    _, listed, _ = await call("GET", f"{INV}/locations")
    assert {x["location_name"] for x in listed["locations"]} == {"Head Office", "Warehouse B"}
    assert (await refused(call, "/locations", {"location_name": "warehouse b"}))["code"] == 1001

    places = [{"location_id": HEAD, "initial_stock": 10}, {"location_id": wb, "initial_stock": 2}]
    item = (await make(call, "/items", {"name": "Bolt", "rate": 3, "locations": places}))["item"]
    iid = item["item_id"]

    # a transfer cannot move more than the source holds; one that fits moves the stock
    line = {"item_id": iid, "quantity_transfer": 3}
    move = {"transfer_order_number": "TO-1", "date": "2026-01-05", "from_location_id": wb,
            "to_location_id": HEAD, "line_items": [line]}  # fmt: skip
    short = await refused(call, "/transferorders", move)
    assert (short["code"], short["message"]) == (
        2, "Insufficient stock of Bolt in Warehouse B: 2 available, 3 asked."
    )  # fmt: skip
    there = {**move, "from_location_id": HEAD, "to_location_id": wb}
    order = (await make(call, "/transferorders", there))["transfer_order"]
    assert (order["status"], order["from_location_name"]) == ("transferred", "Head Office")
    assert await stock(call, iid) == {"Head Office": 7, "Warehouse B": 5}
    assert (await refused(call, "/transferorders", there))["code"] == 1001  # TO-1 again

    # packages: no more than ordered less packed; salesorder_id is a URL parameter
    cid = (await make(call, "/contacts", {"contact_name": "Buyer"}))["contact"]["contact_id"]
    so_line = {"item_id": iid, "quantity": 4, "location_id": wb}
    so = await make(call, "/salesorders", {"customer_id": cid, "line_items": [so_line]})
    so = so["salesorder"]
    sid, lid = so["salesorder_id"], so["line_items"][0]["line_item_id"]
    pkg = {"package_number": "PK-1", "date": "2026-01-06",
           "line_items": [{"so_line_item_id": lid, "quantity": 3}]}  # fmt: skip
    assert (await refused(call, "/packages", {**pkg, "salesorder_id": sid}))["code"] == 2
    first = (await make(call, "/packages", pkg, {"salesorder_id": sid}))["package"]
    assert (first["status"], first["line_items"][0]["item_id"]) == ("not_shipped", iid)
    over = {**pkg, "package_number": "PK-2"}
    assert (await refused(call, "/packages", over, {"salesorder_id": sid}))["code"] == 2
    rest = {**over, "line_items": [{"so_line_item_id": lid, "quantity": 1}]}
    second = (await make(call, "/packages", rest, {"salesorder_id": sid}))["package"]
    _, got, _ = await call("GET", f"{INV}/salesorders/{sid}")
    assert got["salesorder"]["line_items"][0]["quantity_packed"] == 4
    assert got["salesorder"]["status"] == "confirmed"

    # shipments: a package not shipped yet; stock leaves the order line's location
    ship = {"shipment_number": "SH-1", "date": "2026-01-07", "delivery_method": "Courier",
            "tracking_number": "T1"}  # fmt: skip
    query = {"salesorder_id": sid, "package_ids": first["package_id"]}
    shipped = (await make(call, "/shipmentorders", ship, query))["shipment_order"]
    assert shipped["status"] == "shipped"
    assert await stock(call, iid) == {"Head Office": 7, "Warehouse B": 2}
    again = await refused(call, "/shipmentorders", {**ship, "shipment_number": "SH-2"}, query)
    assert again["message"] == "The package PK-1 has already been shipped."
    status, kept, _ = await call("DELETE", f"{INV}/packages/{first['package_id']}")
    assert (status, kept["code"]) == (400, 2)
    query = {"salesorder_id": sid, "package_ids": second["package_id"]}
    await make(call, "/shipmentorders", {**ship, "shipment_number": "SH-2"}, query)
    _, got, _ = await call("GET", f"{INV}/salesorders/{sid}")
    assert got["salesorder"]["status"] == "fulfilled"
    assert await stock(call, iid) == {"Head Office": 7, "Warehouse B": 1}
    status, kept, _ = await call("DELETE", f"{INV}/items/{iid}")
    assert (status, kept["code"]) == (400, 1005)

    # deleting a shipment gives the stock back and the package can ship again
    status, _, _ = await call("DELETE", f"{INV}/shipmentorders/{shipped['shipment_id']}")
    assert status == 200
    assert await stock(call, iid) == {"Head Office": 7, "Warehouse B": 4}
    _, got, _ = await call("GET", f"{INV}/salesorders/{sid}")
    assert got["salesorder"]["status"] == "confirmed"


async def test_item_group_creates_its_items_all_or_none(call) -> None:
    items = [{"name": f"Shirt/{s}", "rate": 9, "purchase_rate": 4, "sku": f"SH-{s}",
              "attribute_option_name1": s} for s in ("S", "M")]  # fmt: skip
    group = {"group_name": "Shirts", "unit": "pcs", "attribute_name1": "Size", "items": items}
    made = await make(call, "/itemgroups", group)
    assert made["message"] == "The Item Group has been created."
    created = made["item_group"]["items"]
    for entry in created:
        _, got, _ = await call("GET", f"{INV}/items/{entry['item_id']}")
        assert got["item"]["group_name"] == "Shirts"
    # one item's name taken: nothing of the group is created
    clash = {
        **group,
        "group_name": "Shirts 2",
        "items": [{**items[0], "name": "New", "sku": "N1"}, {**items[1], "sku": "N2"}],
    }
    assert (await refused(call, "/itemgroups", clash))["code"] == 1001
    _, listed, _ = await call("GET", f"{INV}/items")
    assert sorted(x["name"] for x in listed["items"]) == ["Shirt/M", "Shirt/S"]
    status, _, _ = await call("DELETE", f"{INV}/itemgroups/{made['item_group']['group_id']}")
    assert status == 200
    _, listed, _ = await call("GET", f"{INV}/items")
    assert listed["items"] == []
