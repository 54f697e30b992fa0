"""Owners: `Owner = { user = "owner_email" }` maps e-mail addresses to the org's users.

The plan checks the keys against the manifest's schema snapshot (exit 2, located); the run
sends each record's owner as the user's id, the default for an empty (or, when the step says
so, unknown) address, and dead-letters the rest with UNKNOWN_USER. Runs go to a sandbox
started from the same snapshot, and what it stored is read back.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixed_time import T0
from migration_helpers import records

from zmigrate.cli import main
from zmigrate.clock import Clock
from zmigrate.manifest import load_manifest
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.run import execute

SAMPLE = Path(__file__).resolve().parent.parent / "plans" / "schema" / "sample-org.json"
ANA, BO = "4876876000000225013", "4876876000000225021"  # active users of the sample org

MANIFEST = """\
[target]
schema = "org.json"
{target}
[[steps]]
name = "accounts"
source = "accounts.csv"
target = "crm:Accounts"
key = ["Legacy_ID"]
method = "{method}"
{step}
[steps.fields]
Legacy_ID = "ref"
Account_Name = "name"
Owner = {owner}
"""
ROWS = (
    "ref,name,owner\n"
    "L-1,Acme,ANA@Example.com\n"  # any case
    "L-2,Globex,\n"  # empty: the default owner
    "L-3,Initech,cy@example.com\n"  # a disabled user
    "L-4,Umbrella,nobody@example.com\n"  # no such user
    "L-5,Hooli, bo@example.com \n"
)


def write(
    folder: Path,
    *,
    target: str = "",
    step: str = 'default_owner = "bo@example.com"',
    owner: str = '{ user = "owner" }',
    method: str = "rest",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE, folder / "org.json")
    (folder / "accounts.csv").write_text(ROWS)
    path = folder / "m.toml"
    path.write_text(MANIFEST.format(target=target, step=step, owner=owner, method=method))
    return path


def plan_error(path: Path) -> str:
    result = CliRunner().invoke(main, ["plan", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_owner_keys_are_checked_against_the_snapshot(tmp_path: Path) -> None:
    step = load_manifest(write(tmp_path / "ok")).steps[0]
    assert step.owners is not None and step.owners.default == BO
    assert step.owners.user_id(" Ana@EXAMPLE.com") == ANA
    assert step.owners.user_id("cy@example.com") is None  # disabled: owns nothing
    line = plan_error(write(tmp_path / "a", step='default_owner = "cy@example.com"'))
    assert "m.toml:10, step 'accounts', field 'default_owner'" in line
    assert "'cy@example.com' is not an active user of the org (their status is disabled)" in line
    line = plan_error(write(tmp_path / "b", target='default_owner = "zed@example.com"', step=""))
    assert "m.toml:3, field 'default_owner'" in line and "not an active user" in line
    line = plan_error(write(tmp_path / "c", step='unknown_owner = "default"'))
    assert "m.toml:10, step 'accounts', field 'unknown_owner'" in line
    assert "needs a default_owner" in line
    line = plan_error(
        write(tmp_path / "d", owner='{ user = "owner" }\nAccount_Site = { user = "name" }')
    )
    assert "field 'Account_Site'" in line and "not a user field" in line
    line = plan_error(write(tmp_path / "e", owner='{ user = "owner", map = { a = "b" } }'))
    assert "a user mapping takes no 'map'" in line
    builtin = write(tmp_path / "f", step="")
    builtin.write_text(
        builtin.read_text()
        .replace('schema = "org.json"', "")
        .replace("Legacy_ID", "Account_Number")
        .replace('Account_Number = "ref"', 'Account_Number = "ref"\n')
    )
    line = plan_error(builtin)
    assert "field 'Owner'" in line and "builtin lists no active users" in line
    assert "zmigrate schema pull" in line
    line = plan_error(
        write(tmp_path / "g", step='default_owner = "bo@example.com"', owner='"owner"')
    )
    assert "default_owner needs a field mapped with { user" in line


async def run_on_sandbox(folder: Path, make_sandbox) -> tuple[object, list[dict], list[dict]]:
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock, schema=str(folder / "org.json"))
    report = await execute(
        folder / "m.toml",
        folder / "run",
        sandbox_credentials(sb),
        clock,
        progress=Progress(io.StringIO(), tty=False),
    )
    dead = [json.loads(x) for x in (folder / "run" / "dead_letters.jsonl").read_text().splitlines()]
    return report, await records(sb, "crm", "Accounts"), dead


@pytest.mark.parametrize("method", ["rest", "bulk"])
async def test_owners_by_email_with_a_default_and_dead_letters(tmp_path, make_sandbox, method):
    report, stored, dead = await run_on_sandbox(write(tmp_path, method=method).parent, make_sandbox)
    owners = {r["Legacy_ID"]: r["Owner"]["id"] for r in stored}
    assert owners == {"L-1": ANA, "L-2": BO, "L-5": BO}
    assert sorted((d["key"], d["code"]) for d in dead) == [
        ("L-3", "UNKNOWN_USER"),
        ("L-4", "UNKNOWN_USER"),
    ]
    assert "'nobody@example.com'" in next(d["message"] for d in dead if d["key"] == "L-4")
    assert report.outcome == "failed_records"


async def test_unknown_owners_may_go_to_the_default(tmp_path, make_sandbox):
    step = 'default_owner = "bo@example.com"\nunknown_owner = "default"'
    report, stored, dead = await run_on_sandbox(write(tmp_path, step=step).parent, make_sandbox)
    assert report.outcome == "done" and not dead
    owners = {r["Legacy_ID"]: r["Owner"]["id"] for r in stored}
    assert owners == {"L-1": ANA, "L-2": BO, "L-3": BO, "L-4": BO, "L-5": BO}
