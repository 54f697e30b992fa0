"""SQL sources against SQLite and a real PostgreSQL server the tests start (never a mock).

The PostgreSQL server (``pg_server``) starts once per session; its URL carries a password,
which no output may show.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pg_server
import pytest
import sqlalchemy as sa

from zmigrate.errors import ManifestError, StoreError
from zmigrate.manifest import load_manifest
from zmigrate.mapping import map_record
from zmigrate.run.preparation import open_store, source_hashes
from zmigrate.sources import (
    iter_records,
    iter_rows,
    query_id,
    query_source,
    read_columns,
    scan,
)
from zmigrate.sources.sql import BATCH, sql_checksum

PASSWORD = "pw-Legacy-7f3a91"
HEAD = '[target]\ncrm_edition = "free"\n\n'
DEALS = """\
[[steps]]
name = "deals"
source = { sql = "$LEGACY_DB_URL", query = "select * from deals order by ref" }
target = "crm:Deals"
key = ["Deal_Name"]
source_key = ["ref"]
[steps.fields]
Deal_Name = "title"
Amount = "amount"
Closing_Date = "closing"
Stage = { const = "Qualification" }
Description = { column = "ref", transform = "string" }
"""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session; skipped only without binaries outside CI."""
    if pg_server.binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) are missing under CI")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found")
    with pg_server.postgres_server(PASSWORD) as url:
        yield url


DEALS_TABLE = sa.Table(
    "deals",
    sa.MetaData(),
    sa.Column("ref", sa.String(10), primary_key=True),
    sa.Column("amount", sa.Numeric(10, 2, asdecimal=False)),
    sa.Column("closing", sa.Date),
    sa.Column("title", sa.String(50)),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ``deals`` table in SQLite or PostgreSQL; its URL is in $LEGACY_DB_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    DEALS_TABLE.drop(engine, checkfirst=True)
    DEALS_TABLE.create(engine)
    engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEGACY_DB_URL", url)
        yield url


COLUMNS = ("ref", "amount", "closing", "title")


def insert(url: str, *rows: tuple[object, ...]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(DEALS_TABLE.insert(), [dict(zip(COLUMNS, r, strict=True)) for r in rows])
    engine.dispose()


ROWS = [
    ("007", 12.5, date(2024, 1, 5), "Deal 7"),
    ("008", 3, date(2024, 2, 29), "Deal 8"),
    ("009", None, None, "Deal 9"),
]


def manifest(tmp_path: Path, body: str = DEALS) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(HEAD + body)
    return path


def test_rows_keep_types_and_are_numbered_in_the_result(db_url, tmp_path):
    insert(db_url, *reversed(ROWS))
    step = load_manifest(manifest(tmp_path)).step("deals")
    assert read_columns(step.source) == ["ref", "amount", "closing", "title"]
    rows = list(iter_rows(step.source))
    assert [line for line, _ in rows] == [1, 2, 3]
    assert [r["ref"] for _, r in rows] == ["007", "008", "009"]  # ordered, zeros kept
    outside = query_source("$LEGACY_DB_URL", "select title from deals order by ref")
    assert [r for _, r in iter_rows(outside)][0] == {"title": "Deal 7"}
    first = rows[0][1]
    if db_url.startswith("postgresql"):  # SQLite keeps a date as text, a numeric as a float
        assert first["closing"] == date(2024, 1, 5) and first["amount"] == Decimal("12.50")
    else:
        assert first["closing"] == "2024-01-05" and first["amount"] == 12.5


def test_date_and_number_fields_map_from_typed_values(db_url, tmp_path):
    insert(db_url, *ROWS)
    step = load_manifest(manifest(tmp_path)).step("deals")
    records = list(iter_records(step))
    assert [(r.line, r.key) for r in records] == [(1, "007"), (2, "008"), (3, "009")]
    payload = map_record(step, records[0].rows, lambda s, k: None)
    assert payload["Amount"] == 12.5 and payload["Closing_Date"] == "2024-01-05"
    assert payload["Description"] == "007" and payload["Deal_Name"] == "Deal 7"
    assert map_record(step, records[1].rows, lambda s, k: None)["Amount"] == 3


def test_scan_checksums_the_rows_and_resume_refuses_a_change(db_url, tmp_path):
    insert(db_url, *ROWS)
    path = manifest(tmp_path)
    m = load_manifest(path)
    counts = scan(m.steps)
    deals = counts["deals"]
    assert (deals.rows, deals.records) == (3, 3) and deals.checksum
    assert source_hashes(m, counts) == {query_id(m.step("deals").source): deals.checksum}
    assert source_hashes(m) == source_hashes(m, counts)  # a pass of its own agrees
    store, _ = open_store(m, m, tmp_path / "run", resume=False)
    store.close()
    store, _ = open_store(m, m, tmp_path / "run", resume=True)  # unchanged: accepted
    store.close()
    insert(db_url, ("010", 1, date(2024, 3, 1), "Deal 10"))
    with pytest.raises(StoreError, match=r"source sql:LEGACY_DB_URL#\w+ changed"):
        open_store(m, m, tmp_path / "run", resume=True)


def test_duplicate_keys_are_located_by_row_number(db_url, tmp_path):
    insert(db_url, *ROWS)
    body = DEALS.replace("select *", "select lower(title) as k, *").replace(
        'source_key = ["ref"]', 'source_key = ["k"]'
    )
    body = body.replace("order by ref", "order by k")
    insert(db_url, ("010", None, None, "deal 7"))
    with pytest.raises(ManifestError) as info:
        scan(load_manifest(manifest(tmp_path, body)).steps)
    assert "sql:$LEGACY_DB_URL:2" in str(info.value)
    assert "'deal 7' on lines 1 and 2" in str(info.value)


def test_a_query_without_a_stable_order_is_refused(tmp_path):
    unordered = DEALS.replace(" order by ref", "")
    with pytest.raises(ManifestError, match="no ORDER BY.*ORDER BY ref") as info:
        load_manifest(manifest(tmp_path, unordered))
    assert info.value.field == "query" and info.value.line == 6
    inner = DEALS.replace("from deals order by ref", "from (select * from deals order by ref) as d")
    with pytest.raises(ManifestError, match="no ORDER BY"):
        load_manifest(manifest(tmp_path, inner))
    commented = DEALS.replace("order by ref", "-- order by ref")
    with pytest.raises(ManifestError, match="no ORDER BY"):
        load_manifest(manifest(tmp_path, commented))


def test_a_password_in_the_manifest_is_refused_without_repeating_it(tmp_path):
    body = DEALS.replace("$LEGACY_DB_URL", f"postgresql://u:{PASSWORD}@db.example/legacy")
    with pytest.raises(ManifestError, match="with a password never goes in a manifest") as info:
        load_manifest(manifest(tmp_path, body))
    assert PASSWORD not in str(info.value) and "LEGACY_DB_URL" in str(info.value)
    body = DEALS.replace("$LEGACY_DB_URL", f"postgresql://u@db.example/legacy?password={PASSWORD}")
    with pytest.raises(ManifestError, match="with a password never goes in a manifest") as info:
        load_manifest(manifest(tmp_path, body))
    assert PASSWORD not in str(info.value)


def test_an_unset_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("LEGACY_DB_URL", raising=False)
    with pytest.raises(ManifestError, match="variable LEGACY_DB_URL is not set"):
        scan(load_manifest(manifest(tmp_path)).steps)


def test_plan_never_shows_the_url_or_its_password(postgres_url, tmp_path):
    """`zmigrate plan` end to end, then a failing query and a wrong password: no output holds
    the password or the URL."""
    env = {**os.environ, "LEGACY_DB_URL": postgres_url}
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("drop table if exists deals"))
        conn.execute(
            sa.text(
                "create table deals as select 'A1' as ref, 1.5 as amount, "
                "date '2024-01-05' as closing, 'T' as title"
            )
        )
    engine.dispose()
    exe = str(Path(sys.executable).with_name("zmigrate"))
    path = manifest(tmp_path)
    ok = subprocess.run([exe, "plan", str(path)], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = manifest(tmp_path, DEALS.replace("from deals", "from no_such_table"))
    failed = subprocess.run([exe, "plan", str(bad)], env=env, capture_output=True, text=True)
    assert failed.returncode == 2 and "no_such_table" in failed.stderr
    wrong = postgres_url.replace(PASSWORD, PASSWORD[::-1])
    denied = subprocess.run(
        [exe, "plan", str(path)],
        env={**env, "LEGACY_DB_URL": wrong},
        capture_output=True,
        text=True,
    )
    assert denied.returncode == 2 and "password authentication failed" in denied.stderr
    for proc in (ok, failed, denied):
        out = proc.stdout + proc.stderr
        assert PASSWORD not in out and PASSWORD[::-1] not in out and "@127.0.0.1" not in out


def row_by_row_checksum(rows: list[tuple[Any, ...]]) -> str:
    """The checksum stores hold: SHA-256 over each row's ``repr``, in order, header first."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(row).encode("utf-8", "backslashreplace"))
    return "sha256:" + digest.hexdigest()


def test_the_checksum_of_batches_is_the_row_by_row_checksum(db_url, tmp_path):
    """Rows come a batch at a time; the checksum is the one row by row would give."""
    many = [(f"{i:06d}", i / 4, date(2024, 1, 1 + i % 28), f"Deal {i}") for i in range(BATCH + 7)]
    insert(db_url, *many)
    source = load_manifest(manifest(tmp_path)).step("deals").source
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(sa.text("select * from deals order by ref"))]
    engine.dispose()
    assert sql_checksum(source) == row_by_row_checksum([COLUMNS, *rows])
    assert [n for n, _ in iter_rows(source)][-2:] == [BATCH + 6, BATCH + 7]
