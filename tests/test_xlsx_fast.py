"""The bulk sheet reader: its fast path, its slow path and openpyxl read the same values."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from test_sources_xlsx_cells import HEADER, openpyxl_rows, source, write_book

from zmigrate.sources import xlsx_sheet
from zmigrate.sources.xlsx import xlsx_rows
from zmigrate.sources.xlsx_book import Book
from zmigrate.sources.xlsx_sheet import FastRows, SheetRows, SlowRows

SHEET = "xl/worksheets/sheet1.xml"
# s="1" date, s="2" time, s="3" date-time (the styles openpyxl saves for the first row below)
ROWS = [
    '<row r="2"><c r="A2" s="1" t="n"><v>45292</v></c><c r="B2" s="2" t="n"><v>0.4375</v></c>'
    '<c r="C2" s="3" t="n"><v>45292.5</v></c><c r="D2" t="s"><v>0</v></c>'
    '<c r="E2" t="s"><v>1</v></c><c r="F2" t="s"><v>2</v></c></row>',
    # formulas with cached values, a shared formula, booleans, an error, an ISO date
    '<row r="3"><c r="A3"><f>SUM(1,2)</f><v>3</v></c><c r="B3" t="str"><f>"a"&amp;"b"</f>'
    '<v>ab</v></c><c r="C3"><f t="shared" si="0"/><v>4.5</v></c><c r="D3" t="b"><v>1</v></c>'
    '<c r="E3" t="e"><v>#DIV/0!</v></c><c r="F3" t="d"><v>2024-03-01T00:00:00</v></c></row>',
    # entities, spaces kept, line ends, leading zeros, a styled empty cell, a sparse row
    '<row r="4" spans="1:6"><c r="A4" t="inlineStr"><is><t xml:space="preserve"> a &amp; b '
    '&lt;c&gt; &#233;</t></is></c><c r="B4" t="inlineStr"><is><t>l1\r\nl2</t></is></c>'
    '<c r="C4" t="inlineStr"><is><t>00123</t></is></c><c r="D4" s="1"/>'
    '<c r="F4"><v>1E3</v></c></row>',
    # attributes in another order, a comment, cells and a row without r, rich inline text
    '<row r="6"><c t="n" s="1" r="A6"><v>45293</v></c><!-- a note --><c r="B6"><v>7</v></c></row>'
    '<row><c><v>8</v></c><c t="inlineStr"><is><r><t>ri</t></r><r><rPr><b/></rPr><t>ch</t></r>'
    "</is></c></row>",
    '<row r="9" customHeight="1" ht="30"/><row r="10"><c r="B10" t="s"><v>3</v></c></row>',
    '<row r="11"><c r="A11"><v><![CDATA[5]]></v></c><c r="B11" t="inlineStr"><is><t>'
    "<![CDATA[1 < 2 & 3]]></t></is></c></row>",
]
STRINGS = [
    "<si><t>shared</t></si>",
    '<si><r><t>rich </t></r><r><rPr><b/></rPr><t xml:space="preserve">text</t></r></si>',
    '<si><t>漢字</t><rPh sb="0" eb="2"><t>カンジ</t></rPh><phoneticPr fontId="0"/></si>',
    "<si><t>x &amp; y</t></si>",
]


def hand_written(path: Path, *, prefixed: bool = False, epoch_1904: bool = False) -> Path:
    """A workbook openpyxl saves (styles, parts), its sheet and shared strings then written by
    hand in the shapes other programs write."""
    book = openpyxl.Workbook()
    if epoch_1904:
        book.epoch = CALENDAR_MAC_1904
    ws = book.active
    ws.title = "Cells"
    ws.append([date(2024, 1, 1), time(10, 30), datetime(2024, 1, 1, 10, 0), "d", "e", "f"])
    book.save(path)
    with zipfile.ZipFile(path) as old:
        parts = {name: old.read(name) for name in old.namelist()}
    sheet = parts[SHEET].decode()
    assert '<c r="A1" s="1"' in sheet and '<c r="B1" s="2"' in sheet and '<c r="C1" s="3"' in sheet
    sheet = re.sub(r"<dimension [^>]*>", "", sheet)  # else openpyxl stops at row 1
    after = '<conditionalFormatting sqref="A1"><cfRule type="expression" priority="1">'
    after += "<formula>1</formula></cfRule></conditionalFormatting>"
    sheet = sheet.replace("</row></sheetData>", f"</row>{''.join(ROWS)}</sheetData>{after}")
    if prefixed:
        sheet = re.sub(r"<(/?)(?=[a-zA-Z])(?!x:)", r"<\1x:", sheet)
        sheet = sheet.replace("<x:worksheet xmlns=", "<x:worksheet xmlns:x=")
    parts[SHEET] = sheet.encode()
    sst = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    strings = f'<sst xmlns="{sst}">{"".join(STRINGS)}</sst>'
    if prefixed:
        strings = re.sub(r"<(/?)(?=[a-zA-Z])", r"<\1x:", strings).replace("xmlns=", "xmlns:x=")
    parts["xl/sharedStrings.xml"] = strings.encode()
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    rel = f'<Relationship Id="rIdS" Type="{rels}" Target="sharedStrings.xml"/>'
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", f"{rel}</Relationships>".encode()
    )
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}"/></Types>'.encode(),
    )
    with zipfile.ZipFile(path, "w") as new:
        for name, data in parts.items():
            new.writestr(name, data)
    return path


def oracle(path: Path) -> dict[int, list[Any]]:
    """openpyxl's read-only values by row number, a midnight date-time as a date."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows: dict[int, list[Any]] = {}
    for row in book["Cells"].iter_rows():
        cells = [c for c in row if getattr(c, "row", None)]
        if cells:
            values = [c.value for c in row]
            rows[cells[0].row] = [
                v.date() if isinstance(v, datetime) and v.time() == time() else v for v in values
            ]
    book.close()
    return rows


def _fail(number: int, column: int, exc: Exception) -> Exception:
    return AssertionError(f"row {number}, column {column}: {exc}")


def fast_and_slow(path: Path) -> tuple[dict[int, list[Any]], dict[int, list[Any]]]:
    book = Book(path)
    try:
        with book.archive.open(book.sheets["Cells"]) as src:
            blocks = SheetRows(book, _fail).blocks(src)
            fast = {n: v for b in blocks for n, v in zip(b.numbers, b.rows, strict=True) if v}
        slow = {n: v for n, v in SlowRows(book).feed(book.archive.read(SHEET), True) if v}
    finally:
        book.close()
    return fast, slow


def trimmed(rows: dict[int, list[Any]]) -> dict[int, list[Any]]:
    out = {}
    for n, values in rows.items():
        values = list(values)
        while values and values[-1] is None:
            values.pop()
        if values:
            out[n] = values
    return out


@pytest.mark.parametrize(("prefixed", "epoch_1904"), [(False, False), (False, True), (True, False)])
def test_hand_written_cells_read_as_openpyxl_reads_them(
    tmp_path, monkeypatch, prefixed, epoch_1904
):
    monkeypatch.setattr(xlsx_sheet, "_CHUNK", 64)  # about a row a chunk: each row on its path
    book = hand_written(tmp_path / "hand.xlsx", prefixed=prefixed, epoch_1904=epoch_1904)
    fast, slow = fast_and_slow(book)
    expected = trimmed(oracle(book))
    assert trimmed(fast) == expected
    assert trimmed(slow) == expected
    assert fast[3] == [3, "ab", 4.5, True, "#DIV/0!", date(2024, 3, 1)]
    assert fast[4] == [" a & b <c> é", "l1\nl2", "00123", None, None, 1000.0]
    assert fast[2][3:] == ["shared", "rich text", "漢字"]
    assert fast[7] == [8, "rich"] and fast[10] == [None, "x & y"]
    assert fast[11] == [5, "1 < 2 & 3"]


@pytest.mark.parametrize(("write_only", "epoch_1904"), [(False, False), (True, True)])
def test_fast_path_reads_openpyxl_workbooks_as_the_slow_path(
    tmp_path, monkeypatch, write_only, epoch_1904
):
    monkeypatch.setattr(xlsx_sheet, "_CHUNK", 64)
    book = write_book(tmp_path / "cells.xlsx", write_only=write_only, epoch_1904=epoch_1904)
    fast, slow = fast_and_slow(book)
    assert fast == slow
    expected = openpyxl_rows(book)
    assert {n: (v + [None] * 16)[:16] for n, v in fast.items() if n > 1} == {
        n: v for n, v in expected.items() if n > 1
    }


def test_rows_of_one_shape_are_read_by_one_template(tmp_path):
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("Cells")
    ws.append(HEADER[:4])
    for i in range(300):
        ws.append([f"{i:05d}", i, i / 4, date(2024, 1, 1 + i % 28)])
    ws.append(["gap", None, None, 1])  # another shape: a sparse row
    book.save(tmp_path / "many.xlsx")
    wb = Book(tmp_path / "many.xlsx")
    text = wb.archive.read(wb.sheets["Cells"]).decode()
    fast = FastRows(wb, _fail)
    rows = fast.rows(text[: text.rindex("</row>") + len("</row>")])
    wb.close()
    assert rows is not None and len(rows) == 302
    assert len(fast.templates) == 3  # the header's, the data rows', the sparse row's
    assert rows[1] == (2, ["00000", 0, 0.0, date(2024, 1, 1)])
    assert rows[300] == (301, ["00299", 299, 74.75, date(2024, 1, 20)])
    assert rows[301] == (302, ["gap", None, None, 1])


def test_rows_across_chunks_of_a_big_sheet(tmp_path):
    """A sheet of several MB of XML: rows cut at chunk ends are read whole, in order."""
    path = write_book(tmp_path / "big.xlsx", write_only=True, epoch_1904=False)
    with zipfile.ZipFile(path) as old:
        parts = {name: old.read(name) for name in old.namelist()}
    name = next(n for n in parts if n.startswith("xl/worksheets/"))
    pad = "é" * 700
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{pad}{n}</t></is></c>'
        f'<c r="B{n}" t="n"><v>{n}.5</v></c></row>'
        for n in range(10, 4010)
    )
    parts[name] = parts[name].replace(b"</sheetData>", rows.encode() + b"</sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for part, data in parts.items():
            new.writestr(part, data)
    got = {n: cells for n, cells in xlsx_rows(source(tmp_path, path), None) if n >= 10}
    assert list(got) == list(range(10, 4010))
    assert all(cells[0] == f"{pad}{n}" and cells[1] == n + 0.5 for n, cells in got.items())


def test_cdata_and_comments_are_left_to_the_slow_path(tmp_path):
    book = Book(hand_written(tmp_path / "hand.xlsx"))
    text = book.archive.read(SHEET).decode()
    rows = {n: text.index(f'<row r="{n}"') for n in (6, 9, 11)}
    cdata = text[rows[11] : text.index("</row>", rows[11]) + len("</row>")]
    comment = text[rows[6] : rows[9]]
    assert FastRows(book, _fail).rows(cdata) is None
    assert FastRows(book, _fail).rows(comment) is None
    assert FastRows(book, _fail).rows(text[text.index("<row") : rows[6]]) is not None
    book.close()
