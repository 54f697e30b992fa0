"""`zmigrate plan`: the table, the JSON, and exit 2 with a located message for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zmigrate.cli import main

PLANS = Path(__file__).resolve().parent.parent / "plans"


def run(*args: str):
    return CliRunner().invoke(main, ["plan", *args])


def test_table_per_step_and_product():
    result = run(str(PLANS / "sample.toml"))
    assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "Steps (in run order)",
        "Per product",
        "accounts",
        "crm:Contacts",
        "invoices",
        "Estimated wall time",
        "Method choices",
        "no bulk API",
    ):
        assert text in out
    total = next(ln for ln in out.splitlines() if ln.strip().startswith("total"))
    assert total.split()[1] == "330"  # records of all steps
    assert "Warnings: none" in out


def test_json_output():
    result = run(str(PLANS / "crm_to_books.toml"), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["schema"] == "zmigrate.plan/1"
    assert data["days"] == 6 and data["totals"]["books"]["requests"] == 30_000
    assert data["warnings"] and "6 days" in data["warnings"][0]


BAD = '[target]\ncrm_edition = "enterprise"\n\n[[steps]]\nname = "a"\n'


@pytest.mark.parametrize(
    ("manifest", "files", "expected"),
    [
        (
            BAD + 'source = { file = "a.csv" }\ntarget = "crm:Accounts"\nkey = ["Account_Name"]\n'
            '[steps.fields]\nAccount_Name = "name"\nmethd = "x"\n',
            {"a.csv": "name\nx\n"},
            "m.toml:11, step 'a', field 'methd': crm:Accounts has no field 'methd'",
        ),
        (
            BAD + 'source = { file = "a.csv" }\ntarget = "crm:Accounts"\nkey = ["Account_Name"]\n'
            '[steps.fields]\nAccount_Name = "nam"\n',
            {"a.csv": "name\nx\n"},
            "a.csv:1, step 'a', field 'Account_Name': no column 'nam' in the source "
            "(mapped to Account_Name) (did you mean 'name'?)",
        ),
        (
            BAD + 'source = { file = "missing.csv" }\ntarget = "crm:Accounts"\n'
            'key = ["Account_Name"]\n[steps.fields]\nAccount_Name = "name"\n',
            {},
            "m.toml:6, step 'a', field 'source': cannot open source file",
        ),
        (
            BAD + 'source = { file = "a.csv" }\ntarget = "crm:Accounts"\nkey = ["Account_Name"]\n'
            '[steps.fields]\nAccount_Name = "name"\n',
            {"a.csv": "name\nx\ny\nx\n"},
            "a.csv:4, step 'a', field 'name': source key (name) is not unique: 'x' on lines 2 "
            "and 4",
        ),
        (
            BAD.replace("enterprise", "enterprize") + 'source = "a.csv"\ntarget = "crm:Leads"\n',
            {},
            "m.toml:2, field 'crm_edition': unknown crm edition 'enterprize' (did you mean "
            "'enterprise'?)",
        ),
    ],
)
def test_bad_input_exits_2_with_a_located_message(tmp_path, manifest, files, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "m.toml"
    path.write_text(manifest)
    result = run(str(path))
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_real_process_exit_code_and_no_traceback(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[target]\ncrm_edition = "gold"\n')
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("zmigrate")), "plan", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown crm edition 'gold'" in proc.stderr and "Traceback" not in proc.stderr
