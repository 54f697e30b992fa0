"""Related records (notes, activities, attachments): the plan's checks and bill, and a run
that lands each once with its links under injected faults and lost answers."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from fixed_time import T0
from migration_helpers import records
from related_helpers import assert_related_landed, write_related

from zmigrate.clock import Clock
from zmigrate.errors import ManifestError, StoreError
from zmigrate.manifest import load_manifest
from zmigrate.planner import plan
from zmigrate.progress import Progress
from zmigrate.rehearsal import SANDBOX_STATE, execute_in_sandbox, sandbox_credentials
from zmigrate.resume import changed_inputs, inspect, resume
from zmigrate.rollback import bill as rollback_bill
from zmigrate.rollback import rollback
from zmigrate.run import execute
from zmigrate.run.writers.crm_related import match_landed
from zmigrate.sandbox import SandboxConfig, start_sandbox
from zmigrate.sandbox.crm import related_routes
from zmigrate.schema.related import ATTACHMENT_MAX_BYTES
from zmigrate.verify import bill as verify_bill
from zmigrate.verify import verify
from zmigrate.verify.attachments import parent_reads

PLANS = Path(__file__).resolve().parent.parent / "plans"


def test_plan_prices_related_steps_and_counts_attachment_bytes(tmp_path: Path) -> None:
    rows = write_related(tmp_path)
    the_plan = plan(load_manifest(tmp_path / "migration.toml"))
    steps = {s.name: s for s in the_plan.steps}
    files = steps["account_files"].write
    assert files is not None and files.method == "attach"
    sizes = sum((tmp_path / r["path"]).stat().st_size for r in rows["files"])
    assert (files.requests, files.credits, files.bytes) == (4, 4, sizes)
    notes = steps["account_notes"].write
    assert notes is not None and (notes.method, notes.requests, notes.credits) == ("related", 1, 1)
    assert steps["tasks"].write is not None and steps["tasks"].write.method == "related"
    assert the_plan.to_dict()["steps"][-1]["phases"][0]["bytes"] == sizes


def test_plan_refuses_a_missing_file_and_one_over_zohos_limit(tmp_path: Path) -> None:
    write_related(tmp_path)
    files = tmp_path / "data" / "files.csv"
    text = files.read_text()
    files.write_text(text.replace("data/files/a3/doc3.txt", "data/files/gone.pdf"))
    with pytest.raises(ManifestError) as err:
        plan(load_manifest(tmp_path / "migration.toml"))
    assert "no file" in str(err.value) and "gone.pdf" in str(err.value)
    assert "files.csv:5" in str(err.value) and "account_files" in str(err.value)
    big = tmp_path / "data" / "files" / "big.bin"
    with big.open("wb") as fh:
        fh.truncate(ATTACHMENT_MAX_BYTES + 1)  # sparse: no disk used
    files.write_text(text.replace("data/files/a3/doc3.txt", "data/files/big.bin"))
    with pytest.raises(ManifestError) as err:
        plan(load_manifest(tmp_path / "migration.toml"))
    assert "data/files/big.bin is 104,857,601 bytes" in str(err.value)


ATTACH = 'target = "crm:Attachments"\nsource_key = ["ref"]\n'


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (ATTACH + 'key = ["File_Name"]\n', "attachments have no key"),
        (ATTACH + 'method = "bulk"\n', "written through REST only"),
        (ATTACH + 'operation = "upsert"\n', "can only be inserted, not upsert"),
        ('target = "crm:Attachments"\n', "needs source_key"),
    ],
)
def test_manifest_refuses_what_a_keyless_related_step_cannot_do(
    tmp_path: Path, replacement: str, message: str
) -> None:
    write_related(tmp_path)
    path = tmp_path / "migration.toml"
    path.write_text(path.read_text().replace(ATTACH, replacement))
    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


def test_match_landed_gives_each_landed_record_to_one_item_and_skips_taken_ids() -> None:
    wanted = [("P1", "Met"), ("P1", "Met"), ("P1", "Met"), ("P2", "Met")]
    found = [
        ("n1", ("P1", "Met")),
        ("n2", ("P1", "Met")),
        ("n0", ("P1", "Met")),
        ("n3", ("P3", "Met")),
    ]
    assert match_landed(wanted, found, taken={"n0"}) == {0: "n1", 1: "n2"}


@pytest.mark.parametrize("seed", [1, 2])
async def test_related_records_land_once_with_their_links_under_faults(
    tmp_path: Path, make_sandbox: Any, seed: int
) -> None:
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock, fault_rate=0.1, lost_response_rate=0.2, seed=seed)
    rows = write_related(tmp_path, scale=3)
    report = await execute(
        tmp_path / "migration.toml",
        tmp_path / "run",
        sandbox_credentials(sb),
        clock,
        progress=Progress(io.StringIO(), tty=False),
        seed=7,
    )
    assert report.outcome == "done", report.render()
    assert sb.stats.faults["lost_response"] >= 5  # answers lost after the write committed
    sb.faults.fault_rate = sb.faults.lost_response_rate = 0.0  # read back without faults
    await assert_related_landed(sb, tmp_path, rows)


async def test_a_refused_upload_is_a_dead_letter_naming_its_parent_and_zohos_reason(
    tmp_path: Path, make_sandbox: Any, monkeypatch: Any
) -> None:
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock)
    monkeypatch.setattr(related_routes, "ATTACHMENT_MAX_BYTES", 40)  # this org takes less
    rows = write_related(tmp_path)
    report = await execute(
        tmp_path / "migration.toml",
        tmp_path / "run",
        sandbox_credentials(sb),
        clock,
        progress=Progress(io.StringIO(), tty=False),
        seed=7,
    )
    assert report.outcome == "failed_records", report.render()
    dead = [orjson.loads(line) for line in (tmp_path / "run" / "dead_letters.jsonl").open()]
    big = [r for r in rows["files"] if (tmp_path / r["path"]).stat().st_size > 40]
    assert sorted(d["key"] for d in dead) == sorted(r["ref"] for r in big)
    accounts = {a["Account_Name"]: a["id"] for a in await records(sb, "crm", "Accounts")}
    for d in dead:
        parent = accounts[f"Account {d['key'][1:]}"]
        assert d["code"] == "FILE_SIZE_MORE_THAN_ALLOWED_SIZE"
        assert f"parent Accounts {parent}" in d["message"]
        assert "size of the file" in d["message"]


async def test_verify_and_rollback_reach_attachments_through_their_parents(tmp_path: Path) -> None:
    """The sample rehearsed, then verified: every note, activity and file matches; a file
    changed on disk since is a changed input (refused, as a changed source is); an
    attachment deleted in Zoho is one missing. Rolled back, nothing is left."""
    shutil.copy(PLANS / "related.toml", tmp_path / "related.toml")
    shutil.copytree(PLANS / "data", tmp_path / "data")
    shutil.copytree(PLANS / "related", tmp_path / "related")
    run_dir = tmp_path / "run"
    report = await execute_in_sandbox(tmp_path / "related.toml", run_dir, clock_speed=600.0)
    assert report.exit_code == 0, report.render()
    result = await verify(run_dir, clock_speed=600.0)
    assert result.exit_code == 0, result.render()
    assert all(s.checked == s.landed == s.matched > 0 for s in result.steps), result.render()
    changed = tmp_path / "related" / "files" / "quote-A00002.csv"
    before = changed.read_bytes()
    changed.write_bytes(before + b"Support,1,99.00\n")
    with pytest.raises(StoreError) as err:
        await verify(run_dir, clock_speed=600.0)
    assert f"source {changed} changed" in str(err.value)
    changed.write_bytes(before)
    await _delete_one_attachment(run_dir)
    result = await verify(run_dir, clock_speed=600.0)
    by_step = {s.step: s for s in result.steps}
    assert (by_step["account_files"].missing, result.exit_code) == (1, 1), result.render()

    undone = await rollback(run_dir, clock_speed=600.0)
    assert undone.exit_code == 0 and undone.steps[0].step == "account_files"
    assert undone.steps[0].deleted == 3  # the one deleted in Zoho counts as gone already
    config = SandboxConfig(clock_speed=600.0, state_dir=str(run_dir / SANDBOX_STATE))
    async with start_sandbox(config, Clock(600.0, start=T0)) as sb:
        for module in ("Attachments", "Notes", "Tasks", "Calls", "Accounts"):
            assert await records(sb, "crm", module) == [], module


async def _delete_one_attachment(run_dir: Path) -> None:
    """Delete one attached file in the rehearsal's Zoho, as a user might in the UI."""
    config = SandboxConfig(clock_speed=600.0, state_dir=str(run_dir / SANDBOX_STATE))
    async with start_sandbox(config, Clock(600.0, start=T0)) as sb:
        (first, *_) = await records(sb, "crm", "Attachments")
        path = f"/crm/v8/{first['$se_module']}/{first['Parent_Id']}/Attachments/{first['id']}"
        headers = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
        async with (
            aiohttp.ClientSession() as http,
            http.delete(sb.urls["api"] + path, headers=headers) as resp,
        ):
            assert resp.status == 200, await resp.text()


async def test_resume_refuses_an_attached_file_changed_since_the_run_began(
    tmp_path: Path,
) -> None:
    """Attached files are inputs like sources: changed (or gone), the resume is refused."""
    rows = write_related(tmp_path)
    run_dir = tmp_path / "run"
    report = await execute_in_sandbox(tmp_path / "migration.toml", run_dir, clock_speed=600.0)
    assert report.exit_code == 0, report.render()
    assert changed_inputs(inspect(run_dir)) == []
    changed = tmp_path / rows["files"][0]["path"]
    changed.write_bytes(changed.read_bytes() + b"!")
    with pytest.raises(StoreError) as err:
        await resume(run_dir, clock_speed=600.0)
    assert f"source {changed} changed" in str(err.value)
    changed.unlink()
    assert changed_inputs(inspect(run_dir)) == [f"source {changed} changed"]


async def test_verify_and_rollback_bills_price_attachments_as_the_calls_they_make(
    tmp_path: Path,
) -> None:
    """Attachments are read through each parent's list (once per chunk of 50 holding one of
    its files) and deleted one a call: the dry-run bills count those calls, so they equal
    what verify and rollback then spend."""
    write_related(tmp_path, scale=2)
    run_dir = tmp_path / "run"
    report = await execute_in_sandbox(tmp_path / "migration.toml", run_dir, clock_speed=600.0)
    assert report.exit_code == 0, report.render()
    priced = verify_bill(run_dir)
    files = next(s for s in priced.steps if s.step == "account_files")
    assert (files.method, files.requests) == ("parent_lists", 8)  # 8 accounts hold the files
    result = await verify(run_dir, clock_speed=600.0)
    assert result.exit_code == 0, result.render()
    crm = priced.totals()["crm"]
    assert (crm["requests"], crm["credits"]) == (
        result.spent["crm"]["requests"],
        result.spent["crm"]["credits"],
    )
    deletes = rollback_bill(run_dir)
    assert next(s for s in deletes if s.step == "account_files").requests == files.records
    undone = await rollback(run_dir, clock_speed=600.0)
    assert undone.exit_code == 0
    assert sum(s.requests for s in deletes) == undone.spent["crm"]["requests"]
    assert sum(s.credits for s in deletes) == undone.spent["crm"]["credits"]


def test_parent_reads_count_each_parents_list_once_per_chunk() -> None:
    a, b, c = ("Accounts", "1"), ("Accounts", "2"), ("Deals", "3")
    assert parent_reads([a, a, b, c], chunk=50, page=200) == 3
    assert parent_reads([a, b, a, c], chunk=2, page=200) == 4  # a's list read in both chunks
    assert parent_reads([a] * 5, chunk=50, page=2) == 3
