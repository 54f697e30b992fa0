"""The built-in Books v3 and Inventory v1 modules, as one table (:data:`LEDGER`).

Zoho exposes no module or field metadata for Books and Inventory, so these modules are
always built in; an org's snapshot only adds its custom fields, taxes, currencies and
locations (see :mod:`zmigrate.schema.snapshot`). Client, writer, planner and sandbox all
read the same :class:`Resource` entries, so a further module is one entry here (plus, in the
sandbox, its ledger rules).
"""

from __future__ import annotations

from dataclasses import dataclass

from zmigrate.schema.finance_fields import (
    ACCOUNTS,
    BALANCE,
    CONTACTS,
    EXPENSES,
    ITEMS,
    JOURNALS,
    OPENING_BALANCES,
    applications,
    document,
    f,
    payment,
)
from zmigrate.schema.finance_stock import ITEM_GROUPS, LOCATIONS, PACKAGES, SHIPMENTS, TRANSFERS
from zmigrate.schema.model import Field, Module


@dataclass(frozen=True)
class Resource:
    """One Books/Inventory module as its API names it.

    ``number``: the document number Zoho keeps unique (the record's key; None for payments);
    ``keyed_by``: without a number, the fields a step may carry its source key in (looked up
    by a list filter before anything is sent again); ``applied``: an array Zoho takes in a
    second request, ``POST /{module}/{id}/{applied}``, after the record exists (a credit
    note's invoices); ``shared``: one record set for Books and Inventory of an integrated org.
    """

    product: str
    module: str
    singular: str
    id_field: str
    label: str
    report_name: str
    fields: tuple[Field, ...]
    display: str
    messages: tuple[str, str, str]
    number: str | None = None
    prefix: str = ""
    keyed_by: tuple[str, ...] = ()
    applied: str | None = None
    applied_key: str = ""
    shared: bool = False
    plural: str = ""
    """The list answer's key when it is not the endpoint's name (journals: manualjournals)."""
    path: str = ""
    """The endpoint when it is not the module's name (``settings/openingbalances``)."""
    single: bool = False
    """One record per org, at ``path`` itself: read by GET, changed by PUT, no ids in paths."""
    query: tuple[str, ...] = ()
    """Fields a create sends as URL parameters, not in the body (a package's salesorder_id)."""
    fixed: tuple[str, ...] = ()
    """Fields fixed once the record exists (what it packed, shipped or moved): an update
    leaves them out, and the sandbox refuses a change to them."""
    lines_of: str = ""
    """The document whose lines this one's ``line_items`` name (a package: its sales order's,
    by ``so_line_item_id``); a manifest names them by ``item_id``."""

    @property
    def endpoint(self) -> str:
        return "/" + (self.path or self.module)

    @property
    def list_key(self) -> str:
        return self.plural or self.module

    @property
    def arrays(self) -> tuple[str, ...]:
        """Fields holding arrays of objects (line items, contact persons, applications)."""
        return tuple(x.api_name for x in self.fields if x.data_type == "subform")

    @property
    def lookups(self) -> dict[str, str]:
        """Top-level lookup field → the module it points to."""
        return {x.api_name: x.lookup for x in self.fields if x.lookup}

    @property
    def schema(self) -> Module:
        return Module(
            self.product, self.module, self.fields, self.singular, self.display, self.list_key
        )


def _msgs(noun: str) -> tuple[str, str, str]:
    return (f"{noun} has been created.", f"{noun} has been updated.", f"{noun} has been deleted.")


def _shared(product: str) -> tuple[Resource, ...]:
    """Contacts and items: one set per org, whichever product writes them."""
    return (
        Resource(product, "contacts", "contact", "contact_id", "Contact", "Contacts", CONTACTS,
                 "contact_name", ("The contact has been added.",
                                  "Contact information has been saved.",
                                  "The contact has been deleted."), shared=True),
        Resource(product, "items", "item", "item_id", "Item", "Items", ITEMS, "name",
                 ("The item has been added.", "The item details have been updated.",
                  "The item has been deleted."), shared=True),
    )  # fmt: skip


_INVOICE = Resource(
    "books", "invoices", "invoice", "invoice_id", "Invoice", "Invoices",
    document("customer_id", "invoice_number", f("due_date", "date"), *BALANCE,
             f("payment_made", "currency", read_only=True),
             f("credits_applied", "currency", read_only=True)),
    "invoice_number",
    ("The invoice has been created.", "Invoice information has been updated.",
     "The invoice has been deleted."),
    number="invoice_number", prefix="INV-",
)  # fmt: skip
_BILL = Resource(
    "books", "bills", "bill", "bill_id", "Bill", "Bills",
    document("vendor_id", "bill_number", f("due_date", "date"), *BALANCE,
             f("payment_made", "currency", read_only=True), number_mandatory=True),
    "bill_number", _msgs("The bill"), number="bill_number", prefix="BILL-",
)  # fmt: skip
_CREDITNOTE = Resource(
    "books", "creditnotes", "creditnote", "creditnote_id", "Credit Note", "Credit Notes",
    document("customer_id", "creditnote_number", applications("invoices"), *BALANCE),
    "creditnote_number", _msgs("Credit Note"), number="creditnote_number", prefix="CN-",
    applied="invoices", applied_key="invoice_id",
)  # fmt: skip
_CUSTOMER_PAYMENT = Resource(
    "books", "customerpayments", "payment", "payment_id", "Payment", "Customer Payments",
    payment("customer_id", "invoices"), "reference_number",
    ("The payment has been created.", "The payment has been updated.",
     "The payment has been deleted."),
    keyed_by=("reference_number",),
)  # fmt: skip
_VENDOR_PAYMENT = Resource(
    "books", "vendorpayments", "vendorpayment", "payment_id", "Vendor Payment",
    "Vendor Payments", payment("vendor_id", "bills"), "reference_number",
    ("The payment made to the vendor has been recorded.",
     "The payment made to the vendor has been updated.",
     "The payment made to the vendor has been deleted."),
    keyed_by=("reference_number",),
)  # fmt: skip
_ACCOUNT = Resource(
    "books", "chartofaccounts", "chart_of_account", "account_id", "Account",
    "Chart of Accounts", ACCOUNTS, "account_name",
    ("The account has been created.", "The account has been updated.",
     "The account has been deleted."),
)  # fmt: skip
_EXPENSE = Resource(
    "books", "expenses", "expense", "expense_id", "Expense", "Expenses", EXPENSES,
    "reference_number",
    ("The expense has been recorded.", "The expense has been updated.",
     "The expense has been deleted."),
    keyed_by=("reference_number",),
)  # fmt: skip
_JOURNAL = Resource(
    "books", "journals", "journal", "journal_id", "Journal", "Manual Journals", JOURNALS,
    "reference_number",
    ("The journal entry has been created.", "The journal entry has been updated.",
     "The journal entry has been deleted."),
    keyed_by=("reference_number",), plural="manualjournals",
)  # fmt: skip
_ESTIMATE = Resource(
    "books", "estimates", "estimate", "estimate_id", "Estimate", "Estimates",
    document("customer_id", "estimate_number", f("expiry_date", "date")),
    "estimate_number", _msgs("The estimate"), number="estimate_number", prefix="EST-",
)  # fmt: skip


_OPENING = Resource(
    "books", "openingbalances", "opening_balance", "opening_balance_id", "Opening Balance",
    "Opening Balances", OPENING_BALANCES, "date",
    ("The opening balance has been created.", "The opening balance has been updated.",
     "The opening balance has been deleted."),
    path="settings/openingbalances", single=True,
)  # fmt: skip


def _orders(product: str) -> tuple[Resource, ...]:
    """Sales and purchase orders: one set per integrated org, whichever product writes them."""
    return (
        Resource(product, "salesorders", "salesorder", "salesorder_id", "Sales order",
                 "Sales Orders",
                 document("customer_id", "salesorder_number", f("shipment_date", "date")),
                 "salesorder_number", _msgs("Sales Order"), number="salesorder_number",
                 prefix="SO-", shared=True),
        Resource(product, "purchaseorders", "purchaseorder", "purchaseorder_id",
                 "Purchase Order", "Purchase Orders",
                 document("vendor_id", "purchaseorder_number", f("delivery_date", "date")),
                 "purchaseorder_number", _msgs("Purchase Order"),
                 number="purchaseorder_number", prefix="PO-", shared=True),
    )  # fmt: skip


_STOCK = (
    Resource("inventory", "locations", "location", "location_id", "Location", "Locations",
             LOCATIONS, "location_name", _msgs("The location")),
    Resource("inventory", "packages", "package", "package_id", "Package", "Packages",
             PACKAGES, "package_number",
             ("Package created successfully.", "Package updated successfully.",
              "Package deleted successfully."),
             number="package_number", prefix="PKG-", query=("salesorder_id",),
             fixed=("salesorder_id", "line_items"), lines_of="salesorders"),
    Resource("inventory", "shipmentorders", "shipment_order", "shipment_id",
             "Shipment Order", "Shipment Orders", SHIPMENTS, "shipment_number",
             ("Shipment created successfully.", "Shipment order updated successfully.",
              "Shipment order deleted successfully."),
             number="shipment_number", prefix="SH-", query=("salesorder_id", "package_ids"),
             fixed=("salesorder_id", "package_ids")),
    Resource("inventory", "transferorders", "transfer_order", "transfer_order_id",
             "Transfer Order", "Transfer Orders", TRANSFERS, "transfer_order_number",
             _msgs("Transfer Order"), number="transfer_order_number", prefix="TO-",
             fixed=("from_location_id", "to_location_id", "line_items")),
    Resource("inventory", "itemgroups", "item_group", "group_id", "Item Group",
             "Item Groups", ITEM_GROUPS, "group_name",
             ("The Item Group has been created.", "The Item Group has been updated.",
              "The Item Group has been deleted."), fixed=("items",)),
)  # fmt: skip
"""Inventory's stock: warehouses (locations), packing and shipping sales orders, moving stock
between locations, item groups that create their items."""


LEDGER: tuple[Resource, ...] = (
    *_shared("books"),
    _INVOICE,
    _BILL,
    _CREDITNOTE,
    _CUSTOMER_PAYMENT,
    _VENDOR_PAYMENT,
    _ACCOUNT,
    _EXPENSE,
    _JOURNAL,
    _ESTIMATE,
    _OPENING,
    *_orders("books"),
    *_shared("inventory"),
    *_orders("inventory"),
    *_STOCK,
)
"""Every built-in Books/Inventory module."""

RESOURCES: dict[tuple[str, str], Resource] = {(r.product, r.module): r for r in LEDGER}


def resource(product: str, module: str) -> Resource | None:
    """The table entry of ``product``'s ``module`` (names as the API spells them)."""
    return RESOURCES.get((str(product), module))


BOOKS_MODULES: dict[str, Module] = {r.module: r.schema for r in LEDGER if r.product == "books"}
INVENTORY_MODULES: dict[str, Module] = {
    r.module: r.schema for r in LEDGER if r.product == "inventory"
}
