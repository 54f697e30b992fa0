"""What the declared keys cannot say: checks against the schema and between steps.

Each check raises a :class:`~zmigrate.errors.ManifestError` located through its
:class:`~zmigrate.manifest.validate.Scope` (file, TOML line, step, field).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from zmigrate.manifest.hints import did_you_mean, nearest
from zmigrate.manifest.model import (
    ARRAY_MARK,
    SHARED_LOOKUPS,
    FieldMap,
    Lookup,
    Operation,
    Step,
    TargetSpec,
)
from zmigrate.manifest.validate import Scope
from zmigrate.schema import (
    MULTI_SEPARATOR,
    NUMERIC,
    PULL_HINT,
    TEXTUAL,
    Field,
    FieldType,
    Module,
    OrgSchema,
)
from zmigrate.schema.finance import resource

_TRANSFORM_TYPES: dict[str, frozenset[str]] = {
    "date": TEXTUAL | {FieldType.DATE},
    "datetime": TEXTUAL | {FieldType.DATETIME},
    "decimal": TEXTUAL | NUMERIC,
    "integer": TEXTUAL | NUMERIC,
    "boolean": frozenset({FieldType.BOOLEAN}),
}
"""Field types each transform's output fits (``string`` fits any field written as text)."""


def unknown_hint(org: OrgSchema, name: str, pool: Iterable[str], what: str) -> str:
    """The hint for a module or field the schema lacks: the nearest name if one is close, and
    how to get the org's own schema (custom fields and modules are only in a snapshot)."""
    near = nearest(name, pool)
    first = f"did you mean '{near}'? " if near else ""
    if org.is_builtin:
        return f"{first}for the org's custom {what}s: {PULL_HINT}"
    return f"{first}if the org has it, pull its schema again: {PULL_HINT}"


def _writes(operation: Operation) -> tuple[bool, bool]:
    """(creates, updates): an upsert may do either."""
    return (
        operation in (Operation.INSERT, Operation.UPSERT),
        operation in (Operation.UPDATE, Operation.UPSERT),
    )


def check_module_writable(scope: Scope, target: TargetSpec, operation: Operation) -> None:
    """A module the org does not let the API create (or edit) records in is refused."""
    if target.is_file:
        return
    mod = _module(target)
    create, update = _writes(operation)
    if (create and not mod.creatable) or (update and not mod.editable):
        scope.fail(
            f"{target.text} does not take {operation}s through Zoho's API",
            "target",
            field="target",
            hint="the schema marks the module not creatable or not editable",
        )


def target_field(
    scope: Scope, target: TargetSpec, name: str, table: str, operation: Operation, org: OrgSchema
) -> Field | None:
    """The target's field ``name`` (None for a file target), refused if unknown or if the API
    cannot write it on ``operation`` (read-only, formula, autonumber)."""
    if target.is_file:
        if ARRAY_MARK in name:
            scope.fail("line items need a Books or Inventory target", table, name, field=name)
        return None
    mod = _module(target)
    fld = _field(mod, name)
    if fld is None:
        names = _field_names(mod)
        scope.fail(
            f"{target.product}:{mod.api_name} has no field '{name}'",
            table,
            name,
            field=name,
            hint=did_you_mean(name, names, "field")
            if ARRAY_MARK in name
            else unknown_hint(org, name, names, "field"),
        )
    create, update = _writes(operation)
    if not fld.writable(create=create, update=update):
        kind = fld.data_type if fld.data_type in (FieldType.FORMULA, FieldType.AUTONUMBER) else ""
        what = f"a {kind} field" if kind else "read-only"
        on = "" if fld.read_only or kind else f" on {operation}"
        scope.fail(
            f"'{name}' is {what} in {target.product}:{mod.api_name}{on}",
            table,
            name,
            field=name,
            hint="Zoho sets it; remove the mapping",
        )
    return fld


def check_transform(scope: Scope, fld: Field, transform: str | None, keys: tuple[str, ...]) -> None:
    """A transform whose output the field's type cannot hold is refused."""
    fits = _TRANSFORM_TYPES.get(transform or "")
    if fits is None or fld.data_type not in set(FieldType) or fld.data_type in fits:
        return
    scope.fail(
        f"transform '{transform}' gives a {transform} but {fld.api_name} is {fld.data_type}",
        *keys,
        field=fld.api_name,
        hint="pick the transform that matches the field's type",
    )


def field_value(scope: Scope, fld: Field, value: Any, keys: tuple[str, ...]) -> Any:
    """A constant (or value-map value, or default) checked against the field: its type, its
    length, its picklist values; display values become actual values. None passes."""
    if value is None:
        return None
    if fld.data_type == FieldType.MULTISELECT:
        return _multi_value(scope, fld, value, keys)
    if isinstance(value, bool | int | float):
        return _scalar_value(scope, fld, value, keys)
    if not isinstance(value, str):
        _bad_value(scope, fld, value, keys, "a text, a number or true/false")
    return _text_value(scope, fld, value, keys)


def _multi_value(scope: Scope, fld: Field, value: Any, keys: tuple[str, ...]) -> list[str]:
    """A multi-select's values: a list, or text separated by ';'; each one of the field's."""
    parts = value.split(MULTI_SEPARATOR) if isinstance(value, str) else value
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        _bad_value(scope, fld, value, keys, "a list of values, or values separated by ';'")
    return [_picklist(scope, fld, p.strip(), keys) for p in parts if p.strip()]


def _scalar_value(
    scope: Scope, fld: Field, value: bool | int | float, keys: tuple[str, ...]
) -> bool | int | float:
    """A TOML boolean or number: for a field of that kind, or a text field."""
    if isinstance(value, bool):
        if fld.data_type not in (FieldType.BOOLEAN, *TEXTUAL):
            _bad_value(scope, fld, value, keys, "true or false only for a boolean field")
    elif fld.data_type not in NUMERIC | TEXTUAL:
        _bad_value(scope, fld, value, keys, "a number only for a number or text field")
    return value


def _text_value(scope: Scope, fld: Field, value: str, keys: tuple[str, ...]) -> str:
    """Text: a number for a number field, true/false for a boolean, within the length, one of
    the picklist's values (its actual value)."""
    if fld.data_type in NUMERIC and not _is_number(value):
        _bad_value(scope, fld, value, keys, f"a number for a {fld.data_type} field")
    if fld.data_type == FieldType.BOOLEAN and value.lower() not in ("true", "false"):
        _bad_value(scope, fld, value, keys, "true or false")
    if fld.max_length is not None and len(value) > fld.max_length:
        scope.fail(
            f"'{value[:40]}' is {len(value)} characters, {fld.api_name} holds at most "
            f"{fld.max_length}",
            *keys,
            field=fld.api_name,
        )
    return _picklist(scope, fld, value, keys) if fld.data_type == FieldType.PICKLIST else value


def _is_number(text: str) -> bool:
    try:
        return Decimal(text.strip()).is_finite()
    except InvalidOperation:
        return False


def _picklist(scope: Scope, fld: Field, value: str, keys: tuple[str, ...]) -> str:
    """The actual value for ``value`` (actual or display); any value when the schema lists none."""
    if not fld.picklist:
        return value
    actual = fld.actual(value)
    if actual is None:
        scope.fail(
            f"'{value}' is not a value of {fld.api_name}",
            *keys,
            field=fld.api_name,
            hint=did_you_mean(value, (*fld.picklist, *fld.picklist_display), "value"),
        )
    return actual


def _bad_value(scope: Scope, fld: Field, value: Any, keys: tuple[str, ...], want: str) -> None:
    scope.fail(
        f"{value!r} does not fit {fld.api_name} ({fld.data_type})",
        *keys,
        field=fld.api_name,
        hint=f"give {want}",
    )


def check_mapped_once(
    scope: Scope, fields: tuple[FieldMap, ...], lookups: tuple[Lookup, ...]
) -> None:
    mapped = {f.target for f in fields}
    for lk in lookups:
        if lk.target in mapped:
            scope.fail(
                f"'{lk.target}' is both mapped and looked up",
                "lookups",
                lk.target,
                field=lk.target,
                hint="keep one of the two",
            )


def check_key(
    scope: Scope,
    key: tuple[str, ...],
    target: TargetSpec,
    fields: tuple[FieldMap, ...],
    operation: Operation,
    org: OrgSchema,
) -> None:
    """A Zoho target needs key fields, each a mapped, top-level field of the module."""
    if target.is_file:
        return
    check_ledger_key(scope, key, target)
    if not key:
        scope.fail(
            "missing 'key': the target fields that make a record unique",
            field="key",
            hint="e.g. key = ['Email'] for crm:Contacts",
        )
    mapped = {f.target for f in fields}
    for k in key:
        if ARRAY_MARK in k:
            scope.fail("a key cannot be a line-item field", "key", field=k)
        target_field(scope, target, k, "key", operation, org)
        if k not in mapped:
            scope.fail(
                f"key field '{k}' is not mapped",
                "key",
                field=k,
                hint=f"add {k} under [steps.fields]",
            )


def check_ledger_key(scope: Scope, key: tuple[str, ...], target: TargetSpec) -> None:
    """A Books module without a unique number (payments) is keyed by the field that carries
    the source key, and an Inventory document that packs, ships or moves stock by its number
    (``Resource.fixed``), so a record in flight can be looked up before it is sent again."""
    entry = resource(target.product, target.module or "")
    if entry is not None and entry.fixed:  # packs, ships or moves stock: keyed by its number
        wanted = entry.number or entry.display
        if key != (wanted,):
            scope.fail(
                f"{target.text} packs, ships or moves stock, so a record in flight must be "
                f"found again by its {wanted} before anything is sent again",
                "key",
                field="key",
                hint=f"add key = ['{wanted}'] and map {wanted} to the source's own number",
            )
        return
    if entry is None or not entry.keyed_by or (len(key) == 1 and key[0] in entry.keyed_by):
        return
    names = " or ".join(entry.keyed_by)
    scope.fail(
        f"{target.text} has no unique number, so a record in flight cannot be found again "
        f"unless its key is the field carrying the source key ({names})",
        "key",
        field="key",
        hint=f"add key = ['{entry.keyed_by[0]}'] and map {entry.keyed_by[0]} to the source's "
        f"own payment id under [steps.fields]",
    )


def default_source_key(
    scope: Scope, key: tuple[str, ...], target: TargetSpec, fields: tuple[FieldMap, ...]
) -> tuple[str, ...]:
    """Without ``source_key``: the columns mapped to the key fields."""
    by_target = {f.target: f.column for f in fields}
    source_key = tuple(c for k in key if (c := by_target.get(k)))
    if not source_key and not target.is_file:
        scope.fail(
            "cannot tell which source column identifies a row",
            "key",
            field="source_key",
            hint="map the key fields to columns or set source_key",
        )
    return source_key


def check_mandatory(
    scope: Scope,
    target: TargetSpec,
    operation: Operation,
    fields: tuple[FieldMap, ...],
    lookups: tuple[Lookup, ...],
) -> None:
    """An insert or upsert must fill every mandatory field of the target module."""
    if target.is_file or operation == Operation.UPDATE:
        return
    given = {f.target for f in fields} | {lk.target for lk in lookups}
    given |= {n.partition(ARRAY_MARK)[0] for n in given if ARRAY_MARK in n}
    for m in _module(target).mandatory:
        if m not in given:
            scope.fail(
                f"{target.text} needs '{m}' on {operation}",
                "fields",
                field=m,
                hint=f"map {m} under [steps.fields] or [steps.lookups]",
            )


def check_export_columns(scope: Scope, step: Step) -> None:
    """A Zoho export has the source module's fields as columns (and its record ``id``)."""
    mod = step.source.schema
    assert mod is not None
    for col in step.columns:
        if mod.field(col) is None:
            used = [f.target for f in step.fields if f.column == col]
            used += [lk.target for lk in step.lookups if col in lk.columns]
            where = ("fields", used[0]) if used else ("source_key",)
            scope.fail(
                f"{step.source.describe()} has no field '{col}'",
                *where,
                field=where[-1],
                hint=did_you_mean(col, mod.by_name, "field"),
            )


def check_lookups(top: Scope, steps: list[Step]) -> None:
    """Each lookup names an earlier-or-later other step of the right module and key width."""
    by_name = {s.name: s for s in steps}
    for s in steps:
        for lk in s.lookups:
            at = Scope(top.file, top.loc, step=s.name)
            other = by_name.get(lk.step)
            if other is None:
                hint = did_you_mean(lk.step, by_name, "step")
                at.fail(
                    f"lookup to unknown step '{lk.step}'", line=lk.line, field=lk.target, hint=hint
                )
            if other.name == s.name:
                at.fail("a step cannot look up its own ids", line=lk.line, field=lk.target)
            _check_lookup_module(at, s, lk, other)
            if len(lk.columns) != len(other.source_key):
                at.fail(
                    f"lookup gives {len(lk.columns)} column(s) but step '{other.name}' is "
                    f"keyed by {len(other.source_key)} ({', '.join(other.source_key)})",
                    line=lk.line,
                    field=lk.target,
                )


def check_cycles(top: Scope, steps: list[Step]) -> None:
    """Lookups between steps must not loop: each step runs after the steps it looks up."""
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
                Scope(top.file, top.loc, step=name).fail(
                    f"lookups form a cycle: {' -> '.join(cycle)}",
                    line=lk.line,
                    field=lk.target,
                    hint="a step can only look up ids of steps that run before it",
                )
            if state.get(d) != 2:
                visit(d, trail + [name])
        state[name] = 2

    for s in steps:
        if s.name not in state:
            visit(s.name, [])


def _check_lookup_module(at: Scope, step: Step, lk: Lookup, other: Step) -> None:
    mod = step.target.schema
    fld = _field(mod, lk.target) if mod else None
    product = step.target.product
    wants = [(str(product), m) for m in fld.targets] if fld else []
    got = (other.target.product, other.target.module)
    if not wants or any(got == w or SHARED_LOOKUPS.get(w) == got for w in wants):
        return
    names = " or ".join(f"{p}:{m}" for p, m in wants)
    at.fail(
        f"'{lk.target}' holds a {names} id but step '{other.name}' writes {other.target.text}",
        line=lk.line,
        field=lk.target,
        hint=f"look up a step whose target is {names}",
    )


def _module(target: TargetSpec) -> Module:
    mod = target.schema
    assert mod is not None  # the target was checked when it was read
    return mod


def _field(mod: Module, target: str) -> Field | None:
    if ARRAY_MARK in target:
        array, _, name = target.partition(ARRAY_MARK)
        items = mod.field(array)
        sub = {f.api_name: f for f in items.subfields} if items else {}
        return sub.get(name)
    return mod.field(target)


def _field_names(mod: Module) -> list[str]:
    names = [f.api_name for f in mod.fields]
    for array in mod.fields:
        names += [f"{array.api_name}{ARRAY_MARK}{f.api_name}" for f in array.subfields]
    return names
