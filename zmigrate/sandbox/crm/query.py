"""Record filters: COQL, Search Records criteria and Bulk Read criteria, one evaluator.

All three parse into the same small tree of frozen nodes (`Group` of nodes joined by AND or
OR, or one comparison: `Compare`, `IsNull`, `Like`, `OneOf`, `Between`); `matches`
evaluates it against a stored record. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, NoReturn

from . import wire
from .catalog import OrgField as Field
from .catalog import OrgModule as Module

ModuleLookup = Callable[[str], Module | None]
"""The org's module of a name (`CrmStore.module`)."""

COQL_DEFAULT_LIMIT = 200
COQL_MAX_LIMIT = 2_000
COQL_MAX_OFFSET = 100_000
COQL_MAX_FIELDS = 500
COQL_MAX_CRITERIA = 25
COQL_MAX_IN_VALUES = 100
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


def _normal(f: Field, value: object) -> Scalar:
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


def _like(pattern: str) -> re.Pattern[str]:
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


# COQL ----------------------------------------------------------------------------------
TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_$][\w.$]*))"
)
TokenKind = Literal["str", "num", "op", "punct", "word"]
_OPS: dict[str, CompareOp] = {
    "=": "eq",
    "!=": "ne",
    "<>": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
}


@dataclass
class Coql:
    """A parsed COQL query."""

    module: Module
    select: list[str]
    count: str | None = None  # COUNT(field) alias, when the query counts
    where: Node | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)
    offset: int = 0
    limit: int = COQL_DEFAULT_LIMIT


class _Token(NamedTuple):
    kind: str  # a TokenKind: the name of the TOKEN group that matched
    text: str
    pos: int


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[_Token] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                self.fail_at(pos)
            kind = m.lastgroup or ""
            self.items.append(_Token(kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def fail_at(self, pos: int) -> NoReturn:
        near = self.text[pos:].split()[0] if self.text[pos:].split() else self.text[-10:]
        raise QueryError(
            "SYNTAX_ERROR",
            "invalid query formed",
            {"line": 1, "column": pos + 1, "near": near},
        )

    def fail_here(self) -> NoReturn:
        """Refuse the next token (or the end of the text)."""
        tok = self.peek()
        self.fail_at(tok.pos if tok else len(self.text))

    def peek(self) -> _Token | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def next(self) -> _Token:
        tok = self.peek()
        if tok is None:
            self.fail_at(len(self.text))
        self.i += 1
        return tok

    def word(self, *options: str) -> bool:
        """Consume the next token if it is one of these (lower-case) words."""
        tok = self.peek()
        if tok and tok.kind == "word" and tok.text.lower() in options:
            self.i += 1
            return True
        return False

    def comma(self) -> bool:
        """Consume a ``,`` if it comes next."""
        tok = self.peek()
        if tok and tok.text == ",":
            self.i += 1
            return True
        return False

    def take(self, kind: TokenKind, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok.kind != kind or (value is not None and tok.text.lower() != value):
            self.fail_here()
        self.i += 1
        return tok.text


def _column(mod: Module, name: str, clause: str) -> Field:
    f = mod.field(name)
    if f is None:
        raise QueryError(
            "INVALID_QUERY",
            "column given seems to be invalid",
            {"column_name": name, "clause": clause},
        )
    return f


def _literal(t: _Tokens) -> str | int | float | bool | None:
    kind, text, pos = t.next()
    if kind == "str":
        return re.sub(r"\\(.)|''", lambda m: m.group(1) or "'", text[1:-1])
    if kind == "num":
        return float(text) if "." in text else int(text)
    if kind == "word" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind == "word" and text.lower() == "null":
        return None
    t.fail_at(pos)


def _value(f: Field, raw: object) -> Scalar:
    try:
        return _normal(f, raw)
    except (ValueError, TypeError):
        raise QueryError(
            "INVALID_QUERY",
            "value given seems to be invalid for the column",
            {"column_name": f.api_name, "expected_data_type": f.data_type},
        ) from None


def _joiner(t: _Tokens) -> Joiner | None:
    """Consume ``AND`` or ``OR`` if it comes next."""
    if t.word("and"):
        return "and"
    if t.word("or"):
        return "or"
    return None


def _condition(t: _Tokens, mod: Module) -> Node:
    """One criterion, or two joined by AND/OR: Zoho wants more than two grouped in pairs,
    ``((A and B) and C)``, and refuses ``A and B and C``."""
    first = _factor(t, mod)
    joiner = _joiner(t)
    if joiner is None:
        return first
    second = _factor(t, mod)
    tok = t.peek()
    if tok and tok.kind == "word" and tok.text.lower() in ("and", "or"):
        t.fail_at(tok.pos)
    return Group(joiner, (first, second))


def _criteria_count(node: Node) -> int:
    return sum(_criteria_count(n) for n in node.nodes) if isinstance(node, Group) else 1


def _in_list(t: _Tokens, f: Field, negate: bool) -> OneOf:
    t.take("punct", "(")
    values = [_value(f, _literal(t))]
    while t.comma():
        values.append(_value(f, _literal(t)))
    t.take("punct", ")")
    if len(values) > COQL_MAX_IN_VALUES:
        raise QueryError(
            "LIMIT_EXCEEDED", "invalid query formed", {"by": "in", "limit": COQL_MAX_IN_VALUES}
        )
    return OneOf(f, tuple(values), negate)


def _factor(t: _Tokens, mod: Module) -> Node:
    tok = t.peek()
    if tok and tok.kind == "punct" and tok.text == "(":
        t.i += 1
        node = _condition(t, mod)
        t.take("punct", ")")
        return node
    f = _column(mod, t.take("word"), "where")
    if t.word("is"):
        negate = t.word("not")
        t.take("word", "null")
        return IsNull(f, negate)
    negate = t.word("not")
    if t.word("like"):
        return Like(f, _like(str(_literal(t))), negate)
    if t.word("in"):
        return _in_list(t, f, negate)
    if t.word("between"):
        low = _value(f, _literal(t))
        t.take("word", "and")
        return Between(f, low, _value(f, _literal(t)), negate)
    if negate:
        t.fail_here()
    op = _OPS[t.take("op")]
    return Compare(f, op, _value(f, _literal(t)))


def _select_list(t: _Tokens) -> tuple[list[str], str | None]:
    """The selected field names and the ``COUNT(..)`` alias, if any."""
    names: list[str] = []
    count: str | None = None
    while True:
        if t.word("count"):
            t.take("punct", "(")
            tok = t.peek()
            arg = t.take("punct", "*") if tok and tok.text == "*" else t.take("word")
            t.take("punct", ")")
            count = f"COUNT({arg})"
        else:
            names.append(t.take("word"))
        if not t.comma():
            return names, count


def _from_module(t: _Tokens, modules: ModuleLookup) -> Module:
    t.take("word", "from")
    module_name = t.take("word")
    mod = modules(module_name)
    if mod is None:
        raise QueryError(
            "INVALID_QUERY",
            "invalid query formed",
            {"reason": "invalid module", "module": module_name},
        )
    return mod


def _limit_exceeded(by: str, limit: int) -> QueryError:
    return QueryError("LIMIT_EXCEEDED", "invalid query formed", {"by": by, "limit": limit})


def _where(t: _Tokens, mod: Module) -> Node | None:
    if not t.word("where"):
        return None
    node = _condition(t, mod)
    if _criteria_count(node) > COQL_MAX_CRITERIA:
        raise _limit_exceeded("where", COQL_MAX_CRITERIA)
    return node


def _order_by(t: _Tokens, mod: Module) -> list[tuple[str, bool]]:
    """``ORDER BY f [ASC|DESC], ..`` as ``(api_name, descending)`` pairs."""
    order: list[tuple[str, bool]] = []
    if not t.word("order"):
        return order
    t.take("word", "by")
    while True:
        name = _column(mod, t.take("word"), "order by").api_name
        descending = t.word("desc")
        if not descending:
            t.word("asc")
        order.append((name, descending))
        if not t.comma():
            return order


def _offset_limit(t: _Tokens) -> tuple[int, int]:
    """``LIMIT n [OFFSET o]`` or ``LIMIT o, n`` as ``(offset, limit)``."""
    if not t.word("limit"):
        return 0, COQL_DEFAULT_LIMIT
    first = int(t.take("num"))
    if t.comma():
        return first, int(t.take("num"))
    return (int(t.take("num")) if t.word("offset") else 0), first


def parse_coql(text: object, modules: ModuleLookup) -> Coql:
    """Parse ``SELECT fields|COUNT(f) FROM Module [WHERE ..] [ORDER BY ..] [LIMIT o, n]``."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError(
            "SYNTAX_ERROR", "invalid query formed", {"line": 1, "column": 1, "near": ""}
        )
    t = _Tokens(text)
    t.take("word", "select")
    names, count = _select_list(t)
    mod = _from_module(t, modules)
    if len(names) > COQL_MAX_FIELDS:
        raise _limit_exceeded("select", COQL_MAX_FIELDS)
    for name in names:
        _column(mod, name, "select")
    q = Coql(mod, names, count, where=_where(t, mod), order=_order_by(t, mod))
    q.offset, q.limit = _offset_limit(t)
    if t.peek() is not None:
        t.fail_here()
    if q.limit > COQL_MAX_LIMIT or q.limit < 1:
        raise _limit_exceeded("limit", COQL_MAX_LIMIT)
    if q.offset + q.limit > COQL_MAX_OFFSET:
        raise _limit_exceeded("offset", COQL_MAX_OFFSET)
    return q


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
            return OneOf(f, tuple(_value(f, v) for v in parts[2].split(",")))
        if op == "between":
            values = [_value(f, v) for v in parts[2].split(",")]
            if len(values) != 2:
                self.fail()
            return Between(f, values[0], values[1])
        return Compare(f, op, _value(f, parts[2]))


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
    return tuple(_normal(f, v) for v in value)


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
    return Compare(f, op, str(value).lower() if op in _SUBSTRING else _normal(f, value))


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
