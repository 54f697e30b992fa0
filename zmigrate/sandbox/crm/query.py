"""Record filters of Search Records (``criteria``) and Bulk Read (``criteria`` objects).

Both parse into the filter tree of `filters`; COQL has its own parser (`coql_parse`) and
evaluator (`coql_run`). The names other modules import from here are re-exported. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, NoReturn

from .catalog import OrgField as Field
from .catalog import OrgModule as Module
from .coql_parse import Coql, parse_coql
from .filters import (
    Between,
    Compare,
    CompareOp,
    Group,
    Joiner,
    ModuleLookup,
    Node,
    OneOf,
    QueryError,
    Scalar,
    literal_value,
    matches,
    normal,
)

__all__ = [
    "Coql",
    "Compare",
    "Group",
    "ModuleLookup",
    "Node",
    "QueryError",
    "bulk_criteria",
    "matches",
    "parse_coql",
    "parse_criteria",
]


# Search Records criteria -------------------------------------------------------------------
SearchOp = Literal["eq", "ne", "starts", "in", "gt", "ge", "lt", "le", "between"]
SEARCH_OPS: dict[str, SearchOp] = {
    "equals": "eq",
    "not_equal": "ne",
    "starts_with": "starts",
    "in": "in",
    "greater_than": "gt",
    "greater_equal": "ge",
    "less_than": "lt",
    "less_equal": "le",
    "between": "between",
}


class _Criteria:
    """A cursor over ``((Field:op:value)and(Field:op:value))`` as Search Records takes it."""

    def __init__(self, text: str, mod: Module) -> None:
        self.text = text
        self.mod = mod
        self.pos = 0

    def fail(self) -> NoReturn:
        raise QueryError(
            "INVALID_QUERY",
            "invalid query formed",
            {"reason": "invalid criteria", "near": self.text[self.pos :]},
        )

    def group(self) -> Node:
        """``(..)``: either nested groups joined by one operator, or one comparison."""
        text = self.text
        if self.pos >= len(text) or text[self.pos] != "(":
            self.fail()
        self.pos += 1
        if text[self.pos : self.pos + 1] == "(":
            return self._joined()
        buf, escaped = [], False
        while self.pos < len(text) and (escaped or text[self.pos] != ")"):
            escaped = not escaped and text[self.pos] == "\\"
            if not escaped:
                buf.append(text[self.pos])
            self.pos += 1
        if self.pos >= len(text):
            self.fail()
        self.pos += 1
        return self._comparison("".join(buf))

    def _joined(self) -> Node:
        nodes = [self.group()]
        joins: list[Joiner] = []
        while self.text[self.pos : self.pos + 1] != ")":
            m = re.match(r"(and|or)", self.text[self.pos :], re.IGNORECASE)
            if m is None:
                self.fail()
            joins.append("and" if m.group(1).lower() == "and" else "or")
            self.pos += len(m.group(1))
            nodes.append(self.group())
        self.pos += 1
        if len(set(joins)) > 1:
            self.fail()
        return Group(joins[0], tuple(nodes)) if joins else nodes[0]

    def _comparison(self, body: str) -> Node:
        parts = body.split(":", 2)
        if len(parts) != 3 or parts[1] not in SEARCH_OPS:
            self.fail()
        f = self.mod.field(parts[0])
        if f is None:
            raise QueryError(
                "INVALID_QUERY",
                "invalid query formed",
                {"reason": "the field is not available for search", "api_name": parts[0]},
            )
        op = SEARCH_OPS[parts[1]]
        if op == "in":
            return OneOf(f, tuple(literal_value(f, v) for v in parts[2].split(",")))
        if op == "between":
            values = [literal_value(f, v) for v in parts[2].split(",")]
            if len(values) != 2:
                self.fail()
            return Between(f, values[0], values[1])
        return Compare(f, op, literal_value(f, parts[2]))


def parse_criteria(text: str, mod: Module) -> Node:
    """``((Field:op:value)and(Field:op:value))`` as Search Records takes it."""
    cursor = _Criteria(text, mod)
    node = cursor.group()
    if cursor.pos != len(text):
        cursor.fail()
    return node


# Bulk Read criteria --------------------------------------------------------------------------
BULK_COMPARE: dict[str, CompareOp] = {
    "equal": "eq",
    "not_equal": "ne",
    "less_than": "lt",
    "less_equal": "le",
    "greater_than": "gt",
    "greater_equal": "ge",
    "contains": "contains",
    "not_contains": "ncontains",
    "starts_with": "starts",
    "ends_with": "ends",
}
BULK_SETS = {"in": False, "not_in": True}  # comparator -> negate
BULK_RANGES = {"between": False, "not_between": True}
_SUBSTRING: tuple[CompareOp, ...] = ("contains", "ncontains", "starts", "ends")


def _many(f: Field, value: object) -> tuple[Scalar, ...]:
    if not isinstance(value, Iterable):
        raise TypeError(value)
    return tuple(normal(f, v) for v in value)


def _bulk_comparison(f: Field, comparator: str, value: object) -> Node | None:
    """One Bulk Read comparison, None for an unknown comparator; ValueError/TypeError for
    a value the field cannot hold."""
    if comparator in BULK_SETS:
        return OneOf(f, _many(f, value), BULK_SETS[comparator])
    if comparator in BULK_RANGES:
        low, high = _many(f, value)
        return Between(f, low, high, BULK_RANGES[comparator])
    op = BULK_COMPARE.get(comparator)
    if op is None:
        return None
    return Compare(f, op, str(value).lower() if op in _SUBSTRING else normal(f, value))


def bulk_criteria(spec: object, mod: Module) -> Node:
    """A Bulk Read ``criteria`` object (``group_operator``/``group`` or one comparison)."""
    if not isinstance(spec, dict):
        raise QueryError("INVALID_CRITERIA", "invalid criteria", {})
    if "group" in spec:
        op = str(spec.get("group_operator", "")).lower()
        if op not in ("and", "or") or not isinstance(spec["group"], list):
            raise QueryError("GROUP_OPERATOR_NOT_SUPPORTED", "invalid group operator", {})
        joiner: Joiner = "and" if op == "and" else "or"
        return Group(joiner, tuple(bulk_criteria(s, mod) for s in spec["group"]))
    name = spec.get("api_name") or (spec.get("field") or {}).get("api_name")
    f = mod.field(str(name))
    if f is None:
        raise QueryError("INVALID_CRITERIA", "invalid criteria", {"api_name": str(name)})
    try:
        node = _bulk_comparison(f, str(spec.get("comparator")), spec.get("value"))
    except (ValueError, TypeError):
        node = None
    if node is None:
        raise QueryError("INVALID_CRITERIA", "invalid criteria", {"api_name": f.api_name})
    return node
