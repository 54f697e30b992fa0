"""A big sheet matched a chunk at a time by a worker process reads as openpyxl reads it."""

from __future__ import annotations

import zipfile
from concurrent.futures import BrokenExecutor, Future, wait
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_sources_xlsx_cells import source

from zmigrate.errors import ManifestError
from zmigrate.sources import xlsx_match, xlsx_sheet
from zmigrate.sources.xlsx import xlsx_blocks, xlsx_rows

HEADER = ["ref", "name", "amount", "closing", "code", "flag"]


def _row(i: int) -> list[Any]:
    """Row shapes change on the way: shared and inline text, ints beside decimals, dates,
    leading zeros, entities, a missing cell, booleans."""
    amount: Any = i * 3 if i % 4 else i + 0.25
    name = f"Name {i} & Co <{i}>" if 700 <= i < 760 else f"Name {i}"
    code = None if 1500 <= i < 1520 else f"{i:06d}"
    flag: Any = bool(i % 2) if i >= 2200 else "x"
    return [f"R{i:05d}", name, amount, date(2024, 1, 1 + i % 28), code, flag]


def _book(path: Path, rows: int, *, shared: bool) -> Path:
    book = openpyxl.Workbook(write_only=not shared)
    ws = book.create_sheet("Cells") if not shared else book.active
    ws.title = "Cells"
    ws.append(HEADER)
    for i in range(rows):
        ws.append(_row(i))
    book.save(path)
    return path


def _openpyxl(path: Path) -> list[tuple[int, list[Any]]]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    for number, values in enumerate(book["Cells"].iter_rows(values_only=True), start=1):
        cells = [v.date() if isinstance(v, datetime) and v.time() == time() else v for v in values]
        out.append((number, cells + [None] * (len(HEADER) - len(cells))))
    book.close()
    return out


def _spy(monkeypatch: pytest.MonkeyPatch, kill_after: int | None = None) -> list[Future[Any]]:
    """Small chunks, every sheet to the worker, and the worker's answers kept (the worker
    killed after ``kill_after`` chunks)."""
    monkeypatch.setattr(xlsx_sheet, "_CHUNK", 16384)
    monkeypatch.setattr(xlsx_match, "PARALLEL_BYTES", 0)
    futures: list[Future[Any]] = []
    submit = xlsx_match.Matcher.submit

    def spied(self: xlsx_match.Matcher, pattern: str, data: bytes) -> Future[Any]:
        if kill_after is not None and len(futures) == kill_after:
            wait(futures)  # answered, then the worker dies with no chunk in flight
            self._proc.kill()
            self._proc.wait()
        futures.append(submit(self, pattern, data))
        return futures[-1]

    monkeypatch.setattr(xlsx_match.Matcher, "submit", spied)
    return futures


@pytest.mark.parametrize("shared", [False, True])
def test_a_sheet_matched_by_the_worker_reads_as_openpyxl(tmp_path, monkeypatch, shared):
    book = _book(tmp_path / "big.xlsx", 3000, shared=shared)
    futures = _spy(monkeypatch)
    got = list(xlsx_rows(source(tmp_path, book), None))
    assert got == _openpyxl(book)
    answers = [f.result() for f in futures]
    assert sum(a is not None for a in answers) >= 20  # chunks the worker matched
    assert None in answers  # and chunks of a new shape, read here


def test_a_worker_that_dies_leaves_the_reading_to_this_process(tmp_path, monkeypatch):
    book = _book(tmp_path / "big.xlsx", 3000, shared=False)
    futures = _spy(monkeypatch, kill_after=5)
    got = list(xlsx_rows(source(tmp_path, book), None))
    assert got == _openpyxl(book)
    assert len(futures) > 20
    assert all(f.exception(timeout=5) is None for f in futures[:5])
    assert all(isinstance(f.exception(timeout=5), BrokenExecutor) for f in futures[5:])


@pytest.mark.parametrize("worker", [False, True])
def test_a_cell_that_is_no_number_is_named_by_its_row_and_column(tmp_path, monkeypatch, worker):
    """Columns are converted only when read; a bad one still names its cell."""
    path = tmp_path / "bad.xlsx"
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("Cells")
    ws.append(["ref", "amount"])
    for i in range(2000):
        ws.append([f"R{i:05d}", i])
    book.save(path)
    with zipfile.ZipFile(path) as old:
        parts = {name: old.read(name) for name in old.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(
        b'<c r="B1500" t="n"><v>1498</v>', b'<c r="B1500" t="n"><v>14x8</v>'
    )
    assert b"14x8" in parts[sheet]
    with zipfile.ZipFile(path, "w") as new:
        for name, data in parts.items():
            new.writestr(name, data)
    monkeypatch.setattr(xlsx_sheet, "_CHUNK", 16384)
    monkeypatch.setattr(xlsx_match, "PARALLEL_BYTES", 0 if worker else 1 << 40)
    blocks = xlsx_blocks(source(tmp_path, path), None)
    with pytest.raises(ManifestError) as caught:
        for block in blocks:
            block.column(1)
    assert (caught.value.line, caught.value.cell) == (1500, "B")
    assert "bad.xlsx" in str(caught.value) and "14x8" in str(caught.value)
