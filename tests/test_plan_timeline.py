"""The plan's time per product over its whole sequence of calls (issue 12): windows carried
from step to step, waits for looked-up steps, CRM REST and Bulk lanes. No network, no clock."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from zmigrate.manifest import load_manifest
from zmigrate.planner import plan
from zmigrate.planner.pricing import bulk_read_seconds, bulk_write_seconds
from zmigrate.planner.timeline import Span, Windows, finance_calls, straggler
from zmigrate.sources import StepCount

LATENCY = 0.5  # Books/Inventory's typical latency: 10 calls at once, 0.05 s a call
WINDOW = 60 + LATENCY  # a full window's slots free one minute after its first answers
TAIL = straggler(10, 10, LATENCY)  # a step's last answer: the slowest of its last 10 calls


def test_a_phase_ends_with_its_slowest_last_call():
    assert round(TAIL, 3) == 0.308  # 0.6 of a mean latency, 10 in flight
    assert straggler(1, 10, LATENCY) == 0.0  # one call: its latency is the mean's
    assert straggler(3, 10, LATENCY) < straggler(500, 10, LATENCY) == TAIL


def test_800_calls_need_8_windows_however_they_are_cut():
    whole, span = finance_calls(Windows(), 0.0, 800, 10, LATENCY)
    assert span == Span(0.0, pytest.approx(7 * WINDOW + 100 * 0.05))
    first, a = finance_calls(Windows(), 0.0, 300, 10, LATENCY)
    # the second step inherits the first's full last window: it waits for the fourth
    second, b = finance_calls(first, a.end, 500, 10, LATENCY)
    assert a.end == pytest.approx(2 * WINDOW + 5.0)
    assert b.start == pytest.approx(3 * WINDOW)
    assert b.end == pytest.approx(span.end)
    assert (second.used, whole.used) == (100, 100)


def test_a_step_fills_what_the_window_before_it_left():
    first, a = finance_calls(Windows(), 0.0, 150, 10, LATENCY)  # 100, then 50 in window 2
    _, b = finance_calls(first, a.end, 50, 10, LATENCY)
    assert b.start == pytest.approx(a.end)  # 50 slots left: no wait
    assert b.end == pytest.approx(WINDOW + 5.0)


def test_a_window_long_over_gives_way_to_a_fresh_one():
    first, a = finance_calls(Windows(), 0.0, 100, 10, LATENCY)
    _, b = finance_calls(first, 500.0, 100, 10, LATENCY)
    assert b == Span(500.0, pytest.approx(505.0))


def _manifest(tmp_path: Path, body: str) -> Path:
    head = '[target]\ncrm_edition = "enterprise"\ncrm_users = 10\nbooks_plan = "standard"\n'
    path = tmp_path / "m.toml"
    path.write_text(head + textwrap.dedent(body))
    return path


MIXED = """\
[[steps]]
name = "accounts"
source = { file = "a.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
method = "bulk"
[steps.fields]
Account_Name = "name"

[[steps]]
name = "items"
source = { file = "s.csv" }
target = "inventory:items"
key = ["sku"]
[steps.fields]
sku = "sku"
name = "name"
rate = "price"
item_type = { const = "inventory" }
product_type = { const = "goods" }

[[steps]]
name = "customers"
source = { file = "c.csv" }
target = "books:contacts"
key = ["contact_name"]
[steps.fields]
contact_name = "name"
contact_type = { const = "customer" }

[[steps]]
name = "invoices"
source = { file = "i.csv" }
target = "books:invoices"
key = ["invoice_number"]
[steps.fields]
invoice_number = "no"
date = "date"
"line_items[].quantity" = "quantity"
"line_items[].rate" = "rate"
[steps.lookups]
customer_id = { step = "customers", column = "cust" }
"line_items[].item_id" = { step = "items", column = "sku" }
"""


def _counts(**records: int) -> dict[str, StepCount]:
    return {name: StepCount(n, n, False) for name, n in records.items()}


def test_books_time_runs_over_both_its_steps(tmp_path):
    m = load_manifest(_manifest(tmp_path, MIXED))
    p = plan(m, _counts(accounts=12_000, items=150, customers=300, invoices=500))
    books = p.totals["books"]
    # each step alone: 125 s + 245 s = 370 s; together 800 calls take 8 windows
    assert p.step("customers").seconds + p.step("invoices").seconds == pytest.approx(370)
    assert books.seconds == pytest.approx(7 * WINDOW + 5.0 + TAIL)
    preflight = 2 * 0.8  # the CRM metadata read first (modules, Accounts' fields)
    assert books.starts_at == pytest.approx(preflight)
    assert p.estimated_seconds == pytest.approx(preflight + books.seconds)
    assert p.to_dict()["totals"]["books"]["starts_at"] == pytest.approx(preflight, abs=0.1)


def test_a_step_starts_when_the_steps_it_looks_up_are_done(tmp_path):
    m = load_manifest(_manifest(tmp_path, MIXED))
    p = plan(m, _counts(accounts=10, items=250, customers=10, invoices=10))
    items_end = p.spans["items"][1]
    assert items_end == pytest.approx(1.6 + 2 * WINDOW + 2.5 + TAIL)  # 250 Inventory calls
    assert p.spans["invoices"][0] == pytest.approx(items_end)  # Books idle till then
    assert p.spans["customers"][1] < 10
    assert p.totals["books"].seconds == pytest.approx(items_end + 0.5 + TAIL - 1.6)


def test_crm_bulk_runs_beside_rest_and_at_the_given_latency(tmp_path):
    m = load_manifest(_manifest(tmp_path, MIXED))
    counts = _counts(accounts=12_000, items=0, customers=0, invoices=0)
    typical = plan(m, counts)
    fast = plan(m, counts, latency={"crm": 0.08, "books": 0.05, "inventory": 0.05})
    job = typical.step("accounts").seconds
    # the metadata, then the org's id (X-CRM-ORG of the upload), then the job
    assert typical.totals["crm"].seconds == pytest.approx(1.6 + 0.8 + job)
    # metadata 10x faster, and the job's 4 calls; Zoho's queue and pace are no faster
    assert fast.totals["crm"].seconds == pytest.approx(0.16 + 0.08 + job - 4 * (0.8 - 0.08))


def test_the_first_bulk_upload_reads_the_orgs_id_once(tmp_path):
    m = load_manifest(_manifest(tmp_path, MIXED))
    p = plan(m, _counts(accounts=12_000, items=0, customers=0, invoices=0))
    (read,) = [c for c in p.setup if c.kind == "bulk_org"]
    assert (read.product, read.requests, read.credits) == ("crm", 1, 1)
    # the metadata (2), the org's id (1), upload, create, 1 poll, download
    assert (p.totals["crm"].requests, p.totals["crm"].credits) == (7, 506)
    sample = plan(load_manifest(Path(__file__).parent.parent / "plans" / "sample.toml"))
    assert not [c for c in sample.setup if c.kind == "bulk_org"]  # REST writes: no upload


def test_a_bulk_write_job_is_zohos_wait_and_the_calls_on_its_path():
    wait = 3 + 12_000 / 2_000 * 1.05  # queue, rows at Zoho's pace, polled 5% after
    # upload, create, the poll that sees it done, download: one latency each
    assert bulk_write_seconds(12_000, 0.16) == pytest.approx(wait + 4 * 0.16)
    # 30,000 rows: jobs of 25,000 and 5,000 side by side; the larger one sets the time
    assert bulk_write_seconds(30_000, 0.8) == pytest.approx(3 + 12.5 * 1.05 + 4 * 0.8)


def test_a_bulk_read_job_waits_one_latency_per_poll():
    # 1,000 records: queue 3 s + 0.1 s; polls at 0, 2, 5 (waits 2, 3): seen at 5 s
    assert bulk_read_seconds(1_000, 0.5) == pytest.approx(5 + (2 + 3) * 0.5)


LISTS = """\
[[steps]]
name = "accounts"
source = { file = "a.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
method = "rest"
[steps.fields]
Account_Name = "name"

[[steps]]
name = "customers"
source = { file = "c.csv" }
target = "books:contacts"
key = ["contact_name"]
[steps.fields]
contact_name = "name"
currency_code = "currency"
"""


def test_books_reads_its_org_lists_beside_the_crm_writes(tmp_path):
    m = load_manifest(_manifest(tmp_path, LISTS))
    lat = {"crm": 0.16, "books": 0.16, "inventory": 0.16}
    p = plan(m, _counts(accounts=100, customers=10), latency=lat)
    preflight = 2 * 0.16  # modules, Accounts' fields
    # the CRM write goes as soon as the preflight is done: Books' currencies are Books' calls
    assert p.spans["accounts"][0] == pytest.approx(preflight)
    assert p.totals["books"].starts_at == pytest.approx(preflight)
    currencies = 0.16  # one call, then the 10 writes, 10 at once
    assert p.spans["customers"][1] == pytest.approx(preflight + currencies + 0.16, abs=0.1)
