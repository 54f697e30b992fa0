"""Steps that write related records (notes, activities, attachments) against their parent.

Such records have no natural unique key: a step may leave ``key`` out (attachments never
take one). It then inserts, names its rows by ``source_key``, and the run finds what landed
on the parent when an answer was lost (``zmigrate.run.writers.crm_related``). REST only:
a Bulk Write job resent without a key could not tell its rows from earlier ones.
"""

from __future__ import annotations

from typing import Any

from zmigrate.manifest.model import Lookup, Method, Operation, Product, TargetSpec
from zmigrate.manifest.validate import Scope
from zmigrate.schema import FieldType
from zmigrate.schema.related import Related, related_kind


def keyless(target: TargetSpec, key: tuple[str, ...]) -> bool:
    """A CRM related target written without a key (attachments always are)."""
    kind = related_kind(target.module) if target.product == Product.CRM else None
    return kind is Related.ATTACHMENTS or (kind is not None and not key)


def operation(scope: Scope, raw: dict[str, Any], target: TargetSpec) -> Operation:
    """Related records without a key are inserted (there is nothing to match an upsert on)."""
    asked = raw.get("operation", Operation.INSERT)
    if asked != Operation.INSERT:
        scope.fail(
            f"{target.text} without a key can only be inserted, not {asked}",
            "operation",
            field="operation",
            hint="set operation = 'insert', or give a key to match records on",
        )
    return Operation.INSERT


def check_step(scope: Scope, v: dict[str, Any], target: TargetSpec) -> tuple[str, ...]:
    """The step's source key, after checking what a keyless related step cannot do."""
    if v["key"]:
        scope.fail(
            "attachments have no key: the run finds them on their parent by name and size",
            "key",
            field="key",
            hint="remove key",
        )
    if v["method"] == Method.BULK:
        scope.fail(
            f"{target.text} without a key is written through REST only",
            "method",
            field="method",
            hint="remove method, or set method = 'rest'",
        )
    if not v["source_key"]:
        scope.fail(
            f"{target.text} without a key needs source_key: the source columns naming a row",
            "source_key",
            field="source_key",
            hint="e.g. source_key = ['note_id']",
        )
    return tuple(v["source_key"])


def check_participants(
    scope: Scope, v: dict[str, Any], target: TargetSpec, lookups: tuple[Lookup, ...]
) -> None:
    """An event's ``Participants`` (a list) go through REST, from one column of keys."""
    mod = target.schema
    for lk in lookups:
        fld = mod.field(lk.target) if mod else None
        if fld is None or fld.data_type != FieldType.PARTICIPANTS:
            continue
        if len(lk.columns) != 1:
            scope.fail(
                f"'{lk.target}' reads one column (keys and addresses separated by ';')",
                "lookups",
                lk.target,
                field=lk.target,
                hint="give one column",
            )
        if v["key"] and v["method"] != Method.REST:
            scope.fail(
                f"'{lk.target}' is a list Bulk Write's CSV cannot carry",
                "method",
                field="method",
                hint="set method = 'rest'",
            )
