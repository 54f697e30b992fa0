"""CSV-in-zip files for CRM Bulk Write and Bulk Read, and per-row outcomes. Pure: bytes in/out.

Bulk Write takes a zip holding one CSV (at most 25,000 rows); its result is a zip holding
the same columns plus STATUS (ADDED / UPDATED / SKIPPED / UNPROCESSED), RECORD_ID and ERRORS
(``CODE-Column`` items joined by ``:``), one row per input row, in input order.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from zmigrate.client.models import RecordOutcome
from zmigrate.errors import RequestRejected
from zmigrate.quotas import CRM_BULK_WRITE_ROWS

ROW_ACTIONS = {"ADDED": "insert", "UPDATED": "update"}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def zip_csv(
    header: Sequence[str], rows: Iterable[Mapping[str, Any]], name: str = "data.csv"
) -> bytes:
    """A zip holding one CSV with ``header`` columns (missing values are empty cells).

    The CSV is compressed as it is written: only the zip's bytes are ever held whole.
    """
    buf = io.BytesIO()
    count = 0
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open(name, "w") as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
    ):
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(row.get(col)) for col in header])
            count += 1
    if count > CRM_BULK_WRITE_ROWS:
        raise RequestRejected(
            f"a Bulk Write file holds at most {CRM_BULK_WRITE_ROWS} rows, got {count}; "
            "split the batch with chunks()"
        )
    return buf.getvalue()


def iter_csv(data: bytes) -> Iterator[dict[str, str]]:
    """The rows of the single CSV inside a zip (a bare CSV is accepted too), one at a time:
    a result file's rows are never all held as dicts."""
    if data[:2] != b"PK":
        yield from csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        return
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise RequestRejected(f"expected one file in the result zip, found {names}")
        with zf.open(names[0]) as raw, io.TextIOWrapper(raw, "utf-8-sig", newline="") as text:
            yield from csv.DictReader(text)


def unzip_csv(data: bytes) -> list[dict[str, str]]:
    """The rows of the single CSV inside a zip (a bare CSV is accepted too)."""
    return list(iter_csv(data))


def chunks(rows: Sequence[Any], size: int = CRM_BULK_WRITE_ROWS) -> list[Sequence[Any]]:
    """Split ``rows`` into consecutive pieces of at most ``size``."""
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def parse_errors(value: str) -> list[tuple[str, str]]:
    """``"MANDATORY_NOT_FOUND-Last_Name:INVALID_DATA-Email"`` → [(code, column), ...]."""
    items = []
    for part in filter(None, (p.strip() for p in value.split(":"))):
        code, _, column = part.partition("-")
        items.append((code, column))
    return items


def write_outcomes(rows: Iterable[Mapping[str, str]]) -> list[RecordOutcome]:
    """Bulk Write result rows → one outcome per input row (row ``i`` is input record ``i``)."""
    outcomes = []
    for index, row in enumerate(rows):
        status = (row.get("STATUS") or "").strip().upper()
        action = ROW_ACTIONS.get(status)
        record_id = (row.get("RECORD_ID") or "").strip() or None
        errors = parse_errors(row.get("ERRORS") or "")
        if action is not None:
            outcomes.append(RecordOutcome(index, True, record_id, action, "SUCCESS"))
            continue
        code = errors[0][0] if errors else status or "UNPROCESSED"
        message = "; ".join(f"{c} in {col}" if col else c for c, col in errors) or status
        details = {"status": status, "errors": errors}
        outcomes.append(RecordOutcome(index, False, record_id, None, code, message, details))
    return outcomes
