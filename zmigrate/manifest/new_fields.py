"""``[steps.create_fields]``: CRM custom fields the run creates before its first write.

``Legacy_ID = { data_type = "text", length = 100, unique = true }`` under a step whose target
is a CRM module declares a field the run creates with Zoho's Fields API (``POST
/crm/v8/settings/fields?module=``) unless the org has it. The plan treats it as existing
from then on: the step (and later steps writing the module) may map it and use it as a key.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from zmigrate.manifest import keys
from zmigrate.manifest.model import (
    NEW_FIELD_LENGTHS,
    NewField,
    NewFieldType,
    Product,
    Step,
    TargetSpec,
)
from zmigrate.manifest.validate import Scope, check
from zmigrate.schema import Module, OrgSchema

API_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)")
"""Zoho's api_name rule: a letter first, then letters, digits and single '_', none last."""
API_NAME_MAX = 50


def read(scope: Scope, table: Mapping[str, Any], target: TargetSpec) -> tuple[NewField, ...]:
    """The step's fields to create, checked (types, lengths, names, the module's own fields)."""
    if not table:
        return ()
    if target.product != Product.CRM:
        scope.fail(
            f"{target.text}: only CRM fields can be created through Zoho's API",
            "create_fields",
            field="create_fields",
            hint="create Books/Inventory custom fields in Settings, then pull the schema again",
        )
    mod = target.schema
    assert mod is not None
    out = []
    for name, spec in table.items():
        at = scope.at("create_fields", name, field=name)
        v = check(keys.NEW_FIELD, spec, at)
        if len(name) > API_NAME_MAX or not API_NAME.fullmatch(name):
            at.fail(
                f"'{name}' is not an api_name Zoho accepts",
                field=name,
                hint="letters, digits and single '_', a letter first, no '_' last, at most 50",
            )
        data_type = NewFieldType(v["data_type"])
        length = _length(at, data_type, v.get("length"))
        existing = mod.field(name)
        if existing is not None and existing.data_type != data_type:
            at.fail(
                f"{target.text} already has '{name}' as {existing.data_type}, not {data_type}",
                "data_type",
                field=name,
                hint="create a field of another name, or use the one the org has",
            )
        label = v.get("field_label") or name.replace("_", " ")
        out.append(NewField(name, data_type, label, length, v["unique"], at.line()))
    return tuple(out)


def _length(at: Scope, data_type: NewFieldType, length: int | None) -> int | None:
    limits = NEW_FIELD_LENGTHS.get(data_type)
    if limits is None:
        if length is not None:
            at.fail(f"a {data_type} field takes no length", "length", field=at.field)
        return None
    low, high, default = limits
    if length is None:
        return default
    if not low <= length <= high:
        at.fail(
            f"a {data_type} field's length is {low} to {high}, got {length}",
            "length",
            field=at.field,
        )
    return length


def with_fields(mod: Module, new: tuple[NewField, ...]) -> Module:
    """``mod`` with the fields to create added (those it has already are kept as they are)."""
    extra = tuple(n.as_field() for n in new if mod.field(n.api_name) is None)
    return dataclasses.replace(mod, fields=mod.fields + extra) if extra else mod


def org_with(org: OrgSchema, step: Step) -> OrgSchema:
    """``org`` with the step's created fields, for later steps writing the same module."""
    if not step.create_fields or step.target.schema is None:
        return org
    crm = dict(org.crm)
    mod = step.target.schema
    crm[mod.api_name] = with_fields(crm.get(mod.api_name, mod), step.create_fields)
    return dataclasses.replace(org, crm=MappingProxyType(crm))
