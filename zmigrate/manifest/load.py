"""Reading a manifest: TOML text -> checked values (:mod:`.validate`) -> model objects.

The declared keys are checked first; then what only the org's schema can tell (modules,
fields, types, lengths, picklist values, lookups between steps) is checked by :mod:`.rules`
against the snapshot ``[target] schema`` names (else the built-in default), every error
located the same way.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from zmigrate.errors import ManifestError
from zmigrate.manifest import keys, new_fields, owners, related, rules, source_kinds
from zmigrate.manifest.hints import did_you_mean
from zmigrate.manifest.locate import Locator
from zmigrate.manifest.model import (
    PRODUCTS,
    FieldMap,
    Lookup,
    Manifest,
    Method,
    OnDuplicateKey,
    Operation,
    Product,
    SourceKind,
    SourceSpec,
    Step,
    Target,
    TargetSpec,
    Transform,
)
from zmigrate.manifest.validate import Scope, check, check_key
from zmigrate.schema import FieldType, Module, OrgSchema, builtin, load_snapshot
from zmigrate.schema.related import ATTACHMENTS


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
    return parse(p, text)


def parse(path: Path, text: str) -> Manifest:
    """The manifest in ``text``, read from ``path`` (relative paths resolve against its folder)."""
    top = Scope(str(path), Locator(text))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        top.fail(f"not valid TOML: {exc}", line=int(m.group(1)) if m else None)
    values = check(keys.MANIFEST, data, top)
    folder = path.resolve().parent
    target = _target(values["target"], top.loc.target_line, folder)
    org = _schema(top.at("target"), target.schema_file)
    if target.spread_shared and target.books_organization_id != target.inventory_organization_id:
        top.at("target").fail(
            "spread_shared needs Books and Inventory in one integrated organization, but "
            "books_organization_id and inventory_organization_id differ",
            "spread_shared",
            field="spread_shared",
            hint="give one organization_id, or leave spread_shared off",
        )
    owners.default_owner(top.at("target"), target.default_owner, org)
    steps: list[Step] = []
    for i, raw in enumerate(values["steps"]):
        steps.append(_step(top.at(i), raw, [s.name for s in steps], folder, org, target))
        org = new_fields.org_with(org, steps[-1])
    rules.check_lookups(top, steps)
    rules.check_cycles(top, steps)
    return Manifest(path.resolve(), target, tuple(_se_modules(steps)), org)


def _se_modules(steps: list[Step]) -> list[Step]:
    """Each multi-module lookup (``What_Id``, an event's ``Participants``) learns the module
    of the step it looks up."""
    modules = {s.name: s.target.module for s in steps}
    out = []
    for s in steps:
        mod = s.target.schema
        lookups = tuple(
            replace(lk, se_module=modules[lk.step])
            if mod
            and (f := mod.field(lk.target)) is not None
            and (f.takes_se_module or f.data_type == FieldType.PARTICIPANTS)
            else lk
            for lk in s.lookups
        )
        out.append(replace(s, lookups=lookups) if lookups != s.lookups else s)
    return out


def _schema(scope: Scope, file: Path | None) -> OrgSchema:
    """The org's schema: the snapshot ``[target] schema`` names, else the built-in default."""
    if file is None:
        return builtin()
    if not file.is_file():
        scope.fail(
            f"no schema snapshot at {file}",
            "schema",
            field="schema",
            hint=f"make one with: zmigrate schema pull --out {file.name}",
        )
    return load_snapshot(file)


def _target(v: dict[str, Any], line: int, folder: Path) -> Target:
    org = v.get("organization_id")
    return Target(
        v["data_center"],
        v["crm_edition"],
        v["crm_users"],
        v["books_plan"],
        v["inventory_plan"],
        v.get("books_organization_id", org),
        v.get("inventory_organization_id", org),
        line,
        (folder / v["schema"]).resolve() if "schema" in v else None,
        v.get("default_owner"),
        bool(v.get("spread_shared", False)),
    )


def _step(
    scope: Scope, raw: Any, earlier: list[str], folder: Path, org: OrgSchema, t: Target
) -> Step:
    """One ``[[steps]]`` entry: its declared keys, then what the schema says about them."""
    if not isinstance(raw, dict):
        scope.fail(keys.STEP.shape)
    name = check_key(keys.STEP["name"], raw, scope)
    scope = replace(scope, step=name)
    if name in earlier:
        scope.fail(
            f"two steps are named '{name}'", "name", field="name", hint="step names must be unique"
        )
    v = check(keys.STEP, raw, scope)
    target = _target_spec(scope, v["target"], folder, org)
    created = new_fields.read(scope, v["create_fields"], target)
    if created and target.schema is not None:
        target = replace(target, schema=new_fields.with_fields(target.schema, created))
    source = _source_spec(scope.at("source"), v["source"], folder, org)
    operation = _operation(scope, Operation(v["operation"]), target, raw)
    if related.keyless(target, v["key"]):
        operation = related.operation(scope, raw, target)
    rules.check_module_writable(scope, target, operation)
    method = Method(v["method"])
    if method == Method.BULK and Product.CRM not in (target.product, source.product):
        scope.fail(
            "method 'bulk' needs a CRM source or target: Books and Inventory have no bulk API",
            "method",
            field="method",
            hint="use method = 'rest' or 'auto'",
        )
    fields = tuple(
        _field_map(scope, name, spec, target, operation, org) for name, spec in v["fields"].items()
    )
    lookups = tuple(
        _lookup(scope, name, spec, target, operation, org) for name, spec in v["lookups"].items()
    )
    rules.check_mapped_once(scope, fields, lookups)
    related.check_participants(scope, v, target, lookups)
    if related.keyless(target, v["key"]):
        source_key = related.check_step(scope, v, target)
    else:
        rules.check_key(scope, v["key"], target, fields, operation, org)
        source_key = v["source_key"] or rules.default_source_key(scope, v["key"], target, fields)
    if source.kind is SourceKind.SQL:
        source_kinds.check_order(scope.at("source"), source.query, source_key)
    rules.check_mandatory(scope, target, operation, fields, lookups)
    step = Step(
        name,
        scope.line(),
        source,
        target,
        operation,
        v["key"],
        source_key,
        fields,
        lookups,
        method,
        OnDuplicateKey(v["on_duplicate_key"]),
        owners.step_owners(scope, v, fields, org, t.default_owner),
        created,
        _before_images(scope, v["keep_before_images"], operation, v["key"]),
    )
    if source.kind == SourceKind.ZOHO:
        rules.check_export_columns(scope, step)
    return step


def _before_images(scope: Scope, keep: bool, operation: Operation, key: tuple[str, ...]) -> bool:
    """``keep_before_images``: only an update or upsert changes records that were there, and
    they are found by the step's key before the write."""
    if keep and operation not in (Operation.UPDATE, Operation.UPSERT):
        scope.fail(
            f"keep_before_images is for a step that updates records; this one is an {operation}",
            "keep_before_images",
            field="keep_before_images",
            hint="remove it: an insert changes no existing record",
        )
    if keep and not key:
        scope.fail(
            "keep_before_images needs the step's key to find each record before it is written",
            "keep_before_images",
            field="keep_before_images",
            hint="add key = [...]",
        )
    return bool(keep)


def _operation(scope: Scope, operation: Operation, target: TargetSpec, raw: Any) -> Operation:
    """The step's operation: ``write`` for a file target, which takes no Zoho-only key."""
    if not target.is_file:
        return operation
    for key in keys.STEP.keys:
        if key.not_for_files and key.name in raw:
            scope.fail(
                f"a file target takes no {key.name}",
                key.name,
                field=key.name,
                hint=key.not_for_files,
            )
    return Operation.WRITE


def _product_module(
    scope: Scope, text: str, where: str, key: str, org: OrgSchema
) -> tuple[Product, Module]:
    """``crm:Accounts`` -> (crm, "Accounts"), with the product and module checked."""
    product, _, rest = text.partition(":")
    product, rest = product.strip().lower(), rest.strip()
    if product not in PRODUCTS:
        pool = PRODUCTS + ((Product.FILE,) if key == "target" else ())
        scope.fail(
            f"unknown product '{product}' in {where}",
            key,
            field=key,
            hint=did_you_mean(product, pool, "product"),
        )
    mod = org.module(product, rest)
    if mod is None:
        scope.fail(
            f"unknown {product} module '{rest}'{'' if key == 'target' else ' in ' + where}",
            key,
            field=key,
            hint=rules.unknown_hint(org, rest, org.modules(product), "module"),
        )
    if not mod.api_supported:
        scope.fail(
            f"{product}:{mod.api_name} is not available through Zoho's API",
            key,
            field=key,
            hint=f"{org.origin} marks it api_supported: false",
        )
    return Product(product), mod


def _target_spec(scope: Scope, text: str, folder: Path, org: OrgSchema) -> TargetSpec:
    prefix, _, rest = text.partition(":")
    if prefix.strip().lower() == Product.FILE:
        return TargetSpec(Product.FILE, text, path=(folder / rest.strip()).resolve())
    if prefix.strip().lower() == Product.CRM and rest.strip().lower() == "attachments":
        return TargetSpec(Product.CRM, text, "Attachments", schema=ATTACHMENTS, folder=folder)
    product, mod = _product_module(scope, text, "target", "target", org)
    return TargetSpec(product, text, module=mod.api_name, schema=mod, folder=folder)


def _source_spec(scope: Scope, raw: Any, folder: Path, org: OrgSchema) -> SourceSpec:
    """A file source (a bare path is short for ``{ file = path }``), a workbook sheet, a SQL
    query or a Zoho export."""
    raw = {"file": raw} if isinstance(raw, str) else raw
    if isinstance(raw, dict) and "xlsx" in raw:
        return source_kinds.xlsx_source(scope, raw, folder)
    if isinstance(raw, dict) and "sql" in raw:
        return source_kinds.sql_source(scope, raw)
    if isinstance(raw, dict) and "zoho" in raw:
        v = check(keys.ZOHO_SOURCE, raw, scope)
        product, mod = _product_module(scope, v["zoho"], "source", "zoho", org)
        for f in v["fields"]:
            if mod.field(f) is None:
                scope.fail(
                    f"{mod.api_name} has no field '{f}'",
                    "fields",
                    field=f,
                    hint=rules.unknown_hint(org, f, mod.by_name, "field"),
                )
        return SourceSpec(
            SourceKind.ZOHO,
            scope.line(),
            product=product,
            module=mod.api_name,
            fields=v["fields"],
            records=v.get("records"),
            origin=scope.file,
            schema=mod,
        )
    v = check(keys.FILE_SOURCE, raw, scope)
    path = (folder / v["file"]).resolve()
    named = v.get("member") or v["file"]
    suffix = SourceKind.JSONL if named.lower().endswith(".jsonl") else SourceKind.CSV
    return SourceSpec(
        SourceKind(v.get("format", suffix)),
        scope.line(),
        path=path,
        encoding=v["encoding"],
        delimiter=v["delimiter"],
        quotechar=v["quotechar"],
        origin=scope.file,
        member=v.get("member"),
    )


def _field_map(
    scope: Scope, name: str, spec: Any, target: TargetSpec, operation: Operation, org: OrgSchema
) -> FieldMap:
    """``Name = "column"``, ``Name = <constant>`` or ``Name = { column = ..., ... }``.

    Constants, value-map values and defaults are checked against the field (type, length,
    picklist) and picklist display values turned into the actual values Zoho stores.
    """
    fld = rules.target_field(scope, target, name, "fields", operation, org)
    line = scope.line("fields", name)
    if not isinstance(spec, dict):
        spec = {"column": spec} if isinstance(spec, str) else {"const": spec}
        at = scope.at(field=name)
        where: tuple[str, ...] = ("fields", name)
    else:
        at = scope.at("fields", name, field=name)
        where = ()
    v = check(keys.FIELD, spec, at)
    if "user" in v:
        owners.check_user_field(at, fld, spec, org)
        return FieldMap(name, line, column=v["user"], user=True)
    const, values, default = v.get("const"), v["map"], v.get("default")
    if fld is not None:
        rules.check_transform(at, fld, v.get("transform"), where or ("transform",))
        const = rules.field_value(at, fld, const, where or ("const",))
        values = {
            k: rules.field_value(at, fld, val, where or ("map",)) for k, val in values.items()
        }
        default = rules.field_value(at, fld, default, where or ("default",))
    return FieldMap(
        name,
        line,
        column=v.get("column"),
        const=const,
        transform=Transform(v["transform"]) if "transform" in v else None,
        format=v.get("format"),
        tz=v.get("tz"),
        values=tuple((str(k), val) for k, val in values.items()),
        default=default,
        places=v.get("places"),
    )


def _lookup(
    scope: Scope, name: str, spec: Any, target: TargetSpec, operation: Operation, org: OrgSchema
) -> Lookup:
    fld = rules.target_field(scope, target, name, "lookups", operation, org)
    v = check(keys.LOOKUP, spec, scope.at("lookups", name, field=name))
    if fld is not None and not fld.is_lookup:
        scope.fail(
            f"'{name}' is not a lookup field (it is {fld.data_type})",
            "lookups",
            name,
            field=name,
            hint="map it under [steps.fields] instead",
        )
    return Lookup(name, v["step"], v["column"], scope.line("lookups", name), v["optional"])
