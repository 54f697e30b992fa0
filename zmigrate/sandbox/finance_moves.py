"""Inventory's stock rules, as a migration runs into them (over the rows of one org).

- A package packs lines of its sales order (``so_line_item_id``): no more than each line's
  quantity ordered less what earlier packages packed. The order's lines keep
  ``quantity_packed`` and ``quantity_shipped`` (Zoho's sales order line fields); a draft
  order is confirmed by its first package.
- A shipment ships packages of its sales order not shipped yet; each package becomes
  ``shipped`` with its ``shipment_order``, the order's lines count what shipped, and the stock
  leaves the line's location (else the item's first location). An order whose every line is
  shipped in full is ``fulfilled`` (the status Zoho's sales order sample shows).
- A transfer order moves stock between two locations of the org; it cannot move more than
  the source location has of an item.

Codes are 2 (invalid) and 1002 (does not exist) as elsewhere; the messages are best guesses:
Zoho's documentation gives none for these refusals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zmigrate.sandbox.core import Reply
from zmigrate.sandbox.finance_values import error

OVER_PACKED = "Quantity to be packed for {name} cannot be more than the quantity yet to be packed"
SHIPPED = "The package {number} has already been shipped."
FOREIGN_PACKAGE = "The package {number} does not belong to this sales order."
SHIPPED_PACKAGE = "A shipped package cannot be deleted. Delete its shipment first."
INSUFFICIENT = "Insufficient stock of {name} in {location}: {have:g} available, {want:g} asked."
SAME_LOCATION = "The source and destination locations of a transfer order must differ."
NEW_ID = Callable[[], str]


def refuse(message: str) -> Reply:
    return Reply(error(400, 2, message))


def _stock_entry(item: dict[str, Any], location: Mapping[str, Any]) -> dict[str, Any]:
    """The item's entry for ``location`` (added with no stock when it has none)."""
    entries = item.setdefault("locations", [])
    for entry in entries:
        if entry.get("location_id") == location["location_id"]:
            return dict(entry)
    return {"location_id": location["location_id"], "location_name": location["location_name"],
            "initial_stock": 0.0, "location_stock_on_hand": 0.0}  # fmt: skip


def on_hand(item: Mapping[str, Any], location_id: str) -> float:
    """The item's stock in one location (0 where it has none)."""
    for entry in item.get("locations") or []:
        if entry.get("location_id") == location_id:
            return float(entry.get("location_stock_on_hand", 0.0))
    return 0.0


def moved(item: dict[str, Any], location: Mapping[str, Any], delta: float) -> dict[str, Any]:
    """The item with ``delta`` more (or less) stock in ``location``; ``stock_on_hand`` sums."""
    entry = _stock_entry(item, location)
    entry["location_stock_on_hand"] = round(entry["location_stock_on_hand"] + delta, 6)
    given = item.get("locations") or []
    entries = [entry if e["location_id"] == entry["location_id"] else e for e in given]
    if entry not in entries:
        entries.append(entry)  # the item's first stock in this location
    total = round(sum(float(e.get("location_stock_on_hand", 0.0)) for e in entries), 6)
    return {**item, "locations": entries, "stock_on_hand": total}


def pack(
    order: dict[str, Any], lines: list[dict[str, Any]], new_id: NEW_ID
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the sales order after packing ``lines``, the package's lines as stored)."""
    by_id = {str(x.get("line_item_id")): dict(x) for x in order.get("line_items") or []}
    out = []
    for i, line in enumerate(lines):
        so_line = by_id.get(str(line["so_line_item_id"]))
        if so_line is None:
            raise Reply(error(400, 1002, f"line_items[{i}].so_line_item_id does not exist."))
        left = so_line.get("quantity", 0) - so_line.get("quantity_packed", 0.0)
        if line["quantity"] <= 0 or line["quantity"] > left + 1e-9:
            raise refuse(OVER_PACKED.format(name=so_line.get("name", "")))
        so_line["quantity_packed"] = so_line.get("quantity_packed", 0.0) + line["quantity"]
        by_id[str(line["so_line_item_id"])] = so_line
        out.append({**line, "line_item_id": new_id(), "item_id": so_line.get("item_id"),
                    "name": so_line.get("name", "")})  # fmt: skip
    status = "confirmed" if order.get("status") == "draft" else order.get("status")
    return {**order, "line_items": list(by_id.values()), "status": status}, out


def unpack(order: dict[str, Any], package: Mapping[str, Any]) -> dict[str, Any]:
    """The sales order once a (not shipped) package is deleted."""
    return {**order, "line_items": _count(order, package, "quantity_packed", -1)}


def _count(
    order: Mapping[str, Any], package: Mapping[str, Any], counter: str, sign: int
) -> list[dict[str, Any]]:
    by_id = {str(x.get("line_item_id")): dict(x) for x in order.get("line_items") or []}
    for line in package.get("line_items") or []:
        so_line = by_id.get(str(line["so_line_item_id"]))
        if so_line is not None:
            so_line[counter] = round(so_line.get(counter, 0.0) + sign * line["quantity"], 6)
    return list(by_id.values())


def check_shippable(order_id: str, packages: list[dict[str, Any]]) -> None:
    """Every package belongs to the order and is not shipped yet."""
    for p in packages:
        if str(p.get("salesorder_id")) != order_id:
            raise refuse(FOREIGN_PACKAGE.format(number=p.get("package_number", "")))
        if p.get("status") != "not_shipped":
            raise refuse(SHIPPED.format(number=p.get("package_number", "")))


def ship(order: dict[str, Any], packages: list[dict[str, Any]], sign: int = 1) -> dict[str, Any]:
    """The sales order once ``packages`` ship (``sign`` -1: once their shipment is deleted)."""
    row = dict(order)
    for p in packages:
        row["line_items"] = _count(row, p, "quantity_shipped", sign)
    done = all(x.get("quantity_shipped", 0.0) >= x.get("quantity", 0) for x in row["line_items"])
    if done:
        row["status"] = "fulfilled"
    elif row.get("status") == "fulfilled":
        row["status"] = "confirmed"
    return row


def shipped_from(
    order: Mapping[str, Any], packages: list[dict[str, Any]]
) -> list[tuple[str, str, float]]:
    """(item id, the order line's location id or "", quantity) of each packed line."""
    location_of = {str(x.get("line_item_id")): str(x.get("location_id") or "")
                   for x in order.get("line_items") or []}  # fmt: skip
    return [
        (str(line.get("item_id")), location_of.get(str(line["so_line_item_id"]), ""),
         float(line["quantity"]))
        for p in packages
        for line in p.get("line_items") or []
    ]  # fmt: skip


def check_transfer(
    values: Mapping[str, Any], items: Mapping[str, dict[str, Any]], source_name: str
) -> None:
    """The source location has each item's quantity (lines of one item add up)."""
    if values["from_location_id"] == values["to_location_id"]:
        raise refuse(SAME_LOCATION)
    wanted: dict[str, float] = {}
    for line in values["line_items"]:
        wanted[line["item_id"]] = wanted.get(line["item_id"], 0.0) + line["quantity_transfer"]
    for item_id, want in wanted.items():
        have = on_hand(items[item_id], values["from_location_id"])
        if want <= 0 or want > have + 1e-9:
            name = items[item_id].get("name", "")
            message = INSUFFICIENT.format(name=name, location=source_name, have=have, want=want)
            raise refuse(message)


def opening_changed(old: Mapping[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """An item's ``locations`` after its opening stock is edited: each location keeps what
    moved since (transfers, shipments), on top of its new opening stock."""
    before = {e.get("location_id"): e for e in old.get("locations") or []}
    out = []
    for entry in entries:
        was = before.pop(entry.get("location_id"), None)
        if was is not None:
            moves = was.get("location_stock_on_hand", 0.0) - was.get("initial_stock", 0.0)
            entry["location_stock_on_hand"] = round(entry["location_stock_on_hand"] + moves, 6)
        out.append(entry)
    out += list(before.values())  # a location left out keeps its stock
    total = round(sum(float(e.get("location_stock_on_hand", 0.0)) for e in out), 6)
    return {"locations": out, "stock_on_hand": total}


PACKED_LINE = "A packed line of the sales order cannot be removed or ordered below what is packed."


def lines_kept(old: Mapping[str, Any], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A sales order's new lines, each packed line of ``old`` kept (its ``line_item_id`` and
    counts) by the next new line of its item; a packed line left out, or ordered below what is
    packed, is refused."""
    new = [dict(x) for x in lines]
    taken: set[int] = set()
    for was in old.get("line_items") or []:
        if not was.get("quantity_packed"):
            continue
        same = [i for i, x in enumerate(new) if x.get("item_id") == was.get("item_id")]
        match = next((i for i in same if i not in taken), None)
        if match is None or new[match].get("quantity", 0) < was["quantity_packed"]:
            raise refuse(PACKED_LINE)
        taken.add(match)
        new[match].update({k: was[k] for k in ("line_item_id", "quantity_packed",
                                                "quantity_shipped") if k in was})  # fmt: skip
    return new
