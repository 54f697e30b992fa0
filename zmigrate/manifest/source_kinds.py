"""The manifest's workbook and SQL sources: ``{ xlsx = ... }`` and ``{ sql = ..., query = ... }``.

A database URL may hold a password, and secrets never go in a manifest: ``sql`` names the
environment variable holding it (``"$LEGACY_DB_URL"``); a literal URL is taken only without a
password (e.g. ``sqlite:///legacy.db``), and a refusal never repeats it. A run is cut into
batches by row number, so a query must return its rows in the same order every time: it must
end with ``ORDER BY`` (its source key, or another unique column).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from zmigrate.manifest import keys
from zmigrate.manifest.model import SourceKind, SourceSpec
from zmigrate.manifest.validate import Scope, check

ENV_REF = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
"""``$NAME`` or ``${NAME}``: the URL is in that environment variable."""
_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@|[?&]password=", re.IGNORECASE)
_NOISE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.DOTALL)
_PARENS = re.compile(r"\([^()]*\)")
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"\b(?:limit|offset|fetch|for)\b", re.IGNORECASE)


def xlsx_source(scope: Scope, raw: Any, folder: Path) -> SourceSpec:
    v = check(keys.XLSX_SOURCE, raw, scope)
    return SourceSpec(
        SourceKind.XLSX,
        scope.line(),
        path=(folder / v["xlsx"]).resolve(),
        sheet=v.get("sheet"),
        header_row=v["header_row"],
        origin=scope.file,
    )


def sql_source(scope: Scope, raw: Any) -> SourceSpec:
    v = check(keys.SQL_SOURCE, raw, scope)
    url = v["sql"].strip()
    if not ENV_REF.match(url) and _PASSWORD.search(url):
        scope.fail(
            "a database URL with a password never goes in a manifest",
            "sql",
            field="sql",
            hint='put the URL in an environment variable and write sql = "$LEGACY_DB_URL"',
        )
    return SourceSpec(
        SourceKind.SQL, scope.line(), url=url, query=v["query"].strip(), origin=scope.file
    )


def order_by_clause(query: str) -> str | None:
    """The text of the query's outermost ORDER BY (None: it has none), comments and string
    literals and parenthesised parts (subqueries) left out."""
    text = _NOISE.sub(" ", query)
    while _PARENS.search(text):
        text = _PARENS.sub(" ", text)
    found = list(_ORDER_BY.finditer(text))
    if not found:
        return None
    clause = text[found[-1].end() :]
    end = _CLAUSE_END.search(clause)
    return clause[: end.start()] if end else clause


def check_order(scope: Scope, query: str, source_key: tuple[str, ...]) -> None:
    """Refuse a query with no ORDER BY: its row order, and so its batches, would not be stable.

    Which columns make the order total (a unique one, e.g. the key) only the database knows;
    a resume also compares the rows' checksum, so an order that still varies is caught there.
    """
    if order_by_clause(query) is None:
        key = ", ".join(source_key) or "its key"
        scope.fail(
            "the query has no ORDER BY",
            "query",
            field="query",
            hint=f"end the query with ORDER BY {key}: a run is cut into batches by row number, "
            "so a resume needs the rows in the same order every time",
        )
