"""Record filters: COQL, Search Records criteria and Bulk Read criteria, one evaluator.

All three parse into the same small tree: ``("and"|"or", [nodes])`` or
``("cmp", field, op, value)``; `matches` evaluates it against a stored record. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from zmigrate.schema import Field, Module

from . import wire
from .store import crm_module

COQL_DEFAULT_LIMIT = 200
COQL_MAX_LIMIT = 2_000
COQL_MAX_OFFSET = 100_000
COQL_MAX_FIELDS = 500
COQL_MAX_CRITERIA = 25
COQL_MAX_IN_VALUES = 100
NUMERIC = ("currency", "double", "integer", "bigint")

Node = tuple  # ("and"|"or", [Node, ...]) or ("cmp", Field, op, value)


class QueryError(Exception):
    """A query Zoho would refuse: carries the error body (HTTP 400)."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        self.body = wire.error(code, message, details)
        super().__init__(message)


def _normal(f: Field, value: Any) -> Any:
    """A literal in the form the store keeps for ``f``, or raise ValueError."""
    if value is None:
        return None
    if f.data_type in NUMERIC:
        if isinstance(value, bool):
            raise ValueError(value)
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
    if value is None:
        return None
    if f.data_type in NUMERIC:
        return float(value)
    if isinstance(value, str) and f.data_type not in ("date", "datetime"):
        return value.lower()
    return value


def matches(node: Node, rec: dict[str, Any]) -> bool:
    """Does the stored record satisfy the filter tree?"""
    kind = node[0]
    if kind == "and":
        return all(matches(n, rec) for n in node[1])
    if kind == "or":
        return any(matches(n, rec) for n in node[1])
    _, f, op, value = node
    have = _fold(f, rec.get(f.api_name))
    if op == "null":
        return have is None
    if op == "notnull":
        return have is not None
    if op in ("like", "nlike"):
        hit = have is not None and bool(value.match(str(rec.get(f.api_name))))
        return hit if op == "like" else not hit
    if op in ("in", "nin"):
        hit = have in [_fold(f, v) for v in value]
        return hit if op == "in" else not hit
    if have is None:
        return op == "ne"
    if op in ("between", "nbetween"):
        low, high = (_fold(f, v) for v in value)
        hit = low <= have <= high
        return hit if op == "between" else not hit
    want = _fold(f, value)
    text = str(have)
    return {
        "eq": lambda: have == want,
        "ne": lambda: have != want,
        "lt": lambda: have < want,
        "le": lambda: have <= want,
        "gt": lambda: have > want,
        "ge": lambda: have >= want,
        "starts": lambda: text.startswith(str(want)),
        "ends": lambda: text.endswith(str(want)),
        "contains": lambda: str(want) in text,
        "ncontains": lambda: str(want) not in text,
    }[op]()


# COQL ----------------------------------------------------------------------------------
TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_$][\w.$]*))"
)


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


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                self.fail_at(pos)
            kind = m.lastgroup or ""
            self.items.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def fail_at(self, pos: int) -> None:
        near = self.text[pos:].split()[0] if self.text[pos:].split() else self.text[-10:]
        raise QueryError(
            "SYNTAX_ERROR",
            "invalid query formed",
            {"line": 1, "column": pos + 1, "near": near},
        )

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def word(self, *options: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].lower() in options:
            self.i += 1
            return True
        return False

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1].lower() != value):
            self.fail_at(tok[2] if tok else len(self.text))
        self.i += 1
        return tok[1]  # type: ignore[index]


def _column(mod: Module, name: str, clause: str) -> Field:
    f = mod.field(name)
    if f is None:
        raise QueryError(
            "INVALID_QUERY",
            "column given seems to be invalid",
            {"column_name": name, "clause": clause},
        )
    return f


def _literal(t: _Tokens) -> Any:
    tok = t.peek()
    if tok is None:
        t.fail_at(len(t.text))
    kind, text, pos = tok  # type: ignore[misc]
    t.i += 1
    if kind == "str":
        return re.sub(r"\\(.)|''", lambda m: m.group(1) or "'", text[1:-1])
    if kind == "num":
        return float(text) if "." in text else int(text)
    if kind == "word" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind == "word" and text.lower() == "null":
        return None
    t.fail_at(pos)
    return None


def _value(f: Field, raw: Any) -> Any:
    try:
        return _normal(f, raw)
    except (ValueError, TypeError):
        raise QueryError(
            "INVALID_QUERY",
            "value given seems to be invalid for the column",
            {"column_name": f.api_name, "expected_data_type": f.data_type},
        ) from None


def _condition(t: _Tokens, mod: Module) -> Node:
    """One criterion, or two joined by AND/OR: Zoho wants more than two grouped in pairs,
    ``((A and B) and C)``, and refuses ``A and B and C``."""
    first = _factor(t, mod)
    tok = t.peek()
    joiner = tok[1].lower() if tok and tok[0] == "word" else ""
    if joiner not in ("and", "or"):
        return first
    t.i += 1
    second = _factor(t, mod)
    tok = t.peek()
    if tok and tok[0] == "word" and tok[1].lower() in ("and", "or"):
        t.fail_at(tok[2])
    return (joiner, [first, second])


def _criteria_count(node: Node) -> int:
    return 1 if node[0] == "cmp" else sum(_criteria_count(n) for n in node[1])


def _factor(t: _Tokens, mod: Module) -> Node:
    tok = t.peek()
    if tok and tok[0] == "punct" and tok[1] == "(":
        t.i += 1
        node = _condition(t, mod)
        t.take("punct", ")")
        return node
    f = _column(mod, t.take("word"), "where")
    if t.word("is"):
        negate = t.word("not")
        t.take("word", "null")
        return ("cmp", f, "notnull" if negate else "null", None)
    negate = t.word("not")
    if t.word("like"):
        pattern = _literal(t)
        return ("cmp", f, "nlike" if negate else "like", _like(str(pattern)))
    if t.word("in"):
        t.take("punct", "(")
        values = [_value(f, _literal(t))]
        while t.peek() and t.peek()[1] == ",":  # type: ignore[index]
            t.i += 1
            values.append(_value(f, _literal(t)))
        t.take("punct", ")")
        if len(values) > COQL_MAX_IN_VALUES:
            raise QueryError(
                "LIMIT_EXCEEDED", "invalid query formed", {"by": "in", "limit": COQL_MAX_IN_VALUES}
            )
        return ("cmp", f, "nin" if negate else "in", values)
    if t.word("between"):
        low = _value(f, _literal(t))
        t.take("word", "and")
        high = _value(f, _literal(t))
        return ("cmp", f, "nbetween" if negate else "between", (low, high))
    if negate:
        t.fail_at(t.peek()[2] if t.peek() else len(t.text))  # type: ignore[index]
    op = t.take("op")
    ops = {"=": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
    return ("cmp", f, ops[op], _value(f, _literal(t)))


def parse_coql(text: str) -> Coql:
    """Parse ``SELECT fields|COUNT(f) FROM Module [WHERE ..] [ORDER BY ..] [LIMIT o, n]``."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError(
            "SYNTAX_ERROR", "invalid query formed", {"line": 1, "column": 1, "near": ""}
        )
    t = _Tokens(text)
    t.take("word", "select")
    names: list[str] = []
    count: str | None = None
    while True:
        if t.word("count"):
            t.take("punct", "(")
            tok = t.peek()
            arg = t.take("punct", "*") if tok and tok[1] == "*" else t.take("word")
            t.take("punct", ")")
            count = f"COUNT({arg})"
        else:
            names.append(t.take("word"))
        if not (t.peek() and t.peek()[1] == ","):  # type: ignore[index]
            break
        t.i += 1
    t.take("word", "from")
    module_name = t.take("word")
    mod = crm_module(module_name)
    if mod is None:
        raise QueryError(
            "INVALID_QUERY",
            "invalid query formed",
            {"reason": "invalid module", "module": module_name},
        )
    if len(names) > COQL_MAX_FIELDS:
        raise QueryError(
            "LIMIT_EXCEEDED", "invalid query formed", {"by": "select", "limit": COQL_MAX_FIELDS}
        )
    for name in names:
        _column(mod, name, "select")
    q = Coql(mod, names, count)
    if t.word("where"):
        q.where = _condition(t, mod)
        if _criteria_count(q.where) > COQL_MAX_CRITERIA:
            raise QueryError(
                "LIMIT_EXCEEDED",
                "invalid query formed",
                {"by": "where", "limit": COQL_MAX_CRITERIA},
            )
    if t.word("order"):
        t.take("word", "by")
        while True:
            name = _column(mod, t.take("word"), "order by").api_name
            descending = t.word("desc")
            if not descending:
                t.word("asc")
            q.order.append((name, descending))
            if not (t.peek() and t.peek()[1] == ","):  # type: ignore[index]
                break
            t.i += 1
    if t.word("limit"):
        first = int(t.take("num"))
        if t.peek() and t.peek()[1] == ",":  # type: ignore[index]
            t.i += 1
            q.offset, q.limit = first, int(t.take("num"))
        else:
            q.limit = first
            if t.word("offset"):
                q.offset = int(t.take("num"))
    if t.peek() is not None:
        t.fail_at(t.peek()[2])  # type: ignore[index]
    if q.limit > COQL_MAX_LIMIT or q.limit < 1:
        raise QueryError(
            "LIMIT_EXCEEDED", "invalid query formed", {"by": "limit", "limit": COQL_MAX_LIMIT}
        )
    if q.offset + q.limit > COQL_MAX_OFFSET:
        raise QueryError(
            "LIMIT_EXCEEDED", "invalid query formed", {"by": "offset", "limit": COQL_MAX_OFFSET}
        )
    return q


# Search Records criteria -------------------------------------------------------------------
SEARCH_OPS = {
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


def parse_criteria(text: str, mod: Module) -> Node:
    """``((Field:op:value)and(Field:op:value))`` as Search Records takes it."""
    pos = 0

    def fail() -> None:
        raise QueryError(
            "INVALID_QUERY",
            "invalid query formed",
            {"reason": "invalid criteria", "near": text[pos:]},
        )

    def group() -> Node:
        nonlocal pos
        if pos >= len(text) or text[pos] != "(":
            fail()
        pos += 1
        if text[pos : pos + 1] == "(":
            nodes = [group()]
            joins = []
            while text[pos : pos + 1] != ")":
                m = re.match(r"(and|or)", text[pos:], re.IGNORECASE)
                if m is None:
                    fail()
                joins.append(m.group(1).lower())
                pos += len(m.group(1))
                nodes.append(group())
            pos += 1
            if len(set(joins)) > 1:
                fail()
            return nodes[0] if not joins else (joins[0], nodes)
        buf, escaped = [], False
        while pos < len(text) and (escaped or text[pos] != ")"):
            escaped = not escaped and text[pos] == "\\"
            if not escaped:
                buf.append(text[pos])
            pos += 1
        if pos >= len(text):
            fail()
        pos += 1
        parts = "".join(buf).split(":", 2)
        if len(parts) != 3 or parts[1] not in SEARCH_OPS:
            fail()
        f = mod.field(parts[0])
        if f is None:
            raise QueryError(
                "INVALID_QUERY",
                "invalid query formed",
                {"reason": "the field is not available for search", "api_name": parts[0]},
            )
        op = SEARCH_OPS[parts[1]]
        if op in ("in", "between"):
            values = [_value(f, v) for v in parts[2].split(",")]
            if op == "between" and len(values) != 2:
                fail()
            return ("cmp", f, op, tuple(values) if op == "between" else values)
        return ("cmp", f, op, _value(f, parts[2]))

    node = group()
    if pos != len(text):
        fail()
    return node


# Bulk Read criteria --------------------------------------------------------------------------
BULK_OPS = {
    "equal": "eq",
    "not_equal": "ne",
    "in": "in",
    "not_in": "nin",
    "less_than": "lt",
    "less_equal": "le",
    "greater_than": "gt",
    "greater_equal": "ge",
    "contains": "contains",
    "not_contains": "ncontains",
    "starts_with": "starts",
    "ends_with": "ends",
    "between": "between",
    "not_between": "nbetween",
}


def bulk_criteria(spec: Any, mod: Module) -> Node:
    """A Bulk Read ``criteria`` object (``group_operator``/``group`` or one comparison)."""
    if not isinstance(spec, dict):
        raise QueryError("INVALID_CRITERIA", "invalid criteria", {})
    if "group" in spec:
        op = str(spec.get("group_operator", "")).lower()
        if op not in ("and", "or") or not isinstance(spec["group"], list):
            raise QueryError("GROUP_OPERATOR_NOT_SUPPORTED", "invalid group operator", {})
        return (op, [bulk_criteria(s, mod) for s in spec["group"]])
    name = spec.get("api_name") or (spec.get("field") or {}).get("api_name")
    f = mod.field(str(name))
    if f is None:
        raise QueryError("INVALID_CRITERIA", "invalid criteria", {"api_name": str(name)})
    op = BULK_OPS.get(str(spec.get("comparator")))
    if op is None:
        raise QueryError("INVALID_CRITERIA", "invalid criteria", {"api_name": f.api_name})
    try:
        value = spec.get("value")
        if op in ("in", "nin"):
            return ("cmp", f, op, [_normal(f, v) for v in value])
        if op in ("between", "nbetween"):
            return ("cmp", f, op, tuple(_normal(f, v) for v in value))
        if op in ("contains", "ncontains", "starts", "ends"):
            return ("cmp", f, op, str(value).lower())
        return ("cmp", f, op, _normal(f, value))
    except (ValueError, TypeError):
        raise QueryError("INVALID_CRITERIA", "invalid criteria", {"api_name": f.api_name}) from None
