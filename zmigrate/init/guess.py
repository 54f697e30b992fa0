"""Which module a file fills and which field each column fills, scored by names. Pure.

A column matches a field by its normalised api name or label (case, spaces, ``_`` and ``-``
ignored), by the name without the module's own word (``invoice_date`` -> ``date``) or an
address prefix (``city`` -> ``Billing_City``), through :data:`SYNONYMS`, or, weakest, by a
similar spelling. A file's module is scored from its name (:data:`MODULE_WORDS`, the
module's names) and from how many of its columns the module's fields match.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zmigrate.manifest import LINE_ITEMS
from zmigrate.schema import Field, FieldType, Module, OrgSchema, builtin

MATCH_FLOOR = 0.68
"""A weaker column-field score is no match (the column is listed as unmatched)."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "company": ("Account_Name", "Company", "company_name"),
    "companyname": ("Account_Name", "Company", "company_name"),
    "organization": ("Account_Name", "Company", "company_name"),
    "organisation": ("Account_Name", "Company", "company_name"),
    "customer": ("Account_Name", "contact_name"),
    "customername": ("Account_Name", "contact_name"),
    "zip": ("Billing_Code", "Mailing_Zip", "Zip_Code"),
    "zipcode": ("Billing_Code", "Mailing_Zip", "Zip_Code"),
    "postcode": ("Billing_Code", "Mailing_Zip", "Zip_Code"),
    "postalcode": ("Billing_Code", "Mailing_Zip", "Zip_Code"),
    "address": ("Billing_Street", "Mailing_Street", "Street"),
    "street": ("Billing_Street", "Mailing_Street", "Street"),
    "town": ("Billing_City", "Mailing_City", "City"),
    "region": ("Billing_State", "Mailing_State", "State"),
    "province": ("Billing_State", "Mailing_State", "State"),
    "emailaddress": ("Email", "email"),
    "mail": ("Email", "email"),
    "tel": ("Phone", "phone"),
    "telephone": ("Phone", "phone"),
    "mobilephone": ("Mobile", "mobile"),
    "cell": ("Mobile", "mobile"),
    "url": ("Website", "website"),
    "web": ("Website", "website"),
    "homepage": ("Website", "website"),
    "revenue": ("Annual_Revenue",),
    "turnover": ("Annual_Revenue",),
    "headcount": ("Employees",),
    "sector": ("Industry",),
    "dob": ("Date_of_Birth",),
    "birthday": ("Date_of_Birth",),
    "birthdate": ("Date_of_Birth",),
    "givenname": ("First_Name",),
    "forename": ("First_Name",),
    "surname": ("Last_Name",),
    "familyname": ("Last_Name",),
    "jobtitle": ("Title", "Designation"),
    "position": ("Title", "Designation"),
    "title": ("Title", "Deal_Name", "Subject", "Solution_Title", "Event_Title"),
    "status": ("Stage", "Lead_Status", "Status"),
    "closedate": ("Closing_Date",),
    "expectedclose": ("Closing_Date",),
    "value": ("Amount",),
    "price": ("rate", "Unit_Price"),
    "unitprice": ("rate", "Unit_Price"),
    "sellingprice": ("rate", "Unit_Price"),
    "salesprice": ("rate", "Unit_Price"),
    "cost": ("purchase_rate",),
    "costprice": ("purchase_rate",),
    "purchaseprice": ("purchase_rate",),
    "stock": ("initial_stock", "Qty_in_Stock"),
    "onhand": ("initial_stock", "Qty_in_Stock"),
    "qty": ("quantity", "Quantity"),
    "currency": ("currency_code", "Currency"),
    "notes": ("Description", "notes", "description"),
    "comments": ("Description", "notes", "description"),
    "itemcode": ("sku", "Product_Code"),
    "productcode": ("sku", "Product_Code"),
    "uom": ("unit", "Usage_Unit"),
    "source": ("Lead_Source",),
    "invoicedate": ("date",),
    "orderdate": ("date",),
}
"""Normalised column name -> fields it usually fills, first choice first (the first the
module has wins)."""

MODULE_WORDS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "customers": (("books", "contacts", 1.0), ("crm", "Accounts", 0.8)),
    "clients": (("books", "contacts", 1.0), ("crm", "Accounts", 0.8)),
    "companies": (("crm", "Accounts", 1.0),),
    "organisations": (("crm", "Accounts", 1.0),),
    "organizations": (("crm", "Accounts", 1.0),),
    "people": (("crm", "Contacts", 1.0),),
    "persons": (("crm", "Contacts", 1.0),),
    "opportunities": (("crm", "Deals", 1.0),),
    "prospects": (("crm", "Leads", 1.0),),
    "items": (("inventory", "items", 1.0), ("books", "items", 0.95), ("crm", "Products", 0.8)),
    "products": (("crm", "Products", 1.0), ("inventory", "items", 0.9), ("books", "items", 0.85)),
    "articles": (("inventory", "items", 1.0), ("books", "items", 0.95)),
    "suppliers": (("crm", "Vendors", 1.0), ("books", "contacts", 0.8)),
    "orders": (("inventory", "salesorders", 1.0), ("crm", "Sales_Orders", 0.9)),
    "tickets": (("crm", "Cases", 1.0),),
}
"""Normalised file name -> modules it usually fills, with a weight."""

_NOISE = frozenset({"export", "data", "list", "all", "lines", "line", "rows", "file", "table"})
_NOT_DIRECT = frozenset(
    {
        FieldType.SUBFORM,
        FieldType.LOOKUP,
        FieldType.MULTI_MODULE_LOOKUP,
        FieldType.OWNERLOOKUP,
        FieldType.USERLOOKUP,
        FieldType.AUTONUMBER,
        FieldType.FORMULA,
        FieldType.FILEUPLOAD,
    }
)
_LEGACY_IDS = frozenset({"legacyid", "externalid", "sourceid", "legacyref", "oldid"})
_ID_WORDS = ("ref", "id", "no", "number", "code", "reference", "key")


def norm(text: str) -> str:
    """Lower case, letters and digits only: ``Last Name``, ``last_name``, ``LastName`` agree."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


@dataclass(frozen=True)
class Match:
    column: str
    field: str  # an api name, or ``line_items[].name``
    score: float
    how: str  # name, synonym, similar name ...


def name_field(mod: Module) -> str:
    """The field that names a record (Account_Name): CRM's default duplicate check. A
    snapshot does not say it, so the built-in module's, else ``<Singular>_Name``."""
    base = builtin().module(mod.product, mod.api_name)
    own = norm(mod.singular) + "name"
    names = [base.display_field if base else "", mod.display_field]
    names += [f.api_name for f in mod.fields if norm(f.api_name) == own]
    return next((n for n in names if n and mod.field(n) is not None), "")


def targets(mod: Module) -> dict[str, Field]:
    """Fields a column may fill directly on upsert: writable, not lookups or subforms; with
    a module's line-item subfields as ``line_items[].name``."""
    out: dict[str, Field] = {}
    for fld in mod.fields:
        if fld.data_type == FieldType.SUBFORM and fld.api_name == "line_items":
            for sub in fld.subfields:
                if sub.data_type not in _NOT_DIRECT and not sub.read_only:
                    out[f"{LINE_ITEMS}{sub.api_name}"] = sub
        elif fld.data_type not in _NOT_DIRECT and fld.writable(create=True, update=True):
            out[fld.api_name] = fld
    return out


def _score(col: str, name: str, fld: Field, mod: Module) -> tuple[float, str]:
    bare = name.removeprefix(LINE_ITEMS)
    f = norm(bare)
    own = norm(mod.singular)
    if col in (f, norm(fld.label)):
        return 1.0, "same name"
    if col.startswith(own) and col[len(own) :] == f:
        return 0.95, f"same name without '{own}'"
    if col == "name" and name == name_field(mod):
        return 0.92, f"the name of a {mod.singular}"
    if col in SYNONYMS and bare in SYNONYMS[col]:
        return 0.9 - 0.01 * SYNONYMS[col].index(bare), "synonym"
    for prefix, score in (("billing", 0.9), ("mailing", 0.9), ("shipping", 0.8), ("other", 0.8)):
        if f == prefix + col:
            return score, f"{prefix} address"
    if col in {own + w for w in _ID_WORDS} and f in _LEGACY_IDS:
        return 0.88, "the record's id in the old system"
    if col in {own + w for w in _ID_WORDS} and f == own + "number":
        return 0.85, "the record's own number"
    ratio = difflib.SequenceMatcher(None, col, f).ratio()
    return (ratio * 0.8, "similar name") if ratio >= 0.85 else (0.0, "")


def match_columns(columns: Sequence[str], mod: Module) -> list[Match]:
    """The best one-to-one column -> field matches, strongest first (greedy)."""
    fields = targets(mod)
    pairs: list[tuple[float, int, int, Match]] = []
    for ci, col in enumerate(columns):
        for fi, (name, fld) in enumerate(fields.items()):
            score, how = _score(norm(col), name, fld, mod)
            if score >= MATCH_FLOOR:
                pairs.append((-score, ci, fi, Match(col, name, score, how)))
    taken_c: set[str] = set()
    taken_f: set[str] = set()
    out: list[Match] = []
    for _, _, _, m in sorted(pairs, key=lambda p: p[:3]):
        if m.column not in taken_c and m.field not in taken_f:
            out.append(m)
            taken_c.add(m.column)
            taken_f.add(m.field)
    return out


@dataclass(frozen=True)
class Guess:
    product: str
    module: str
    score: float
    why: str


def _name_score(stem: str, mod: Module) -> float:
    words = [w for w in re.split(r"[^0-9a-z]+", stem.casefold()) if w and not w.isdigit()]
    name = "".join(w for w in words if w not in _NOISE) or "".join(words)
    for product, module, weight in MODULE_WORDS.get(name, ()):
        if (product, module) == (mod.product, mod.api_name):
            return weight
    forms = {norm(mod.api_name), norm(mod.plural_label), norm(mod.singular), norm(mod.module_name)}
    if name in forms:
        return 1.0
    if name + "s" in forms or name.removesuffix("s") in forms:
        return 0.95
    return 0.0


def modules(org: OrgSchema) -> Iterable[Module]:
    """Every module a file may be written to."""
    for product in ("crm", "books", "inventory"):
        for mod in org.modules(product).values():
            if mod.api_supported and mod.creatable:
                yield mod


def guess_modules(stem: str, columns: Sequence[str], org: OrgSchema) -> list[Guess]:
    """Every module scored for a file: half its name, half its columns' matches; best first."""
    out: list[Guess] = []
    for mod in modules(org):
        by_name = _name_score(stem, mod)
        matches = match_columns(columns, mod)
        by_cols = sum(m.score for m in matches) / max(len(columns), 1)
        score = round(0.5 * by_name + 0.5 * by_cols, 3)
        why = f"name {by_name:.2f}, {len(matches)} of {len(columns)} columns match"
        out.append(Guess(mod.product, mod.api_name, score, why))
    return sorted(out, key=lambda g: -g.score)
