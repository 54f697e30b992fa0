"""The migration manifest: a TOML file in ``plans/`` turned into frozen, validated dataclasses.

Layout (every key is documented in the README, "Planning")::

    [target]                       # where the data goes; never a secret
    data_center = "com"            # else $ZOHO_DC, else "com"
    crm_edition = "enterprise"     # free, standard (starter), professional, enterprise, ultimate
    crm_users = 10
    books_plan = "standard"
    inventory_plan = "standard"
    organization_id = "..."        # optional; books_/inventory_organization_id override it;
                                   # absent: $ZOHO_ORGANIZATION_ID at run time

    [[steps]]
    name = "contacts"
    target = "crm:Contacts"        # crm:Module, books:module, inventory:module, file:out.csv
    operation = "upsert"           # insert, upsert, update
    key = ["Email"]                # target fields that make a record unique
    source_key = ["contact_ref"]   # optional: source columns naming a row (id cross-reference);
                                   # default: the columns mapped to the key fields
    method = "auto"                # auto, bulk, rest
    on_duplicate_key = "error"     # two records with one target key: error, dead-letter, merge
    source = { file = "data/contacts.csv", encoding = "utf-8", delimiter = "," }
    # or: source = { zoho = "crm:Accounts", records = 12000, fields = ["Account_Name"] }
    [steps.fields]                 # target field <- source column, constant or transform
    Last_Name = "last_name"
    Lead_Source = { const = "Import" }
    Date_of_Birth = { column = "dob", transform = "date", format = "%d/%m/%Y" }
    [steps.lookups]                # target field <- id an earlier step produced for a source key
    Account_Name = { step = "accounts", column = "account_ref" }

Fields and lookups named ``line_items[].<field>`` build Books/Inventory line items: consecutive
source rows with the same source key form one record, one line item per row (see mapping.py).

Every problem raises :class:`~zmigrate.errors.ManifestError` naming the file, the TOML line,
the step and the field, with the nearest valid name for a typo.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

from zmigrate import quotas, schema
from zmigrate.errors import ManifestError

OPERATIONS = ("insert", "upsert", "update")


class OnDuplicateKey(StrEnum):
    """What to do with a record whose target key (as Zoho compares it) an earlier record has."""

    ERROR = "error"  # plan and run refuse the source (exit 2), naming both lines
    DEAD_LETTER = "dead-letter"  # the first record is migrated, later ones are dead letters
    MERGE = "merge"  # all are sent; Zoho merges them into one record, reported as merged


METHODS = ("auto", "bulk", "rest")
PRODUCTS = ("crm", "books", "inventory")
TRANSFORMS = ("date", "datetime", "decimal", "integer", "boolean", "string")
LINE_ITEMS = "line_items[]."
SECRET_KEYS = {"client_id", "client_secret", "refresh_token", "access_token", "token", "password"}
# Books and Inventory of one organization share item ids (card, "Data Mapping") and contacts.
SHARED_LOOKUPS = {
    ("books", "items"): ("inventory", "items"),
    ("inventory", "items"): ("books", "items"),
    ("books", "contacts"): ("inventory", "contacts"),
    ("inventory", "contacts"): ("books", "contacts"),
}

_TARGET_KEYS = (
    "data_center",
    "crm_edition",
    "crm_users",
    "books_plan",
    "inventory_plan",
    "organization_id",
    "books_organization_id",
    "inventory_organization_id",
)
_STEP_KEYS = (
    "name",
    "source",
    "target",
    "operation",
    "key",
    "source_key",
    "method",
    "on_duplicate_key",
    "fields",
    "lookups",
)
_FILE_SOURCE_KEYS = ("file", "format", "encoding", "delimiter", "quotechar")
_ZOHO_SOURCE_KEYS = ("zoho", "records", "fields")
_FIELD_KEYS = ("column", "const", "transform", "format", "tz", "map", "default", "places")
_LOOKUP_KEYS = ("step", "column", "optional")


def nearest(name: str, choices: Iterable[str]) -> str | None:
    """The valid name closest to a typo, or None if nothing is close."""
    pool = list(choices)
    hit = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not hit:
        lowered = {c.lower(): c for c in pool}
        hit = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        hit = [lowered[hit[0]]] if hit else []
    return hit[0] if hit else None


def display_path(path: str | os.PathLike[str] | None) -> str:
    """A path relative to the working directory when it lies under it, else absolute."""
    if path is None:
        return ""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def did_you_mean(name: str, choices: Iterable[str], what: str = "") -> str:
    """A hint for ManifestError: the nearest valid name, else the list of valid ones."""
    pool = sorted(choices)
    near = nearest(name, pool)
    if near:
        return f"did you mean '{near}'?"
    shown = ", ".join(pool[:12]) + (", ..." if len(pool) > 12 else "")
    return f"expected {what + ' ' if what else ''}one of: {shown}"


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
        return self.books if product == "books" else self.inventory

    @property
    def crm_daily_credits(self) -> int | None:
        """Credits per rolling 24 h for this edition and user count (None: unlimited)."""
        return self.edition.daily_credits(self.crm_users)


@dataclass(frozen=True)
class SourceSpec:
    """Where a step's rows come from: a CSV/JSONL file, or a Zoho export made at run time.

    ``kind`` is ``csv``, ``jsonl`` or ``zoho``. Files: ``path`` is absolute (resolved against
    the manifest's folder). Zoho exports: ``product``/``module`` name what to export, ``fields``
    what to read (default: every column the step maps), ``records`` the size estimate the
    planner uses (the file does not exist before the run).
    """

    kind: str
    line: int
    path: Path | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    product: str | None = None
    module: str | None = None
    fields: tuple[str, ...] = ()
    records: int | None = None
    origin: str = ""  # the manifest naming this source, for errors about it

    @property
    def is_file(self) -> bool:
        return self.kind in ("csv", "jsonl")

    def describe(self) -> str:
        if self.is_file:
            return str(self.path)
        return f"{self.product}:{self.module}"


@dataclass(frozen=True)
class TargetSpec:
    """Where a step writes: a Zoho module (``product``, ``module``) or a file (``path``)."""

    product: str  # crm, books, inventory or file
    text: str  # as written: "crm:Accounts", "file:out/accounts.csv"
    module: str | None = None  # canonical API name ("Accounts", "invoices")
    path: Path | None = None

    @property
    def is_file(self) -> bool:
        return self.product == "file"


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
    transform: str | None = None
    format: str | None = None
    tz: str | None = None
    values: tuple[tuple[str, Any], ...] = ()
    default: Any = None
    places: int | None = None

    @property
    def line_item(self) -> bool:
        return self.target.startswith(LINE_ITEMS)

    @property
    def field_name(self) -> str:
        return self.target.removeprefix(LINE_ITEMS)


@dataclass(frozen=True)
class Lookup:
    """A target field set to the Zoho id that step ``step`` produced for a source key.

    The key is the value(s) of ``columns`` in this step's row, matched against the other
    step's source key. ``optional``: an unresolved key leaves the field out instead of failing.
    """

    target: str
    step: str
    columns: tuple[str, ...]
    line: int
    optional: bool = False

    @property
    def line_item(self) -> bool:
        return self.target.startswith(LINE_ITEMS)

    @property
    def field_name(self) -> str:
        return self.target.removeprefix(LINE_ITEMS)


@dataclass(frozen=True)
class Step:
    """One step: read a source, map each row, write it to a target with one operation."""

    name: str
    line: int
    source: SourceSpec
    target: TargetSpec
    operation: str  # insert, upsert, update; "write" for a file target
    key: tuple[str, ...]
    source_key: tuple[str, ...]
    fields: tuple[FieldMap, ...]
    lookups: tuple[Lookup, ...]
    method: str
    on_duplicate_key: OnDuplicateKey = OnDuplicateKey.ERROR

    @property
    def line_items(self) -> bool:
        """True when consecutive rows sharing a source key form one record's line items."""
        return any(f.line_item for f in self.fields) or any(lk.line_item for lk in self.lookups)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(lk.step for lk in self.lookups))

    @property
    def export_fields(self) -> tuple[str, ...]:
        """For a Zoho export: the source's ``fields``, else the mapped columns, else all fields."""
        if self.source.fields or self.columns:
            return self.source.fields or self.columns
        mod = schema.module(self.source.product or "", self.source.module or "")
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
    """A loaded, validated manifest. ``steps`` are in file order; ``ordered()`` by dependency."""

    path: Path
    target: Target
    steps: tuple[Step, ...]

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


class _Locator:
    """Finds the line of a TOML key, which tomllib does not report, by scanning the text."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, bool]] = []  # (line, name, is_array)
        for no, raw in enumerate(self.lines, 1):
            m = self._HEADER.match(raw)
            if m:
                name = m.group(1).replace('"', "").replace("'", "").replace(" ", "")
                self.headers.append((no, name, raw.strip().startswith("[[")))
        self.step_lines = [no for no, name, arr in self.headers if arr and name == "steps"]
        self.target_line = next((no for no, name, _ in self.headers if name == "target"), 1)

    def step_block(self, index: int) -> tuple[int, int]:
        start = self.step_lines[index] if index < len(self.step_lines) else 1
        after = [no for no, name, _ in self.headers if no > start and not name.startswith("steps.")]
        return start, (after[0] - 1 if after else len(self.lines))

    def table(self, start: int, end: int, name: str) -> tuple[int, int] | None:
        """Line span of ``[name]`` (with its sub-tables) between ``start`` and ``end``."""
        for i, (no, hname, _) in enumerate(self.headers):
            if start <= no <= end and hname == name:
                later = self.headers[i + 1 :]
                nxt = [n for n, h, _ in later if n <= end and not h.startswith(name + ".")]
                return no, (nxt[0] - 1 if nxt else end)
        return None

    def key(self, start: int, end: int, key: str) -> int | None:
        pat = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
        inline = re.compile(rf"[{{,]\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
        for no in range(start, min(end, len(self.lines)) + 1):
            if pat.match(self.lines[no - 1]):
                return no
        for no in range(start, min(end, len(self.lines)) + 1):
            if inline.search(self.lines[no - 1]):
                return no
        return None

    def step_key(self, index: int, *path: str) -> int:
        """Line of ``steps[index].path[0].path[1]...``: inline or in a ``[steps.x]`` table."""
        start, end = self.step_block(index)
        line = start
        for depth in range(len(path)):
            sub = self.table(start, end, "steps." + ".".join(path[: depth + 1]))
            if sub and depth + 1 < len(path):
                start, end = sub
                line = sub[0]
                continue
            found = self.key(start, end, path[depth])
            if found is None:
                return sub[0] if sub else line
            line = found
            start = found
        return line


class _Loader:
    """Validates the parsed TOML section by section, with the locator for line numbers."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path.resolve()
        self.file = str(path)
        self.loc = _Locator(text)
        self.text = text

    def fail(
        self, msg: str, *, line: int | None = None, step: str | None = None, **kw: Any
    ) -> NoReturn:
        raise ManifestError(msg, file=self.file, line=line, step=step, **kw)

    def unknown(
        self,
        table: Mapping[str, Any],
        allowed: Iterable[str],
        line_of: Callable[[str], int],
        what: str,
        step: str | None = None,
    ) -> None:
        allowed = tuple(allowed)
        for k in table:
            if k not in allowed:
                hint = did_you_mean(k, allowed, "key")
                if k.lower() in SECRET_KEYS:
                    hint = "secrets never go in a manifest: set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET"
                    hint += " and ZOHO_REFRESH_TOKEN in the environment"
                self.fail(
                    f"unknown key '{k}' in {what}", line=line_of(k), step=step, field=k, hint=hint
                )

    def load(self) -> Manifest:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            self.fail(f"not valid TOML: {exc}", line=int(m.group(1)) if m else None)
        self.unknown(
            data,
            ("target", "steps"),
            lambda k: self.loc.key(1, 10**9, k) or 1,
            "the manifest (top level)",
        )
        target = self.target(data.get("target", {}))
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.fail("no [[steps]]: a manifest needs at least one step", line=1)
        steps: list[Step] = []
        for i, raw in enumerate(raw_steps):
            steps.append(self.step(i, raw, [s.name for s in steps]))
        self.check_lookups(steps)
        self.check_cycles(steps)
        return Manifest(self.path, target, tuple(steps))

    # -- [target] -------------------------------------------------------------------------
    def target(self, raw: Any) -> Target:
        t0 = self.loc.target_line
        span = self.loc.table(1, len(self.loc.lines), "target") or (1, len(self.loc.lines))

        def line_of(k: str) -> int:
            return self.loc.key(span[0], span[1], k) or t0

        if not isinstance(raw, dict):
            self.fail("[target] must be a table", line=t0)
        self.unknown(raw, _TARGET_KEYS, line_of, "[target]")

        def choice(key: str, default: str, table: Mapping[str, Any], canon=None) -> str:
            value = str(raw.get(key, default)).strip()
            name = canon(value) if canon else value.lower()
            if name not in table:
                self.fail(
                    f"unknown {key.replace('_', ' ')} '{value}'",
                    line=line_of(key),
                    field=key,
                    hint=did_you_mean(value.lower(), table),
                )
            return name

        def edition(value: str) -> str:
            key = value.lower().replace(" ", "_").replace("-", "_")
            return quotas.CRM_EDITION_ALIASES.get(key, key)

        dc = choice("data_center", os.environ.get("ZOHO_DC", "com"), quotas.DATA_CENTERS)
        crm = choice("crm_edition", "enterprise", quotas.CRM_EDITIONS, edition)
        users = raw.get("crm_users", 1)
        if not isinstance(users, int) or isinstance(users, bool) or users < 1:
            self.fail(
                f"crm_users must be a whole number >= 1, got {users!r}",
                line=line_of("crm_users"),
                field="crm_users",
            )
        books = choice("books_plan", "standard", quotas.BOOKS_PLANS)
        inventory = choice("inventory_plan", "standard", quotas.INVENTORY_PLANS)
        org = raw.get("organization_id")
        ids = []
        for key in ("books_organization_id", "inventory_organization_id"):
            value = raw.get(key, org)
            if value is not None and not str(value).strip().isdigit():
                self.fail(
                    f"{key} must be the organization's numeric id, got {value!r}",
                    line=line_of(key if key in raw else "organization_id"),
                    field=key,
                )
            ids.append(None if value is None else str(value).strip())
        return Target(dc, crm, users, books, inventory, ids[0], ids[1], t0)

    # -- [[steps]] ------------------------------------------------------------------------
    def step(self, i: int, raw: Any, earlier: list[str]) -> Step:
        start, _ = self.loc.step_block(i)
        if not isinstance(raw, dict):
            self.fail("each [[steps]] entry must be a table", line=start)
        name = raw.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
            self.fail(
                f"a step needs a name of letters, digits, '_', '-' or '.', got {name!r}",
                line=self.loc.step_key(i, "name"),
                field="name",
            )
        if name in earlier:
            self.fail(
                f"two steps are named '{name}'",
                line=self.loc.step_key(i, "name"),
                step=name,
                field="name",
                hint="step names must be unique",
            )
        ctx = _StepCtx(self, i, name)
        self.unknown(raw, _STEP_KEYS, lambda k: self.loc.step_key(i, k), "[[steps]]", name)
        for required in ("source", "target"):
            if required not in raw:
                ctx.fail(f"missing '{required}'", line=start, field=required)
        target = ctx.target_spec(raw["target"])
        source = ctx.source_spec(raw["source"])
        operation = str(raw.get("operation", "upsert")).lower()
        if target.is_file:
            if "operation" in raw:
                ctx.fail(
                    "a file target takes no operation",
                    ("operation",),
                    field="operation",
                    hint="remove it: records are written to the file",
                )
            operation = "write"
        elif operation not in OPERATIONS:
            ctx.fail(
                f"unknown operation '{operation}'",
                ("operation",),
                field="operation",
                hint=did_you_mean(operation, OPERATIONS, "operation"),
            )
        method = str(raw.get("method", "auto")).lower()
        if method not in METHODS:
            ctx.fail(
                f"unknown method '{method}'",
                ("method",),
                field="method",
                hint=did_you_mean(method, METHODS, "method"),
            )
        if method == "bulk" and not _bulk_possible(source, target):
            ctx.fail(
                "method 'bulk' needs a CRM source or target: Books and Inventory have no bulk API",
                ("method",),
                field="method",
                hint="use method = 'rest' or 'auto'",
            )
        on_duplicate = ctx.on_duplicate_key(raw, target)
        fields = ctx.fields(raw.get("fields", {}), target)
        lookups = ctx.lookups(raw.get("lookups", {}), target)
        mapped = {f.target for f in fields}
        for lk in lookups:
            if lk.target in mapped:
                ctx.fail(
                    f"'{lk.target}' is both mapped and looked up",
                    ("lookups", lk.target),
                    field=lk.target,
                    hint="keep one of the two",
                )
        key = ctx.names(raw.get("key", ()), "key")
        ctx.check_key(key, target, operation, fields)
        source_key = ctx.names(raw.get("source_key", ()), "source_key")
        if not source_key:
            by_target = {f.target: f.column for f in fields}
            source_key = tuple(by_target[k] for k in key if by_target.get(k))
        if not source_key and not target.is_file:
            ctx.fail(
                "cannot tell which source column identifies a row",
                ("key",),
                field="source_key",
                hint="map the key fields to columns or set source_key",
            )
        ctx.check_mandatory(target, operation, fields, lookups)
        step = Step(
            name,
            start,
            source,
            target,
            operation,
            key,
            source_key,
            fields,
            lookups,
            method,
            on_duplicate,
        )
        if source.kind == "zoho":
            ctx.check_export_columns(step)
        return step

    def check_lookups(self, steps: list[Step]) -> None:
        by_name = {s.name: s for s in steps}
        for s in steps:
            for lk in s.lookups:
                other = by_name.get(lk.step)
                if other is None:
                    raise ManifestError(
                        f"lookup to unknown step '{lk.step}'",
                        file=self.file,
                        line=lk.line,
                        step=s.name,
                        field=lk.target,
                        hint=did_you_mean(lk.step, by_name, "step"),
                    )
                if other.name == s.name:
                    raise ManifestError(
                        "a step cannot look up its own ids",
                        file=self.file,
                        line=lk.line,
                        step=s.name,
                        field=lk.target,
                    )
                _check_lookup_module(self.file, s, lk, other)
                if len(lk.columns) != len(other.source_key):
                    raise ManifestError(
                        f"lookup gives {len(lk.columns)} column(s) but step '{other.name}' is "
                        f"keyed by {len(other.source_key)} ({', '.join(other.source_key)})",
                        file=self.file,
                        line=lk.line,
                        step=s.name,
                        field=lk.target,
                    )

    def check_cycles(self, steps: list[Step]) -> None:
        deps = {s.name: s.depends_on for s in steps}
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, trail: list[str]) -> None:
            state[name] = 1
            for d in deps[name]:
                if state.get(d) == 1:
                    cycle = trail[trail.index(d) :] + [name, d] if d in trail else [name, d]
                    cycle = list(dict.fromkeys(cycle[:-1])) + [d]
                    step = next(s for s in steps if s.name == name)
                    lk = next(lk for lk in step.lookups if lk.step == d)
                    raise ManifestError(
                        f"lookups form a cycle: {' -> '.join(cycle)}",
                        file=self.file,
                        line=lk.line,
                        step=name,
                        field=lk.target,
                        hint="a step can only look up ids of steps that run before it",
                    )
                if state.get(d) != 2:
                    visit(d, trail + [name])
            state[name] = 2

        for s in steps:
            if s.name not in state:
                visit(s.name, [])


def _bulk_possible(source: SourceSpec, target: TargetSpec) -> bool:
    return target.product == "crm" or source.product == "crm"


def _check_lookup_module(file: str, step: Step, lk: Lookup, other: Step) -> None:
    mod = schema.module(step.target.product, step.target.module or "")
    fld = _field(mod, lk.target) if mod else None
    want = (step.target.product, fld.lookup) if fld and fld.lookup else None
    got = (other.target.product, other.target.module)
    if want is None or got == want or SHARED_LOOKUPS.get(want) == got:
        return
    raise ManifestError(
        f"'{lk.target}' holds a {want[0]}:{want[1]} id but step '{other.name}' writes "
        f"{other.target.text}",
        file=file,
        line=lk.line,
        step=step.name,
        field=lk.target,
        hint=f"look up a step whose target is {want[0]}:{want[1]}",
    )


def _field(mod: schema.Module, target: str) -> schema.Field | None:
    if target.startswith(LINE_ITEMS):
        items = mod.field("line_items")
        sub = {f.api_name: f for f in items.subfields} if items else {}
        return sub.get(target.removeprefix(LINE_ITEMS))
    return mod.field(target)


def _field_names(mod: schema.Module) -> list[str]:
    names = [f.api_name for f in mod.fields]
    items = mod.field("line_items")
    if items:
        names += [LINE_ITEMS + f.api_name for f in items.subfields]
    return names


class _StepCtx:
    """Validation helpers bound to one step (its index, name and the loader)."""

    def __init__(self, loader: _Loader, index: int, name: str) -> None:
        self.loader, self.index, self.name = loader, index, name

    def line(self, *path: str) -> int:
        return self.loader.loc.step_key(self.index, *path)

    def fail(
        self,
        msg: str,
        path: tuple[str, ...] = (),
        *,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> NoReturn:
        raise ManifestError(
            msg,
            file=self.loader.file,
            line=line or self.line(*path),
            step=self.name,
            field=field,
            hint=hint,
        )

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            self.fail(f"'{key}' must be a name or a list of names", (key,), field=key)
        return tuple(value)

    def on_duplicate_key(self, raw: Mapping[str, Any], target: TargetSpec) -> OnDuplicateKey:
        if "on_duplicate_key" not in raw:
            return OnDuplicateKey.ERROR
        value = str(raw["on_duplicate_key"]).strip().lower()
        choices = [p.value for p in OnDuplicateKey]
        if target.is_file:
            self.fail(
                "a file target takes no on_duplicate_key",
                ("on_duplicate_key",),
                field="on_duplicate_key",
                hint="remove it: every row is written to the file",
            )
        if value not in choices:
            self.fail(
                f"unknown on_duplicate_key '{value}'",
                ("on_duplicate_key",),
                field="on_duplicate_key",
                hint=did_you_mean(value, choices, "value"),
            )
        return OnDuplicateKey(value)

    def target_spec(self, raw: Any) -> TargetSpec:
        if not isinstance(raw, str) or ":" not in raw:
            self.fail(
                f"target must look like 'crm:Accounts', 'books:invoices', "
                f"'inventory:items' or 'file:out.csv', got {raw!r}",
                ("target",),
                field="target",
            )
        product, _, rest = raw.partition(":")
        product = product.strip().lower()
        if product == "file":
            path = (self.loader.path.parent / rest.strip()).resolve()
            return TargetSpec("file", raw, path=path)
        if product not in PRODUCTS:
            self.fail(
                f"unknown product '{product}' in target",
                ("target",),
                field="target",
                hint=did_you_mean(product, PRODUCTS + ("file",), "product"),
            )
        mod = schema.module(product, rest.strip())
        if mod is None:
            self.fail(
                f"unknown {product} module '{rest.strip()}'",
                ("target",),
                field="target",
                hint=did_you_mean(rest.strip(), schema.PRODUCTS[product], "module"),
            )
        return TargetSpec(product, raw, module=mod.api_name)

    def source_spec(self, raw: Any) -> SourceSpec:
        if isinstance(raw, str):
            raw = {"file": raw}
        if not isinstance(raw, dict):
            self.fail(
                "source must be a table: { file = ... } or { zoho = ... }",
                ("source",),
                field="source",
            )
        line = self.line("source")
        if "zoho" in raw:
            self.loader.unknown(
                raw, _ZOHO_SOURCE_KEYS, lambda k: self.line("source", k), "source", self.name
            )
            product, _, module = str(raw["zoho"]).partition(":")
            product = product.strip().lower()
            if product not in PRODUCTS:
                self.fail(
                    f"unknown product '{product}' in source",
                    ("source", "zoho"),
                    field="zoho",
                    hint=did_you_mean(product, PRODUCTS, "product"),
                )
            mod = schema.module(product, module.strip())
            if mod is None:
                self.fail(
                    f"unknown {product} module '{module.strip()}' in source",
                    ("source", "zoho"),
                    field="zoho",
                    hint=did_you_mean(module.strip(), schema.PRODUCTS[product], "module"),
                )
            records = raw.get("records")
            if records is not None and (not isinstance(records, int) or records < 0):
                self.fail(
                    f"records must be a whole number >= 0, got {records!r}",
                    ("source", "records"),
                    field="records",
                )
            fields = self.names(raw.get("fields", ()), "fields")
            for f in fields:
                if mod.field(f) is None:
                    self.fail(
                        f"{mod.api_name} has no field '{f}'",
                        ("source", "fields"),
                        field=f,
                        hint=did_you_mean(f, mod.by_name, "field"),
                    )
            return SourceSpec(
                "zoho",
                line,
                product=product,
                module=mod.api_name,
                fields=fields,
                records=records,
                origin=self.loader.file,
            )
        self.loader.unknown(
            raw, _FILE_SOURCE_KEYS, lambda k: self.line("source", k), "source", self.name
        )
        if "file" not in raw:
            self.fail(
                "source needs 'file' (a CSV or JSONL path) or 'zoho' (e.g. 'crm:Accounts')",
                ("source",),
                field="source",
            )
        path = (self.loader.path.parent / str(raw["file"])).resolve()
        fmt = str(raw.get("format", "jsonl" if path.suffix.lower() == ".jsonl" else "csv"))
        if fmt not in ("csv", "jsonl"):
            self.fail(
                f"unknown source format '{fmt}'",
                ("source", "format"),
                field="format",
                hint=did_you_mean(fmt, ("csv", "jsonl"), "format"),
            )
        encoding = str(raw.get("encoding", "utf-8"))
        try:
            "".encode(encoding)
        except LookupError:
            self.fail(
                f"unknown encoding '{encoding}'",
                ("source", "encoding"),
                field="encoding",
                hint="e.g. utf-8, utf-8-sig, latin-1, cp1252",
            )
        delimiter = str(raw.get("delimiter", ","))
        quotechar = str(raw.get("quotechar", '"'))
        for key, value in (("delimiter", delimiter), ("quotechar", quotechar)):
            if len(value) != 1:
                self.fail(f"{key} must be one character, got {value!r}", ("source", key), field=key)
        return SourceSpec(
            fmt,
            line,
            path=path,
            encoding=encoding,
            delimiter=delimiter,
            quotechar=quotechar,
            origin=self.loader.file,
        )

    def _target_field(self, target: TargetSpec, name: str, table: str) -> schema.Field | None:
        if target.is_file:
            if name.startswith(LINE_ITEMS):
                self.fail("line items need a Books or Inventory target", (table, name), field=name)
            return None
        mod = schema.module(target.product, target.module or "")
        assert mod is not None
        fld = _field(mod, name)
        if fld is None:
            self.fail(
                f"{target.product}:{mod.api_name} has no field '{name}'",
                (table, name),
                field=name,
                hint=did_you_mean(name, _field_names(mod), "field"),
            )
        if fld.read_only:
            self.fail(
                f"'{name}' is read-only in {target.product}:{mod.api_name}",
                (table, name),
                field=name,
                hint="Zoho sets it; remove the mapping",
            )
        return fld

    def fields(self, raw: Any, target: TargetSpec) -> tuple[FieldMap, ...]:
        if not isinstance(raw, dict):
            self.fail(
                "'fields' must be a table of target field = source", ("fields",), field="fields"
            )
        out = []
        for name, spec in raw.items():
            fld = self._target_field(target, name, "fields")
            line = self.line("fields", name)
            if isinstance(spec, str):
                out.append(FieldMap(name, line, column=spec))
                continue
            if not isinstance(spec, dict):
                out.append(FieldMap(name, line, const=spec))
                continue
            self.loader.unknown(
                spec,
                _FIELD_KEYS,
                lambda k, n=name: self.line("fields", n, k),
                f"the mapping of '{name}'",
                self.name,
            )
            if ("column" in spec) == ("const" in spec):
                self.fail("give either 'column' or 'const'", ("fields", name), field=name)
            transform = spec.get("transform")
            if transform is not None and transform not in TRANSFORMS:
                self.fail(
                    f"unknown transform '{transform}'",
                    ("fields", name, "transform"),
                    field=name,
                    hint=did_you_mean(str(transform), TRANSFORMS, "transform"),
                )
            values = spec.get("map", {})
            if not isinstance(values, dict):
                self.fail(
                    "'map' must be a table of source value = target value",
                    ("fields", name, "map"),
                    field=name,
                )
            if fld is not None and fld.picklist:
                for v in list(values.values()) + ([spec["default"]] if "default" in spec else []):
                    if v not in fld.picklist:
                        self.fail(
                            f"'{v}' is not a value of {name}",
                            ("fields", name, "map"),
                            field=name,
                            hint=did_you_mean(str(v), fld.picklist, "value"),
                        )
            places = spec.get("places")
            if places is not None and (not isinstance(places, int) or not 0 <= places <= 10):
                self.fail(
                    "'places' must be a whole number from 0 to 10",
                    ("fields", name, "places"),
                    field=name,
                )
            tz = spec.get("tz")
            if tz is not None and not re.fullmatch(r"[+-]\d\d:\d\d", str(tz)):
                self.fail(
                    f"tz must look like '+05:30', got {tz!r}", ("fields", name, "tz"), field=name
                )
            out.append(
                FieldMap(
                    name,
                    line,
                    column=spec.get("column"),
                    const=spec.get("const"),
                    transform=transform,
                    format=spec.get("format"),
                    tz=tz,
                    values=tuple((str(k), v) for k, v in values.items()),
                    default=spec.get("default"),
                    places=places,
                )
            )
        return tuple(out)

    def lookups(self, raw: Any, target: TargetSpec) -> tuple[Lookup, ...]:
        if not isinstance(raw, dict):
            self.fail("'lookups' must be a table", ("lookups",), field="lookups")
        out = []
        for name, spec in raw.items():
            fld = self._target_field(target, name, "lookups")
            line = self.line("lookups", name)
            if not isinstance(spec, dict) or "step" not in spec or "column" not in spec:
                self.fail(
                    'a lookup is { step = "accounts", column = "account_ref" }',
                    ("lookups", name),
                    field=name,
                )
            self.loader.unknown(
                spec,
                _LOOKUP_KEYS,
                lambda k, n=name: self.line("lookups", n, k),
                f"the lookup of '{name}'",
                self.name,
            )
            if fld is not None and fld.data_type != "lookup":
                self.fail(
                    f"'{name}' is not a lookup field (it is {fld.data_type})",
                    ("lookups", name),
                    field=name,
                    hint="map it under [steps.fields] instead",
                )
            cols = self.names(spec["column"], "column")
            out.append(Lookup(name, str(spec["step"]), cols, line, bool(spec.get("optional"))))
        return tuple(out)

    def check_key(
        self, key: tuple[str, ...], target: TargetSpec, operation: str, fields: tuple[FieldMap, ...]
    ) -> None:
        if target.is_file:
            return
        if not key:
            self.fail(
                "missing 'key': the target fields that make a record unique",
                line=None,
                field="key",
                hint="e.g. key = ['Email'] for crm:Contacts",
            )
        mapped = {f.target for f in fields}
        for k in key:
            if k.startswith(LINE_ITEMS):
                self.fail("a key cannot be a line-item field", ("key",), field=k)
            self._target_field(target, k, "key")
            if k not in mapped:
                self.fail(
                    f"key field '{k}' is not mapped",
                    ("key",),
                    field=k,
                    hint=f"add {k} under [steps.fields]",
                )

    def check_export_columns(self, step: Step) -> None:
        """A Zoho export has the source module's fields as columns (and its record ``id``)."""
        mod = schema.module(step.source.product or "", step.source.module or "")
        assert mod is not None
        for col in step.columns:
            if mod.field(col) is None:
                used = [f.target for f in step.fields if f.column == col]
                used += [lk.target for lk in step.lookups if col in lk.columns]
                self.fail(
                    f"{step.source.describe()} has no field '{col}'",
                    ("fields", used[0]) if used else ("source_key",),
                    field=used[0] if used else "source_key",
                    hint=did_you_mean(col, mod.by_name, "field"),
                )

    def check_mandatory(
        self,
        target: TargetSpec,
        operation: str,
        fields: tuple[FieldMap, ...],
        lookups: tuple[Lookup, ...],
    ) -> None:
        if target.is_file or operation == "update":
            return
        mod = schema.module(target.product, target.module or "")
        assert mod is not None
        given = {f.target for f in fields} | {lk.target for lk in lookups}
        given |= {"line_items" for n in given if n.startswith(LINE_ITEMS)}
        for m in mod.mandatory:
            if m not in given:
                self.fail(
                    f"{target.text} needs '{m}' on {operation}",
                    ("fields",),
                    field=m,
                    hint=f"map {m} under [steps.fields] or [steps.lookups]",
                )


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and validate a manifest; ManifestError (file, line, step, field, hint) if wrong."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ManifestError(
            f"cannot read the manifest: {exc.strerror}", file=str(p), hint="check the path"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ManifestError(
            "the manifest is not UTF-8", file=str(p), line=line, hint="TOML files are UTF-8"
        ) from None
    return _Loader(p, text).load()
