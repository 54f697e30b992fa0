"""A parsed COQL query run over the stored records: joins, filter, groups, order, window.

Each record is widened with its joined columns (keyed by their dotted paths) before the
filter sees it, so `filters.matches` tests joined fields like any other. A grouped query
answers one row per group with its GROUP BY values and aggregates (no ``id``); a plain one
answers the selected columns and ``id``. Pure: records and lookups come in as arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .coql_parse import Aggregate, Coql
from .filters import matches

Find = Callable[[str, str], dict[str, Any] | None]
"""A stored record by module api name and id (`CrmStore.find`), or None."""
Row = dict[str, Any]
LOOKUPS = ("lookup", "ownerlookup")


def _joined(q: Coql, rec: Row, find: Find) -> Row:
    """``rec`` with the value of each of the query's dotted columns added."""
    if not q.joins:
        return rec
    wide = dict(rec)
    for name, join in q.joins.items():
        current: Row | None = rec
        for lookup, module in join.hops:
            ref = current.get(lookup) if current is not None else None
            current = find(module, str(ref)) if ref is not None else None
        wide[name] = current.get(join.target.api_name.split(".")[-1]) if current else None
    return wide


def _sort_key(name: str) -> Callable[[Row], tuple[bool, Any]]:
    """ORDER BY key on ``name``: empty values after the others (before when DESC)."""

    def key(row: Row) -> tuple[bool, Any]:
        value = row.get(name)
        return value is None, value if value is not None else ""

    return key


def _ordered(rows: list[Row], order: list[tuple[str, bool]]) -> list[Row]:
    for name, descending in reversed(order):
        rows.sort(key=_sort_key(name), reverse=descending)
    return rows


def _aggregate(agg: Aggregate, rows: list[Row]) -> Any:
    if agg.column is None:
        return len(rows)
    values = [v for r in rows if (v := r.get(agg.column.api_name)) is not None]
    if agg.fn == "COUNT":
        return len(values)
    if not values:
        return None
    if agg.fn == "SUM":
        return sum(float(v) for v in values)
    if agg.fn == "AVG":
        return sum(float(v) for v in values) / len(values)
    return min(values) if agg.fn == "MIN" else max(values)


def _groups(q: Coql, hits: list[Row]) -> list[Row]:
    """One row per distinct GROUP BY value (one row in all without GROUP BY)."""
    buckets: dict[tuple[Any, ...], list[Row]] = {}
    for row in hits:
        key = tuple(_hashable(row.get(name)) for name in q.group_by)
        buckets.setdefault(key, []).append(row)
    if not q.group_by and not buckets:
        buckets[()] = []
    out = []
    for key, rows in buckets.items():
        group: Row = {}
        for name, value in zip(q.group_by, key, strict=True):
            group[name] = _shown(q, name, rows[0].get(name)) if value is not None else None
        for agg in q.aggregates:
            group[agg.key] = _aggregate(agg, rows)
        out.append(group)
    return _ordered(out, q.order or [(name, False) for name in q.group_by])


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _shown(q: Coql, name: str, value: Any) -> Any:
    """A column's value as COQL answers it: lookups as ``{"id"}``."""
    f = q.columns.get(name)
    if f is not None and value is not None and f.data_type in LOOKUPS:
        return {"id": value}
    return value


def run_coql(q: Coql, records: Iterable[Row], find: Find) -> tuple[list[Row], bool]:
    """The rows of the answer's window and whether more follow it."""
    hits = [
        row
        for row in (_joined(q, rec, find) for rec in records)
        if q.where is None or matches(q.where, row)
    ]
    if q.grouped:
        rows = _groups(q, hits)
        window = rows[q.offset : q.offset + q.limit]
        return window, len(rows) > q.offset + q.limit
    _ordered(hits, q.order)
    window = hits[q.offset : q.offset + q.limit]
    data = []
    for row in window:
        out = {name: _shown(q, name, row.get(name)) for name in q.select}
        out["id"] = row["id"]
        data.append(out)
    return data, len(hits) > q.offset + q.limit
