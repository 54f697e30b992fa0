"""Books/Inventory list parameters: paging and the filters Zoho's lists take."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from zmigrate.sandbox.finance_values import invalid
from zmigrate.schema import Module

ORG_PARAM = "organization_id"
LIST_PARAMS = frozenset({ORG_PARAM, "page", "per_page", "sort_column", "sort_order"})
MAX_PAGE_PARAM = 2**31 - 1


def positive(raw: str, name: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_PARAM:
        raise invalid(name)
    return int(raw)


def _contains(value: str, wanted: str) -> bool:
    return wanted in value


FILTER_SUFFIXES: dict[str, Callable[[str, str], bool]] = {
    "_startswith": str.startswith,
    "_contains": _contains,
}


ListFilter = tuple[str, Callable[[str, str], bool], str]
"""(field, test of the lower-cased stored value against the wanted one, wanted value)."""


def list_filters(query: Mapping[str, str], module: Module) -> list[ListFilter]:
    """Books-style list filters as (field, test, lower-cased value): ``field=``,
    ``field_startswith=``, ``field_contains=``, ``search_text=`` (in the display field).
    Parameters naming no field are ignored, as Zoho ignores unknown parameters."""
    filters: list[ListFilter] = []
    for key, wanted in query.items():
        if key in LIST_PARAMS:
            continue
        if key == "search_text":
            filters.append((module.display_field, _contains, wanted.lower()))
        elif module.field(key):
            filters.append((key, str.__eq__, wanted.lower()))
        else:
            for suffix, test in FILTER_SUFFIXES.items():
                name = key.removesuffix(suffix)
                if name != key and module.field(name):
                    filters.append((name, test, wanted.lower()))
    return filters
