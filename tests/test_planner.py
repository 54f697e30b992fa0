"""The quota bill, checked against hand-computed figures from Zoho's credit and limit tables."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from zmigrate import quotas
from zmigrate.manifest import Target, load_manifest
from zmigrate.planner import (
    PLAN_JSON_SCHEMA,
    choose_method,
    crm_bulk_read,
    crm_bulk_write,
    crm_rest_read,
    crm_rest_write,
    finance_write,
    plan,
)
from zmigrate.planner.warnings import read_warnings
from zmigrate.sources import StepCount

PLANS = Path(__file__).resolve().parent.parent / "plans"


def target(
    edition: str = "enterprise",
    users: int = 10,
    books: str = "standard",
    inventory: str = "standard",
) -> Target:
    return Target("com", edition, users, books, inventory, None, None, 1)


@pytest.mark.parametrize(
    ("edition", "users", "credits"),
    [
        ("free", 3, 5_000),  # no per-user credits
        ("standard", 10, 52_500),  # 50,000 + 10 x 250
        ("standard", 300, 100_000),  # 125,000 capped at 100,000
        ("professional", 20, 60_000),  # 50,000 + 20 x 500
        ("professional", 10_000, 3_000_000),  # capped
        ("enterprise", 10, 60_000),  # 50,000 + 10 x 1,000
        ("enterprise", 10_000, 5_000_000),  # capped
        ("ultimate", 10, 70_000),  # 50,000 + 10 x 2,000, no cap
    ],
)
def test_crm_daily_credits_per_edition(edition, users, credits):
    assert target(edition, users).crm_daily_credits == credits


def test_crm_rest_write_batches_and_credits():
    t = target()
    p = crm_rest_write(1_005, t)
    # 10 full batches of 100 (10 credits each) + one of 5 (1 credit)
    assert (p.batch_size, p.batches, p.requests, p.credits) == (100, 11, 11, 101)
    assert p.seconds == pytest.approx(0.8)  # 11 requests fit in one round of 20 concurrent
    assert crm_rest_write(95, t).credits == 10
    free = crm_rest_write(1_005, target("free"))  # 5 concurrent: 3 rounds
    assert free.seconds == pytest.approx(3 * 0.8)


def test_crm_bulk_write_jobs():
    t = target()
    # A 25,000-row job is done after 3 + 12.5 s; the one poll, at its predicted finish and 5 %
    # of its running time (16.125 s), sees it done. Upload, create (500 credits), 1 poll and
    # the result: 4 requests, 503 credits, each one latency on the job's path.
    one = crm_bulk_write(25_000, t)
    assert (one.bulk_jobs, one.requests, one.credits) == (1, 4, 503)
    assert one.seconds == pytest.approx(16.125 + 4 * 0.8)
    p = crm_bulk_write(60_000, t)  # 25,000 + 25,000 + 10,000 (done at 8 s: 1 poll each)
    assert (p.batch_size, p.bulk_jobs, p.requests, p.credits) == (25_000, 3, 3 * 4, 1_509)


def test_crm_reads():
    t = target()
    pages = crm_rest_read(30_000, t)
    assert (pages.requests, pages.credits) == (150, 150)
    assert pages.seconds == pytest.approx(150 * 0.8)  # one page after another
    assert crm_rest_read(30_000, t, fields=51).requests == 300
    bulk = crm_bulk_read(450_000, t)
    # 200,000 + 200,000 (23 s: 6 polls) + 50,000 (8 s: 4 polls); create, polls, download
    assert (bulk.bulk_jobs, bulk.requests, bulk.batch_size) == (3, 8 + 8 + 6, 200_000)
    assert bulk.credits == 3 * 50 + (22 - 3)


def test_books_one_request_per_record_at_100_a_minute():
    p = finance_write("books", 600, target())
    assert (p.requests, p.credits, p.batch_size) == (600, 0, 1)
    # 100 per 60 s window, each window's burst at 10 concurrent x 0.5 s = 20/s
    assert p.seconds == pytest.approx(5 * 60 + 100 / 20)
    assert finance_write("books", 90, target()).seconds == pytest.approx(90 / 20)
    free = finance_write("books", 90, target(books="free"))  # 5 concurrent: 10/s
    assert free.seconds == pytest.approx(9)


@pytest.mark.parametrize(
    ("edition", "records", "method"),
    [
        ("enterprise", 5_000, "rest"),  # REST 500 credits, Bulk Write 503
        # A credit is worth 86,400 / 60,000 = 1.44 s. REST 5,050: 505 credits, 5 rounds of
        # 10 heavy writes of 100 and 10 light of 10 (1,100 records) x 0.8 s = 4 s -> 731.2;
        # Bulk Write: 503 credits, seen done at 5.66 s + 4 calls = 8.86 s -> 733.2. At 5,061
        # REST costs 507 credits -> 734.1: bulk wins.
        ("enterprise", 5_060, "rest"),
        ("enterprise", 5_061, "bulk"),
        ("enterprise", 10_000, "bulk"),
        ("free", 5_030, "rest"),
        ("free", 5_031, "bulk"),
        ("standard", 1_000_000, "bulk"),
        ("ultimate", 1_000_000, "bulk"),
    ],
)
def test_bulk_write_crossover(edition, records, method):
    phase = choose_method("write", "crm", records, "auto", target(edition))
    assert phase.method == method
    assert phase.reason.startswith("auto: ")


def test_rest_writes_fill_the_pool_and_the_spare_edition_places():
    """Enterprise: 20 places, a pool of 10 for heavy writes. A round carries 10 writes of 100
    and 10 of 10 (1,100 records) at the minimum credits, not 10 writes of 100."""
    p = crm_rest_write(11_000, target())
    assert (p.requests, p.credits, p.batch_size) == (200, 1_100, 100)
    assert p.seconds == pytest.approx(10 * 0.8)
    # a last round fills the pool first: 1,150 = a full round, then one heavy write of 50
    assert crm_rest_write(1_150, target()).requests == 21
    assert crm_rest_write(150, target()).requests == 2
    free = crm_rest_write(1_000, target("free"))  # 5 places, all in the pool: 2 rounds
    assert (free.requests, free.seconds) == (10, pytest.approx(2 * 0.8))


def test_crossover_reasons_give_numbers():
    bulk = choose_method("write", "crm", 10_000, "auto", target())
    assert "Bulk Write 1 job = 503 credits" in bulk.reason
    # 9 rounds of 10 heavy writes of 100 and 10 light of 10, then one heavy write
    assert "REST 181 requests = 1,000 credits" in bulk.reason
    assert "saves 497 credits" in bulk.reason
    rest = choose_method("write", "crm", 5_050, "auto", target())
    why = "Bulk Write would save 2 credits (worth ~3 s of the 24 h window) but take ~5 s longer"
    assert why in rest.reason


def test_forced_methods_are_respected():
    assert choose_method("write", "crm", 10, "bulk", target()).method == "bulk"
    rest = choose_method("write", "crm", 100_000, "rest", target())
    assert rest.method == "rest" and rest.reason.startswith("method = 'rest'")


def test_bulk_read_crossover():
    t = target()
    assert choose_method("read", "crm", 2_000, "auto", t).method == "rest_pages"
    assert choose_method("read", "crm", 30_000, "auto", t).method == "bulk_read"
    big = choose_method("read", "crm", 100_001, "auto", target("ultimate"))
    assert big.method == "bulk_read" and "PAGINATION_LIMIT_EXCEEDED" in big.reason
    assert choose_method("read", "books", 1_000, "auto", t).method == "list_pages"


def manifest(tmp_path: Path, body: str, **kw: str) -> Path:
    head = '[target]\ncrm_edition = "{edition}"\ncrm_users = {users}\nbooks_plan = "{books}"\n'
    args = {"edition": "enterprise", "users": 10, "books": "standard"} | kw
    path = tmp_path / "m.toml"
    path.write_text(head.format(**args) + textwrap.dedent(body))
    return path


INVOICES = """\
[[steps]]
name = "customers"
source = { file = "c.csv" }
target = "books:contacts"
key = ["contact_name"]
[steps.fields]
contact_name = "name"

[[steps]]
name = "invoices"
source = { file = "i.csv" }
target = "books:invoices"
key = ["invoice_number"]
[steps.fields]
invoice_number = "no"
"line_items[].rate" = "rate"
[steps.lookups]
customer_id = { step = "customers", column = "cust" }
"""


def test_books_invoices_on_standard_need_days(tmp_path):
    m = load_manifest(manifest(tmp_path, INVOICES))
    counts = {"customers": StepCount(0, 0, False), "invoices": StepCount(40_000, 25_000, False)}
    p = plan(m, counts)
    books = p.totals["books"]
    assert (books.requests, books.days, books.daily_limit) == (25_000, 13, 2_000)
    assert not books.fits
    # 250 windows, each freeing a latency after the minute (the pacer stamps answers), and
    # the slowest of the last 10 calls
    assert books.seconds == pytest.approx(249 * 60.5 + 100 / 20 + 0.308, abs=1e-3)
    # 12 waits for the window; the work of the first 12 days happens inside them
    assert p.estimated_seconds == pytest.approx(12 * quotas.DAY + 15_069.8 / 13)
    assert p.days == 13
    assert p.token_refreshes == 5 + 12  # 15,069.5 s of work / 3,300 s a token, + one per pause
    (warning,) = p.warnings
    assert "books: 25,000 requests need 13 days at the standard plan's 2,000/day" in warning
    assert "professional (5,000/day): 5 days" in warning
    assert "premium (10,000/day): 3 days" in warning and "no bulk API" in warning


def test_books_on_the_top_plan_says_so(tmp_path):
    m = load_manifest(manifest(tmp_path, INVOICES, books="ultimate"))
    counts = {"customers": StepCount(0, 0, False), "invoices": StepCount(25_000, 25_000, False)}
    (warning,) = plan(m, counts).warnings
    assert "3 days" in warning and "highest plan" in warning


CONTACTS = """\
[[steps]]
name = "contacts"
source = { file = "c.csv" }
target = "crm:Contacts"
key = ["Email"]
method = "rest"
[steps.fields]
Last_Name = "last"
Email = "email"
[steps.lookups]
Account_Name = { step = "accounts", column = "acc" }

[[steps]]
name = "accounts"
source = { file = "a.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
[steps.fields]
Account_Name = "name"
"""


def test_credits_over_the_edition_budget_warn_with_remedies(tmp_path):
    m = load_manifest(manifest(tmp_path, CONTACTS, edition="free", users=1))
    counts = {"contacts": StepCount(60_000, 60_000, False), "accounts": StepCount(10, 10, False)}
    p = plan(m, counts)
    assert [s.name for s in p.steps] == ["accounts", "contacts"]  # dependency order
    crm = p.totals["crm"]
    # +3: the metadata preflight (modules list, fields of Accounts and Contacts)
    assert (crm.credits, crm.days, crm.daily_limit) == (6_004, 2, 5_000)
    (warning,) = p.warnings
    assert "6,004 credits exceed the free edition's 5,000 per 24 h (1 users): 2 windows" in warning
    assert "Bulk Write for the REST steps (6,001 -> 1,510 credits)" in warning
    assert "the standard edition (50,250 credits/24 h with 1 users)" in warning


def test_fits_within_one_window(tmp_path):
    m = load_manifest(manifest(tmp_path, CONTACTS))
    counts = {"contacts": StepCount(60_000, 60_000, False), "accounts": StepCount(10, 10, False)}
    p = plan(m, counts)
    assert p.totals["crm"].credits == 6_004 and p.totals["crm"].days == 1
    assert p.warnings == () and p.days == 1


def test_sample_plan_json_matches_the_schema():
    p = plan(load_manifest(PLANS / "sample.toml"))
    data = json.loads(p.to_json())
    jsonschema.validate(data, PLAN_JSON_SCHEMA)
    assert [s["name"] for s in data["steps"]] == [
        "accounts",
        "contacts",
        "deals",
        "items",
        "customers",
        "invoices",
    ]
    invoices = data["steps"][-1]
    assert (invoices["records"], invoices["requests"], invoices["method"]) == (60, 60, "rest")
    assert data["totals"]["crm"]["credits"] == 5 + 10 + 5 + 4  # + the metadata preflight
    setup = [(c["kind"], c["requests"]) for c in data["setup"]]
    assert setup == [("preflight", 4), ("org_lists", 1)]  # + the org's currencies, read once
    assert data["totals"]["books"]["requests"] == 90 + 1
    assert data["totals"]["inventory"]["requests"] == 40


def test_crm_to_books_plan_reads_with_bulk_and_writes_one_by_one():
    p = plan(load_manifest(PLANS / "crm_to_books.toml"))
    sync = p.step("crm_accounts_to_books")
    assert sync.method == "bulk_read+rest" and sync.records == 30_000 and sync.estimated
    # Bulk Read job (50) + 4 polls and the download (1 each) + counting the module first (1)
    assert sync.credits == 56 and sync.write is not None and sync.write.requests == 30_000
    assert p.step("accounts_backup").method == "bulk_read"
    assert p.totals["books"].days == 6


def test_steps_overlap_where_lookups_allow():
    p = plan(load_manifest(PLANS / "sample.toml"))
    # The run reads CRM's metadata first (4 calls of 0.8 s, 3.2 s); Books' currencies (1 call,
    # 0.5 s) are read by its first write, beside CRM's. Within one 100-call window Books/Inventory
    # go at 20 calls/s: customers' 30 calls take 1.5 s, items' 40 take 2 s, and invoices
    # (60 calls, 3 s) waits for both; each ends with the slowest of its last 10 calls
    # (0.308 s): Books runs 3.2 s -> 8.8 s. CRM's 3 steps of one call each follow each other
    # (0.8 s each) from 3.2 s: 0 -> 5.6 s.
    tail = 0.308
    assert p.totals["books"].starts_at == pytest.approx(3.2)
    assert p.totals["books"].seconds == pytest.approx(5.0 + 2 * tail, abs=1e-3)
    assert p.spans["invoices"] == pytest.approx((5.2 + tail, 8.2 + 2 * tail), abs=1e-3)
    assert p.totals["crm"].seconds == pytest.approx(5.6)
    assert p.estimated_seconds == pytest.approx(8.2 + 2 * tail, abs=1e-3)


def test_bulk_jobs_run_three_at_a_time():
    p = crm_bulk_write(100_000, target())  # 4 jobs: a round of 3, then 1
    assert p.bulk_jobs == 4
    assert p.seconds == pytest.approx(2 * (16.125 + 4 * 0.8))  # seen done at 16.125 s


def test_updates_find_the_records_first():
    t = target()
    crm = crm_rest_write(1_000, t, "update")  # 10 PUTs + 2 COQL look-ups (50 keys) a batch
    assert (crm.batches, crm.requests, crm.credits) == (10, 30, 100 + 20)
    books = finance_write("books", 100, t, "update")  # find, then update
    assert (books.batches, books.requests) == (100, 200)
    assert choose_method("write", "books", 100, "auto", t, operation="update").requests == 200


def test_a_crm_export_warns_of_extra_passes_only_past_50_fields(tmp_path):
    """The export's count request is not a second pass: 2 fields read in one pass, 60 in two."""
    body = """\
    [[steps]]
    name = "backup"
    source = { zoho = "crm:Accounts", records = 3, fields = ["Account_Name", "Phone"] }
    target = "file:out/accounts.csv"
    method = "rest"
    """
    p = plan(load_manifest(manifest(tmp_path, body)), {"backup": StepCount(3, 3, True)})
    assert not [w for w in p.warnings if "-pass read" in w], p.warnings
    read = crm_rest_read(3, target(), fields=60)  # no built-in module has 60 fields
    counted = dataclasses.replace(read, requests=read.requests + 1)  # as the export counts
    (said,) = read_warnings("backup", counted)
    assert "a 2-pass read (2 requests)" in said
