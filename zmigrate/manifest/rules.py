"""What the declared keys cannot say: checks against the schema and between steps.

Each check raises a :class:`~zmigrate.errors.ManifestError` located through its
:class:`~zmigrate.manifest.validate.Scope` (file, TOML line, step, field).
"""

from __future__ import annotations

from zmigrate import schema
from zmigrate.manifest.hints import did_you_mean
from zmigrate.manifest.model import (
    LINE_ITEMS,
    SHARED_LOOKUPS,
    FieldMap,
    Lookup,
    Operation,
    Step,
    TargetSpec,
)
from zmigrate.manifest.validate import Scope


def target_field(scope: Scope, target: TargetSpec, name: str, table: str) -> schema.Field | None:
    """The target's field ``name`` (None for a file target), refused if unknown or read-only."""
    if target.is_file:
        if name.startswith(LINE_ITEMS):
            scope.fail("line items need a Books or Inventory target", table, name, field=name)
        return None
    mod = _module(target)
    fld = _field(mod, name)
    if fld is None:
        scope.fail(
            f"{target.product}:{mod.api_name} has no field '{name}'",
            table,
            name,
            field=name,
            hint=did_you_mean(name, _field_names(mod), "field"),
        )
    if fld.read_only:
        scope.fail(
            f"'{name}' is read-only in {target.product}:{mod.api_name}",
            table,
            name,
            field=name,
            hint="Zoho sets it; remove the mapping",
        )
    return fld


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
    scope: Scope, key: tuple[str, ...], target: TargetSpec, fields: tuple[FieldMap, ...]
) -> None:
    """A Zoho target needs key fields, each a mapped, top-level field of the module."""
    if target.is_file:
        return
    if not key:
        scope.fail(
            "missing 'key': the target fields that make a record unique",
            field="key",
            hint="e.g. key = ['Email'] for crm:Contacts",
        )
    mapped = {f.target for f in fields}
    for k in key:
        if k.startswith(LINE_ITEMS):
            scope.fail("a key cannot be a line-item field", "key", field=k)
        target_field(scope, target, k, "key")
        if k not in mapped:
            scope.fail(
                f"key field '{k}' is not mapped",
                "key",
                field=k,
                hint=f"add {k} under [steps.fields]",
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
    given |= {"line_items" for n in given if n.startswith(LINE_ITEMS)}
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
    mod = schema.module(step.source.product or "", step.source.module or "")
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
    mod = schema.module(step.target.product, step.target.module or "")
    fld = _field(mod, lk.target) if mod else None
    want = (step.target.product, fld.lookup) if fld and fld.lookup else None
    got = (other.target.product, other.target.module)
    if want is None or got == want or SHARED_LOOKUPS.get(want) == got:
        return
    at.fail(
        f"'{lk.target}' holds a {want[0]}:{want[1]} id but step '{other.name}' writes "
        f"{other.target.text}",
        line=lk.line,
        field=lk.target,
        hint=f"look up a step whose target is {want[0]}:{want[1]}",
    )


def _module(target: TargetSpec) -> schema.Module:
    mod = schema.module(target.product, target.module or "")
    assert mod is not None  # the target was checked when it was read
    return mod


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
