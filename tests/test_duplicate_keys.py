"""Two source rows, one target key: `plan` refuses them naming both lines, or the step says
what to do (``on_duplicate_key``), and a run counts records by distinct Zoho ids.

The end-to-end checks read what the sandbox stored, never only the engine's counters.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner
from migration_helpers import records

from zmigrate import status
from zmigrate.cli import main
from zmigrate.clock import Clock
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.report import RunReport
from zmigrate.run import execute

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()
"""Every clock starts here: nothing depends on when the tests run."""

CONTACTS = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "contacts"
source = {{ file = "contacts.csv" }}
target = "crm:Contacts"
key = ["Email"]
source_key = ["ref"]
method = "{method}"
{policy}
[steps.fields]
Last_Name = "last"
Email = "email"
"""

ACCOUNTS = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
[steps.fields.Account_Name]
column = "name"
map = { "Acme Inc" = "Acme", "Acme Incorporated" = "Acme", "Beta" = "Beta" }
"""

CUSTOMERS = """
[[steps]]
name = "customers"
source = { file = "customers.csv" }
target = "books:contacts"
key = ["contact_name"]
source_key = ["ref"]
on_duplicate_key = "merge"
[steps.fields]
contact_name = "name"
"""

PRODUCTS = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "products"
source = {{ file = "{file}" }}
target = "crm:Products"
key = {key}
source_key = ["ref"]
method = "rest"
[steps.fields]
Product_Name = "name"
Product_Code = "code"
"""


def _csv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def contacts(folder: Path, method: str = "rest", policy: str = "") -> Path:
    """Three contacts; the third has the first one's Email in other case and spaces."""
    _csv(
        folder / "contacts.csv",
        [
            {"ref": "C1", "last": "Ann", "email": "ann@example.com"},
            {"ref": "C2", "last": "Bob", "email": "bob@example.com"},
            {"ref": "C3", "last": "Annie", "email": " ANN@Example.com "},
        ],
    )
    path = folder / "migration.toml"
    path.write_text(textwrap.dedent(CONTACTS.format(method=method, policy=policy)))
    return path


def plan(*args: str):
    return CliRunner().invoke(main, ["plan", *args])


async def run(manifest: Path, run_dir: Path, sb: Any, clock: Clock) -> RunReport:
    return await execute(
        manifest,
        run_dir,
        sandbox_credentials(sb),
        clock,
        progress=Progress(io.StringIO(), tty=False),
        seed=7,
    )


def dead_letters(run_dir: Path) -> list[dict[str, Any]]:
    raw = (run_dir / "dead_letters.jsonl").read_bytes()
    return [orjson.loads(line) for line in raw.splitlines()]


# --- plan -----------------------------------------------------------------------------------


def test_plan_exits_2_naming_both_lines_of_an_email_differing_only_by_case(tmp_path):
    result = plan(str(contacts(tmp_path)))
    assert result.exit_code == 2, result.output
    assert "contacts.csv:4, step 'contacts', field 'Email'" in result.stderr
    assert "'ann@example.com' on lines 2 and 4" in result.stderr
    assert "on_duplicate_key" in result.stderr and "Traceback" not in result.output


def test_plan_exits_2_for_account_names_made_equal_by_the_mapping(tmp_path):
    _csv(
        tmp_path / "accounts.csv",
        [
            {"ref": "A1", "name": "Acme Inc"},
            {"ref": "A2", "name": "Beta"},
            {"ref": "A3", "name": "Acme Incorporated"},
        ],
    )
    (tmp_path / "m.toml").write_text(ACCOUNTS)
    result = plan(str(tmp_path / "m.toml"))
    assert result.exit_code == 2, result.output
    assert "accounts.csv:4, step 'accounts', field 'Account_Name'" in result.stderr
    assert "'acme' on lines 2 and 4" in result.stderr


def test_plan_reports_declared_merges_and_dead_letters(tmp_path):
    manifest = contacts(tmp_path, policy='on_duplicate_key = "merge"')
    result = plan(str(manifest), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["steps"][0]["duplicate_keys"] == 1
    assert data["steps"][0]["on_duplicate_key"] == "merge"
    assert "lines 2 and 4" in data["warnings"][0] and "1 merged" in data["warnings"][0]
    manifest = contacts(tmp_path, policy='on_duplicate_key = "dead-letter"')
    result = plan(str(manifest))
    assert result.exit_code == 0 and "1 go to the dead-letter file" in result.output


def test_unknown_on_duplicate_key_is_located_with_a_suggestion(tmp_path):
    manifest = contacts(tmp_path, policy='on_duplicate_key = "merg"')
    result = plan(str(manifest))
    assert result.exit_code == 2
    assert "migration.toml:12, step 'contacts', field 'on_duplicate_key'" in result.stderr
    assert "did you mean 'merge'?" in result.stderr


# --- run ------------------------------------------------------------------------------------


async def test_dead_letter_mode_sends_the_first_row_and_dead_letters_the_later(
    tmp_path, make_sandbox
):
    clock = Clock(600, start=START)
    sb = await make_sandbox(clock=clock)
    manifest = contacts(tmp_path, policy='on_duplicate_key = "dead-letter"')
    report = await run(manifest, tmp_path / "run", sb, clock)
    assert (report.landed, report.failed, report.merged) == (2, 1, 0), report.render()
    stored = {r["Email"]: r for r in await records(sb, "crm", "Contacts")}
    assert sorted(stored) == ["ann@example.com", "bob@example.com"]
    assert stored["ann@example.com"]["Last_Name"] == "Ann"  # the first row's values
    (letter,) = dead_letters(tmp_path / "run")
    assert (letter["key"], letter["line"], letter["code"]) == ("C3", 4, "DUPLICATE_KEY")
    assert "line 2" in letter["message"]


async def test_merge_mode_counts_one_record_per_zoho_id_in_bulk_and_books(tmp_path, make_sandbox):
    clock = Clock(600, start=START)
    sb = await make_sandbox(clock=clock)
    manifest = contacts(tmp_path, method="bulk", policy='on_duplicate_key = "merge"')
    manifest.write_text(manifest.read_text() + textwrap.dedent(CUSTOMERS))
    _csv(
        tmp_path / "customers.csv",
        [
            {"ref": "K1", "name": "Acme"},
            {"ref": "K2", "name": "Beta"},
            {"ref": "K3", "name": "Acme"},
        ],
    )
    report = await run(manifest, tmp_path / "run", sb, clock)
    assert report.outcome == "done", report.render()
    steps = {s.name: s for s in report.steps}
    assert steps["contacts"].method == "bulk"
    assert (steps["contacts"].landed, steps["contacts"].merged) == (2, 1)
    assert (steps["customers"].landed, steps["customers"].merged) == (2, 1)
    assert len(await records(sb, "crm", "Contacts")) == 2
    assert len(await records(sb, "books", "contacts")) == 2
    assert "landed 4, failed 0, merged 2" in report.render()
    assert "2 merged" in report.message
    saved = orjson.loads((tmp_path / "run" / "report.json").read_bytes())
    assert (saved["landed"], saved["merged"]) == (4, 2)
    table = status.render(status.load(tmp_path / "run")).splitlines()
    header = table[2].split()
    contacts_row = next(line.split() for line in table if line.startswith("contacts"))
    assert dict(zip(header, contacts_row, strict=True))["merged"] == "1"


async def test_two_rows_matched_to_one_existing_record_are_not_two_landed(tmp_path, make_sandbox):
    """Keys that differ in the source can still meet one record already in Zoho: upsert
    matches duplicate_check_fields one at a time. Counted by distinct ids, the later row is
    an integrity failure naming the earlier one, never a silent "landed"."""
    clock = Clock(600, start=START)
    sb = await make_sandbox(clock=clock)
    _csv(tmp_path / "seed.csv", [{"ref": "P0", "name": "Widget", "code": "W-1"}])
    seed = tmp_path / "seed.toml"
    seed.write_text(textwrap.dedent(PRODUCTS.format(file="seed.csv", key='["Product_Name"]')))
    assert (await run(seed, tmp_path / "seed-run", sb, clock)).outcome == "done"
    _csv(
        tmp_path / "products.csv",
        [
            {"ref": "P1", "name": "Widget", "code": ""},  # matches it by Product_Name
            {"ref": "P2", "name": "Gadget", "code": "W-1"},  # and this one by Product_Code
            {"ref": "P3", "name": "Other", "code": "O-1"},
        ],
    )
    manifest = tmp_path / "products.toml"
    key = '["Product_Name", "Product_Code"]'
    manifest.write_text(textwrap.dedent(PRODUCTS.format(file="products.csv", key=key)))
    assert plan(str(manifest)).exit_code == 0  # nothing for the plan to see
    report = await run(manifest, tmp_path / "run", sb, clock)
    stored = await records(sb, "crm", "Products")
    assert len(stored) == 2
    assert (report.landed, report.failed) == (2, 1), report.render()
    assert report.outcome == "failed_records"
    (letter,) = dead_letters(tmp_path / "run")
    assert (letter["key"], letter["line"], letter["code"]) == ("P2", 3, "SAME_RECORD")
    assert "line 2" in letter["message"] and "'P1'" in letter["message"]
