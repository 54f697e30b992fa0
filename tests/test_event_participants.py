"""Events' participants: a column of contact keys and addresses lands as Zoho's
``Participants`` list, once, under lost answers; what the manifest refuses about it."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fixed_time import T0
from migration_helpers import records

from zmigrate.clock import Clock
from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.progress import Progress
from zmigrate.rehearsal import execute_in_sandbox, sandbox_credentials
from zmigrate.run import execute
from zmigrate.verify import verify

MANIFEST = """
[target]
crm_edition = "enterprise"

[[steps]]
name = "contacts"
source = "contacts.csv"
target = "crm:Contacts"
key = ["Email"]
source_key = ["ref"]
method = "rest"
[steps.fields]
Last_Name = "last"
Email = "email"

[[steps]]
name = "meetings"
source = "meetings.csv"
target = "crm:Events"
source_key = ["ref"]
[steps.fields]
Event_Title = "title"
Start_DateTime = { column = "start", transform = "datetime" }
End_DateTime = { column = "end", transform = "datetime" }
[steps.lookups]
Participants = { step = "contacts", column = "attendees" }
"""


def _write(folder: Path, n: int) -> list[dict[str, str]]:
    contacts = [{"ref": f"C{i}", "last": f"Person {i}", "email": f"p{i}@x.com"} for i in range(n)]
    meetings = [
        {
            "ref": f"M{i}",
            "title": f"Meeting {i}",
            "start": "2026-03-02T10:00:00+00:00",
            "end": "2026-03-02T11:00:00+00:00",
            "attendees": f"C{i}; C{(i + 1) % n};guest{i}@example.com",
        }
        for i in range(n)
    ]
    for name, rows in (("contacts", contacts), ("meetings", meetings)):
        with (folder / f"{name}.csv").open("w", newline="") as fh:
            out = csv.DictWriter(fh, fieldnames=list(rows[0]))
            out.writeheader()
            out.writerows(rows)
    (folder / "migration.toml").write_text(MANIFEST)
    return meetings


async def test_participants_land_once_as_contacts_and_addresses(
    tmp_path: Path, make_sandbox: Any
) -> None:
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock, lost_response_rate=0.3, seed=3)
    meetings = _write(tmp_path, 12)
    report = await execute(
        tmp_path / "migration.toml",
        tmp_path / "run",
        sandbox_credentials(sb),
        clock,
        progress=Progress(io.StringIO(), tty=False),
        seed=7,
    )
    assert report.outcome == "done", report.render()
    sb.faults.lost_response_rate = 0.0
    contact_ids = {c["Email"]: c["id"] for c in await records(sb, "crm", "Contacts")}
    events = {e["Event_Title"]: e for e in await records(sb, "crm", "Events")}
    assert sorted(events) == sorted(m["title"] for m in meetings)
    for i, m in enumerate(meetings):
        got = [(p["type"], p["participant"]) for p in events[m["title"]]["Participants"]]
        assert got == [
            ("contact", contact_ids[f"p{i}@x.com"]),
            ("contact", contact_ids[f"p{(i + 1) % 12}@x.com"]),
            ("email", f"guest{i}@example.com"),
        ]


async def test_verify_reads_participants_back(tmp_path: Path) -> None:
    """Verify maps each list as the run did and compares who attends, not how Zoho shows it."""
    _write(tmp_path, 6)
    report = await execute_in_sandbox(
        tmp_path / "migration.toml", tmp_path / "run", clock_speed=600.0
    )
    assert report.exit_code == 0, report.render()
    result = await verify(tmp_path / "run", clock_speed=600.0)
    assert result.exit_code == 0, result.render()
    assert [s.matched for s in result.steps] == [6, 6]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                'source_key = ["ref"]\n[steps.fields]\nEvent',
                'key = ["Event_Title"]\nsource_key = ["ref"]\n[steps.fields]\nEvent',
            ),
            "set method = 'rest'",
        ),
        (('column = "attendees"', 'column = ["attendees", "ref"]'), "reads one column"),
    ],
)
def test_manifest_refuses_participants_it_cannot_send(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    _write(tmp_path, 2)
    path = tmp_path / "migration.toml"
    path.write_text(MANIFEST.replace(*change))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert message in str(err.value)
