"""The built-in Books v3 and Inventory v1 modules.

Zoho exposes no module or field metadata for Books and Inventory, so these modules are
always built in; an org's snapshot only adds its custom fields, taxes, currencies and
locations (see :mod:`zmigrate.schema.snapshot`).
"""

from __future__ import annotations

from zmigrate.schema.model import Field, Module


def _f(name: str, data_type: str = "text", **kw: object) -> Field:
    return Field(name, data_type, **kw)  # type: ignore[arg-type]


_LINE_ITEM = (
    _f("line_item_id", read_only=True),
    _f("item_id", "lookup", lookup="items"),
    _f("name"),
    _f("description", "textarea"),
    _f("rate", "currency"),
    _f("quantity", "double"),
    _f("unit"),
    _f("discount", "double"),
    _f("tax_id"),
)

_CONTACTS = (
    _f("contact_id", read_only=True),
    _f("contact_name", mandatory=True, unique=True, max_length=200),
    _f("company_name", max_length=200),
    _f("contact_type", "picklist", picklist=("customer", "vendor")),
    _f("email", "email"),
    _f("phone", "phone"),
    _f("website", "website"),
    _f("currency_code"),
    _f("payment_terms", "integer"),
    _f("notes", "textarea"),
    _f("status", "picklist", picklist=("active", "inactive"), read_only=True),
)

_ITEMS = (
    _f("item_id", read_only=True),
    _f("name", mandatory=True, unique=True, max_length=100),
    _f("rate", "currency", mandatory=True),
    _f("sku", unique=True),
    _f("description", "textarea"),
    _f("unit"),
    _f("product_type", "picklist", picklist=("goods", "service", "digital_service")),
    _f(
        "item_type", "picklist", picklist=("sales", "purchases", "sales_and_purchases", "inventory")
    ),
    _f("purchase_rate", "currency"),
    _f("initial_stock", "double"),
    _f("initial_stock_rate", "currency"),
    _f("reorder_level", "double"),
    _f("status", "picklist", picklist=("active", "inactive"), read_only=True),
)

_TXN = (
    _f("date", "date"),
    _f("reference_number"),
    _f("currency_code"),
    _f("notes", "textarea"),
    _f("status", "picklist", read_only=True),
    _f("total", "currency", read_only=True),
)

BOOKS_MODULES: dict[str, Module] = {
    m.api_name: m
    for m in (
        Module("books", "contacts", _CONTACTS, "contact", "contact_name", "contacts"),
        Module("books", "items", _ITEMS, "item", "name", "items"),
        Module(
            "books",
            "invoices",
            (
                _f("invoice_id", read_only=True),
                _f("customer_id", "lookup", mandatory=True, lookup="contacts"),
                _f("invoice_number", unique=True),
                _f("due_date", "date"),
                _f("line_items", "subform", mandatory=True, subfields=_LINE_ITEM),
            )
            + _TXN,
            "invoice",
            "invoice_number",
            "invoices",
        ),
    )
}

INVENTORY_MODULES: dict[str, Module] = {
    m.api_name: m
    for m in (
        Module("inventory", "contacts", _CONTACTS, "contact", "contact_name", "contacts"),
        Module("inventory", "items", _ITEMS, "item", "name", "items"),
        Module(
            "inventory",
            "salesorders",
            (
                _f("salesorder_id", read_only=True),
                _f("customer_id", "lookup", mandatory=True, lookup="contacts"),
                _f("salesorder_number", unique=True),
                _f("shipment_date", "date"),
                _f("line_items", "subform", mandatory=True, subfields=_LINE_ITEM),
            )
            + _TXN,
            "salesorder",
            "salesorder_number",
            "salesorders",
        ),
        Module(
            "inventory",
            "purchaseorders",
            (
                _f("purchaseorder_id", read_only=True),
                _f("vendor_id", "lookup", mandatory=True, lookup="contacts"),
                _f("purchaseorder_number", unique=True),
                _f("delivery_date", "date"),
                _f("line_items", "subform", mandatory=True, subfields=_LINE_ITEM),
            )
            + _TXN,
            "purchaseorder",
            "purchaseorder_number",
            "purchaseorders",
        ),
    )
}
