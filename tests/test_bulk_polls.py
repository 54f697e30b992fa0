"""Bulk Write jobs are polled at their predicted finish, then as their own progress predicts;
the planner prices the same polls the client makes."""

from __future__ import annotations

import pytest
from fixed_time import T0
from zoho_helpers import credentials_for

from zmigrate import quotas
from zmigrate.auth import TokenSource
from zmigrate.client import Limits, Zoho
from zmigrate.client.bulk import zip_csv
from zmigrate.client.http import Attempt
from zmigrate.clock import Clock
from zmigrate.manifest.model import Target
from zmigrate.planner.pricing import bulk_write_job, crm_bulk_write
from zmigrate.quotas import bulk_write_poll_wait

NONE = (None, None, 1)
"""A target's organization ids and manifest line."""


def test_the_first_poll_waits_for_the_predicted_finish() -> None:
    # queue 3 s, then 25,000 rows at 2,000 a second, and 5 % of those 12.5 s
    assert bulk_write_poll_wait(25_000) == pytest.approx(3 + 12.5 * 1.05)
    assert bulk_write_poll_wait(25_000, elapsed=10) == pytest.approx(16.125 - 10)


def test_later_polls_follow_the_jobs_own_pace() -> None:
    # seen at 16 s with 6,500 done: 500 rows a second since the queue; 18,500 left take 37 s
    assert bulk_write_poll_wait(25_000, 16, [(16, 6_500)]) == pytest.approx(37 * 1.05)
    # between two statuses the later pace counts: 1,000 a second over the last 10 s
    wait = bulk_write_poll_wait(25_000, 26, [(16, 6_500), (26, 16_500)])
    assert wait == pytest.approx(8.5 * 1.05)
    # still queued: the rows are predicted from now; nearly done: a steady short interval
    assert bulk_write_poll_wait(10_000, 5, [(5, 0)]) == pytest.approx(5 * 1.05)
    assert bulk_write_poll_wait(25_000, 20, [(20, 24_990)]) == quotas.BULK_POLL_STEADY


def test_the_plan_prices_the_polls_the_client_makes() -> None:
    assert bulk_write_job(25_000) == (pytest.approx(16.125), 1)
    step = crm_bulk_write(100_000, Target("com", "enterprise", 10, "standard", "standard", *NONE))
    # 4 jobs of upload, create, one status poll and the result: credits within 1 % of 4 x 500
    assert (step.bulk_jobs, step.requests, step.credits) == (4, 16, 2_012)
    assert step.credits / (4 * quotas.CREDITS_BULK_WRITE) <= 1.01


async def test_a_job_is_polled_once_it_should_be_done_not_at_once(make_sandbox, http) -> None:
    clock = Clock(speed=1, start=T0)  # the sandbox keeps Zoho's pace at this speed
    sb = await make_sandbox(clock=clock)
    zoho = Zoho(http, TokenSource(http, credentials_for(sb), clock), clock, Limits())
    header = ["Last_Name", "Company", "Email"]
    rows = [
        {"Last_Name": f"Lead {i}", "Company": "Co", "Email": f"l{i}@example.com"}
        for i in range(2_000)
    ]
    file_id = await zoho.crm.upload(zip_csv(header, rows))
    mappings = [{"api_name": c, "index": i} for i, c in enumerate(header)]
    job_id = await zoho.crm.create_write_job("Leads", "insert", file_id, mappings)
    created = clock.now()
    polls: list[Attempt] = []
    zoho.transport.observers.append(polls.append)
    job = await zoho.crm.wait_write(job_id, rows=len(rows))
    noticed = clock.now() - created
    assert job.state == "COMPLETED" and job.counts["added_count"] == 2_000
    predicted = 3 + 1 * 1.05  # queue, then 2,000 rows at 2,000 a second (and 5 %)
    assert polls[0].started - created >= predicted - 0.01  # not at once, nor after 2 s
    assert len(polls) <= 2  # the growing waits polled at 0, 2 and 5 s
    assert noticed <= predicted + quotas.BULK_POLL_STEADY + 1
