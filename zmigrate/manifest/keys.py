"""Every key a manifest may hold, declared as data: its name, kind, default and meaning.

:func:`zmigrate.manifest.validate.check` reads these tables to refuse unknown keys (with the
nearest valid one), missing required keys and values of the wrong kind or outside a
vocabulary, each located at its TOML line. What the tables cannot say (a module's fields, a
lookup's step) is checked by :mod:`zmigrate.manifest.load` against the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from zmigrate import quotas
from zmigrate.manifest.model import (
    METHODS,
    OPERATIONS,
    TRANSFORMS,
    NewFieldType,
    OnDuplicateKey,
    UnknownOwner,
)

SECRET_KEYS = {"client_id", "client_secret", "refresh_token", "access_token", "token", "password"}
SECRET_HINT = (
    "secrets never go in a manifest: set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET"
    " and ZOHO_REFRESH_TOKEN in the environment"
)


class Kind(StrEnum):
    """What a key's value must be; :mod:`validate` has one check per kind."""

    TEXT = "text"  # a string, matching ``pattern`` when one is given
    NAMES = "names"  # a name or a list of names
    CHOICE = "choice"  # one of ``choices``, case-insensitive, or one of ``aliases``
    COUNT = "count"  # a whole number from ``low`` (to ``high``)
    DIGITS = "digits"  # a number written as digits (an id), kept as text
    CHAR = "char"  # one character
    FLAG = "flag"  # true or false
    CODEC = "codec"  # a text encoding Python can decode
    TABLE = "table"  # a TOML table, read further by the loader
    TABLES = "tables"  # a non-empty array of tables
    ANY = "any"  # any TOML value (a constant)


@dataclass(frozen=True)
class Key:
    """One key of a manifest table. ``bad``/``missing`` override the kind's messages."""

    name: str
    kind: Kind
    doc: str
    required: bool = False
    default: object = None
    env: str = ""  # environment variable giving the default
    choices: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()  # other spelling -> choice
    low: int = 0
    high: int | None = None
    pattern: str = ""
    label: str = ""  # the value's name in messages; default: the key with spaces
    bad: str = ""  # str.format()ed with key, value, text (value as written), low, high, label
    missing: str = ""
    hint: str = ""
    table: Table | None = None  # the keys of a nested table, checked in turn
    not_for_files: str = ""  # a step with a file target may not give it; the hint says why

    @property
    def what(self) -> str:
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class Table:
    """The keys one TOML table may hold; ``what`` names it in "unknown key ... in <what>"."""

    what: str  # str.format()ed with name: the mapping or lookup the table describes
    keys: tuple[Key, ...]
    shape: str = ""  # the message when the value is not a table
    exactly_one: tuple[str, ...] = ()  # keys of which exactly one must be given

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def __getitem__(self, name: str) -> Key:
        return next(k for k in self.keys if k.name == name)


_ORG_ID = "{key} must be the organization's numeric id, got {value!r}"
TARGET = Table(
    "[target]",
    (
        Key(
            "data_center",
            Kind.CHOICE,
            "Zoho data center of the account",
            default="com",
            env="ZOHO_DC",
            choices=tuple(quotas.DATA_CENTERS),
        ),
        Key(
            "crm_edition",
            Kind.CHOICE,
            "CRM edition: sets the credit budget and concurrency",
            default="enterprise",
            choices=tuple(quotas.CRM_EDITIONS),
            aliases=tuple(quotas.CRM_EDITION_ALIASES.items()),
        ),
        Key("crm_users", Kind.COUNT, "CRM user licences (credits per user)", default=1, low=1),
        Key(
            "books_plan",
            Kind.CHOICE,
            "Books plan: sets the daily request cap",
            default="standard",
            choices=tuple(quotas.BOOKS_PLANS),
        ),
        Key(
            "inventory_plan",
            Kind.CHOICE,
            "Inventory plan: sets the daily request cap",
            default="standard",
            choices=tuple(quotas.INVENTORY_PLANS),
        ),
        Key("organization_id", Kind.DIGITS, "Books and Inventory organization", bad=_ORG_ID),
        Key("books_organization_id", Kind.DIGITS, "Books organization", bad=_ORG_ID),
        Key("inventory_organization_id", Kind.DIGITS, "Inventory organization", bad=_ORG_ID),
        Key(
            "schema",
            Kind.TEXT,
            "the org's schema snapshot (zmigrate schema pull), relative to the manifest",
            hint="make one with: zmigrate schema pull --out FILE",
        ),
        Key("default_owner", Kind.TEXT, "e-mail of the user who owns records by default"),
        Key(
            "spread_shared",
            Kind.FLAG,
            "write the modules Books and Inventory share (contacts, items) through both "
            "products' quotas (one integrated organization)",
            default=False,
        ),
    ),
)

NO_STEPS = "no [[steps]]: a manifest needs at least one step"
MANIFEST = Table(
    "the manifest (top level)",
    (
        Key(
            "target",
            Kind.TABLE,
            "where the data goes",
            default={},
            bad="[target] must be a table",
            table=TARGET,
        ),
        Key(
            "steps",
            Kind.TABLES,
            "the steps, run in dependency order",
            True,
            missing=NO_STEPS,
            bad=NO_STEPS,
        ),
    ),
)

_NAME = "a step needs a name of letters, digits, '_', '-' or '.'"
_TARGET = (
    "target must look like 'crm:Accounts', 'books:invoices', 'inventory:items' or 'file:out.csv'"
)
STEP = Table(
    "[[steps]]",
    (
        Key(
            "name",
            Kind.TEXT,
            "unique name of the step",
            True,
            pattern=r"[A-Za-z0-9_.-]+",
            bad=_NAME + ", got {value!r}",
            missing=_NAME,
        ),
        Key("source", Kind.ANY, "a file path, or a table (file or zoho)", True),
        Key(
            "target",
            Kind.TEXT,
            "product:module or file:path",
            True,
            pattern=r"(?s).*:.*",
            bad=_TARGET + ", got {value!r}",
        ),
        Key(
            "operation",
            Kind.CHOICE,
            "insert, upsert or update",
            default="upsert",
            choices=OPERATIONS,
            not_for_files="remove it: records are written to the file",
        ),
        Key("key", Kind.NAMES, "target fields that make a record unique", default=()),
        Key("source_key", Kind.NAMES, "source columns naming a row", default=()),
        Key("method", Kind.CHOICE, "auto, bulk or rest", default="auto", choices=METHODS),
        Key(
            "fields",
            Kind.TABLE,
            "target field <- source column, constant or transform",
            default={},
            bad="'fields' must be a table of target field = source",
        ),
        Key(
            "lookups",
            Kind.TABLE,
            "target field <- id an earlier step made",
            default={},
            bad="'lookups' must be a table",
        ),
        Key(
            "on_duplicate_key",
            Kind.CHOICE,
            "two records with one target key: error, dead-letter or merge",
            default=OnDuplicateKey.ERROR,
            choices=tuple(OnDuplicateKey),
            label="on_duplicate_key",
            not_for_files="remove it: every row is written to the file",
        ),
        Key(
            "create_fields",
            Kind.TABLE,
            "CRM custom fields the run creates before its first write",
            default={},
            bad="'create_fields' must be a table of api_name = { data_type = ... }",
            not_for_files="remove it: a file has no fields to create",
        ),
        Key(
            "default_owner",
            Kind.TEXT,
            "e-mail of the user owning records whose user cell is empty (or unknown)",
            not_for_files="remove it: a file has no owners",
        ),
        Key(
            "keep_before_images",
            Kind.FLAG,
            "read each record an update changes first, so rollback can restore it",
            default=False,
            not_for_files="remove it: a file keeps no earlier values",
        ),
        Key(
            "unknown_owner",
            Kind.CHOICE,
            "an e-mail address no active user has: dead-letter or default",
            default=UnknownOwner.DEAD_LETTER,
            choices=tuple(UnknownOwner),
            label="unknown_owner",
            not_for_files="remove it: a file has no owners",
        ),
    ),
    shape="each [[steps]] entry must be a table",
)

_SOURCE_SHAPE = (
    "source must be a table: { file = ... }, { xlsx = ... }, { sql = ... } or { zoho = ... }"
)
FILE_SOURCE = Table(
    "source",
    (
        Key(
            "file",
            Kind.TEXT,
            "CSV or JSONL path, relative to the manifest",
            True,
            missing="source needs 'file' (a CSV or JSONL path) or 'zoho' (e.g. 'crm:Accounts')",
        ),
        Key(
            "format",
            Kind.CHOICE,
            "csv or jsonl (default: by the file's suffix)",
            choices=("csv", "jsonl"),
            label="source format",
        ),
        Key(
            "encoding",
            Kind.CODEC,
            "text encoding of the file",
            default="utf-8",
            hint="e.g. utf-8, utf-8-sig, latin-1, cp1252",
        ),
        Key("delimiter", Kind.CHAR, "CSV field separator", default=","),
        Key("quotechar", Kind.CHAR, "CSV quote character", default='"'),
        Key("member", Kind.TEXT, "the CSV/JSONL inside the zip archive 'file' names"),
    ),
    shape=_SOURCE_SHAPE,
)
XLSX_SOURCE = Table(
    "source",
    (
        Key("xlsx", Kind.TEXT, "Excel workbook path, relative to the manifest", True),
        Key("sheet", Kind.TEXT, "the worksheet to read (default: the first)"),
        Key("header_row", Kind.COUNT, "the row naming the columns", default=1, low=1),
    ),
    shape=_SOURCE_SHAPE,
)
SQL_SOURCE = Table(
    "source",
    (
        Key(
            "sql",
            Kind.TEXT,
            "$NAME of the environment variable holding the database URL",
            True,
        ),
        Key("query", Kind.TEXT, "the SELECT to read, ending with ORDER BY its key", True),
    ),
    shape=_SOURCE_SHAPE,
)
ZOHO_SOURCE = Table(
    "source",
    (
        Key(
            "zoho",
            Kind.TEXT,
            "product:Module to export at run time",
            True,
            pattern=r"(?s).*:.*",
            bad="zoho must look like 'crm:Accounts', got {value!r}",
        ),
        Key("records", Kind.COUNT, "how many records the plan assumes"),
        Key("fields", Kind.NAMES, "fields to export (default: the mapped columns)", default=()),
    ),
    shape=_SOURCE_SHAPE,
)

FIELD = Table(
    "the mapping of '{name}'",
    (
        Key("column", Kind.TEXT, "source column"),
        Key("const", Kind.ANY, "constant value"),
        Key("user", Kind.TEXT, "source column of e-mail addresses of the org's users"),
        Key(
            "transform",
            Kind.CHOICE,
            "date, datetime, decimal, integer, boolean, string",
            choices=TRANSFORMS,
        ),
        Key("format", Kind.TEXT, "strptime format, or ',' for a decimal comma"),
        Key(
            "tz",
            Kind.TEXT,
            "offset for naive datetimes",
            pattern=r"[+-]\d\d:\d\d",
            bad="tz must look like '+05:30', got {value!r}",
        ),
        Key(
            "map",
            Kind.TABLE,
            "source value -> target value",
            default={},
            bad="'map' must be a table of source value = target value",
        ),
        Key("default", Kind.ANY, "target value for a source value missing from map"),
        Key(
            "places",
            Kind.COUNT,
            "decimal places to round to",
            high=10,
            bad="'places' must be a whole number from 0 to 10",
        ),
    ),
    exactly_one=("column", "const", "user"),
)

_NEW_FIELD = 'a field to create is { data_type = "text", length = 100, unique = true }'
NEW_FIELD = Table(
    "the field to create '{name}'",
    (
        Key(
            "data_type",
            Kind.CHOICE,
            "Zoho's data_type of the new field",
            True,
            choices=tuple(NewFieldType),
            label="data_type",
            missing=_NEW_FIELD,
        ),
        Key("field_label", Kind.TEXT, "its label (default: the api_name with spaces)"),
        Key("length", Kind.COUNT, "its length (characters or digits)", low=1),
        Key("unique", Kind.FLAG, "refuse duplicate values (case-insensitive)", default=False),
    ),
    shape=_NEW_FIELD,
)

_LOOKUP = 'a lookup is { step = "accounts", column = "account_ref" }'
LOOKUP = Table(
    "the lookup of '{name}'",
    (
        Key("step", Kind.TEXT, "the earlier step whose ids to use", True, missing=_LOOKUP),
        Key("column", Kind.NAMES, "source column(s) naming the record", True, missing=_LOOKUP),
        Key("optional", Kind.FLAG, "leave an unresolved id out instead of failing", default=False),
    ),
    shape=_LOOKUP,
)

TABLES = (
    MANIFEST,
    TARGET,
    STEP,
    FILE_SOURCE,
    XLSX_SOURCE,
    SQL_SOURCE,
    ZOHO_SOURCE,
    FIELD,
    LOOKUP,
    NEW_FIELD,
)
