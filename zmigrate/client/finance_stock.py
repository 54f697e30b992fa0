"""What Inventory's stock modules take besides a body: URL parameters and order lines.

A package is created by ``POST /packages?salesorder_id=...`` and names the lines it packs by
the sales order's own ``line_item_id`` (``so_line_item_id``); a shipment by ``POST
/shipmentorders?salesorder_id=...&package_ids=a,b``. A manifest cannot know Zoho's line ids:
it names each packed line by its item (``line_items[].item_id``, a lookup like any other), and
the client reads the order once (``GET /salesorders/{id}``, one request per package) and sends
the order line of that item with quantity left to pack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zmigrate.schema.finance import Resource

SO_LINE = "so_line_item_id"


class NoOrderLine(LookupError):
    """A packed item its sales order has no line (with quantity left) for."""


def split_query(
    entry: Resource | None, record: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the body, the URL parameters) of a create: ``entry.query`` fields leave the body."""
    body, params = dict(record), {}
    for name in entry.query if entry else ():
        value = body.pop(name, None)
        if isinstance(value, list | tuple):
            params[name] = ",".join(str(v) for v in value)
        elif value not in (None, ""):
            params[name] = str(value)
    return body, params


def needs_order(entry: Resource | None, body: Mapping[str, Any]) -> bool:
    """Whether the body names packed lines by item, so the order must be read first."""
    lines = body.get("line_items")
    return bool(entry and entry.lines_of and isinstance(lines, list)) and any(
        isinstance(x, Mapping) and x.get("item_id") and not x.get(SO_LINE) for x in lines or []
    )


def order_lines(body: dict[str, Any], order: Mapping[str, Any] | None, order_id: str) -> None:
    """Each line's ``item_id`` swapped for the order's line of that item with quantity left
    (lines of one item fill the order's lines in turn; with none left, the item's first line:
    Zoho judges the quantity, or finds the package's number taken). NoOrderLine if the order
    has no line of the item."""
    if order is None:
        raise NoOrderLine(f"sales order {order_id} does not exist in the org")
    so_lines = order.get("line_items") or []
    left = {
        str(x.get("line_item_id")): float(x.get("quantity", 0)) - float(x.get("quantity_packed", 0))
        for x in so_lines
    }
    out = []
    for line in body["line_items"]:
        if not isinstance(line, Mapping) or line.get(SO_LINE) or not line.get("item_id"):
            out.append(line)
            continue
        want = float(line.get("quantity") or 0)
        mine = [str(x.get("line_item_id")) for x in so_lines
                if str(x.get("item_id")) == str(line["item_id"])]  # fmt: skip
        if not mine:
            raise NoOrderLine(
                f"sales order {order.get('salesorder_number', order_id)} has no line of item "
                f"{line['item_id']}"
            )
        found = next((lid for lid in mine if left[lid] >= want), mine[0])
        left[found] -= want
        out.append({**{k: v for k, v in line.items() if k != "item_id"}, SO_LINE: found})
    body["line_items"] = out
