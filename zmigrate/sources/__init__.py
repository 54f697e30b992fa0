"""Streaming readers for step sources (CSV, JSONL, zip, Excel, SQL), in bounded memory.

Two consumers:

- the executor, through :func:`iter_rows` (``(line, row)`` pairs) and :func:`iter_records`
  (one :class:`SourceRecord` per target record: a single row, or for line-item steps the run
  of consecutive rows sharing a source key);
- the planner, through :func:`scan`, which streams each distinct source file exactly once for
  all the steps reading it: it checks the header against every column the steps use, counts
  rows and records, and checks that each step's source key is unique (keys are kept as 8-byte
  hashes in an ``array``, and only suspected duplicates are re-read to report them exactly),
  and that no two records share a target key as Zoho compares it (after mapping, trimmed,
  case-insensitive; see ``mapping.key_value``), hashed the same way in the same pass.

Sources other than CSV/JSONL: a member of a zip (``archive.open_member`` opens any file of
the archive), one sheet of an Excel workbook (``xlsx``, cells keep their types), the rows of a
SQL query (``sql``, streamed; its checksum stands for a file's hash). Every reader gives the
same ``(line, row)`` pairs; outside a manifest, build a source with :func:`file_source` or
:func:`query_source` and read it with :func:`read_columns` and :func:`iter_rows`.

A Zoho-export source (``source = { zoho = "crm:Accounts" }``) has no file before the run: the
executor exports it to a CSV and reads that with ``iter_rows(file_source(path))``; the planner
uses the manifest's ``records`` estimate instead.

Every problem raises :class:`~zmigrate.errors.ManifestError` naming the source file, its line,
the step and the column.

Modules: ``model`` (what is handed out, source keys), ``readers`` (one source in order),
``archive``, ``xlsx`` and ``sql`` (the other kinds), ``hashing`` (the one streaming pass of the
scan), ``duplicates`` (confirming repeated keys), ``counting`` (:func:`scan`).
"""

from zmigrate.sources.archive import open_member
from zmigrate.sources.counting import scan
from zmigrate.sources.duplicates import duplicate_hashes
from zmigrate.sources.model import (
    KEY_SEPARATOR,
    KeyCollision,
    SourceRecord,
    StepCount,
    file_source,
    query_source,
    row_key,
    source_label,
)
from zmigrate.sources.readers import MAX_CELL, iter_records, iter_rows, read_columns
from zmigrate.sources.sql import query_id, sql_checksum

__all__ = [
    "KEY_SEPARATOR",
    "MAX_CELL",
    "KeyCollision",
    "SourceRecord",
    "StepCount",
    "duplicate_hashes",
    "file_source",
    "iter_records",
    "open_member",
    "query_id",
    "query_source",
    "iter_rows",
    "read_columns",
    "row_key",
    "scan",
    "source_label",
    "sql_checksum",
]
