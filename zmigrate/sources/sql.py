"""Reading the rows of a SQL query through SQLAlchemy, streamed with a server-side cursor.

The database URL comes from the environment variable the manifest names (``$LEGACY_DB_URL``);
it may hold a password, so the URL and its password are registered with the scrubber before
anything can print them, and errors name the variable, never the URL. Rows are numbered by
their place in the result (1 = the first row); values keep the database's types (numbers,
dates, text). A pass can also fold every row into a checksum (:class:`RowDigest`): a query
has no file to hash, so that checksum is what lets ``resume`` refuse a changed source.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from zmigrate import scrub
from zmigrate.errors import ManifestError
from zmigrate.manifest import SourceSpec
from zmigrate.manifest.source_kinds import ENV_REF
from zmigrate.sources.model import source_label

if TYPE_CHECKING:  # SQLAlchemy is imported when a query is read: a third of a plan's start-up
    from sqlalchemy.engine import Connection, Engine

BATCH = 4096
"""Rows fetched from the server-side cursor at a time: memory stays flat whatever the size."""


class RowDigest:
    """A SHA-256 over the rows of one pass, in order, each value with its type."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add_all(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows in order: each row's ``repr`` (its values with their types), UTF-8."""
        self._hash.update("".join(map(repr, rows)).encode("utf-8", "backslashreplace"))

    def hexdigest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def _fail(source: SourceSpec, step: str | None, message: str, hint: str | None = None) -> Any:
    raise ManifestError(
        message,
        file=source.origin or source_label(source),
        line=source.line or None,
        step=step,
        field="sql",
        hint=hint,
    )


def database_url(source: SourceSpec, step: str | None, env: Mapping[str, str] | None = None) -> str:
    """The URL the source names, from the environment; its password is registered as a secret."""
    env = os.environ if env is None else env
    ref = ENV_REF.match(source.url)
    url = source.url
    if ref:
        url = env.get(ref.group(1), "").strip()
        if not url:
            _fail(
                source,
                step,
                f"the environment variable {ref.group(1)} is not set",
                hint=f"export {ref.group(1)}=<the database's SQLAlchemy URL>",
            )
        scrub.register(url)  # a literal one is in the manifest already, without a password
    from sqlalchemy import exc
    from sqlalchemy.engine import make_url

    try:
        scrub.register(make_url(url).password)
    except exc.ArgumentError:
        _fail(source, step, f"{source.url} is not a database URL SQLAlchemy reads")
    return url


def _engine(source: SourceSpec, step: str | None) -> Engine:
    from sqlalchemy import create_engine, exc
    from sqlalchemy.pool import NullPool

    try:
        return create_engine(database_url(source, step), poolclass=NullPool)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
        return _fail(  # type: ignore[no-any-return]
            source,
            step,
            f"cannot use the database {source.url}: {scrub.scrub(str(error))}",
            hint="the URL names a dialect and driver SQLAlchemy knows, e.g. postgresql://...",
        )


def _db_error(source: SourceSpec, step: str | None, error: BaseException) -> ManifestError:
    from sqlalchemy import exc

    cause = error.orig if isinstance(error, exc.DBAPIError) else error
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return ManifestError(
        f"the query on {source.url} failed: {scrub.scrub(first)}",
        file=source.origin or source_label(source),
        line=source.line or None,
        step=step,
        field="query",
    )


def _driver_cursor(conn: Connection) -> Any | None:
    """The DBAPI cursor to read the query with, where its streaming is known: a named (server-side)
    cursor in PostgreSQL, SQLite's own (it steps through the result as it is fetched); None for
    other databases (SQLAlchemy's ``stream_results`` then picks their server-side cursor)."""
    dialect = conn.dialect
    raw = conn.connection.dbapi_connection
    if raw is None:
        return None
    if dialect.name == "postgresql" and dialect.driver == "psycopg":  # psycopg2's named
        return raw.cursor("zmigrate_rows")  # cursor has no description before its first fetch
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return raw.cursor()
    return None


def _driver_batches(cursor: Any, query: str) -> Generator[list[tuple[Any, ...]]]:
    """The header, then ``BATCH`` rows at a time, as the driver's tuples (no row objects)."""
    cursor.execute(query)
    yield [tuple(str(d[0]) for d in cursor.description)]
    while rows := cursor.fetchmany(BATCH):
        yield rows


def _result_batches(conn: Connection, query: str) -> Generator[list[tuple[Any, ...]]]:
    """:func:`_driver_batches` through SQLAlchemy's Result, for other databases."""
    from sqlalchemy import text

    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(text(query))
    yield [tuple(str(k) for k in result.keys())]  # noqa: SIM118 - iterating gives rows
    for rows in result.partitions(BATCH):
        yield [tuple(row) for row in rows]


def sql_batches(
    source: SourceSpec, step: str | None, digest: RowDigest | None = None
) -> Generator[list[tuple[Any, ...]]]:
    """Yield ``[column names]``, then the query's rows ``BATCH`` at a time, in order.

    Streamed with a server-side cursor; the driver's tuples are passed on as they come, so
    a pass costs no Python per row here. ``digest`` folds in the header and each batch (the
    same checksum as row by row).
    """
    from sqlalchemy import exc

    engine = _engine(source, step)
    try:
        with engine.connect() as conn:
            errors: tuple[type[BaseException], ...] = (exc.SQLAlchemyError,)
            cursor = _driver_cursor(conn)
            if cursor is None:
                batches = _result_batches(conn, source.query)
            else:
                errors += (conn.dialect.loaded_dbapi.Error,)
                batches = _driver_batches(cursor, source.query)
            try:
                for rows in batches:
                    if digest is not None:
                        digest.add_all(rows)
                    yield rows
            except errors as error:
                raise _db_error(source, step, error) from None
            finally:
                if cursor is not None:
                    cursor.close()
    except exc.SQLAlchemyError as error:
        raise _db_error(source, step, error) from None
    finally:
        engine.dispose()


def sql_rows(
    source: SourceSpec, step: str | None, digest: RowDigest | None = None
) -> Generator[tuple[int, list[Any]]]:
    """Yield ``(0, column names)``, then ``(row number, values)`` for each row of the query."""
    number = 0
    for rows in sql_batches(source, step, digest):
        for values in rows:
            yield number, list(values)
            number += 1


def query_id(source: SourceSpec) -> str:
    """How a run store names a query source: ``sql:<variable>#<hash of the query>``."""
    name = source.url.strip("${}") if ENV_REF.match(source.url) else "url"
    return f"sql:{name}#{hashlib.sha256(source.query.encode()).hexdigest()[:16]}"


def sql_checksum(source: SourceSpec) -> str:
    """The checksum of the rows the query returns now (one pass, nothing kept)."""
    digest = RowDigest()
    for _ in sql_rows(source, None, digest):
        pass
    return digest.hexdigest()
