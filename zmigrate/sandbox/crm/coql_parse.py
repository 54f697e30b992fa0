"""COQL (``POST /crm/v8/coql``) parsed into a `Coql`, with Zoho's refusals as `QueryError`.

``SELECT cols | FUNC(col) [AS alias], .. FROM Module [WHERE ..] [GROUP BY ..] [ORDER BY ..]
[LIMIT o, n | LIMIT n OFFSET o]``; a column may follow lookups with dots
(``Account_Name.Parent_Account.Account_Name``, at most two relations) and may be quoted
(``'Account_Name.Account_Name'``). Limits and codes follow Zoho's COQL pages (README). Pure.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, NoReturn

from .catalog import OrgField as Field
from .catalog import OrgModule as Module
from .filters import (
    Between,
    Compare,
    CompareOp,
    Group,
    IsNull,
    Joiner,
    Like,
    ModuleLookup,
    Node,
    OneOf,
    QueryError,
    literal_value,
    pattern_of,
)

COQL_DEFAULT_LIMIT = 200
COQL_MAX_LIMIT = 2_000
COQL_MAX_OFFSET = 100_000
COQL_MAX_FIELDS = 500
COQL_MAX_CRITERIA = 25
COQL_MAX_IN_VALUES = 100
COQL_MAX_ORDER_BY = 10
COQL_MAX_GROUP_BY = 4
COQL_MAX_AGGREGATES = 5
COQL_MAX_RELATIONS = 2
"""Lookups one column may follow (``A.B.C`` follows two)."""
COQL_MAX_SELECT_JOINS = 15
AggregateFn = Literal["COUNT", "SUM", "MIN", "MAX", "AVG"]
AGGREGATES: tuple[AggregateFn, ...] = ("COUNT", "SUM", "MIN", "MAX", "AVG")
NUMERIC = ("currency", "double", "percent", "integer", "bigint")

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


@dataclass(frozen=True)
class Join:
    """A dotted column: the lookups to follow from the base record, then the field read."""

    hops: tuple[tuple[str, str], ...]  # (lookup field api_name, module it points to)
    target: Field


@dataclass(frozen=True)
class Aggregate:
    """``FUNC(column)`` in the select list; ``key`` names it in the answer (alias or text)."""

    fn: AggregateFn
    column: Field | None  # None for ``COUNT(*)``
    key: str


@dataclass
class Coql:
    """A parsed COQL query. Column names are api names or dotted join paths."""

    module: Module
    select: list[str]
    columns: dict[str, Field] = field(default_factory=dict)  # every column the query reads
    joins: dict[str, Join] = field(default_factory=dict)
    aggregates: list[Aggregate] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    where: Node | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)
    offset: int = 0
    limit: int = COQL_DEFAULT_LIMIT

    @property
    def grouped(self) -> bool:
        """Does the answer hold groups (aggregates or GROUP BY) rather than records?"""
        return bool(self.aggregates or self.group_by)


def _invalid_column(name: str, clause: str) -> QueryError:
    return QueryError(
        "INVALID_QUERY",
        "column given seems to be invalid",
        {"column_name": name, "clause": clause},
    )


def _duplicate(name: str, clause: str) -> QueryError:
    return QueryError("DUPLICATE_DATA", "duplicate data", {"column_name": name, "clause": clause})


def _limit_exceeded(by: str, limit: int) -> QueryError:
    return QueryError("LIMIT_EXCEEDED", "invalid query formed", {"by": by, "limit": limit})


class _Scope:
    """Resolves the column names of one query against its module and the org's lookups."""

    def __init__(self, query: Coql, modules: ModuleLookup) -> None:
        self.query = query
        self.modules = modules

    def column(self, name: str, clause: str) -> Field:
        q = self.query
        if name in q.columns:
            return q.columns[name]
        parts = name.split(".")
        if len(parts) - 1 > COQL_MAX_RELATIONS:
            raise _invalid_column(name, clause)
        mod: Module | None = q.module
        hops: list[tuple[str, str]] = []
        for part in parts[:-1]:
            f = mod.field(part) if mod else None
            if f is None or f.lookup is None:
                raise _invalid_column(name, clause)
            hops.append((f.api_name, f.lookup))
            mod = self.modules(f.lookup)
        target = mod.field(parts[-1]) if mod else None
        if target is None:
            raise _invalid_column(name, clause)
        if hops:
            q.joins[name] = Join(tuple(hops), target)
            target = dataclasses.replace(target, api_name=name)
        q.columns[name] = target
        return target


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


def _column_name(t: _Tokens) -> str:
    """A column as written: a word, or a quoted name (Zoho's join samples quote them)."""
    tok = t.peek()
    if tok and tok.kind == "str":
        t.i += 1
        return tok.text[1:-1]
    return t.take("word")


def _joiner(t: _Tokens) -> Joiner | None:
    """Consume ``AND`` or ``OR`` if it comes next."""
    if t.word("and"):
        return "and"
    if t.word("or"):
        return "or"
    return None


def _condition(t: _Tokens, scope: _Scope) -> Node:
    """One criterion, or two joined by AND/OR: Zoho wants more than two grouped in pairs,
    ``((A and B) and C)``, and refuses ``A and B and C``."""
    first = _factor(t, scope)
    joiner = _joiner(t)
    if joiner is None:
        return first
    second = _factor(t, scope)
    tok = t.peek()
    if tok and tok.kind == "word" and tok.text.lower() in ("and", "or"):
        t.fail_at(tok.pos)
    return Group(joiner, (first, second))


def _criteria_count(node: Node) -> int:
    return sum(_criteria_count(n) for n in node.nodes) if isinstance(node, Group) else 1


def _in_list(t: _Tokens, f: Field, negate: bool) -> OneOf:
    t.take("punct", "(")
    values = [literal_value(f, _literal(t))]
    while t.comma():
        values.append(literal_value(f, _literal(t)))
    t.take("punct", ")")
    if len(values) > COQL_MAX_IN_VALUES:
        raise _limit_exceeded("in", COQL_MAX_IN_VALUES)
    return OneOf(f, tuple(values), negate)


def _factor(t: _Tokens, scope: _Scope) -> Node:
    tok = t.peek()
    if tok and tok.kind == "punct" and tok.text == "(":
        t.i += 1
        node = _condition(t, scope)
        t.take("punct", ")")
        return node
    f = scope.column(_column_name(t), "where")
    if t.word("is"):
        negate = t.word("not")
        t.take("word", "null")
        return IsNull(f, negate)
    negate = t.word("not")
    if t.word("like"):
        return Like(f, pattern_of(str(_literal(t))), negate)
    if t.word("in"):
        return _in_list(t, f, negate)
    if t.word("between"):
        low = literal_value(f, _literal(t))
        t.take("word", "and")
        return Between(f, low, literal_value(f, _literal(t)), negate)
    if negate:
        t.fail_here()
    op = _OPS[t.take("op")]
    return Compare(f, op, literal_value(f, _literal(t)))


class _Item(NamedTuple):
    """One entry of the select list as written: a column, or ``FN(arg) [AS alias]``."""

    name: str
    fn: AggregateFn | None = None
    alias: str | None = None


def _select_item(t: _Tokens) -> _Item:
    tok = t.peek()
    fn = tok.text.upper() if tok and tok.kind == "word" else ""
    after = t.items[t.i + 1] if t.i + 1 < len(t.items) else None
    if fn not in AGGREGATES or after is None or after.text != "(":
        return _Item(_column_name(t))
    t.i += 2
    tok = t.peek()
    arg = t.take("punct", "*") if tok and tok.text == "*" else _column_name(t)
    t.take("punct", ")")
    alias = t.take("word") if t.word("as") else None
    return _Item(arg, AGGREGATES[AGGREGATES.index(fn)], alias)


def _select_list(t: _Tokens) -> list[_Item]:
    items = [_select_item(t)]
    while t.comma():
        items.append(_select_item(t))
    return items


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


def _aggregate(item: _Item, fn: AggregateFn, scope: _Scope) -> Aggregate:
    column = None if item.name == "*" else scope.column(item.name, "select")
    if column is None and fn != "COUNT":
        raise _invalid_column(item.name, "select")
    if column is not None and fn in ("SUM", "AVG") and column.data_type not in NUMERIC:
        raise _invalid_column(item.name, "select")
    return Aggregate(fn, column, item.alias or f"{fn}({item.name})")


def _resolve_select(items: list[_Item], scope: _Scope) -> None:
    """The select list against the module: columns, joins and aggregates, with Zoho's
    limits (fields, SELECT joins, aggregates) and duplicate refusals."""
    q = scope.query
    for item in items:
        if item.fn is None:
            q.select.append(scope.column(item.name, "select").api_name)
            continue
        agg = _aggregate(item, item.fn, scope)
        if any(a.key == agg.key for a in q.aggregates):
            if item.alias:
                raise QueryError("DUPLICATE_ALIAS", "duplicate alias", {"alias": item.alias})
            raise _duplicate(agg.key, "aggregate")
        q.aggregates.append(agg)
    if len(q.select) > COQL_MAX_FIELDS:
        raise _limit_exceeded("select", COQL_MAX_FIELDS)
    if sum(1 for name in q.select if name in q.joins) > COQL_MAX_SELECT_JOINS:
        raise _limit_exceeded("select joins", COQL_MAX_SELECT_JOINS)
    if len(q.aggregates) > COQL_MAX_AGGREGATES:
        raise _limit_exceeded("aggregate", COQL_MAX_AGGREGATES)


def _names(t: _Tokens, scope: _Scope, clause: str, most: int) -> list[str]:
    """A comma list of columns (GROUP BY); a repeat is DUPLICATE_DATA."""
    names: list[str] = []
    while True:
        name = scope.column(_column_name(t), clause).api_name
        if name in names:
            raise _duplicate(name, clause)
        names.append(name)
        if not t.comma():
            break
    if len(names) > most:
        raise _limit_exceeded(clause, most)
    return names


def _where(t: _Tokens, scope: _Scope) -> Node | None:
    if not t.word("where"):
        return None
    node = _condition(t, scope)
    if _criteria_count(node) > COQL_MAX_CRITERIA:
        raise _limit_exceeded("where", COQL_MAX_CRITERIA)
    return node


def _group_by(t: _Tokens, scope: _Scope) -> list[str]:
    if not t.word("group"):
        return []
    t.take("word", "by")
    return _names(t, scope, "group by", COQL_MAX_GROUP_BY)


def _order_by(t: _Tokens, scope: _Scope) -> list[tuple[str, bool]]:
    """``ORDER BY f [ASC|DESC], ..`` as ``(api_name, descending)`` pairs."""
    order: list[tuple[str, bool]] = []
    if not t.word("order"):
        return order
    t.take("word", "by")
    while True:
        name = scope.column(_column_name(t), "order by").api_name
        if any(name == seen for seen, _ in order):
            raise _duplicate(name, "order by")
        descending = t.word("desc")
        if not descending:
            t.word("asc")
        order.append((name, descending))
        if not t.comma():
            break
    if len(order) > COQL_MAX_ORDER_BY:
        raise _limit_exceeded("order by", COQL_MAX_ORDER_BY)
    return order


def _offset_limit(t: _Tokens) -> tuple[int, int]:
    """``LIMIT n [OFFSET o]`` or ``LIMIT o, n`` as ``(offset, limit)``."""
    if not t.word("limit"):
        return 0, COQL_DEFAULT_LIMIT
    first = int(t.take("num"))
    if t.comma():
        return first, int(t.take("num"))
    return (int(t.take("num")) if t.word("offset") else 0), first


def _check_grouping(q: Coql) -> None:
    """A grouped answer can only show and sort by the GROUP BY columns."""
    if not q.grouped:
        return
    for name in q.select:
        if name not in q.group_by:
            raise _invalid_column(name, "select")
    for name, _ in q.order:
        if name not in q.group_by:
            raise _invalid_column(name, "order by")


def parse_coql(text: object, modules: ModuleLookup) -> Coql:
    """Parse a COQL ``select_query`` (see the module docstring), or raise Zoho's error."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError(
            "SYNTAX_ERROR", "invalid query formed", {"line": 1, "column": 1, "near": ""}
        )
    t = _Tokens(text)
    t.take("word", "select")
    items = _select_list(t)
    q = Coql(_from_module(t, modules), [])
    scope = _Scope(q, modules)
    _resolve_select(items, scope)
    q.where = _where(t, scope)
    q.group_by = _group_by(t, scope)
    q.order = _order_by(t, scope)
    q.offset, q.limit = _offset_limit(t)
    if t.peek() is not None:
        t.fail_here()
    _check_grouping(q)
    if q.limit > COQL_MAX_LIMIT or q.limit < 1:
        raise _limit_exceeded("limit", COQL_MAX_LIMIT)
    if q.offset + q.limit > COQL_MAX_OFFSET:
        raise _limit_exceeded("offset", COQL_MAX_OFFSET)
    return q
