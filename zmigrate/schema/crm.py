"""The built-in CRM modules: every standard module the v8 records API supports.

Used when a manifest names no ``[target] schema`` snapshot. Api names come from Zoho's SDK
(``Field.Leads``, ``Field.Accounts``, ...); mandatory fields from Zoho's "system-defined
mandatory fields" list, plus the layout-required fields of a default org (Leads ``Company``,
Deals ``Closing_Date``). Types and lengths are recorded from real orgs for Leads and
Contacts; for the other modules they are Zoho's usual defaults (a guess: a real org's
snapshot, from ``zmigrate schema pull``, is the authority). Only the fields a migration
writes or reads are listed, not every system field. Picklists list values only where a
default org's values are fixed (Deal stages, Lead statuses): Zoho accepts new picklist
values on write, and every org edits its own. Upsert's duplicate-check fields (Accounts
``Account_Name``, Deals ``Deal_Name``, ...) match records but are not unique on insert, so
only fields Zoho marks unique by default (``Email`` of Leads and Contacts) are unique here,
and Products ``Product_Code`` (kept from the first catalogue, which the sandbox's tests pin;
unverified against a real org).
"""

from __future__ import annotations

from zmigrate.schema.model import AutoNumber, Field, Module


def _f(name: str, data_type: str = "text", **kw: object) -> Field:
    return Field(name, data_type, **kw)  # type: ignore[arg-type]


def _t(name: str, length: int = 255, **kw: object) -> Field:
    return _f(name, "text", max_length=length, **kw)


def _lk(name: str, module: str, **kw: object) -> Field:
    return _f(name, "lookup", lookup=module, **kw)


def _ro(name: str, data_type: str = "text", **kw: object) -> Field:
    return _f(name, data_type, read_only=True, **kw)


def _money(name: str, **kw: object) -> Field:
    return _f(name, "currency", length=16, decimal_place=2, precision=2, rounding="normal", **kw)


def _auto(name: str) -> Field:
    return _f(name, "autonumber", autonumber=AutoNumber())


def _address(prefix: str, street: str = "Street", code: str = "Code") -> tuple[Field, ...]:
    return (
        _t(f"{prefix}{street}", 250),
        _t(f"{prefix}City", 100),
        _t(f"{prefix}State", 100),
        _t(f"{prefix}{code}", 30),
        _t(f"{prefix}Country", 100),
    )


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
_CURRENCY = (_f("Currency", "picklist"), _ro("Exchange_Rate", "double", decimal_place=9))
_ACTIVITY = (_ro("Last_Activity_Time", "datetime"),)

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
WHAT_MODULES = (
    "Accounts",
    "Deals",
    "Products",
    "Quotes",
    "Sales_Orders",
    "Purchase_Orders",
    "Invoices",
    "Campaigns",
    "Cases",
    "Solutions",
    "Vendors",
    "Price_Books",
)
"""Modules an activity's ``What_Id`` may point to (sent with ``$se_module``)."""

_WHO = (
    _f("Who_Id", "lookup", lookup_modules=("Contacts", "Leads")),
    _f("What_Id", "lookup", lookup_modules=WHAT_MODULES),
)

_LINE_ITEM = (
    _lk("Product_Name", "Products", mandatory=True),
    _f("Quantity", "double", mandatory=True),
    _money("List_Price"),
    _money("Discount"),
    _money("Tax"),
    _ro("Total", "currency"),
    _ro("Net_Total", "currency"),
    _f("Description", "textarea", max_length=2000),
    _lk("Price_Book_Name", "Price_Books"),
)


def _inventory(items: str) -> tuple[Field, ...]:
    """What Quotes, Sales_Orders, Purchase_Orders and Invoices share."""
    return (
        _t("Subject", 120, mandatory=True),
        _f(items, "subform", mandatory=True, subfields=_LINE_ITEM),
        _f("Terms_and_Conditions", "textarea", max_length=32_000),
        _lk("Contact_Name", "Contacts"),
        *_address("Billing_"),
        *_address("Shipping_"),
        _ro("Sub_Total", "currency"),
        _ro("Grand_Total", "currency"),
        _money("Discount"),
        _ro("Tax", "currency"),
        _money("Adjustment"),
        *_CURRENCY,
    )


def _crm(api: str, singular: str, display: str, fields: tuple[Field, ...], **kw: str) -> Module:
    return Module("crm", api, _SYSTEM_CRM + fields, singular, display, **kw)  # type: ignore[arg-type]


_MODULES = (
    _crm(
        "Leads",
        "Lead",
        "Last_Name",
        (
            _t("First_Name", 40),
            _t("Last_Name", 80, mandatory=True),
            _ro("Full_Name", max_length=120),
            _f("Salutation", "picklist", max_length=25),
            _t("Company", 200, mandatory=True),
            _t("Designation", 100),
            _f("Email", "email", unique=True, max_length=100),
            _f("Secondary_Email", "email", max_length=100),
            _f("Phone", "phone", max_length=30),
            _f("Mobile", "phone", max_length=30),
            _t("Fax", 30),
            _f("Website", "website", max_length=255),
            _f("Lead_Source", "picklist"),
            _f("Lead_Status", "picklist", picklist=LEAD_STATUSES),
            _f("Industry", "picklist"),
            _f("Rating", "picklist"),
            _money("Annual_Revenue"),
            _f("No_of_Employees", "integer", length=9),
            _t("Street", 250),
            _t("City", 100),
            _t("State", 100),
            _t("Zip_Code", 30),
            _t("Country", 100),
            _f("Email_Opt_Out", "boolean"),
            _t("Skype_ID", 50),
            _t("Twitter", 50),
            _ro("Converted_Date_Time", "datetime"),
            *_ACTIVITY,
        ),
    ),
    _crm(
        "Accounts",
        "Account",
        "Account_Name",
        (
            _t("Account_Name", 200, mandatory=True),
            _t("Account_Number", 40),
            _t("Account_Site", 80),
            _f("Account_Type", "picklist"),
            _f("Industry", "picklist"),
            _f("Ownership", "picklist"),
            _f("Rating", "picklist"),
            _money("Annual_Revenue"),
            _f("Employees", "integer", length=9),
            _f("SIC_Code", "integer", length=9),
            _t("Ticker_Symbol", 30),
            _f("Phone", "phone", max_length=30),
            _t("Fax", 30),
            _f("Website", "website", max_length=255),
            _lk("Parent_Account", "Accounts"),
            *_address("Billing_"),
            *_address("Shipping_"),
            *_CURRENCY,
            *_ACTIVITY,
        ),
    ),
    _crm(
        "Contacts",
        "Contact",
        "Last_Name",
        (
            _t("First_Name", 40),
            _t("Last_Name", 80, mandatory=True),
            _ro("Full_Name", max_length=120),
            _f("Salutation", "picklist", max_length=25),
            _f("Email", "email", unique=True, max_length=100),
            _f("Secondary_Email", "email", max_length=100),
            _f("Phone", "phone", max_length=50),
            _f("Mobile", "phone", max_length=30),
            _f("Home_Phone", "phone", max_length=30),
            _f("Other_Phone", "phone", max_length=30),
            _f("Asst_Phone", "phone", max_length=30),
            _t("Assistant", 50),
            _t("Fax", 30),
            _t("Title", 100),
            _t("Department", 50),
            _f("Date_of_Birth", "date"),
            _lk("Account_Name", "Accounts"),
            _lk("Vendor_Name", "Vendors"),
            _lk("Reporting_To", "Contacts"),
            _f("Lead_Source", "picklist"),
            _f("Email_Opt_Out", "boolean"),
            _t("Skype_ID", 50),
            _t("Twitter", 50),
            *_address("Mailing_", code="Zip"),
            *_address("Other_", code="Zip"),
            *_ACTIVITY,
        ),
    ),
    _crm(
        "Deals",
        "Deal",
        "Deal_Name",
        (
            _t("Deal_Name", 120, mandatory=True),
            _f("Stage", "picklist", mandatory=True, picklist=DEAL_STAGES),
            _f("Pipeline", "picklist"),
            _f("Closing_Date", "date", mandatory=True),
            _money("Amount"),
            _f("Probability", "integer", length=3),
            _ro("Expected_Revenue", "currency"),
            _f("Type", "picklist"),
            _f("Lead_Source", "picklist"),
            _t("Next_Step", 100),
            _lk("Account_Name", "Accounts"),
            _lk("Contact_Name", "Contacts"),
            _lk("Campaign_Source", "Campaigns"),
            _f("Reason_For_Loss__s", "picklist"),
            *_CURRENCY,
            *_ACTIVITY,
        ),
    ),
    _crm(
        "Products",
        "Product",
        "Product_Name",
        (
            _t("Product_Name", 120, mandatory=True),
            _t("Product_Code", 40, unique=True),
            _f("Product_Active", "boolean"),
            _f("Product_Category", "picklist"),
            _f("Manufacturer", "picklist"),
            _lk("Vendor_Name", "Vendors"),
            _money("Unit_Price"),
            _money("Commission_Rate"),
            _f("Tax", "multiselectpicklist"),
            _f("Taxable", "boolean"),
            _f("Usage_Unit", "picklist"),
            _f("Qty_Ordered", "double"),
            _f("Qty_in_Stock", "double"),
            _f("Qty_in_Demand", "double"),
            _f("Reorder_Level", "double"),
            _f("Sales_Start_Date", "date"),
            _f("Sales_End_Date", "date"),
            _f("Support_Start_Date", "date"),
            _f("Support_Expiry_Date", "date"),
            _f("Handler", "userlookup"),
        ),
    ),
    _crm(
        "Vendors",
        "Vendor",
        "Vendor_Name",
        (
            _t("Vendor_Name", 120, mandatory=True),
            _f("Email", "email", max_length=100),
            _f("Phone", "phone", max_length=30),
            _f("Website", "website", max_length=255),
            _f("GL_Account", "picklist"),
            _t("Category"),
            *_address("", code="Zip_Code"),
            _f("Email_Opt_Out", "boolean"),
        ),
    ),
    _crm(
        "Price_Books",
        "Price Book",
        "Price_Book_Name",
        (
            _t("Price_Book_Name", 120, mandatory=True),
            _f("Pricing_Model", "picklist", picklist=("Flat", "Differential")),
            _f("Pricing_Details", "subform", mandatory=True),
            _f("Active", "boolean"),
        ),
        module_name="PriceBooks",
        plural_label="Price Books",
    ),
    _crm(
        "Quotes",
        "Quote",
        "Subject",
        (
            *_inventory("Quoted_Items"),
            _ro("Quote_Number", "bigint"),
            _f("Quote_Stage", "picklist"),
            _f("Valid_Till", "date"),
            _lk("Deal_Name", "Deals"),
            _lk("Account_Name", "Accounts"),
            _f("Carrier", "picklist"),
            _t("Team", 100),
        ),
    ),
    _crm(
        "Sales_Orders",
        "Sales Order",
        "Subject",
        (
            *_inventory("Ordered_Items"),
            _ro("SO_Number", "bigint"),
            _t("Customer_No", 100),
            _t("Purchase_Order", 100),
            _lk("Quote_Name", "Quotes"),
            _lk("Deal_Name", "Deals"),
            _lk("Account_Name", "Accounts"),
            _f("Due_Date", "date"),
            _f("Carrier", "picklist"),
            _f("Status", "picklist"),
            _t("Pending", 100),
            _money("Excise_Duty"),
            _money("Sales_Commission"),
        ),
        module_name="SalesOrders",
        plural_label="Sales Orders",
    ),
    _crm(
        "Purchase_Orders",
        "Purchase Order",
        "Subject",
        (
            *_inventory("Purchase_Items"),
            _lk("Vendor_Name", "Vendors", mandatory=True),
            _ro("PO_Number", "bigint"),
            _f("PO_Date", "date"),
            _f("Due_Date", "date"),
            _t("Requisition_No", 100),
            _t("Tracking_Number", 100),
            _f("Carrier", "picklist"),
            _f("Status", "picklist"),
            _money("Excise_Duty"),
            _money("Sales_Commission"),
        ),
        module_name="PurchaseOrders",
        plural_label="Purchase Orders",
    ),
    _crm(
        "Invoices",
        "Invoice",
        "Subject",
        (
            *_inventory("Invoiced_Items"),
            _ro("Invoice_Number", "bigint"),
            _f("Invoice_Date", "date"),
            _f("Due_Date", "date"),
            _lk("Sales_Order", "Sales_Orders"),
            _t("Purchase_Order", 100),
            _lk("Account_Name", "Accounts"),
            _f("Status", "picklist"),
            _money("Excise_Duty"),
            _money("Sales_Commission"),
        ),
    ),
    _crm(
        "Campaigns",
        "Campaign",
        "Campaign_Name",
        (
            _t("Campaign_Name", 120, mandatory=True),
            _f("Type", "picklist"),
            _f("Status", "picklist"),
            _f("Start_Date", "date"),
            _f("End_Date", "date"),
            _money("Expected_Revenue"),
            _money("Budgeted_Cost"),
            _money("Actual_Cost"),
            _f("Expected_Response", "integer", length=9),
            _f("Num_sent", "integer", length=9),
            _lk("Parent_Campaign", "Campaigns"),
            *_CURRENCY,
        ),
    ),
    _crm(
        "Cases",
        "Case",
        "Subject",
        (
            _t("Subject", 255, mandatory=True),
            _f("Status", "picklist", mandatory=True),
            _f("Case_Origin", "picklist", mandatory=True),
            _auto("Case_Number"),
            _f("Priority", "picklist"),
            _f("Type", "picklist"),
            _f("Case_Reason", "picklist"),
            _lk("Product_Name", "Products"),
            _lk("Account_Name", "Accounts"),
            _lk("Deal_Name", "Deals"),
            _lk("Related_To", "Contacts"),
            _f("Email", "email", max_length=100),
            _f("Phone", "phone", max_length=30),
            _t("Reported_By", 120),
            _f("Solution", "textarea", max_length=32_000),
            _f("Internal_Comments", "textarea", max_length=32_000),
            _f("Add_Comment", "textarea", max_length=32_000),
            _ro("No_of_comments", "integer"),
        ),
    ),
    _crm(
        "Solutions",
        "Solution",
        "Solution_Title",
        (
            _t("Solution_Title", 255, mandatory=True),
            _auto("Solution_Number"),
            _f("Status", "picklist"),
            _lk("Product_Name", "Products"),
            _f("Question", "textarea", max_length=32_000),
            _f("Answer", "textarea", max_length=32_000),
            _f("Published", "boolean"),
            _f("Add_Comment", "textarea", max_length=32_000),
            _ro("No_of_comments", "integer"),
        ),
    ),
    _crm(
        "Tasks",
        "Task",
        "Subject",
        (
            _t("Subject", 255, mandatory=True),
            _f("Due_Date", "date"),
            _f("Status", "picklist"),
            _f("Priority", "picklist"),
            *_WHO,
            _f("Send_Notification_Email", "boolean"),
            _ro("Closed_Time", "datetime"),
        ),
    ),
    _crm(
        "Events",
        "Meeting",
        "Event_Title",
        (
            _t("Event_Title", 255, mandatory=True),
            _f("Start_DateTime", "datetime", mandatory=True),
            _f("End_DateTime", "datetime", mandatory=True),
            _f("All_day", "boolean"),
            _t("Venue", 255),
            *_WHO,
            _f("Participants", "participants", lookup_modules=("Contacts", "Leads")),
        ),
        module_name="Meetings",
        plural_label="Meetings",
    ),
    _crm(
        "Calls",
        "Call",
        "Subject",
        (
            _t("Subject", 255, mandatory=True),
            _f("Call_Type", "picklist", mandatory=True, picklist=("Inbound", "Outbound", "Missed")),
            _f("Call_Start_Time", "datetime", mandatory=True),
            _t("Call_Duration", 10),
            _ro("Call_Duration_in_seconds", "integer"),
            _f("Call_Purpose", "picklist"),
            _f("Call_Result", "picklist"),
            _f("Reminder", "picklist"),
            _t("Call_Agenda", 255),
            _t("Dialled_Number", 30),
            *_WHO,
        ),
    ),
    _crm(
        "Notes",
        "Note",
        "Note_Title",
        (
            _t("Note_Title", 120),
            _f("Note_Content", "textarea", mandatory=True, max_length=32_000),
            _f("Parent_Id", "lookup", lookup_modules=("Leads", "Contacts", *WHAT_MODULES)),
        ),
    ),
)

CRM_MODULES: dict[str, Module] = {m.api_name: m for m in _MODULES}
