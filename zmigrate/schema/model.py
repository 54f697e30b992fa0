"""What an org's schema is, as values: fields, modules, users, Books/Inventory settings.

Names follow Zoho's metadata answers (``GET /crm/v8/settings/fields`` and ``/modules``,
``GET /crm/v8/users``) so a snapshot maps onto them one to one. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class FieldType(StrEnum):
    """Zoho's ``data_type`` values that zmigrate treats specially (others pass as text)."""

    TEXT = "text"
    TEXTAREA = "textarea"
    EMAIL = "email"
    PHONE = "phone"
    WEBSITE = "website"
    PICKLIST = "picklist"
    MULTISELECT = "multiselectpicklist"
    INTEGER = "integer"
    BIGINT = "bigint"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    LOOKUP = "lookup"
    OWNERLOOKUP = "ownerlookup"
    USERLOOKUP = "userlookup"
    MULTI_MODULE_LOOKUP = "multi_module_lookup"
    AUTONUMBER = "autonumber"
    FORMULA = "formula"
    SUBFORM = "subform"
    FILEUPLOAD = "fileupload"
    PARTICIPANTS = "participants"
    """Events' ``Participants``: a list of ``{"type", "participant"}`` (the name is a guess)."""


NUMERIC = frozenset(
    {FieldType.INTEGER, FieldType.BIGINT, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT}
)
TEXTUAL = frozenset(
    {
        FieldType.TEXT,
        FieldType.TEXTAREA,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.WEBSITE,
        FieldType.PICKLIST,
    }
)
MULTI_SEPARATOR = ";"
"""Separates a multi-select picklist's values in one source cell or constant ("a;b")."""

NEVER_WRITTEN = frozenset({FieldType.FORMULA, FieldType.AUTONUMBER})
"""Zoho computes these: ``api_create`` and ``api_update`` are false whatever the layout says."""

JSON_TYPE = {
    "integer": "integer",
    "bigint": "string",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "formula": "double",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "userlookup": "jsonobject",
    "multi_module_lookup": "jsonobject",
    "multiselectpicklist": "jsonarray",
    "subform": "jsonarray",
    "fileupload": "jsonarray",
    "participants": "jsonarray",
}
"""``json_type`` Zoho reports for a ``data_type`` (the rest are strings)."""


@dataclass(frozen=True)
class AutoNumber:
    """An autonumber field's numbering (``auto_number`` in the metadata)."""

    prefix: str = ""
    start_number: int = 1


@dataclass(frozen=True)
class Field:
    """One field of a module, as its API names it.

    ``picklist`` holds the actual values (what a write carries), ``picklist_display`` the
    labels the UI shows, in the same order (empty: the same as the actual values).
    ``max_length`` is a limit in characters (text-like fields); ``length`` is Zoho's own
    ``length`` (digits for numbers). ``api_create``/``api_update`` say whether the API may
    write the field on create/update; left out, they follow ``read_only`` and the type.
    """

    api_name: str
    data_type: str = "text"
    mandatory: bool = False
    unique: bool = False
    lookup: str | None = None  # module a lookup points to (same product)
    max_length: int | None = None
    picklist: tuple[str, ...] = ()
    subfields: tuple[Field, ...] = ()  # for subform / line item arrays
    read_only: bool = False
    picklist_display: tuple[str, ...] = ()
    lookup_modules: tuple[str, ...] = ()  # a multi-module lookup's targets
    decimal_place: int | None = None
    precision: int | None = None  # currency precision
    rounding: str | None = None  # currency rounding option
    custom_field: bool = False
    api_create: bool | None = None
    api_update: bool | None = None
    label: str = ""
    json_type: str = ""
    length: int | None = None
    formula_type: str | None = None  # a formula's return type
    autonumber: AutoNumber | None = None

    def __post_init__(self) -> None:
        computed = self.data_type in NEVER_WRITTEN
        for name in ("api_create", "api_update"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, not (self.read_only or computed))
        if not self.label:
            object.__setattr__(self, "label", self.api_name.replace("_", " "))
        if not self.json_type:
            object.__setattr__(self, "json_type", JSON_TYPE.get(self.data_type, "string"))

    @property
    def is_lookup(self) -> bool:
        """A lookup to one module or to several (not owner/user lookups)."""
        return bool(self.lookup or self.lookup_modules)

    @property
    def takes_se_module(self) -> bool:
        """A multi-module lookup Zoho pairs with the record's ``$se_module`` (``What_Id``,
        Notes' ``Parent_Id``); ``Who_Id`` names its Contact or Lead by the id alone."""
        if self.data_type == FieldType.PARTICIPANTS:
            return False
        return bool(self.lookup_modules) and not self.lookup and self.api_name != "Who_Id"

    @property
    def targets(self) -> tuple[str, ...]:
        """The modules a lookup may point to."""
        return (self.lookup,) if self.lookup else self.lookup_modules

    def writable(self, *, create: bool, update: bool) -> bool:
        """Whether the API may write the field on the operations asked for."""
        return (not create or bool(self.api_create)) and (not update or bool(self.api_update))

    def actual(self, value: str) -> str | None:
        """The actual picklist value for ``value`` given as actual or display value."""
        if value in self.picklist:
            return value
        for actual, display in zip(self.picklist, self.picklist_display, strict=False):
            if display == value:
                return actual
        return None


@dataclass(frozen=True)
class Module:
    """A module of one product, with the field that names a record in the UI."""

    product: str  # crm, books, inventory
    api_name: str
    fields: tuple[Field, ...]
    singular: str = ""
    display_field: str = ""
    plural_key: str = ""  # Books/Inventory JSON key of a list ("contacts"); CRM: "data"
    module_name: str = ""  # Zoho's internal name (Events -> Meetings); default api_name
    plural_label: str = ""
    generated_type: str = "default"  # default, custom, linking, subform, ...
    api_supported: bool = True
    creatable: bool = True
    editable: bool = True
    deletable: bool = True
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.api_name: f for f in self.fields})
        if not self.module_name:
            object.__setattr__(self, "module_name", self.api_name)
        if not self.plural_label:
            object.__setattr__(self, "plural_label", self.api_name.replace("_", " "))
        if not self.singular:
            object.__setattr__(self, "singular", self.plural_label.removesuffix("s"))

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name)

    @property
    def mandatory(self) -> tuple[str, ...]:
        return tuple(f.api_name for f in self.fields if f.mandatory)


@dataclass(frozen=True)
class Named:
    """A ``{"name", "id"}`` reference (a user's role or profile)."""

    name: str
    id: str


@dataclass(frozen=True)
class User:
    """A CRM user: who may own records (``status == "active"``)."""

    id: str
    email: str
    full_name: str
    status: str = "active"
    confirm: bool = True
    role: Named | None = None
    profile: Named | None = None


@dataclass(frozen=True)
class CustomField:
    """A Books/Inventory custom field definition (``cf_…`` api name)."""

    customfield_id: str
    api_name: str
    label: str
    data_type: str
    is_mandatory: bool = False


@dataclass(frozen=True)
class Tax:
    tax_id: str
    tax_name: str
    tax_percentage: float
    tax_type: str = "tax"


@dataclass(frozen=True)
class Currency:
    currency_id: str
    currency_code: str
    currency_name: str
    exchange_rate: float = 1.0
    is_base_currency: bool = False


@dataclass(frozen=True)
class Location:
    """An Inventory location (stock is kept per location)."""

    location_id: str
    location_name: str
    is_primary: bool = False
    status: str = "active"


@dataclass(frozen=True)
class FinanceSettings:
    """What a Books or Inventory org adds to the built-in modules: custom fields by module,
    taxes, currencies and (Inventory) locations."""

    custom_fields: Mapping[str, tuple[CustomField, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    taxes: tuple[Tax, ...] = ()
    currencies: tuple[Currency, ...] = ()
    locations: tuple[Location, ...] = ()


CUSTOM_FIELD_TYPES = {
    "string": "text",
    "multiline": "textarea",
    "email": "email",
    "url": "website",
    "phone": "phone",
    "number": "integer",
    "decimal": "double",
    "amount": "currency",
    "percent": "percent",
    "date": "date",
    "date_time": "datetime",
    "check_box": "boolean",
    "dropdown": "picklist",
    "multiselect": "multiselectpicklist",
    "lookup": "lookup",
    "autonumber": "autonumber",
    "formula": "formula",
}
"""Books/Inventory custom field types -> the shared ``data_type`` vocabulary."""


def with_custom_fields(mod: Module, custom: tuple[CustomField, ...]) -> Module:
    """A built-in Books/Inventory module with the org's custom fields added."""
    if not custom:
        return mod
    extra = tuple(
        Field(
            c.api_name,
            CUSTOM_FIELD_TYPES.get(c.data_type, "text"),
            mandatory=c.is_mandatory,
            custom_field=True,
            label=c.label,
        )
        for c in custom
        if mod.field(c.api_name) is None
    )
    return Module(
        mod.product,
        mod.api_name,
        mod.fields + extra,
        mod.singular,
        mod.display_field,
        mod.plural_key,
    )


@dataclass(frozen=True)
class OrgSchema:
    """One org's schema: CRM modules and users, Books/Inventory modules and settings.

    ``origin`` names where it came from (a snapshot's path, or ``builtin``) for messages.
    """

    crm: Mapping[str, Module]
    books: Mapping[str, Module]
    inventory: Mapping[str, Module]
    users: tuple[User, ...] = ()
    books_settings: FinanceSettings = field(default_factory=FinanceSettings)
    inventory_settings: FinanceSettings = field(default_factory=FinanceSettings)
    origin: str = "builtin"
    pulled_at: str = ""
    data_center: str = ""

    @property
    def is_builtin(self) -> bool:
        return self.origin == "builtin"

    def modules(self, product: str) -> Mapping[str, Module]:
        """Every module of ``product`` by API name (empty for an unknown product)."""
        by_product = {"crm": self.crm, "books": self.books, "inventory": self.inventory}
        return by_product.get(product, {})

    def module(self, product: str, name: str) -> Module | None:
        """The module ``name`` of ``product`` (names are case-insensitive, as in Zoho)."""
        modules = self.modules(product)
        if name in modules:
            return modules[name]
        low = name.lower()
        return next((m for k, m in modules.items() if k.lower() == low), None)

    def user(self, email: str) -> User | None:
        """The user with this e-mail address (case-insensitive)."""
        low = email.strip().lower()
        return next((u for u in self.users if u.email.lower() == low), None)
