"""Multi-module lookups end to end: a task's ``What_Id`` lands with ``$se_module`` naming the
module of the step it looks up (Accounts for one step, Deals for another), over REST and
Bulk Write, and the sandbox refuses a ``What_Id`` that comes without a valid ``$se_module``."""

from __future__ import annotations

import csv
import io
import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fixed_time import T0
from migration_helpers import records

from zmigrate.clock import Clock
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.run import execute

MANIFEST = """
[target]
crm_edition = "enterprise"
crm_users = 5

[[steps]]
name = "accounts"
source = {{ file = "accounts.csv" }}
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
method = "rest"
[steps.fields]
Account_Name = "name"

[[steps]]
name = "deals"
source = {{ file = "deals.csv" }}
target = "crm:Deals"
key = ["Deal_Name"]
source_key = ["ref"]
method = "rest"
[steps.fields]
Deal_Name = "name"
Stage = {{ const = "Qualification" }}
Closing_Date = {{ const = "2026-12-01" }}

[[steps]]
name = "account_tasks"
source = {{ file = "account_tasks.csv" }}
target = "crm:Tasks"
operation = "insert"
key = ["Subject"]
source_key = ["subject"]
method = "{method}"
[steps.fields]
Subject = "subject"
[steps.lookups]
What_Id = {{ step = "accounts", column = "account" }}

[[steps]]
name = "deal_tasks"
source = {{ file = "deal_tasks.csv" }}
target = "crm:Tasks"
operation = "insert"
key = ["Subject"]
source_key = ["subject"]
method = "{method}"
[steps.fields]
Subject = "subject"
[steps.lookups]
What_Id = {{ step = "deals", column = "deal" }}
"""


def _csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)


@pytest.mark.parametrize("method", ["rest", "bulk"])
async def test_what_id_lands_with_the_looked_up_steps_module(
    tmp_path: Path, make_sandbox: Any, method: str
) -> None:
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock)
    (tmp_path / "migration.toml").write_text(textwrap.dedent(MANIFEST.format(method=method)))
    _csv(tmp_path / "accounts.csv", [{"ref": "A1", "name": "Acme"}])
    _csv(tmp_path / "deals.csv", [{"ref": "D1", "name": "Big deal"}])
    _csv(tmp_path / "account_tasks.csv", [{"subject": "Call Acme", "account": "A1"}])
    _csv(tmp_path / "deal_tasks.csv", [{"subject": "Chase deal", "deal": "D1"}])
    report = await execute(
        tmp_path / "migration.toml",
        tmp_path / "run",
        sandbox_credentials(sb),
        clock,
        progress=Progress(io.StringIO(), tty=False),
        seed=7,
    )
    assert report.outcome == "done", report.render()
    account = (await records(sb, "crm", "Accounts"))[0]
    deal = (await records(sb, "crm", "Deals"))[0]
    tasks = {t["Subject"]: t for t in await records(sb, "crm", "Tasks")}
    assert tasks["Call Acme"]["What_Id"] == account["id"]
    assert tasks["Call Acme"]["$se_module"] == "Accounts"
    assert tasks["Chase deal"]["What_Id"] == deal["id"]
    assert tasks["Chase deal"]["$se_module"] == "Deals"


async def test_sandbox_refuses_what_id_without_a_valid_se_module(make_sandbox: Any) -> None:
    sb = await make_sandbox()
    headers = {"Authorization": f"Zoho-oauthtoken {sb.issue_token()}"}
    url = f"{sb.urls['api']}/crm/v8"
    async with aiohttp.ClientSession(headers=headers) as http:

        async def post(module: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            async with http.post(f"{url}/{module}", json={"data": rows}) as resp:
                return list((await resp.json())["data"])

        [acc] = await post("Accounts", [{"Account_Name": "Acme"}])
        acc_id = acc["details"]["id"]
        answers = await post(
            "Tasks",
            [
                {"Subject": "no module", "What_Id": {"id": acc_id}},
                {"Subject": "not its module", "What_Id": {"id": acc_id}, "$se_module": "Leads"},
                {"Subject": "wrong module", "What_Id": {"id": acc_id}, "$se_module": "Deals"},
                {"Subject": "right", "What_Id": {"id": acc_id}, "$se_module": "Accounts"},
            ],
        )
    assert [a["code"] for a in answers] == ["INVALID_DATA"] * 3 + ["SUCCESS"]
    assert [a["details"].get("api_name") for a in answers[:3]] == [
        "$se_module",
        "$se_module",
        "What_Id",
    ]
    [task] = [t for t in await records(sb, "crm", "Tasks")]
    assert task["Subject"] == "right" and task["$se_module"] == "Accounts"
