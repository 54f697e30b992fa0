"""Streaming sources: rows and line numbers, records for line items, and the planner's scan."""

from __future__ import annotations

from array import array
from pathlib import Path

import pytest

from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.sources import (
    duplicate_hashes,
    file_source,
    hashing,
    iter_records,
    iter_rows,
    read_columns,
    scan,
)
from zmigrate.sources.spill import Hashes

PLANS = Path(__file__).resolve().parent.parent / "plans"


def manifest(tmp_path: Path, body: str, **files: str | bytes) -> Path:
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (tmp_path / name.replace("_", ".", 1)).write_bytes(data)
    path = tmp_path / "m.toml"
    path.write_text('[target]\ncrm_edition = "free"\n\n' + body)
    return path


ACCOUNTS = """\
[[steps]]
name = "accounts"
source = { file = "a.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
[steps.fields]
Account_Name = "name"
"""

INVOICES = """\
[[steps]]
name = "invoices"
source = { file = "i.csv" }
target = "books:invoices"
key = ["invoice_number"]
[steps.fields]
invoice_number = "no"
"line_items[].quantity" = "qty"
[steps.lookups]
customer_id = { step = "customers", column = "cust" }
"line_items[].item_id" = { step = "items", column = "sku" }

[[steps]]
name = "customers"
source = { file = "c.csv" }
target = "books:contacts"
key = ["contact_name"]
[steps.fields]
contact_name = "name"

[[steps]]
name = "items"
source = { file = "c.csv" }
target = "inventory:items"
key = ["name"]
[steps.fields]
name = "name"
rate = { const = 1 }
"""


def scan_of(path: Path):
    m = load_manifest(path)
    return scan(m.steps)


def test_sample_counts():
    counts = scan(load_manifest(PLANS / "sample.toml").steps)
    assert counts["accounts"].rows == 50 and counts["accounts"].records == 50
    assert counts["items"].records == 40
    invoices = counts["invoices"]
    assert invoices.records == 60 and invoices.rows > 60 and not invoices.estimated


def test_iter_rows_csv_with_quoted_newline_and_bom(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b'\xef\xbb\xbfref,name\nA1,"two\nlines"\nA2,plain\n')
    rows = list(iter_rows(file_source(path)))
    assert rows == [(3, {"ref": "A1", "name": "two\nlines"}), (4, {"ref": "A2", "name": "plain"})]
    assert read_columns(file_source(path)) == ["ref", "name"]


def test_iter_rows_jsonl_and_latin1(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"ref": "A1", "n": 2}\n\n{"ref": "A2", "n": 3}\n')
    assert list(iter_rows(file_source(path, "jsonl"))) == [
        (1, {"ref": "A1", "n": 2}),
        (3, {"ref": "A2", "n": 3}),
    ]
    latin = tmp_path / "l.csv"
    latin.write_bytes("ref,name\nA1,Müller\n".encode("latin-1"))
    assert list(iter_rows(file_source(latin, encoding="latin-1")))[0][1]["name"] == "Müller"


def test_records_group_consecutive_line_item_rows(tmp_path):
    path = manifest(
        tmp_path,
        INVOICES,
        i_csv="no,cust,sku,qty\nI1,K1,S1,1\nI1,K1,S2,2\nI2,K2,S1,5\n",
        c_csv="name\nK1\n",
    )
    step = load_manifest(path).step("invoices")
    records = list(iter_records(step))
    assert [(r.line, r.key, len(r.rows)) for r in records] == [(2, "I1", 2), (4, "I2", 1)]
    counts = scan_of(path)
    assert (counts["invoices"].rows, counts["invoices"].records) == (3, 2)


def test_ragged_row_names_file_and_line(tmp_path):
    path = manifest(tmp_path, ACCOUNTS, a_csv="ref,name\nA1,x\nA2,y,extra\n")
    with pytest.raises(ManifestError) as info:
        scan_of(path)
    e = info.value
    assert e.file == str(tmp_path / "a.csv") and e.line == 3 and e.step == "accounts"
    assert "row has 3 fields, the header has 2" in str(e) and "delimiter" in str(e)


def test_chunked_pass_skips_blank_lines_and_names_a_ragged_rows_line(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "CSV_CHUNK", 2)
    rows = "A1,x\n\nA2,y\nA3,z\n\n\nA4,w\n"
    counts = scan_of(manifest(tmp_path, ACCOUNTS, a_csv="ref,name\n" + rows))
    assert (counts["accounts"].rows, counts["accounts"].records) == (4, 4)
    path = manifest(tmp_path, ACCOUNTS, a_csv="ref,name\n" + rows + "A5,v\nA6\n")
    with pytest.raises(ManifestError) as info:
        scan_of(path)
    assert info.value.line == 10 and "row has 1 fields, the header has 2" in str(info.value)


def test_undecodable_bytes_name_the_line(tmp_path):
    path = manifest(tmp_path, ACCOUNTS, a_csv=b"ref,name\nA1,ok\nA2,M\xfcller\n")
    with pytest.raises(ManifestError) as info:
        scan_of(path)
    e = info.value
    assert e.line == 3 and e.field == "encoding"
    assert "byte 0xfc at column 5 is not valid utf-8" in str(e) and "latin-1" in str(e)


def test_mapping_to_a_missing_column_suggests(tmp_path):
    path = manifest(tmp_path, ACCOUNTS, a_csv="ref,nmae\nA1,x\n")
    with pytest.raises(ManifestError) as info:
        scan_of(path)
    e = info.value
    assert e.line == 1 and e.field == "Account_Name" and e.step == "accounts"
    assert "no column 'name' in the source" in str(e) and "did you mean 'nmae'" in str(e)


def test_duplicate_keys_report_the_first_duplicates(tmp_path):
    rows = "".join(f"A{i},n{i}\n" for i in range(1, 8)) + "A3,again\nA5,again\n"
    path = manifest(tmp_path, ACCOUNTS, a_csv="ref,name\n" + rows)
    with pytest.raises(ManifestError) as info:
        scan_of(path)
    e = info.value
    assert e.line == 9 and e.field == "ref"
    assert "'A3' on lines 4 and 9; 'A5' on lines 6 and 10" in str(e)


def test_line_item_groups_that_come_back_are_duplicates(tmp_path):
    path = manifest(
        tmp_path,
        INVOICES,
        i_csv="no,cust,sku,qty\nI1,K1,S1,1\nI2,K1,S2,2\nI1,K2,S1,5\n",
        c_csv="name\nK1\n",
    )
    with pytest.raises(ManifestError, match="'I1' on lines 2 and 4") as info:
        scan_of(path)
    assert "keep all rows of one record together" in str(info.value)


def test_steps_sharing_a_file_are_scanned_together(tmp_path):
    path = manifest(
        tmp_path,
        INVOICES,
        i_csv="no,cust,sku,qty\nI1,K1,S1,1\n",
        c_csv="name\nK1\nK2\nK3\n",
    )
    counts = scan_of(path)
    assert counts["customers"].records == counts["items"].records == 3


def test_jsonl_errors_name_the_line(tmp_path):
    body = ACCOUNTS.replace("a.csv", "a.jsonl")
    path = manifest(tmp_path, body, a_jsonl='{"ref": "A1", "name": "x"}\n[1]\n')
    with pytest.raises(ManifestError, match="expected a JSON object") as info:
        scan_of(path)
    assert info.value.line == 2
    path = manifest(tmp_path, body, a_jsonl='{"ref": "A1", "name": "x"}\n{"ref": \n')
    with pytest.raises(ManifestError, match="not valid JSON") as info:
        scan_of(path)
    assert info.value.line == 2


def test_zoho_export_uses_the_estimate(tmp_path):
    body = ACCOUNTS.replace('file = "a.csv"', 'zoho = "crm:Accounts", records = 1234')
    body = body.replace('source_key = ["ref"]', 'source_key = ["id"]')
    body = body.replace('Account_Name = "name"', 'Account_Name = "Account_Name"')
    counts = scan_of(manifest(tmp_path, body))
    assert counts["accounts"].records == 1234 and counts["accounts"].estimated


def hashes_of(values: array[int], spill_every: int = 0) -> Hashes:
    """``values`` as a pass leaves them: spilled to disk every ``spill_every`` values."""
    out = Hashes()
    for n, v in enumerate(values, 1):
        out.tail.append(v)
        if spill_every and n % spill_every == 0:
            out.spill()
    return out


def test_duplicate_hashes_finds_exact_repeats_only():
    values = array("q", range(0, 3_000_000, 3))  # many share bitmap buckets
    values.append(2_999_997)
    values.append(6)
    assert duplicate_hashes(hashes_of(values)) == {2_999_997, 6}
    assert duplicate_hashes(hashes_of(array("q", range(100_000)))) == set()


def test_duplicate_hashes_read_back_from_disk_and_sorted_in_parts():
    values = array("q", (v * 0x9E3779B97F4A7C15 % (1 << 63) for v in range(200_000)))
    values += array("q", [values[7], values[150_001], values[7]])
    spilled = hashes_of(values, spill_every=30_000)
    assert spilled.spilled == 180_000 and len(spilled) == 200_003
    assert duplicate_hashes(spilled) == {values[7], values[150_001]}
    # at most 32,768 sorted at a time: 8 parts by the values' low bits, still exact
    assert duplicate_hashes(spilled, part_values=1 << 15) == {values[7], values[150_001]}
    negative = hashes_of(array("q", [-5, 3, -5, -(1 << 62), 7, -(1 << 62), 0]))
    assert duplicate_hashes(negative, part_values=2) == {-5, -(1 << 62)}
    assert duplicate_hashes(Hashes()) == set()
    spilled.close()
    assert len(spilled) == 0


def test_a_pass_spills_its_key_hashes_and_still_finds_a_repeat(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "SPILL_ROWS", 4)
    rows = "".join(f"A{i},n{i}\n" for i in range(10)) + "A3,again\n"
    path = manifest(tmp_path, ACCOUNTS, a_csv="ref,name\n" + rows)
    with pytest.raises(ManifestError) as info:
        scan_of(path)
    assert "'A3' on lines 5 and 12" in str(info.value)
    assert (
        scan_of(manifest(tmp_path, ACCOUNTS, a_csv="ref,name\n" + rows[:-9]))["accounts"].records
        == 10
    )


def test_keys_are_compared_without_surrounding_spaces(tmp_path):
    path = manifest(tmp_path, ACCOUNTS, a_csv="ref,name\nA1,x\n A1 ,y\n")
    with pytest.raises(ManifestError, match="'A1' on lines 2 and 3"):
        scan_of(path)


def test_missing_file_is_reported_at_the_manifest_line(tmp_path):
    path = manifest(tmp_path, ACCOUNTS)
    with pytest.raises(ManifestError) as info:
        scan_of(path)
    e = info.value
    assert (e.file, e.line, e.field) == (str(path), 6, "source")
    assert "cannot open source file" in str(e) and "a.csv" in str(e)
