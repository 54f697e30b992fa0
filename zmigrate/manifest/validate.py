"""The one validator: checks a TOML table against its declared keys (:mod:`.keys`).

Every refusal is a :class:`~zmigrate.errors.ManifestError` located by a :class:`Scope`: the
file, the TOML line of the key, the step and the field, with the nearest valid name::

    values = check(keys.TARGET, raw, scope)   # defaults filled in, choices canonical
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from zmigrate.errors import ManifestError
from zmigrate.manifest.hints import did_you_mean
from zmigrate.manifest.keys import SECRET_HINT, SECRET_KEYS, Key, Kind, Table
from zmigrate.manifest.locate import Locator, Path


@dataclass(frozen=True)
class Scope:
    """Where in the manifest a table lies: its key path, its step, the field it maps."""

    file: str
    loc: Locator
    path: Path = ()
    step: str | None = None
    field: str | None = None  # the target field a mapping or lookup fills

    def at(self, *keys: str | int, field: str | None = None) -> Scope:
        return replace(self, path=self.path + keys, field=field or self.field)

    def line(self, *keys: str) -> int:
        return self.loc.line(self.path + keys)

    def fail(
        self,
        msg: str,
        *keys: str,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> NoReturn:
        raise ManifestError(
            msg,
            file=self.file,
            line=line or self.line(*keys),
            step=self.step,
            field=field,
            hint=hint,
        )


class Invalid(Exception):
    """A value that does not fit its key; ``hint`` suggests a fix."""

    def __init__(self, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(hint)


def check(table: Table, raw: object, scope: Scope) -> dict[str, Any]:
    """The table's values, defaults filled in; ManifestError at the first wrong key."""
    if not isinstance(raw, dict):
        named = scope.path[-1] if scope.path and isinstance(scope.path[-1], str) else None
        scope.fail(table.shape or f"{table.what} must be a table", field=scope.field or named)
    unknown(table, raw, scope)
    values = {}
    for key in table.keys:
        value = check_key(key, raw, scope)
        if value is not None:
            values[key.name] = value
    given = [k for k in table.exactly_one if k in raw]
    if table.exactly_one and len(given) != 1:
        either = " or ".join(f"'{k}'" for k in table.exactly_one)
        scope.fail(f"give either {either}", field=scope.field)
    return values


def unknown(table: Table, raw: Mapping[str, Any], scope: Scope) -> None:
    """Refuse a key the table does not declare, pointing secrets to the environment."""
    for k in raw:
        if k not in table.names:
            hint = SECRET_HINT if k.lower() in SECRET_KEYS else did_you_mean(k, table.names, "key")
            what = table.what.format(name=scope.field)
            scope.fail(f"unknown key '{k}' in {what}", k, field=k, hint=hint)


def check_key(key: Key, raw: Mapping[str, Any], scope: Scope) -> Any:
    """One key's value (or its default), normalised; None when absent and optional."""
    value = raw.get(key.name, os.environ.get(key.env, key.default) if key.env else key.default)
    field = scope.field or key.name
    if value is None:
        if key.required:
            scope.fail(key.missing or f"missing '{key.name}'", line=scope.line(), field=field)
        return None
    try:
        value = _CHECKS[key.kind](key, value)
    except Invalid as bad:
        text = str(value).strip()
        msg = (key.bad or _BAD[key.kind]).format(
            key=key.name, value=value, text=text, low=key.low, high=key.high, label=key.what
        )
        scope.fail(msg, key.name, field=field, hint=bad.hint or key.hint or None)
    return check(key.table, value, scope.at(key.name)) if key.table else value


def _text(key: Key, value: Any) -> str:
    if not isinstance(value, str) or (key.pattern and not re.fullmatch(key.pattern, value)):
        raise Invalid
    return value


def _names(key: Key, value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(v, str) for v in names):
        raise Invalid
    return tuple(names)


def _choice(key: Key, value: Any) -> str:
    """The canonical choice; spaces and '-' may stand for '_' ("zoho one" for zoho_one)."""
    written = str(value).strip().lower()
    aliases = dict(key.aliases)
    for spelling in (written, written.replace(" ", "_").replace("-", "_")):
        name = aliases.get(spelling, spelling)
        if name in key.choices:
            return name
    raise Invalid(did_you_mean(written, key.choices, key.what))


def _count(key: Key, value: Any) -> int:
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or value < key.low or (key.high is not None and value > key.high):
        raise Invalid
    return int(value)


def _digits(key: Key, value: Any) -> str:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise Invalid
    return text


def _char(key: Key, value: Any) -> str:
    if not isinstance(value, str) or len(value) != 1:
        raise Invalid
    return value


def _flag(key: Key, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid
    return value


def _codec(key: Key, value: Any) -> str:
    try:
        "".encode(str(value))
    except LookupError:
        raise Invalid from None
    return str(value)


def _table(key: Key, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid
    return value


def _tables(key: Key, value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise Invalid
    return value


def _any(key: Key, value: Any) -> Any:
    return value


_CHECKS: dict[Kind, Callable[[Key, Any], Any]] = {
    Kind.TEXT: _text,
    Kind.NAMES: _names,
    Kind.CHOICE: _choice,
    Kind.COUNT: _count,
    Kind.DIGITS: _digits,
    Kind.CHAR: _char,
    Kind.FLAG: _flag,
    Kind.CODEC: _codec,
    Kind.TABLE: _table,
    Kind.TABLES: _tables,
    Kind.ANY: _any,
}
_BAD: dict[Kind, str] = {
    Kind.TEXT: "{key} must be text, got {value!r}",
    Kind.NAMES: "'{key}' must be a name or a list of names",
    Kind.CHOICE: "unknown {label} '{text}'",
    Kind.COUNT: "{key} must be a whole number >= {low}, got {value!r}",
    Kind.DIGITS: "{key} must be digits, got {value!r}",
    Kind.CHAR: "{key} must be one character, got {value!r}",
    Kind.FLAG: "{key} must be true or false, got {value!r}",
    Kind.CODEC: "unknown {label} '{text}'",
    Kind.TABLE: "'{key}' must be a table",
    Kind.TABLES: "'{key}' must be an array of tables",
    Kind.ANY: "",
}
