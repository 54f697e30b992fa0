"""The manifest's declared keys: documented, typed, and refused at their line when wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zmigrate.errors import ManifestError
from zmigrate.manifest import Method, OnDuplicateKey, Product, SourceKind, Transform, load_manifest
from zmigrate.manifest.keys import TABLES

README = Path(__file__).resolve().parent.parent / "README.md"

STEP = """\
[target]
crm_edition = "enterprise"

[[steps]]
name = "parents"
source = "parents.csv"
target = "crm:Accounts"
key = ["Account_Name"]
[steps.fields]
Account_Name = "parent_ref"

[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
[steps.fields]
Account_Name = "name"
Employees = { column = "emp", transform = "integer" }
[steps.lookups]
Parent_Account = { step = "parents", column = "parent_ref", optional = true }
"""


def manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_every_declared_key_is_documented_in_the_readme():
    text = README.read_text()
    section = text[text.index("### The manifest") : text.index("### What it checks")]
    for table in TABLES:
        for key in table.keys:
            assert key.doc, key.name
            written = rf"\b{key.name}\s*=|`{key.name}`|\[{key.name}\]|\[steps\.{key.name}\]"
            assert re.search(written, section), f"{key.name} ({table.what}) is not in the README"


def test_values_are_typed_vocabularies_equal_to_their_strings(tmp_path):
    step = load_manifest(manifest(tmp_path, STEP)).step("accounts")
    assert step.method is Method.AUTO and step.method == "auto"
    assert step.target.product is Product.CRM and step.target.product == "crm"
    assert step.source.kind is SourceKind.CSV and step.source.kind == "csv"
    assert step.fields[1].transform is Transform.INTEGER
    assert step.operation == "upsert" and step.on_duplicate_key is OnDuplicateKey.ERROR


@pytest.mark.parametrize(
    ("old", "new", "message", "field"),
    [
        ('column = "emp"', "column = 5", "column must be text, got 5", "Employees"),
        ("optional = true", 'optional = "yes"', "optional must be true or false", "Parent_Account"),
        ('file = "accounts.csv"', "file = 5", "file must be text, got 5", "file"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_at_its_line(tmp_path, old, new, message, field):
    path = manifest(tmp_path, STEP.replace(old, new))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    e = info.value
    assert (e.line, e.step, e.field) == (line_of(path, new), "accounts", field)
    assert str(e).startswith(f"{path}:{e.line}, step 'accounts', field '{field}': {message}")


def test_on_duplicate_key_is_a_declared_choice(tmp_path):
    given = STEP.replace('source_key = ["ref"]', 'source_key = ["ref"]\non_duplicate_key = "X"')
    step = load_manifest(manifest(tmp_path, given.replace('"X"', '"Dead-Letter"'))).steps[1]
    assert step.on_duplicate_key is OnDuplicateKey.DEAD_LETTER
    path = manifest(tmp_path, given.replace('"X"', '"dead_leter"'))
    with pytest.raises(ManifestError, match="did you mean 'dead-letter'") as info:
        load_manifest(path)
    assert info.value.line == line_of(path, "on_duplicate_key")
    assert info.value.field == "on_duplicate_key"
    assert "unknown on_duplicate_key 'dead_leter'" in str(info.value)
    to_file = given.replace('"X"', '"merge"').replace('"crm:Accounts"', '"file:out.csv"')
    with pytest.raises(ManifestError, match="a file target takes no on_duplicate_key"):
        load_manifest(manifest(tmp_path, to_file))
