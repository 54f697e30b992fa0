"""Excel sources: one sheet streamed, cell types kept, errors located as ``file.xlsx!Sheet:C17``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.mapping import map_record
from zmigrate.run import source_hashes
from zmigrate.sources import iter_records, iter_rows, read_columns, scan

HEAD = '[target]\ncrm_edition = "free"\n\n'
DEALS = """\
[[steps]]
name = "deals"
source = { xlsx = "book.xlsx", sheet = "Deals", header_row = 3 }
target = "crm:Deals"
key = ["Deal_Name"]
source_key = ["ref"]
[steps.fields]
Deal_Name = "ref"
Amount = "amount"
Closing_Date = "closing"
Stage = { const = "Qualification" }
Description = { column = "noted", transform = "datetime", tz = "+05:30" }
"""


def workbook(path: Path, rows: list[list[object]], sheet: str = "Deals") -> Path:
    """A workbook whose ``sheet`` has two title rows, then the header at row 3, then ``rows``."""
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    ws = book.create_sheet(sheet)
    ws.append(["Export of deals"])
    ws.append([])
    ws.append(["ref", "amount", "closing", "noted"])
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


ROWS: list[list[object]] = [
    ["00123", 12.5, date(2024, 1, 5), datetime(2024, 1, 5, 10, 30)],
    [],  # an empty row is skipped, the numbering goes on
    ["00124", 7, datetime(2024, 2, 29), None],
]


def deals(tmp_path: Path, rows: list[list[object]] = ROWS, body: str = DEALS) -> Path:
    workbook(tmp_path / "book.xlsx", rows)
    path = tmp_path / "m.toml"
    path.write_text(HEAD + body)
    return path


def test_cells_keep_their_types_and_excel_row_numbers(tmp_path):
    step = load_manifest(deals(tmp_path)).step("deals")
    assert read_columns(step.source) == ["ref", "amount", "closing", "noted"]
    rows = list(iter_rows(step.source))
    assert [line for line, _ in rows] == [4, 6]
    first = rows[0][1]
    assert first["ref"] == "00123" and first["amount"] == 12.5  # text keeps its zeros
    assert first["closing"] == date(2024, 1, 5) and type(first["closing"]) is date
    assert first["noted"] == datetime(2024, 1, 5, 10, 30)
    assert rows[1][1]["amount"] == 7 and isinstance(rows[1][1]["amount"], int)
    assert rows[1][1]["noted"] is None


def test_date_and_number_fields_map_from_typed_cells(tmp_path):
    step = load_manifest(deals(tmp_path)).step("deals")
    records = list(iter_records(step))
    assert [(r.line, r.key) for r in records] == [(4, "00123"), (6, "00124")]
    payload = map_record(step, records[0].rows, lambda s, k: None)
    assert payload["Deal_Name"] == "00123"
    assert payload["Amount"] == 12.5
    assert payload["Closing_Date"] == "2024-01-05"
    assert payload["Description"] == "2024-01-05T10:30:00+05:30"
    assert map_record(step, records[1].rows, lambda s, k: None)["Closing_Date"] == "2024-02-29"


def test_scan_counts_and_hash_follow_the_workbook(tmp_path):
    path = deals(tmp_path)
    counts = scan(load_manifest(path).steps)
    assert (counts["deals"].rows, counts["deals"].records) == (2, 2)
    before = source_hashes(load_manifest(path))
    assert list(before) == [str(tmp_path / "book.xlsx")]
    workbook(tmp_path / "book.xlsx", [*ROWS, ["00125", 1, date(2024, 3, 1), None]])
    assert source_hashes(load_manifest(path)) != before  # resume refuses the changed source


def test_duplicate_keys_are_located_by_sheet_and_cell(tmp_path):
    path = deals(tmp_path, [*ROWS, ["00123 ", 3, date(2024, 3, 1), None]])
    with pytest.raises(ManifestError) as info:
        scan(load_manifest(path).steps)
    e = info.value
    assert (e.line, e.cell, e.field) == (7, "A", "ref")
    assert "book.xlsx!Deals:A7, step 'deals'" in str(e)
    assert "'00123' on lines 4 and 7" in str(e)


def test_a_value_right_of_the_header_names_its_cell(tmp_path):
    path = deals(tmp_path, [["00123", 1, date(2024, 1, 1), None, "stray"]])
    with pytest.raises(ManifestError) as info:
        scan(load_manifest(path).steps)
    assert "book.xlsx!Deals:E4" in str(info.value)


def test_missing_column_sheet_and_header(tmp_path):
    path = deals(tmp_path, body=DEALS.replace('Amount = "amount"', 'Amount = "amuont"'))
    with pytest.raises(ManifestError, match="did you mean 'amount'") as info:
        scan(load_manifest(path).steps)
    assert info.value.line == 3 and "book.xlsx!Deals:3" in str(info.value)
    path = deals(tmp_path, body=DEALS.replace('sheet = "Deals"', 'sheet = "deals"'))
    with pytest.raises(ManifestError, match="no sheet 'deals'.*did you mean 'Deals'"):
        scan(load_manifest(path).steps)
    path = deals(tmp_path, body=DEALS.replace("header_row = 3", "header_row = 2"))
    with pytest.raises(ManifestError, match="row 2 is empty"):
        scan(load_manifest(path).steps)


def test_line_items_group_consecutive_rows(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["no", "cust", "qty"])
    for row in (["I1", "K1", 1], ["I1", "K1", 2], ["I2", "K2", 5]):
        ws.append(row)
    book.save(tmp_path / "inv.xlsx")
    (tmp_path / "m.toml").write_text(
        HEAD
        + """\
[[steps]]
name = "invoices"
source = { xlsx = "inv.xlsx" }
target = "books:invoices"
key = ["invoice_number"]
[steps.fields]
invoice_number = "no"
customer_id = { const = "1" }
"line_items[].quantity" = "qty"
"""
    )
    step = load_manifest(tmp_path / "m.toml").step("invoices")
    records = list(iter_records(step))
    assert [(r.line, r.key, len(r.rows)) for r in records] == [(2, "I1", 2), (4, "I2", 1)]
    payload = map_record(step, records[0].rows, lambda s, k: None)
    assert [i["quantity"] for i in payload["line_items"]] == [1, 2]
    assert scan([step])["invoices"].records == 2


def test_target_keys_compare_typed_and_text_cells_as_zoho_does(tmp_path):
    """Deal_Name from a number cell 7 and a text cell ' 7 ' is one key for Zoho."""
    body = DEALS.replace('Deal_Name = "ref"', 'Deal_Name = "amount"')
    path = deals(tmp_path, [["A1", 7, None, None], ["A2", " 7 ", None, None]], body)
    with pytest.raises(ManifestError, match="target key \\(Deal_Name\\) is not unique") as info:
        scan(load_manifest(path).steps)
    assert "'7' on lines 4 and 5" in str(info.value) and "book.xlsx!Deals:B5" in str(info.value)
