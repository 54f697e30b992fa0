"""A query's rows a batch at a time, straight from the driver's cursor, against SQLite and a real
PostgreSQL server: the same rows, numbers, checksum and located errors as row by row."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from test_sources_sql import COLUMNS, db_url, insert, manifest, postgres_url, row_by_row_checksum

from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.sources import iter_rows, scan
from zmigrate.sources.sql import (
    BATCH,
    RowDigest,
    _driver_batches,
    _result_batches,
    sql_batches,
)

__all__ = ["db_url", "postgres_url"]  # the fixtures, shared with the row-by-row tests

QUERY = "select * from deals order by ref"


def many_rows(count: int) -> list[tuple[object, ...]]:
    return [
        (f"{i:06d}", None if i % 5 == 0 else i / 4, date(2024, 1, 1 + i % 28), f"Deal {i}")
        for i in range(count)
    ]


def rows_one_by_one(url: str) -> list[tuple[object, ...]]:
    """The rows as SQLAlchemy's Result gives them, one Row at a time."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(sa.text(QUERY))]
    engine.dispose()
    return rows


def test_batches_hold_the_rows_of_a_row_by_row_read_and_its_checksum(db_url, tmp_path):
    insert(db_url, *many_rows(2 * BATCH + 3))
    source = load_manifest(manifest(tmp_path)).step("deals").source
    digest = RowDigest()
    header, *batches = list(sql_batches(source, None, digest))
    assert header == [COLUMNS]
    assert [len(b) for b in batches] == [BATCH, BATCH, 3]
    expected = rows_one_by_one(db_url)
    assert [row for batch in batches for row in batch] == expected
    assert digest.hexdigest() == row_by_row_checksum([COLUMNS, *expected])
    numbered = list(iter_rows(source))
    assert [n for n, _ in numbered][:2] == [1, 2] and numbered[-1][0] == 2 * BATCH + 3
    assert numbered[-1][1] == dict(zip(COLUMNS, expected[-1], strict=True))


def test_the_driver_cursor_and_sqlalchemys_result_give_the_same_batches(db_url):
    """The fallback for databases other than PostgreSQL and SQLite reads the same batches."""
    insert(db_url, *many_rows(BATCH + 1))
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        through_result = list(_result_batches(conn, QUERY))
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        through_driver = list(_driver_batches(raw.cursor(), QUERY))
    engine.dispose()
    assert through_driver == through_result and len(through_driver) == 3


def test_a_failing_query_read_from_the_driver_is_located_in_the_manifest(db_url, tmp_path):
    body = manifest(tmp_path).read_text().replace("from deals", "from no_such_table")
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ManifestError, match="the query on \\$LEGACY_DB_URL failed") as info:
        scan(load_manifest(path).steps)
    assert info.value.field == "query" and info.value.line == 6
    assert "no_such_table" in str(info.value)
