"""The filter tree COQL, Search Records and Bulk Read criteria all parse into, and its test.

A `Group` of nodes joined by AND or OR, or one comparison (`Compare`, `IsNull`, `Like`,
`OneOf`, `Between`) on a field; `matches` evaluates it against a stored record (or a COQL
row widened with its joined columns, keyed by their dotted paths). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from . import wire
from .catalog import OrgField as Field
from .catalog import OrgModule as Module

ModuleLookup = Callable[[str], Module | None]
"""The org's module of a name (`CrmStore.module`)."""

NUMERIC = ("currency", "double", "percent", "integer", "bigint")

Scalar = str | float | bool | None  # a literal in the form the store keeps it
CompareOp = Literal["eq", "ne", "lt", "le", "gt", "ge", "starts", "ends", "contains", "ncontains"]
Joiner = Literal["and", "or"]


@dataclass(frozen=True)
class Compare:
    """``field <op> value``: equality, order, or a substring test."""

    field: Field
    op: CompareOp
    value: Scalar


@dataclass(frozen=True)
class IsNull:
    """``field IS [NOT] NULL``."""

    field: Field
    negate: bool = False


@dataclass(frozen=True)
class Like:
    """``field [NOT] LIKE 'pa%ern'``, compiled."""

    field: Field
    pattern: re.Pattern[str]
    negate: bool = False


@dataclass(frozen=True)
class OneOf:
    """``field [NOT] IN (values)``."""

    field: Field
    values: tuple[Scalar, ...]
    negate: bool = False


@dataclass(frozen=True)
class Between:
    """``field [NOT] BETWEEN low AND high`` (inclusive)."""

    field: Field
    low: Scalar
    high: Scalar
    negate: bool = False


@dataclass(frozen=True)
class Group:
    """Nodes joined by one operator."""

    joiner: Joiner
    nodes: tuple[Node, ...]


Node = Compare | IsNull | Like | OneOf | Between | Group


class QueryError(Exception):
    """A query Zoho would refuse: carries the error body (HTTP 400)."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        self.body = wire.error(code, message, details)
        super().__init__(message)


def normal(f: Field, value: object) -> Scalar:
    """A literal in the form the store keeps for ``f``, or raise ValueError/TypeError."""
    if value is None:
        return None
    if f.data_type in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(value)
        return float(value)
    if f.data_type == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(value)
    if f.data_type == "datetime":
        normal = wire.normalize_datetime(str(value))
        if normal is None:
            raise ValueError(value)
        return normal
    if isinstance(value, dict):
        value = value.get("id")
    return str(value)


def pattern_of(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(p) for p in pattern.split("%"))
    return re.compile("^" + ".*".join(parts) + "$", re.IGNORECASE | re.DOTALL)


def _fold(f: Field, value: Any) -> Any:
    """A stored (JSON) value or a literal, made comparable: numbers as floats, text lowered."""
    if value is None:
        return None
    if f.data_type in NUMERIC:
        return float(value)
    if isinstance(value, list):  # a multi-select picklist compares as its values joined
        return ";".join(str(v) for v in value).lower()
    if isinstance(value, str) and f.data_type not in ("date", "datetime"):
        return value.lower()
    return value


_COMPARE: dict[CompareOp, Callable[[Any, Any], bool]] = {
    "eq": lambda have, want: bool(have == want),
    "ne": lambda have, want: bool(have != want),
    "lt": lambda have, want: bool(have < want),
    "le": lambda have, want: bool(have <= want),
    "gt": lambda have, want: bool(have > want),
    "ge": lambda have, want: bool(have >= want),
    "starts": lambda have, want: str(have).startswith(str(want)),
    "ends": lambda have, want: str(have).endswith(str(want)),
    "contains": lambda have, want: str(want) in str(have),
    "ncontains": lambda have, want: str(want) not in str(have),
}


def matches(node: Node, rec: dict[str, Any]) -> bool:
    """Does the stored record satisfy the filter tree?"""
    if isinstance(node, Group):
        test = all if node.joiner == "and" else any
        return test(matches(n, rec) for n in node.nodes)
    f = node.field
    have = _fold(f, rec.get(f.api_name))
    if isinstance(node, IsNull):
        return (have is None) != node.negate
    if isinstance(node, Like):
        hit = have is not None and bool(node.pattern.match(str(rec.get(f.api_name))))
        return hit != node.negate
    if isinstance(node, OneOf):
        return (have in [_fold(f, v) for v in node.values]) != node.negate
    if have is None:
        return isinstance(node, Compare) and node.op == "ne"
    if isinstance(node, Between):
        hit = bool(_fold(f, node.low) <= have <= _fold(f, node.high))
        return hit != node.negate
    return _COMPARE[node.op](have, _fold(f, node.value))


def literal_value(f: Field, raw: object) -> Scalar:
    """A query literal for ``f`` in stored form, or Zoho's INVALID_QUERY for a wrong type."""
    try:
        return normal(f, raw)
    except (ValueError, TypeError):
        raise QueryError(
            "INVALID_QUERY",
            "value given seems to be invalid for the column",
            {"column_name": f.api_name, "expected_data_type": f.data_type},
        ) from None
