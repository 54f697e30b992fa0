"""The fields of the built-in Books v3 and Inventory v1 modules (Zoho's argument names)."""

from __future__ import annotations

from zmigrate.schema.model import Field


def f(name: str, data_type: str = "text", **kw: object) -> Field:
    return Field(name, data_type, **kw)  # type: ignore[arg-type]


LINE_ITEM = (
    f("line_item_id", read_only=True),
    f("item_id", "lookup", lookup="items"),
    f("name"),
    f("description", "textarea"),
    f("rate", "currency"),
    f("quantity", "double"),
    f("unit"),
    f("discount", "double"),
    f("tax_id"),
    f("tax_name"),  # the writer sends the org's tax_id for it (Zoho takes ids only)
    f("location_id", "lookup", lookup="locations"),
)

CONTACT_PERSON = (
    f("contact_person_id", read_only=True),
    f("salutation"),
    f("first_name", max_length=100),
    f("last_name", max_length=100),
    f("email", "email"),
    f("phone", "phone"),
    f("mobile", "phone"),
    f("designation"),
    f("is_primary_contact", "boolean"),
)

CONTACTS = (
    f("contact_id", read_only=True),
    f("contact_name", mandatory=True, unique=True, max_length=200),
    f("company_name", max_length=200),
    f("contact_type", "picklist", picklist=("customer", "vendor")),
    f("email", "email"),
    f("phone", "phone"),
    f("website", "website"),
    f("currency_code"),
    f("currency_id"),
    f("payment_terms", "integer"),
    f("notes", "textarea"),
    f("status", "picklist", picklist=("active", "inactive"), read_only=True),
    f("contact_persons", "subform", subfields=CONTACT_PERSON),
)

ITEM_LOCATION = (
    f("location_id", "lookup", lookup="locations"),
    f("location_name"),  # the writer sends the org's location_id for it
    f("initial_stock", "double"),
    f("initial_stock_rate", "currency"),
)
"""An item's opening stock in one warehouse/location (Inventory ``locations[]``)."""

ITEMS = (
    f("item_id", read_only=True),
    f("name", mandatory=True, unique=True, max_length=100),
    f("rate", "currency", mandatory=True),
    f("sku", unique=True),
    f("description", "textarea"),
    f("unit"),
    f("product_type", "picklist", picklist=("goods", "service", "digital_service")),
    f("item_type", "picklist", picklist=("sales", "purchases", "sales_and_purchases", "inventory")),
    f("purchase_rate", "currency"),
    f("initial_stock", "double"),
    f("initial_stock_rate", "currency"),
    f("reorder_level", "double"),
    f("tax_id"),
    f("status", "picklist", picklist=("active", "inactive"), read_only=True),
    f("locations", "subform", subfields=ITEM_LOCATION),
)

TXN = (
    f("date", "date"),
    f("reference_number", max_length=100),
    f("currency_code"),
    f("exchange_rate", "double"),
    f("notes", "textarea"),
    f("status", "picklist", read_only=True),
    f("sub_total", "currency", read_only=True),
    f("tax_total", "currency", read_only=True),
    f("total", "currency", read_only=True),
)

BALANCE = (f("balance", "currency", read_only=True),)


def document(
    party: str, number: str, *extra: Field, number_mandatory: bool = False
) -> tuple[Field, ...]:
    """A sales or purchase document: a party, its number, line items, dates and totals."""
    return (
        f(f"{number.removesuffix('_number')}_id", read_only=True),
        f(party, "lookup", mandatory=True, lookup="contacts"),
        f(number, unique=True, mandatory=number_mandatory),
        f("line_items", "subform", mandatory=True, subfields=LINE_ITEM),
        *extra,
        *TXN,
    )


def applications(target: str) -> Field:
    """A payment's or credit's ``invoices``/``bills``: (document id, amount applied)."""
    doc_id = f"{target.removesuffix('s')}_id"
    return f(
        target,
        "subform",
        subfields=(f(doc_id, "lookup", mandatory=True, lookup=target),
                   f("amount_applied", "currency", mandatory=True)),
    )  # fmt: skip


def payment(party: str, target: str) -> tuple[Field, ...]:
    """A customer or vendor payment: an amount of a party, applied to documents."""
    return (
        f("payment_id", read_only=True),
        f(party, "lookup", mandatory=True, lookup="contacts"),
        f("amount", "currency", mandatory=True),
        f("date", "date", mandatory=True),
        f("payment_mode", max_length=100),
        f("reference_number", max_length=100),
        f("description", "textarea"),
        f("exchange_rate", "double"),
        f("bank_charges", "currency"),
        f("account_id"),
        f("currency_code"),
        applications(target),
        f("unused_amount", "currency", read_only=True),
    )


ACCOUNT_TYPES = (
    "other_asset", "other_current_asset", "cash", "bank", "fixed_asset",
    "other_current_liability", "credit_card", "long_term_liability", "other_liability",
    "equity", "income", "other_income", "expense", "cost_of_goods_sold", "other_expense",
    "accounts_receivable", "accounts_payable",
)  # fmt: skip
"""Zoho Books' account types (chart of accounts docs)."""

ACCOUNTS = (
    f("account_id", read_only=True),
    f("account_name", mandatory=True, unique=True, max_length=100),
    f("account_type", "picklist", mandatory=True, picklist=ACCOUNT_TYPES),
    f("account_code"),
    f("description", "textarea"),
    f("currency_id"),
    f("parent_account_id", "lookup", lookup="chartofaccounts"),
    f("is_active", "boolean", read_only=True),
)

JOURNAL_LINE = (
    f("line_id", read_only=True),
    f("account_id", "lookup", mandatory=True, lookup="chartofaccounts"),
    f("debit_or_credit", "picklist", mandatory=True, picklist=("debit", "credit")),
    f("amount", "currency", mandatory=True),
    f("description", "textarea"),
    f("customer_id", "lookup", lookup="contacts"),
)

JOURNALS = (
    f("journal_id", read_only=True),
    f("journal_date", "date", mandatory=True),
    f("reference_number", max_length=100),
    f("notes", "textarea"),
    f("journal_type", "picklist", picklist=("cash", "both")),
    f("currency_id"),
    f("exchange_rate", "double"),
    f("line_items", "subform", mandatory=True, subfields=JOURNAL_LINE),
    f("entry_number", read_only=True),
    f("total", "currency", read_only=True),
    f("status", read_only=True),
)

EXPENSES = (
    f("expense_id", read_only=True),
    f("account_id", "lookup", mandatory=True, lookup="chartofaccounts"),
    f("paid_through_account_id", "lookup", mandatory=True, lookup="chartofaccounts"),
    f("date", "date", mandatory=True),
    f("amount", "currency", mandatory=True),
    f("reference_number", max_length=100),
    f("description", "textarea"),
    f("customer_id", "lookup", lookup="contacts"),
    f("vendor_id", "lookup", lookup="contacts"),
    f("currency_id"),
    f("exchange_rate", "double"),
    f("is_billable", "boolean"),
    f("total", "currency", read_only=True),
)

OPENING_LINE = (
    f("acount_split_id", read_only=True),  # Zoho's spelling
    f("account_id", "lookup", mandatory=True, lookup="chartofaccounts"),
    f("debit_or_credit", "picklist", mandatory=True, picklist=("debit", "credit")),
    f("amount", "currency", mandatory=True),
    f("exchange_rate", "double"),
    f("currency_id"),
    f("currency_code"),
    f("location_id"),
    f("bcy_amount", "currency", read_only=True),
)

OPENING_BALANCES = (
    f("opening_balance_id", read_only=True),
    f("date", "date", mandatory=True, unique=True),
    f("accounts", "subform", mandatory=True, subfields=OPENING_LINE),
    f("price_precision", "integer", read_only=True),
    f("total", "currency", read_only=True),
)
"""The org's opening balances (``/settings/openingbalances``): one record per org."""
