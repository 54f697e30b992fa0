"""One retry path: a request meeting nothing but 5xx answers is sent at most MAX_SENDS times,
by the whole run (transport, token source and engine together), counted by the sandbox."""

from __future__ import annotations

import io

from zmigrate.clock import Clock
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.retry import MAX_SENDS
from zmigrate.run import execute

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
ALL_500_SEED = 8699
"""With fault_rate 1, this seed's first 14 fault draws all fall in the internal-error half
(HTTP 500, CRM INTERNAL_ERROR): every answer the run can get within the cap is a 5xx."""


async def test_a_request_meeting_only_5xx_is_sent_at_most_max_sends_times(tmp_path, make_sandbox):
    clock = Clock(speed=600, start=START)
    sb = await make_sandbox(clock=clock, seed=ALL_500_SEED)

    class FaultsOnceStarted(Progress):
        """Faults from the first step on: the run's metadata preflight has been answered."""

        def start_step(self, name: str, total: int, done: int = 0) -> None:
            sb.faults.fault_rate = 1.0
            super().start_step(name, total, done)

    (tmp_path / "leads.csv").write_text("email,last\na@example.com,Ng\n")
    (tmp_path / "m.toml").write_text(
        '[[steps]]\nname = "leads"\nsource = { file = "leads.csv" }\n'
        'target = "crm:Leads"\noperation = "upsert"\nkey = ["Email"]\nmethod = "rest"\n'
        '[steps.fields]\nEmail = "email"\nLast_Name = "last"\nCompany = { const = "Acme" }\n'
    )
    report = await execute(
        tmp_path / "m.toml",
        tmp_path / "run",
        sandbox_credentials(sb),
        clock,
        progress=FaultsOnceStarted(io.StringIO(), tty=False),
        seed=1,
    )
    assert report.outcome == "stopped", report.render()
    state = sb.state()
    assert state["requests"]["crm"] == 2 + MAX_SENDS  # the preflight's 2 metadata reads
    assert state["faults"] == {"internal_error": MAX_SENDS}
