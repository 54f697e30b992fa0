"""Which modules and fields exist in each Zoho product, as data.

One catalogue for the manifest checker ("that target field does not exist"), the mapping
(types and formats), the executor (unique keys) and the sandbox (mandatory fields, lookups,
metadata endpoints). Pure: no I/O. Field types use CRM's ``data_type`` names; Books and
Inventory fields reuse the same vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """One field of a module, as its API names it."""

    api_name: str
    data_type: str = "text"  # text, email, phone, website, textarea, picklist, lookup,
    # ownerlookup, date, datetime, currency, double, integer, bigint, boolean, subform
    mandatory: bool = False
    unique: bool = False
    lookup: str | None = None  # module a lookup points to (same product)
    max_length: int | None = None
    picklist: tuple[str, ...] = ()
    subfields: tuple[Field, ...] = ()  # for subform / line item arrays
    read_only: bool = False


@dataclass(frozen=True)
class Module:
    """A module of one product, with the field that names a record in the UI."""

    product: str  # crm, books, inventory
    api_name: str
    fields: tuple[Field, ...]
    singular: str = ""
    display_field: str = ""
    plural_key: str = ""  # Books/Inventory JSON key of a list ("contacts"); CRM: "data"
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.api_name: f for f in self.fields})

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name)

    @property
    def mandatory(self) -> tuple[str, ...]:
        return tuple(f.api_name for f in self.fields if f.mandatory)


def _f(name: str, data_type: str = "text", **kw: object) -> Field:
    return Field(name, data_type, **kw)  # type: ignore[arg-type]


_SYSTEM_CRM = (
    _f("id", "bigint", read_only=True),
    _f("Owner", "ownerlookup"),
    _f("Created_Time", "datetime", read_only=True),
    _f("Modified_Time", "datetime", read_only=True),
    _f("Created_By", "ownerlookup", read_only=True),
    _f("Modified_By", "ownerlookup", read_only=True),
    _f("Description", "textarea", max_length=32_000),
    _f("Tag", "text", read_only=True),
)

DEAL_STAGES = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Identify Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Closed Lost to Competition",
)
LEAD_STATUSES = (
    "-None-",
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
)

CRM_MODULES: dict[str, Module] = {
    m.api_name: m
    for m in (
        Module(
            "crm",
            "Leads",
            _SYSTEM_CRM
            + (
                _f("First_Name", max_length=40),
                _f("Last_Name", mandatory=True, max_length=80),
                _f("Company", mandatory=True, max_length=200),
                _f("Email", "email", unique=True),
                _f("Phone", "phone"),
                _f("Mobile", "phone"),
                _f("Lead_Source", "picklist"),
                _f("Lead_Status", "picklist", picklist=LEAD_STATUSES),
                _f("Industry", "picklist"),
                _f("Annual_Revenue", "currency"),
                _f("No_of_Employees", "integer"),
                _f("Website", "website"),
                _f("City"),
                _f("Country"),
            ),
            singular="Lead",
            display_field="Last_Name",
        ),
        Module(
            "crm",
            "Accounts",
            _SYSTEM_CRM
            + (
                _f("Account_Name", mandatory=True, unique=True, max_length=200),
                _f("Account_Number", max_length=40),
                _f("Account_Type", "picklist"),
                _f("Industry", "picklist"),
                _f("Annual_Revenue", "currency"),
                _f("Employees", "integer"),
                _f("Phone", "phone"),
                _f("Website", "website"),
                _f("Billing_City"),
                _f("Billing_Country"),
                _f("Billing_Street"),
                _f("Billing_Code"),
                _f("Parent_Account", "lookup", lookup="Accounts"),
            ),
            singular="Account",
            display_field="Account_Name",
        ),
        Module(
            "crm",
            "Contacts",
            _SYSTEM_CRM
            + (
                _f("First_Name", max_length=40),
                _f("Last_Name", mandatory=True, max_length=80),
                _f("Email", "email", unique=True),
                _f("Phone", "phone"),
                _f("Mobile", "phone"),
                _f("Title"),
                _f("Department"),
                _f("Date_of_Birth", "date"),
                _f("Account_Name", "lookup", lookup="Accounts"),
                _f("Lead_Source", "picklist"),
                _f("Mailing_City"),
                _f("Mailing_Country"),
            ),
            singular="Contact",
            display_field="Last_Name",
        ),
        Module(
            "crm",
            "Deals",
            _SYSTEM_CRM
            + (
                _f("Deal_Name", mandatory=True, max_length=120),
                _f("Stage", "picklist", mandatory=True, picklist=DEAL_STAGES),
                _f("Closing_Date", "date", mandatory=True),
                _f("Amount", "currency"),
                _f("Probability", "integer"),
                _f("Type", "picklist"),
                _f("Account_Name", "lookup", lookup="Accounts"),
                _f("Contact_Name", "lookup", lookup="Contacts"),
                _f("Lead_Source", "picklist"),
                _f("Next_Step"),
                _f("Last_Activity_Time", "datetime", read_only=True),
            ),
            singular="Deal",
            display_field="Deal_Name",
        ),
        Module(
            "crm",
            "Products",
            _SYSTEM_CRM
            + (
                _f("Product_Name", mandatory=True, max_length=120),
                _f("Product_Code", unique=True, max_length=40),
                _f("Product_Category", "picklist"),
                _f("Unit_Price", "currency"),
                _f("Qty_in_Stock", "double"),
                _f("Product_Active", "boolean"),
                _f("Sales_Start_Date", "date"),
                _f("Vendor_Name"),
            ),
            singular="Product",
            display_field="Product_Name",
        ),
    )
}

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

PRODUCTS: dict[str, dict[str, Module]] = {
    "crm": CRM_MODULES,
    "books": BOOKS_MODULES,
    "inventory": INVENTORY_MODULES,
}


def module(product: str, name: str) -> Module | None:
    """The module ``name`` of ``product`` (CRM names are case-insensitive, as in Zoho)."""
    modules = PRODUCTS.get(product, {})
    if name in modules:
        return modules[name]
    lowered = {k.lower(): v for k, v in modules.items()}
    return lowered.get(name.lower())
