"""The fields of Inventory v1's stock modules: locations (warehouses), packages and shipment
orders of sales orders, transfer orders between locations, item groups (Zoho's argument
names, from the Inventory API's create requests)."""

from __future__ import annotations

from zmigrate.schema.finance_fields import f

LOCATIONS = (
    f("location_id", read_only=True),
    f("location_name", mandatory=True, unique=True, max_length=100),
    f("type", "picklist", picklist=("general", "line_item_only")),
    f("parent_location_id", "lookup", lookup="locations"),
    f("email", "email"),
    f("phone", "phone"),
    f("is_primary", "boolean", read_only=True),
    f("status", read_only=True),
)

PACKAGE_LINE = (
    f("line_item_id", read_only=True),
    f("so_line_item_id", mandatory=True),
    f("item_id", "lookup", lookup="items"),  # the client sends the order's line for it
    f("quantity", "double", mandatory=True),
    f("name", read_only=True),
)
"""A package's line: a line of its sales order (``so_line_item_id``) and the quantity packed."""

PACKAGES = (
    f("package_id", read_only=True),
    f("salesorder_id", "lookup", mandatory=True, lookup="salesorders"),  # a URL parameter
    f("package_number", unique=True, max_length=100),
    f("date", "date", mandatory=True),
    f("line_items", "subform", mandatory=True, subfields=PACKAGE_LINE),
    f("notes", "textarea"),
    f("salesorder_number", read_only=True),
    f("customer_id", read_only=True),
    f("customer_name", read_only=True),
    f("total_quantity", "double", read_only=True),
    f("status", read_only=True),
    f("shipment_order", read_only=True),
)

SHIPMENTS = (
    f("shipment_id", read_only=True),
    f("salesorder_id", "lookup", mandatory=True, lookup="salesorders"),  # a URL parameter
    f("package_ids", "lookup", mandatory=True, lookup="packages"),  # a URL parameter
    f("shipment_number", unique=True, mandatory=True, max_length=100),
    f("date", "date", mandatory=True),
    f("delivery_method", mandatory=True, max_length=100),
    f("tracking_number", mandatory=True, max_length=100),
    f("reference_number", max_length=100),
    f("shipping_charge", "currency"),
    f("notes", "textarea"),
    f("salesorder_number", read_only=True),
    f("customer_id", read_only=True),
    f("status", read_only=True),
)

TRANSFER_LINE = (
    f("line_item_id", read_only=True),
    f("item_id", "lookup", mandatory=True, lookup="items"),
    f("name"),
    f("description", "textarea"),
    f("quantity_transfer", "double", mandatory=True),
    f("unit"),
)

TRANSFERS = (
    f("transfer_order_id", read_only=True),
    f("transfer_order_number", unique=True, mandatory=True, max_length=100),
    f("date", "date", mandatory=True),
    f("from_location_id", "lookup", mandatory=True, lookup="locations"),
    f("to_location_id", "lookup", mandatory=True, lookup="locations"),
    f("description", "textarea", max_length=500),
    f("line_items", "subform", mandatory=True, subfields=TRANSFER_LINE),
    f("from_location_name", read_only=True),
    f("to_location_name", read_only=True),
    f("is_intransit_order", "boolean", read_only=True),
    f("status", read_only=True),
)

GROUP_ITEM = (
    f("item_id", read_only=True),
    f("name", mandatory=True, max_length=100),
    f("rate", "currency", mandatory=True),
    f("purchase_rate", "currency", mandatory=True),
    f("sku"),
    f("reorder_level", "double"),
    f("initial_stock", "double"),
    f("initial_stock_rate", "currency"),
    f("attribute_option_name1"),
)
"""An item of an item group: created with its group, in the group's request."""

ITEM_GROUPS = (
    f("group_id", read_only=True),
    f("group_name", mandatory=True, unique=True, max_length=100),
    f("unit", mandatory=True),
    f("description", "textarea"),
    f("brand"),
    f("manufacturer"),
    f("tax_id"),
    f("attribute_name1"),
    f("items", "subform", mandatory=True, subfields=GROUP_ITEM),
    f("status", read_only=True),
)
