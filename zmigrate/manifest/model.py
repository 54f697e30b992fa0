"""What a loaded manifest is: frozen dataclasses and the vocabularies their fields take.

The vocabularies are ``StrEnum``s, so a member equals the plain string it stands for
(``Product.CRM == "crm"``) and code that compares against strings keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from zmigrate import quotas
from zmigrate.errors import ManifestError
from zmigrate.schema import Field, Module, OrgSchema, builtin

LINE_ITEMS = "line_items[]."
ARRAY_MARK = "[]."
"""``<array>[].<field>``: a field of each entry of a Books/Inventory array (``line_items``,
``contact_persons``, a payment's ``invoices``)."""


class Product(StrEnum):
    """Where a step reads or writes: a Zoho product, or a local file."""

    CRM = "crm"
    BOOKS = "books"
    INVENTORY = "inventory"
    FILE = "file"


class Operation(StrEnum):
    """How a record is written; ``write`` is the only one for a file target."""

    INSERT = "insert"
    UPSERT = "upsert"
    UPDATE = "update"
    WRITE = "write"


class Method(StrEnum):
    """Which CRM API writes the step: chosen by size (auto), Bulk Write, or REST."""

    AUTO = "auto"
    BULK = "bulk"
    REST = "rest"


class SourceKind(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    XLSX = "xlsx"  # one sheet of an Excel workbook
    SQL = "sql"  # the rows of a query, through SQLAlchemy
    ZOHO = "zoho"


class Transform(StrEnum):
    DATE = "date"
    DATETIME = "datetime"
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    STRING = "string"


class OnDuplicateKey(StrEnum):
    """What to do with a record whose target key (as Zoho compares it) an earlier record has."""

    ERROR = "error"  # plan and run refuse the source (exit 2), naming both lines
    DEAD_LETTER = "dead-letter"  # the first record is migrated, later ones are dead letters
    MERGE = "merge"  # all are sent; Zoho merges them into one record, reported as merged


class UnknownOwner(StrEnum):
    """What to do with an e-mail address no active user of the org has."""

    DEAD_LETTER = "dead-letter"  # the record goes to the dead-letter file (UNKNOWN_USER)
    DEFAULT = "default"  # the record is owned by default_owner


class NewFieldType(StrEnum):
    """Zoho ``data_type``s a manifest may ask the run to create (``[steps.create_fields]``)."""

    TEXT = "text"
    TEXTAREA = "textarea"
    EMAIL = "email"
    PHONE = "phone"
    WEBSITE = "website"
    INTEGER = "integer"
    BIGINT = "bigint"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"


NEW_FIELD_LENGTHS: dict[str, tuple[int, int, int]] = {
    "text": (1, 255, 255),
    "email": (1, 100, 100),
    "phone": (1, 30, 30),
    "website": (1, 450, 255),
    "integer": (1, 9, 9),
    "bigint": (1, 18, 18),
    "double": (1, 18, 16),
    "currency": (1, 16, 16),
    "percent": (1, 5, 5),
}
"""(least, most, default) ``length`` of a created field, by type (Zoho's create-field ranges)."""
TEXT_LIKE = frozenset({"text", "email", "phone", "website", "textarea"})


@dataclass(frozen=True)
class NewField:
    """A CRM custom field the run creates with Zoho's Fields API before its first write."""

    api_name: str
    data_type: NewFieldType
    label: str
    length: int | None
    unique: bool
    line: int

    def as_field(self) -> Field:
        """How the plan sees the field: as if it existed already."""
        chars = self.length if self.data_type in TEXT_LIKE else None
        return Field(
            self.api_name,
            str(self.data_type),
            unique=self.unique,
            max_length=chars if self.data_type != NewFieldType.TEXTAREA else 32_000,
            custom_field=True,
            label=self.label,
            length=self.length,
        )

    def body(self) -> dict[str, Any]:
        """The field in ``POST /crm/v8/settings/fields``."""
        out: dict[str, Any] = {
            "api_name": self.api_name,
            "field_label": self.label,
            "data_type": str(self.data_type),
        }
        if self.length is not None:
            out["length"] = self.length
        if self.data_type == NewFieldType.TEXTAREA:
            out["textarea"] = {"type": "large"}
        if self.unique:
            out["unique"] = {"case_sensitive": False}
        return out


OPERATIONS = (Operation.INSERT, Operation.UPSERT, Operation.UPDATE)
METHODS = tuple(Method)
PRODUCTS = (Product.CRM, Product.BOOKS, Product.INVENTORY)
TRANSFORMS = tuple(Transform)
# Books and Inventory of one organization share item ids (card, "Data Mapping") and contacts.
SHARED_LOOKUPS = {
    ("books", "items"): ("inventory", "items"),
    ("inventory", "items"): ("books", "items"),
    ("books", "contacts"): ("inventory", "contacts"),
    ("inventory", "contacts"): ("books", "contacts"),
}


@dataclass(frozen=True)
class Target:
    """Where the data goes: data center, editions/plans and organization ids (no secrets)."""

    data_center: str
    crm_edition: str
    crm_users: int
    books_plan: str
    inventory_plan: str
    books_organization_id: str | None
    inventory_organization_id: str | None
    line: int
    schema_file: Path | None = None  # the org's snapshot (absolute); None: the built-in schema
    default_owner: str | None = None  # e-mail of the user owning records by default
    spread_shared: bool = False
    """Books/Inventory writes of the modules they share go through both products' quotas."""

    @property
    def edition(self) -> quotas.CrmEdition:
        return quotas.CRM_EDITIONS[self.crm_edition]

    @property
    def books(self) -> quotas.FinancePlan:
        return quotas.BOOKS_PLANS[self.books_plan]

    @property
    def inventory(self) -> quotas.FinancePlan:
        return quotas.INVENTORY_PLANS[self.inventory_plan]

    def finance_plan(self, product: str) -> quotas.FinancePlan:
        return self.books if product == Product.BOOKS else self.inventory

    @property
    def crm_daily_credits(self) -> int | None:
        """Credits per rolling 24 h for this edition and user count (None: unlimited)."""
        return self.edition.daily_credits(self.crm_users)


@dataclass(frozen=True)
class SourceSpec:
    """Where a step's rows come from: a file, a workbook sheet, a query, or a Zoho export.

    ``kind`` is ``csv``, ``jsonl``, ``xlsx``, ``sql`` or ``zoho``. Files: ``path`` is absolute
    (resolved against the manifest's folder); ``member`` names a CSV/JSONL inside a zip at
    ``path``; ``sheet`` and ``header_row`` say where a workbook's table lies. SQL: ``url`` is
    ``$NAME`` of the environment variable holding the database URL (never the URL itself when
    it has a password), ``query`` what to read. Zoho exports: ``product``/``module`` name what
    to export, ``fields`` what to read (default: every column the step maps), ``records`` the
    size estimate the planner uses (the file does not exist before the run).
    """

    kind: SourceKind
    line: int
    path: Path | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    product: Product | None = None
    module: str | None = None
    fields: tuple[str, ...] = ()
    records: int | None = None
    origin: str = ""  # the manifest naming this source, for errors about it
    member: str | None = None
    sheet: str | None = None
    header_row: int = 1
    url: str = ""
    query: str = ""
    schema: Module | None = field(default=None, compare=False, repr=False)
    """A Zoho export's module, as the manifest's schema describes it."""

    def __post_init__(self) -> None:
        # Callers outside the manifest pass the kind as a plain string ("csv").
        object.__setattr__(self, "kind", SourceKind(self.kind))

    @property
    def is_file(self) -> bool:
        """True for every source zmigrate reads itself before the run (a file, an archive
        member, a sheet, a query); False for a Zoho export, which exists only once run."""
        return self.kind is not SourceKind.ZOHO

    def describe(self) -> str:
        if self.kind is SourceKind.SQL:
            return f"sql:{self.url}"
        if self.is_file:
            inner = self.member or self.sheet
            return f"{self.path}!{inner}" if inner else str(self.path)
        return f"{self.product}:{self.module}"


@dataclass(frozen=True)
class TargetSpec:
    """Where a step writes: a Zoho module (``product``, ``module``) or a file (``path``)."""

    product: Product
    text: str  # as written: "crm:Accounts", "file:out/accounts.csv"
    module: str | None = None  # canonical API name ("Accounts", "invoices")
    path: Path | None = None
    schema: Module | None = field(default=None, compare=False, repr=False)
    """The module's fields as the manifest's schema describes them (None: a file target)."""
    folder: Path | None = field(default=None, compare=False, repr=False)
    """The manifest's folder: attachment paths are relative to it."""

    @property
    def is_file(self) -> bool:
        return self.product == Product.FILE


@dataclass(frozen=True)
class FieldMap:
    """One target field filled from a source column, a constant, or a transformed column.

    ``target`` is a field API name, or ``line_items[].<field>`` for a line-item field.
    ``values`` is a value map (source value -> target value, e.g. status -> Stage); a value
    missing from it takes ``default`` when one is given, else the row fails.
    """

    target: str
    line: int
    column: str | None = None
    const: Any = None
    transform: Transform | None = None
    format: str | None = None
    tz: str | None = None
    values: tuple[tuple[str, Any], ...] = ()
    default: Any = None
    places: int | None = None
    user: bool = False  # ``{ user = "column" }``: the column holds users' e-mail addresses

    @property
    def line_item(self) -> bool:
        """A field of an array's entries (line items, contact persons, applications)."""
        return ARRAY_MARK in self.target

    @property
    def array(self) -> str:
        return self.target.partition(ARRAY_MARK)[0] if self.line_item else ""

    @property
    def field_name(self) -> str:
        return self.target.partition(ARRAY_MARK)[2] if self.line_item else self.target


@dataclass(frozen=True)
class Owners:
    """How a step's ``{ user = "column" }`` fields find the org's users by e-mail address.

    ``by_email``: each active user's id by lower-cased address (from the manifest's schema);
    ``default``: the id of ``default_owner``, for empty cells and, when ``unknown`` says so,
    addresses no active user has.
    """

    by_email: Mapping[str, str]
    default: str | None = None
    default_email: str | None = None
    unknown: UnknownOwner = UnknownOwner.DEAD_LETTER

    def user_id(self, email: str) -> str | None:
        return self.by_email.get(email.strip().lower())


@dataclass(frozen=True)
class Lookup:
    """A target field set to the Zoho id that step ``step`` produced for a source key.

    The key is the value(s) of ``columns`` in this step's row, matched against the other
    step's source key. ``optional``: an unresolved key leaves the field out instead of failing.
    ``se_module``: for a multi-module lookup (``What_Id``), the looked-up step's module, sent
    as the record's ``$se_module`` so Zoho knows where the id lives.
    """

    target: str
    step: str
    columns: tuple[str, ...]
    line: int
    optional: bool = False
    se_module: str | None = None

    @property
    def line_item(self) -> bool:
        """A field of an array's entries (line items, contact persons, applications)."""
        return ARRAY_MARK in self.target

    @property
    def array(self) -> str:
        return self.target.partition(ARRAY_MARK)[0] if self.line_item else ""

    @property
    def field_name(self) -> str:
        return self.target.partition(ARRAY_MARK)[2] if self.line_item else self.target


@dataclass(frozen=True)
class Step:
    """One step: read a source, map each row, write it to a target with one operation."""

    name: str
    line: int
    source: SourceSpec
    target: TargetSpec
    operation: Operation  # insert, upsert, update; write for a file target
    key: tuple[str, ...]
    source_key: tuple[str, ...]
    fields: tuple[FieldMap, ...]
    lookups: tuple[Lookup, ...]
    method: Method
    on_duplicate_key: OnDuplicateKey = OnDuplicateKey.ERROR
    owners: Owners | None = field(default=None, compare=False, repr=False)
    """How ``{ user = ... }`` fields map e-mail addresses to users (None: the step has none)."""
    create_fields: tuple[NewField, ...] = ()
    """Custom fields of the target module the run creates before its first write."""
    keep_before_images: bool = False
    """Read each existing record's mapped fields before the run updates it (one read a
    record, priced by the plan), so `zmigrate rollback` can put them back."""

    @property
    def line_items(self) -> bool:
        """True when consecutive rows sharing a source key form one record's line items
        (or another array: contact persons, a payment's invoices)."""
        return any(f.line_item for f in self.fields) or any(lk.line_item for lk in self.lookups)

    @property
    def arrays(self) -> tuple[str, ...]:
        """The arrays the step fills, in first-use order (``line_items``, ``invoices``)."""
        names = [f.array for f in self.fields] + [lk.array for lk in self.lookups]
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(lk.step for lk in self.lookups))

    @property
    def export_fields(self) -> tuple[str, ...]:
        """For a Zoho export: the source's ``fields``, else the mapped columns, else all fields."""
        if self.source.fields or self.columns:
            return self.source.fields or self.columns
        mod = self.source.schema
        return tuple(f.api_name for f in mod.fields if f.data_type != "subform") if mod else ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every source column the step reads, in first-use order."""
        cols: list[str] = list(self.source_key)
        cols += [f.column for f in self.fields if f.column]
        for lk in self.lookups:
            cols += lk.columns
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True)
class Manifest:
    """A loaded, validated manifest. ``steps`` are in file order; ``ordered()`` by dependency.

    ``schema`` is the org's schema the steps were checked against: the snapshot named by
    ``[target] schema``, else the built-in default.
    """

    path: Path
    target: Target
    steps: tuple[Step, ...]
    schema: OrgSchema = field(default_factory=builtin, compare=False, repr=False)

    @property
    def manifest_dir(self) -> Path:
        return self.path.parent

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def ordered(self) -> tuple[Step, ...]:
        """Steps in dependency order: the first step in file order whose lookups are all done."""
        done: dict[str, Step] = {}
        pending = list(self.steps)
        while pending:
            ready = next((s for s in pending if all(d in done for d in s.depends_on)), None)
            if ready is None:  # unreachable after validation; keeps the loop bounded
                raise ManifestError("dependency cycle", file=str(self.path))
            done[ready.name] = ready
            pending.remove(ready)
        return tuple(done.values())
