"""Inventory's stock modules over the shared store: locations (warehouses), packages and
shipment orders of sales orders, transfer orders, item groups.

Wire format (Inventory API v1): ``POST /packages?salesorder_id=`` with ``{package_number,
date, line_items: [{so_line_item_id, quantity}]}`` → ``package``; ``POST
/shipmentorders?salesorder_id=&package_ids=a,b`` with ``{shipment_number, date,
delivery_method, tracking_number}`` → ``shipment_order`` (id ``shipment_id``); ``POST
/transferorders`` with ``{transfer_order_number, date, from_location_id, to_location_id,
line_items: [{item_id, quantity_transfer}]}`` → ``transfer_order``; ``POST /itemgroups`` with
``{group_name, unit, items: [...]}`` → ``item_group`` (id ``group_id``), its items created
with it; ``POST /locations`` with ``{location_name}`` → ``location``. A URL parameter sent in
the body instead is refused (code 2). The org's own locations (settings, or a schema
snapshot's) are listed with the ones created. The rules are :mod:`finance_moves`'.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from zmigrate.sandbox.core import Reply, read_json, zoho_json
from zmigrate.sandbox.finance_lists import ORG_PARAM
from zmigrate.sandbox.finance_moves import (
    SHIPPED_PACKAGE,
    check_shippable,
    check_transfer,
    lines_kept,
    moved,
    opening_changed,
    pack,
    refuse,
    ship,
    shipped_from,
    unpack,
)
from zmigrate.sandbox.finance_values import error, invalid
from zmigrate.schema.finance import Resource, resource

if TYPE_CHECKING:
    from zmigrate.sandbox.finance import FinanceProduct
    from zmigrate.schema import Module

Handler = Callable[[web.Request], Awaitable[web.Response]]
STOCK = ("locations", "packages", "shipmentorders", "transferorders", "itemgroups")
PRIMARY = "The primary location cannot be deleted."
STOCKED = "The location holds stock of items and cannot be deleted."
GROUP_ITEM_KEYS = ("name", "rate", "purchase_rate", "sku", "reorder_level", "initial_stock",
                   "initial_stock_rate")  # fmt: skip


class Stock:
    """The stock modules' handlers over an Inventory product's store and field checks."""

    def __init__(self, product: FinanceProduct) -> None:
        self.product = product
        self.store = product.store

    def add_routes(self, r: web.UrlDispatcher, prefix: str) -> None:
        p = self.product
        for name in STOCK:
            r.add_get(f"{prefix}/{name}", self._seeded(p.list_records))
            r.add_post(f"{prefix}/{name}", self._seeded(self.create))
            r.add_get(f"{prefix}/{name}/{{record_id}}", self._seeded(p.get))
            r.add_put(f"{prefix}/{name}/{{record_id}}", self._seeded(self.update))
            r.add_delete(f"{prefix}/{name}/{{record_id}}", self._seeded(self.delete))

    def _seeded(self, handler: Handler) -> Handler:
        """``handler`` once the org's own locations are in its table (lookups find them)."""

        async def run(request: web.Request) -> web.Response:
            self.locations(request.query[ORG_PARAM])
            return await handler(request)

        return run

    def locations(self, org: str) -> dict[str, dict[str, Any]]:
        """The org's locations: its settings' (a new org's, a snapshot's) and those created."""
        table = self.store.table(org, "locations")
        for entry in self.product.settings.entries.get("locations", []):
            table.setdefault(str(entry["location_id"]), dict(entry))
        return table

    def kept(self, module: str, old: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """What an update of an item or a sales order keeps of the stock's past: the moves
        since its opening stock, its packed lines."""
        if module == "items" and "locations" in values:
            return opening_changed(old, values["locations"])
        if module == "salesorders" and "line_items" in values:
            return {"line_items": lines_kept(old, values["line_items"])}
        return {}

    # ---- create ----------------------------------------------------------------------------
    async def create(self, request: web.Request) -> web.Response:
        module = self.product._module(request)
        entry = _entry(module)
        org, body = request.query[ORG_PARAM], await read_json(request)
        if not isinstance(body, dict):
            raise Reply(error(400, 1038, "JSON is not well formed"))
        for name in entry.query:
            if name in body:
                raise invalid(name)
            if request.query.get(name):
                body[name] = request.query[name]
        if body.get("package_ids"):  # one looked up here, each by the shipment's rules
            body["package_ids"] = str(body["package_ids"]).split(",")[0]
        values = self.product._validate(org, module, body, None)
        if module.api_name == "shipmentorders":
            values["package_ids"] = request.query.get("package_ids", "")
        row = self._new(org, entry, values)
        row.update(getattr(self, f"_{module.api_name}")(org, values, row))
        self.product._store(org, module, row, None)
        return zoho_json({"code": 0, "message": entry.messages[0], module.singular: row}, 201)

    def _new(self, org: str, entry: Resource, values: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {entry.id_field: self.store.new_id()}
        if entry.number:
            row[entry.number] = values.get(entry.number) or self.store.next_number(
                org, entry.module, entry.prefix
            )
        now = self.product._now_iso()
        return {**row, **values, "created_time": now, "last_modified_time": now}

    def _locations(self, org: str, values: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        return {"type": values.get("type", "general"), "is_primary": False, "status": "active"}

    def _packages(self, org: str, values: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        order = self.store.table(org, "salesorders")[values["salesorder_id"]]
        order, lines = pack(order, values["line_items"], self.store.new_id)
        self.store.save(org, "salesorders", order["salesorder_id"], order)
        return {
            "line_items": lines,
            "salesorder_number": order.get("salesorder_number", ""),
            "customer_id": order.get("customer_id", ""),
            "customer_name": order.get("customer_name", ""),
            "total_quantity": round(sum(x["quantity"] for x in lines), 6),
            "status": "not_shipped",
            "shipment_order": {},
        }

    def _shipmentorders(
        self, org: str, values: dict[str, Any], row: dict[str, Any]
    ) -> dict[str, Any]:
        order_id = values["salesorder_id"]
        packages = self._packages_of(org, values["package_ids"])
        check_shippable(order_id, packages)
        order = self.store.table(org, "salesorders")[order_id]
        self._unstock(org, order, packages, -1)
        self.store.save(org, "salesorders", order_id, ship(order, packages))
        shipment = {k: row.get(k) for k in ("shipment_id", "shipment_number", "tracking_number",
                                            "delivery_method")}  # fmt: skip
        for p in packages:
            p.update(status="shipped", shipment_order={**shipment, "shipping_date": row["date"],
                                                       "status": "shipped"})  # fmt: skip
            self.store.save(org, "packages", p["package_id"], p)
        return {
            "package_ids": ",".join(p["package_id"] for p in packages),
            "salesorder_number": order.get("salesorder_number", ""),
            "customer_id": order.get("customer_id", ""),
            "status": "shipped",
        }

    def _packages_of(self, org: str, ids: str) -> list[dict[str, Any]]:
        table = self.store.table(org, "packages")
        wanted = [x.strip() for x in str(ids).split(",") if x.strip()]
        if not wanted or any(x not in table for x in wanted):
            raise Reply(error(400, 1002, "Package does not exist."))
        return [table[x] for x in dict.fromkeys(wanted)]

    def _unstock(
        self, org: str, order: dict[str, Any], packages: list[dict[str, Any]], sign: int
    ) -> None:
        """Shipped goods leave (``sign`` -1) or come back to their locations."""
        items, places = self.store.table(org, "items"), self.locations(org)
        for item_id, location_id, quantity in shipped_from(order, packages):
            item = items.get(item_id)
            if item is None or not item.get("locations"):
                continue  # not tracked per location
            place = places.get(location_id) or places.get(str(item["locations"][0]["location_id"]))
            if place is not None:
                items[item_id] = moved(item, place, sign * quantity)
                self.store.save(org, "items", item_id, items[item_id])

    def _transferorders(
        self, org: str, values: dict[str, Any], row: dict[str, Any]
    ) -> dict[str, Any]:
        items, places = self.store.table(org, "items"), self.locations(org)
        source, target = places[values["from_location_id"]], places[values["to_location_id"]]
        check_transfer(values, items, source["location_name"])
        self._move(org, values["line_items"], source, target)
        lines = [{"name": items[x["item_id"]].get("name", ""), **x} for x in values["line_items"]]
        return {"line_items": lines, "from_location_name": source["location_name"],
                "to_location_name": target["location_name"], "is_intransit_order": False,
                "status": "transferred"}  # fmt: skip

    def _move(
        self, org: str, lines: list[dict[str, Any]], source: dict[str, Any], target: dict[str, Any]
    ) -> None:
        items = self.store.table(org, "items")
        for line in lines:
            item = moved(items[line["item_id"]], source, -line["quantity_transfer"])
            items[line["item_id"]] = moved(item, target, line["quantity_transfer"])
            self.store.save(org, "items", line["item_id"], items[line["item_id"]])

    def _itemgroups(self, org: str, values: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        """The group's items, each created as an item of the group (all or none)."""
        given = [{k: x[k] for k in GROUP_ITEM_KEYS if k in x} for x in values["items"]]
        for i, item in enumerate(given):
            self.product._check_unique(org, self.product.modules["items"], item, None)
            if sum(1 for other in given if other["name"].lower() == item["name"].lower()) > 1:
                raise invalid(f"items[{i}].name")
        created = []
        for item, source in zip(given, values["items"], strict=True):
            new = self.product.insert(org, "items", {**item, "item_type": "inventory"})
            new.update(group_id=row["group_id"], group_name=values["group_name"],
                       attribute_option_name1=source.get("attribute_option_name1", ""))  # fmt: skip
            self.store.save(org, "items", new["item_id"], new)
            created.append({**source, "item_id": new["item_id"], "status": "active"})
        return {"items": created, "status": "active"}

    # ---- update and delete -----------------------------------------------------------------
    async def update(self, request: web.Request) -> web.Response:
        """Only what moves no stock and packs nothing changes (notes, dates, names)."""
        module = self.product._module(request)
        body = await read_json(request)
        if isinstance(body, dict):
            for name in _entry(module).fixed:
                if name in body:
                    raise invalid(name)
        return await self.product.update(request)

    async def delete(self, request: web.Request) -> web.Response:
        module = self.product._module(request)
        org, row = self.product._row(request, module)
        getattr(self, f"_undo_{module.api_name}")(org, row)
        return await self.product.delete(request)

    def _undo_locations(self, org: str, row: dict[str, Any]) -> None:
        if row.get("is_primary"):
            raise refuse(PRIMARY)
        for item in self.store.table(org, "items").values():
            if any(e.get("location_id") == row["location_id"] for e in item.get("locations") or []):
                raise refuse(STOCKED)

    def _undo_packages(self, org: str, row: dict[str, Any]) -> None:
        if row.get("status") != "not_shipped":
            raise refuse(SHIPPED_PACKAGE)
        order = self.store.table(org, "salesorders").get(row["salesorder_id"])
        if order is not None:
            self.store.save(org, "salesorders", row["salesorder_id"], unpack(order, row))

    def _undo_shipmentorders(self, org: str, row: dict[str, Any]) -> None:
        table = self.store.table(org, "packages")
        packages = [table[x] for x in row["package_ids"].split(",") if x in table]
        order = self.store.table(org, "salesorders").get(row["salesorder_id"])
        if order is not None:
            self._unstock(org, order, packages, 1)
            self.store.save(org, "salesorders", row["salesorder_id"], ship(order, packages, -1))
        for p in packages:
            p.update(status="not_shipped", shipment_order={})
            self.store.save(org, "packages", p["package_id"], p)

    def _undo_transferorders(self, org: str, row: dict[str, Any]) -> None:
        places = self.locations(org)
        back = {
            "from_location_id": row["to_location_id"],
            "to_location_id": row["from_location_id"],
            "line_items": row["line_items"],
        }
        items = self.store.table(org, "items")
        check_transfer(back, items, places[row["to_location_id"]]["location_name"])
        self._move(org, row["line_items"], places[row["to_location_id"]],
                   places[row["from_location_id"]])  # fmt: skip

    def _undo_itemgroups(self, org: str, row: dict[str, Any]) -> None:
        """The group's items go with it, unless one is used in a transaction."""
        items = self.store.table(org, "items")
        members = [items[x["item_id"]] for x in row.get("items") or [] if x["item_id"] in items]
        for item in members:
            self.product.ledger.check_delete(org, "items", item)
        for item in members:
            self.store.drop(org, "items", item["item_id"])
            for name in ("name", "sku"):
                if isinstance(item.get(name), str):
                    self.store.index(org, "items", name).pop(item[name].lower(), None)


def _entry(module: Module) -> Resource:
    found = resource(module.product, module.api_name)
    assert found is not None, module.api_name
    return found
