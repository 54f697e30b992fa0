"""Attachments inside a zip: a Salesforce-style backup whose ``Attachment.csv`` names members
of its ``Attachments/`` folder; the plan checks each member, the run streams it to its
parent once (lost answers included), verify compares name and size."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fixed_time import T0
from migration_helpers import records

from zmigrate.clock import Clock
from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.planner import plan
from zmigrate.progress import Progress
from zmigrate.rehearsal import execute_in_sandbox, sandbox_credentials
from zmigrate.run import execute
from zmigrate.schema.related import ATTACHMENT_MAX_BYTES
from zmigrate.verify import verify

MANIFEST = """
[target]
crm_edition = "enterprise"
crm_users = 10

[[steps]]
name = "accounts"
source = { file = "backup.zip", member = "Account.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["Id"]
method = "rest"
[steps.fields]
Account_Name = "Name"

[[steps]]
name = "account_files"
source = { file = "backup.zip", member = "Attachment.csv" }
target = "crm:Attachments"
source_key = ["Id"]
[steps.fields]
File = "Body"
File_Name = "Name"
[steps.lookups]
Parent_Id = { step = "accounts", column = "ParentId" }
"""


def _table(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_backup(
    folder: Path, accounts: int = 4, swap: tuple[str, str] = ("", ""), big: str = ""
) -> dict[str, tuple[str, bytes]]:
    """backup.zip and the manifest reading it; each attachment's (account id, bytes) by its
    member path. Two files on different accounts share a name. ``swap`` replaces a member's
    path in Attachment.csv; ``big`` names a member just over Zoho's limit (zeros, deflated
    to ~100 KB)."""
    files: dict[str, tuple[str, bytes]] = {}
    rows = []
    for n in range(2 * accounts):
        member = f"Attachments/00P{n:04d}"
        account = f"001{n % accounts}"
        files[member] = (account, f"file {n}\n".encode() * (n + 1))
        name = "scan.pdf" if n in (0, accounts) else f"doc{n}.txt"
        body = swap[1] if member == swap[0] else member
        rows.append({"Id": f"00P{n:04d}", "ParentId": account, "Name": name, "Body": body})
    with zipfile.ZipFile(folder / "backup.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr(
            "Account.csv", _table([{"Id": f"001{i}", "Name": f"Acme {i}"} for i in range(accounts)])
        )
        z.writestr("Attachment.csv", _table(rows))
        for member, (_, data) in files.items():
            z.writestr(member, data)
        if big:
            with z.open(big, "w", force_zip64=True) as fh:
                for _ in range(ATTACHMENT_MAX_BYTES // (1 << 20)):
                    fh.write(bytes(1 << 20))
                fh.write(b"\0")
    (folder / "migration.toml").write_text(MANIFEST)
    return files


def names(folder: Path) -> dict[str, str]:
    """The File_Name each member is attached as."""
    with zipfile.ZipFile(folder / "backup.zip") as z:
        return {
            r["Body"]: r["Name"] for r in csv.DictReader(io.TextIOWrapper(z.open("Attachment.csv")))
        }


async def _get(sb: Any, path: str, **params: str) -> Any:
    headers = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{sb.urls['api']}/crm/v8/{path}", params=params) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json() if "json" in resp.headers["Content-Type"] else await resp.read()


def test_plan_counts_the_members_bytes(tmp_path: Path) -> None:
    files = write_backup(tmp_path)
    steps = {s.name: s for s in plan(load_manifest(tmp_path / "migration.toml")).steps}
    write = steps["account_files"].write
    assert write is not None and write.method == "attach"
    assert (write.requests, write.bytes) == (8, sum(len(d) for _, d in files.values()))


def test_plan_refuses_a_missing_member_and_one_over_zohos_limit(tmp_path: Path) -> None:
    archive = tmp_path / "backup.zip"
    write_backup(tmp_path, swap=("Attachments/00P0002", "Attachments/gone"))
    with pytest.raises(ManifestError) as err:
        plan(load_manifest(tmp_path / "migration.toml"))
    message = str(err.value)
    assert f"no file {archive}!Attachments/gone to attach" in message
    assert f"{archive}!Attachment.csv:4" in message and "account_files" in message
    assert f"members of the archive {archive}" in message

    write_backup(tmp_path, swap=("Attachments/00P0005", "Attachments/big"), big="Attachments/big")
    with pytest.raises(ManifestError) as err:
        plan(load_manifest(tmp_path / "migration.toml"))
    message = str(err.value)
    assert f"file {archive}!Attachments/big is 104,857,601 bytes" in message
    assert f"{archive}!Attachment.csv:7" in message


async def test_members_land_once_on_their_parents_under_lost_answers(
    tmp_path: Path, make_sandbox: Any
) -> None:
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock, fault_rate=0.1, lost_response_rate=0.3, seed=3)
    files = write_backup(tmp_path, accounts=6)
    report = await execute(
        tmp_path / "migration.toml",
        tmp_path / "run",
        sandbox_credentials(sb),
        clock,
        progress=Progress(io.StringIO(), tty=False),
        seed=7,
    )
    assert report.outcome == "done", report.render()
    assert sb.stats.faults["lost_response"] >= 2
    sb.faults.fault_rate = sb.faults.lost_response_rate = 0.0
    accounts = {a["Account_Name"]: a["id"] for a in await records(sb, "crm", "Accounts")}
    assert len(await records(sb, "crm", "Attachments")) == len(files)
    named = names(tmp_path)
    for i in range(6):
        parent = accounts[f"Acme {i}"]
        listed = await _get(sb, f"Accounts/{parent}/Attachments", fields="File_Name,Size")
        want = {(named[m], str(len(d)), d) for m, (acc, d) in files.items() if acc == f"001{i}"}
        got = set()
        for att in listed["data"]:
            body = await _get(sb, f"Accounts/{parent}/Attachments/{att['id']}")
            got.add((att["File_Name"], att["Size"], body))
        assert got == want and len(listed["data"]) == len(want)


async def test_verify_compares_each_members_name_and_size(tmp_path: Path) -> None:
    write_backup(tmp_path)
    run_dir = tmp_path / "run"
    report = await execute_in_sandbox(tmp_path / "migration.toml", run_dir, clock_speed=600.0)
    assert report.exit_code == 0, report.render()
    stray = tmp_path / "Attachments" / "00P0000"  # a file on disk is not a member
    stray.parent.mkdir()
    stray.write_bytes(b"not the attachment")
    result = await verify(run_dir, clock_speed=600.0)
    assert result.exit_code == 0, result.render()
    assert all(s.checked == s.landed == s.matched > 0 for s in result.steps), result.render()
