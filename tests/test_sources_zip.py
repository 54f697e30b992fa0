"""Archive sources: a CSV inside a zip read in place, errors as ``backup.zip!Account.csv:17``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.mapping import map_record
from zmigrate.run import source_hashes
from zmigrate.sources import (
    file_source,
    iter_records,
    iter_rows,
    open_member,
    read_columns,
    scan,
)

HEAD = '[target]\ncrm_edition = "free"\n\n'
ACCOUNTS = """\
[[steps]]
name = "accounts"
source = { file = "backup.zip", member = "Account.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["Id"]
[steps.fields]
Account_Name = "Name"
Employees = { column = "NumberOfEmployees", transform = "integer" }
Annual_Revenue = { column = "AnnualRevenue", transform = "decimal" }
"""
CSV = 'Id,Name,NumberOfEmployees,AnnualRevenue\n001A,"Acme, Inc.",12,"1,250.50"\n001B,Globex,,\n'


def backup(tmp_path: Path, csv: str | bytes = CSV, body: str = ACCOUNTS) -> Path:
    with zipfile.ZipFile(tmp_path / "backup.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Account.csv", csv)
        z.writestr("Attachments/00P1_invoice.pdf", b"%PDF-1.4 not really")
    path = tmp_path / "m.toml"
    path.write_text(HEAD + body)
    return path


def test_rows_records_and_mapping_from_a_member(tmp_path):
    step = load_manifest(backup(tmp_path)).step("accounts")
    assert read_columns(step.source) == ["Id", "Name", "NumberOfEmployees", "AnnualRevenue"]
    assert [line for line, _ in iter_rows(step.source)] == [2, 3]
    records = list(iter_records(step))
    assert [(r.line, r.key) for r in records] == [(2, "001A"), (3, "001B")]
    payload = map_record(step, records[0].rows, lambda s, k: None)
    assert payload == {"Account_Name": "Acme, Inc.", "Employees": 12, "Annual_Revenue": 1250.5}
    counts = scan(load_manifest(tmp_path / "m.toml").steps)
    assert (counts["accounts"].rows, counts["accounts"].records) == (2, 2)


def test_errors_name_the_archive_and_member(tmp_path):
    path = backup(tmp_path, CSV + "001C,Initech,3\n")
    with pytest.raises(ManifestError) as info:
        scan(load_manifest(path).steps)
    assert "backup.zip!Account.csv:4" in str(info.value) and info.value.line == 4
    path = backup(tmp_path, CSV + "001A,Again,1,2\n")
    with pytest.raises(ManifestError, match="'001A' on lines 2 and 4") as info:
        scan(load_manifest(path).steps)
    assert "backup.zip!Account.csv:4" in str(info.value)
    path = backup(tmp_path, CSV.encode() + "001D,M\xfcller,1,2\n".encode("latin-1"))
    with pytest.raises(ManifestError, match="byte 0xfc") as info:
        scan(load_manifest(path).steps)
    assert "backup.zip!Account.csv:4" in str(info.value)


def test_missing_member_is_reported_at_the_manifest_line(tmp_path):
    path = backup(tmp_path, body=ACCOUNTS.replace('"Account.csv"', '"Accounts.csv"'))
    with pytest.raises(ManifestError, match="no member 'Accounts.csv'") as info:
        scan(load_manifest(path).steps)
    e = info.value
    assert (e.file, e.line) == (str(path), 6) and "did you mean 'Account.csv'" in str(e)


def test_open_member_reads_an_attachment_by_its_path(tmp_path):
    backup(tmp_path)
    with open_member(tmp_path / "backup.zip", "Attachments/00P1_invoice.pdf") as fh:
        assert fh.read() == b"%PDF-1.4 not really"
    with pytest.raises(ManifestError, match="no member"):
        open_member(tmp_path / "backup.zip", "Attachments/nope.pdf")
    member = file_source(tmp_path / "backup.zip", member="Account.csv")  # outside a manifest
    assert [row["Id"] for _, row in iter_rows(member)] == ["001A", "001B"]


def test_the_archive_is_hashed_for_resume(tmp_path):
    path = backup(tmp_path)
    before = source_hashes(load_manifest(path))
    assert list(before) == [str(tmp_path / "backup.zip")]
    backup(tmp_path, CSV + "001C,Initech,3,4\n")
    assert source_hashes(load_manifest(path)) != before
