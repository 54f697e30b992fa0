"""The planner's positional pass over typed rows (a sheet, a query) gives the dict pass's hashes.

A sheet and a SQLite table hold the same typed cells (dates, numbers, text with leading zeros
and spaces, empty cells); every key a pass checks (single, composite, grouped source keys;
plain, transformed, composite target keys) must hash the same either way.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

import openpyxl

from zmigrate.manifest import SourceKind, Step, load_manifest
from zmigrate.sources import read_columns
from zmigrate.sources.hashing import (
    KeyCheck,
    TargetCheck,
    _pass_batches,
    _pass_blocks,
    _pass_rows,
    group_key,
    target_checks,
)
from zmigrate.sources.readers import iter_rows
from zmigrate.sources.sql import sql_batches, sql_rows
from zmigrate.sources.xlsx import xlsx_blocks

HEADER = ["ref", "name", "amount", "closing", "code"]
ROWS: list[list[object]] = [
    ["00123", " Acme ", 12.5, date(2024, 1, 5), "007"],
    ["00123 ", "acme", 12.5, date(2024, 1, 5), None],
    [124, "Beta", 7, datetime(2024, 2, 29, 10, 30), 7],
    [125, None, None, None, " 7 "],
    ["0125", "BETA ", 7.0, date(2024, 2, 29), "x"],
    [125, "Gamma", -3, None, ""],
]
STEPS = """\
[target]
crm_edition = "free"

[[steps]]
name = "deals"
source = SOURCE
target = "crm:Deals"
key = ["Deal_Name"]
source_key = ["ref", "closing"]
[steps.fields]
Deal_Name = "name"
Amount = "amount"
Closing_Date = "closing"
Stage = { const = "Qualification" }

[[steps]]
name = "accounts"
source = SOURCE
target = "crm:Accounts"
key = ["Account_Name"]
on_duplicate_key = "merge"
source_key = ["code"]
[steps.fields]
Account_Name = { column = "amount", transform = "string" }

[[steps]]
name = "contacts"
source = SOURCE
target = "crm:Contacts"
key = ["Last_Name", "Email"]
[steps.fields]
Last_Name = "amount"
Email = "code"

[[steps]]
name = "items"
source = SOURCE
target = "inventory:items"
key = ["name", "sku"]
on_duplicate_key = "merge"
[steps.fields]
name = "name"
sku = { column = "closing", transform = "string" }
rate = "amount"

[[steps]]
name = "invoices"
source = SOURCE
target = "books:invoices"
key = ["invoice_number"]
[steps.fields]
invoice_number = "ref"
customer_id = { const = "1" }
"line_items[].quantity" = "amount"
"""


def _checks(steps: list[Step], columns: list[str]) -> tuple[list[KeyCheck], list[TargetCheck]]:
    checks = [KeyCheck(*group_key(st, columns)) for st in steps if st.source_key]
    checks.append(KeyCheck((columns.index("ref"),), grouped=True))  # a line items' key
    return checks, [t for st in steps for t in target_checks(st, columns)]


def _hashes(checks: list[KeyCheck], targets: list[TargetCheck]) -> list[list[int]]:
    out = [[h for b in c.hashes.blocks() for h in b] for c in checks]
    return out + [[h for b in t.hashes.blocks() for h in b] for t in targets]


def _both_ways(path: Path) -> None:
    steps = load_manifest(path).steps
    source = steps[0].source
    columns = read_columns(source)
    fast = _checks(steps, columns)
    slow = _checks(steps, columns)
    if source.kind is SourceKind.SQL:
        dict_rows = ((n, dict(zip(columns, r, strict=True))) for n, r in sql_rows(source, None))
        next(dict_rows)
        passed = _pass_batches(sql_batches(source, None), *fast)
    else:
        dict_rows = iter_rows(source)
        blocks = xlsx_blocks(source, None)
        next(blocks)  # the header
        passed = _pass_blocks(blocks, *fast)
    assert passed == _pass_rows(dict_rows, columns, *slow) == len(ROWS)
    got, want = _hashes(*fast), _hashes(*slow)
    assert got == want
    assert all(got) and len(set(got[0])) < len(got[0])  # keys were hashed, one repeats


def test_a_sheet_hashes_the_same_by_position_as_by_dict(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Deals"
    book.active.append(HEADER)
    for row in ROWS:
        book.active.append(row)
    book.save(tmp_path / "book.xlsx")
    source = '{ xlsx = "book.xlsx", sheet = "Deals" }'
    (tmp_path / "m.toml").write_text(STEPS.replace("SOURCE", source))
    _both_ways(tmp_path / "m.toml")


def test_a_query_hashes_the_same_by_position_as_by_dict(tmp_path, monkeypatch):
    """SQLite keeps each value's own type in an untyped column (dates go in as ISO text)."""
    db = sqlite3.connect(tmp_path / "legacy.db")
    db.execute(f"create table deals (n, {', '.join(HEADER)})")
    for n, row in enumerate(ROWS):
        cells = [c.isoformat() if isinstance(c, date) else c for c in row]
        db.execute("insert into deals values (?, ?, ?, ?, ?, ?)", [n, *cells])
    db.commit()
    db.close()
    monkeypatch.setenv("LEGACY_DB_URL", f"sqlite:///{tmp_path / 'legacy.db'}")
    query = f"select {', '.join(HEADER)} from deals order by n"
    source = f'{{ sql = "$LEGACY_DB_URL", query = "{query}" }}'
    (tmp_path / "m.toml").write_text(STEPS.replace("SOURCE", source))
    _both_ways(tmp_path / "m.toml")
