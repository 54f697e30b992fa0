"""The Excel reader's cells are the values openpyxl's read-only mode gives, kind by kind."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.sources.xlsx import xlsx_rows

HEADER = [f"k{i}" for i in range(16)]
KINDS: list[Any] = [
    7,
    -12.5,
    1e20,
    "00123",
    True,
    False,
    date(2024, 1, 5),
    datetime(2024, 2, 29, 10, 30, 15),
    time(10, 30),
    timedelta(hours=30, minutes=5),
    " spaced & <escaped> ",
    "Zoë ✓",
    "#N/A",
    0,
    date(1904, 1, 2),
    "",
]


def write_book(path: Path, *, write_only: bool, epoch_1904: bool) -> Path:
    """Every cell kind: shared strings (normal mode) or inline strings (write-only mode),
    rich text, a sparse row, and the 1900 or 1904 date system."""
    book = openpyxl.Workbook(write_only=write_only)
    if epoch_1904:
        book.epoch = CALENDAR_MAC_1904
    ws = book.create_sheet("Cells")
    ws.append(HEADER)
    ws.append(KINDS)
    rich = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold")])
    ws.append([rich, None, 3, None, None, "x"])  # a sparse row: A, C and F
    ws.append([])
    ws.append([None] * 15 + ["last"])
    if not write_only:
        ws["D9"] = "after a gap"
        ws["A9"] = 1.5
        del book["Sheet"]
    book.save(path)
    return path


def openpyxl_rows(path: Path) -> dict[int, list[Any]]:
    """openpyxl's read-only values by row, a midnight date-time as a date (Excel's dates)."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows: dict[int, list[Any]] = {}
    for number, values in enumerate(book["Cells"].iter_rows(values_only=True), start=1):
        cells = [
            v.date() if isinstance(v, datetime) and v.time() == time() else v
            for v in values[: len(HEADER)]
        ]
        cells += [None] * (len(HEADER) - len(cells))
        if any(c not in (None, "") for c in cells):
            rows[number] = cells
    book.close()
    return rows


def source(tmp_path: Path, book: Path) -> Any:
    (tmp_path / "m.toml").write_text(
        '[target]\ncrm_edition = "free"\n\n[[steps]]\nname = "cells"\n'
        f'source = {{ xlsx = "{book.name}", sheet = "Cells" }}\n'
        'target = "crm:Deals"\nkey = ["Deal_Name"]\n[steps.fields]\nDeal_Name = "k0"\n'
        'Stage = { const = "Qualification" }\nClosing_Date = { const = "2024-01-01" }\n'
    )
    return load_manifest(tmp_path / "m.toml").step("cells").source


@pytest.mark.parametrize(("write_only", "epoch_1904"), [(False, False), (True, True)])
def test_every_cell_kind_reads_as_openpyxl_reads_it(tmp_path, write_only, epoch_1904):
    book = write_book(tmp_path / "cells.xlsx", write_only=write_only, epoch_1904=epoch_1904)
    header, *rows = xlsx_rows(source(tmp_path, book), None)
    assert header == (1, HEADER)
    expected = openpyxl_rows(book)
    assert expected.pop(1) == HEADER
    got = dict(rows)
    assert got == expected
    assert got[2] == [*KINDS[:15], None]  # "" is an empty cell, as in openpyxl
    assert [type(v) for v in got[2][:3]] == [int, float, float]
    assert got[2][6] == date(2024, 1, 5) and type(got[2][6]) is date
    assert got[3] == ["plain bold", None, 3, None, None, "x", *[None] * 10]
    assert got[5][15] == "last"


def test_a_sparse_row_keeps_its_cells_in_their_columns(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Cells"
    ws.append(HEADER[:5])
    ws["E2"] = "e"
    ws["B2"] = 2
    ws["C4"] = date(2030, 12, 31)
    book.save(tmp_path / "sparse.xlsx")
    rows = list(xlsx_rows(source(tmp_path, tmp_path / "sparse.xlsx"), None))
    assert rows == [
        (1, HEADER[:5]),
        (2, [None, 2, None, None, "e"]),
        (4, [None, None, date(2030, 12, 31), None, None]),
    ]


def test_a_broken_sheet_is_a_located_error(tmp_path):
    book = write_book(tmp_path / "cells.xlsx", write_only=False, epoch_1904=False)
    with zipfile.ZipFile(book) as old:
        parts = {name: old.read(name) for name in old.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    parts[sheet] = parts[sheet].replace(
        b'<row r="3"', b'<row r="3"><c r="A3"><v>1</x></c></row><row r="4"'
    )
    with zipfile.ZipFile(book, "w") as new:
        for name, data in parts.items():
            new.writestr(name, data)
    with pytest.raises(ManifestError) as info:
        list(xlsx_rows(source(tmp_path, book), None))
    assert "cannot read the sheet: mismatched tag" in str(info.value)
    assert "cells.xlsx!Cells:3" in str(info.value)
