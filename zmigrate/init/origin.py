"""Where ``init`` reads a source from, as the user names it on the command line.

A file (``accounts.csv``), a zip's members (``backup.zip``: one source per CSV/JSONL
member; ``backup.zip:Account.csv``: that one), a workbook's sheets (``book.xlsx``: one per
sheet with a header, found under any title lines; ``book.xlsx:Accounts``: that one), or a
database (``sql:$VAR:TABLE``, or ``sql:$VAR:SELECT ... ORDER BY ...``). A database URL only ever
comes from the environment variable named: it is never written to the manifest nor printed.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from zmigrate.errors import UsageError
from zmigrate.manifest import display_path
from zmigrate.manifest.source_kinds import ENV_REF, order_by_clause

TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".jsonl", ".ndjson"})
"""What ``init`` reads as CSV or JSONL, in a folder or inside a zip."""

_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_FROM = re.compile(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_.]*)", re.IGNORECASE)


class Form(StrEnum):
    """How the manifest's ``source`` table names the rows."""

    FILE = "file"  # a CSV/JSONL file, or a member of a zip (``member``)
    XLSX = "xlsx"  # one sheet of a workbook
    SQL = "sql"  # a query's rows


@dataclass(frozen=True)
class Origin:
    """One source ``init`` profiles and writes a step for."""

    form: Form
    path: Path | None = None  # the file, the zip or the workbook
    inner: str | None = None  # the zip member or the sheet
    url: str | None = None  # ``$NAME`` of the variable holding a database URL
    query: str | None = None  # the query as given (None: ``table``'s rows, ordered by init)
    table: str | None = None
    header_row: int = 1  # a sheet's row naming its columns

    @property
    def stem(self) -> str:
        """What names the step and hints at its module: file, member, sheet or table name."""
        if self.form is Form.SQL:
            found = _FROM.search(self.query or "")
            table = self.table or (found.group(1) if found else "query")
            return table.rsplit(".", 1)[-1]  # public.accounts: accounts
        if self.inner is not None:
            return PurePosixPath(self.inner).stem if self.form is Form.FILE else self.inner
        assert self.path is not None
        return self.path.stem

    @property
    def suffix(self) -> str:
        """The suffix that says how a file or member is read."""
        name = self.inner if self.inner is not None else self.path.name if self.path else ""
        return PurePosixPath(name).suffix.lower()

    @property
    def label(self) -> str:
        """How the manifest's comments name it (never a database URL)."""
        if self.form is Form.SQL:
            return f"sql:{self.url}:{self.table or ' '.join((self.query or '').split())}"
        assert self.path is not None
        return f"{self.path.name}!{self.inner}" if self.inner else self.path.name


def _zip_members(path: Path, only: str | None) -> list[Origin]:
    try:
        with zipfile.ZipFile(path) as book:
            names = [n for n in book.namelist() if not n.endswith("/")]
    except (OSError, zipfile.BadZipFile) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot open the zip archive {display_path(path)}: {why}") from None
    if only is not None:
        return [Origin(Form.FILE, path, only)]  # a missing member is named by its reader
    found = [n for n in names if PurePosixPath(n).suffix.lower() in TEXT_SUFFIXES]
    if not found:
        raise UsageError(
            f"{display_path(path)} holds no CSV or JSONL file ({', '.join(sorted(TEXT_SUFFIXES))})"
        )
    return [Origin(Form.FILE, path, n) for n in sorted(found)]


HEAD_ROWS = 20
"""Rows of a sheet looked at for its header (title lines above it are skipped)."""


def _sheets(path: Path, only: str | None) -> list[Origin]:
    try:
        book = load_workbook(path, read_only=True)
    except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot open the workbook {display_path(path)}: {why}") from None
    try:
        if only is not None and only not in book.sheetnames:
            return [Origin(Form.XLSX, path, only)]  # its reader names the nearest sheet
        out: list[Origin] = []
        for ws in book.worksheets:
            if only is not None and ws.title != only:
                continue
            head = list(ws.iter_rows(min_row=1, max_row=HEAD_ROWS, values_only=True))
            row = header_row(head)
            if row is not None or only is not None:
                out.append(Origin(Form.XLSX, path, ws.title, header_row=row or 1))
        return out
    finally:
        book.close()


def header_row(head: list[tuple[Any, ...]]) -> int | None:
    """The row (1-based) naming a sheet's columns: the first of the widest rows of the head
    whose cells are all text (a title or a blank line above it is skipped); None: no header."""

    def filled(row: tuple[Any, ...]) -> list[Any]:
        return [v for v in row if v is not None and str(v).strip()]

    widest = max((len(filled(r)) for r in head), default=0)
    for number, row in enumerate(head, 1):
        cells = filled(row)
        if widest and len(cells) == widest and all(isinstance(v, str) for v in cells):
            return number
    return None


def _sql(arg: str) -> Origin:
    _, _, rest = arg.partition(":")
    var, _, what = rest.partition(":")
    var = var if var.startswith("$") else f"${var}"
    what = what.strip()
    usage = "write sql:$VAR:TABLE or sql:$VAR:'SELECT ... ORDER BY key' (VAR holds the URL)"
    if "://" in rest:  # never echoed: it may hold a password
        raise UsageError(f"a database URL is never given on the command line: {usage}")
    if not ENV_REF.match(var) or not what:
        raise UsageError(f"cannot read the source 'sql:{var}:...': {usage}")
    if _TABLE.match(what):
        return Origin(Form.SQL, url=var, table=what)
    if not what.casefold().startswith(("select", "with")):
        raise UsageError(f"'{what}' is neither a table name nor a SELECT: {usage}")
    if order_by_clause(what) is None:
        raise UsageError(
            f"the query '{what}' has no ORDER BY: end it with ORDER BY its key (a run is cut "
            "into batches by row number), or name the table and init orders it by its key"
        )
    return Origin(Form.SQL, url=var, query=what)


def origins(arg: str) -> list[Origin]:
    """The sources one command-line argument names (see the module's docstring)."""
    if arg.startswith("sql:"):
        return [_sql(arg)]
    path, inner = Path(arg), None
    if not path.exists() and ":" in arg:
        head, _, tail = arg.rpartition(":")
        if Path(head).suffix.lower() in (".zip", ".xlsx"):
            path, inner = Path(head), tail
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _zip_members(path, inner)
    if suffix in (".xlsx", ".xlsm"):
        return _sheets(path, inner)
    return [Origin(Form.FILE, path)]
