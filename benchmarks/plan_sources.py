"""The planning benchmark's other sources: the same rows as an Excel sheet and a PostgreSQL table.

The workbook is written with openpyxl's write-only mode (real types: numbers, dates, text)
and kept in a cache folder, since writing a million rows takes minutes. The table lives in a
throwaway PostgreSQL server (``tests/pg_server.py``) loaded from the benchmark's CSV with COPY.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import psycopg

from zmigrate.manifest import SourceKind, load_manifest
from zmigrate.sources.hashing import CSV_CHUNK
from zmigrate.sources.readers import csv_chunks
from zmigrate.sources.xlsx import xlsx_blocks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import pg_server  # noqa: E402

CSV_SOURCE = 'source = { file = "people.csv" }'
PASSWORD = "bench-Plan-5e1d"
TABLE = """\
create table people (
    ref text primary key, company text, first text, last text, email text, deal text,
    stage text, amount numeric(12, 2), closing date, sku text, price numeric(8, 2)
)"""


def _typed(row: list[str]) -> list[object]:
    """A CSV row with its numbers and date as real values, as a spreadsheet holds them."""
    day, month, year = (int(p) for p in row[8].split("/"))
    return [*row[:7], float(row[7]), date(year, month, day), row[9], float(row[10])]


def xlsx_manifest(manifest: str, folder: Path, cache: Path, rows: int) -> Path:
    """The 5-step manifest over ``people.xlsx`` (written from the CSV unless cached)."""
    cache.mkdir(parents=True, exist_ok=True)
    book = cache / f"people-{rows}.xlsx"
    if not book.exists():
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("People")
        with (folder / "people.csv").open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            ws.append(next(reader))
            for row in reader:
                ws.append(_typed(row))
        wb.save(book.with_suffix(".part"))
        book.with_suffix(".part").rename(book)
    path = folder / "plan-xlsx.toml"
    source = f'source = {{ xlsx = "{book}", sheet = "People" }}'
    path.write_text(manifest.replace(CSV_SOURCE, source))
    return path


def sql_manifest(manifest: str, folder: Path) -> Path:
    """The 5-step manifest over ``select * from people order by ref`` on $LEGACY_DB_URL."""
    path = folder / "plan-sql.toml"
    source = 'source = { sql = "$LEGACY_DB_URL", query = "select * from people order by ref" }'
    path.write_text(manifest.replace(CSV_SOURCE, source))
    return path


@contextlib.contextmanager
def postgres_table(csv_path: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server whose ``people`` table holds the CSV; yields its URL."""
    with pg_server.postgres_server(PASSWORD) as url:
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            cur.execute(TABLE)
            cur.execute("set datestyle = 'ISO, DMY'")
            load = "copy people from stdin with (format csv, header true)"
            with cur.copy(load) as copy, csv_path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            cur.execute("analyze people")
        yield url


def reader_alone(label: str, manifest: Path) -> float:
    """Rows/s of the first step's reader by itself (rows as the planner gets them: a CSV's
    4,096 at a time, a sheet's a chunk of XML at a time), in this process."""
    source = load_manifest(manifest).steps[0].source
    start = time.perf_counter()
    if source.kind is SourceKind.XLSX:
        rows = sum(map(len, xlsx_blocks(source, None))) - 1
    else:
        rows = sum(map(len, csv_chunks(source, None, CSV_CHUNK)))
    seconds = time.perf_counter() - start
    load = os.getloadavg()[0]
    print(f"  {label} reader alone: {seconds:.2f} s, {rows / seconds:,.0f} rows/s, load {load:.1f}")
    return seconds
