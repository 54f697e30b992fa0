"""The Books ledger end to end over loopback: contacts with their persons, items, taxed
invoices and bills in two currencies, payments and a credit note applied to them; checked
through the sandbox's admin API against balances computed from the source alone."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fixed_time import T0
from ledger_helpers import SETTINGS, expected_balances, write_ledger
from migration_helpers import one_each, records

from zmigrate.clock import Clock
from zmigrate.errors import ManifestError
from zmigrate.manifest import load_manifest
from zmigrate.planner import plan
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.report import RunReport
from zmigrate.run import execute
from zmigrate.verify.compare import diff_record


async def run_ledger(folder: Path, sb: Any, clock: Clock, resume: bool = False) -> RunReport:
    return await execute(
        folder / "ledger.toml",
        folder / "run",
        sandbox_credentials(sb),
        clock,
        resume=resume,
        progress=Progress(io.StringIO(), tty=False),
        seed=3,
    )


async def ledger_sandbox(make_sandbox: Any, clock: Clock, **options: Any) -> Any:
    sb = await make_sandbox(clock=clock, **options)
    sb.products["books"].load_settings(SETTINGS)
    return sb


async def assert_ledger(sb: Any, data: dict[str, list[dict[str, Any]]]) -> None:
    """Every record once; persons nested; numbers, currencies and taxes kept; every invoice's
    and bill's balance = total − payments − credits, its status following."""
    customers = {x["customer_ref"]: x for x in data["customers"]}
    contacts = one_each(
        await records(sb, "books", "contacts"),
        "contact_name",
        [x["name"] for x in customers.values()] + [v["name"] for v in data["vendors"]],
    )
    for ref, c in customers.items():
        stored = contacts[c["name"]]
        wanted = sorted(x["person_email"] for x in data["customers"] if x["customer_ref"] == ref)
        assert sorted(p["email"] for p in stored["contact_persons"]) == wanted
        assert stored.get("currency_code", "USD") == c["currency"]
    balances = expected_balances(data)
    invoices = one_each(
        await records(sb, "books", "invoices"),
        "invoice_number",
        sorted({x["number"] for x in data["invoice_lines"]}),
    )
    bills = one_each(
        await records(sb, "books", "bills"),
        "bill_number",
        sorted({x["number"] for x in data["bill_lines"]}),
    )
    for number, row in {**invoices, **bills}.items():
        total, balance = balances[number]
        assert row["total"] == pytest.approx(total), number
        assert row["balance"] == pytest.approx(balance), number
        unpaid = "draft" if number in invoices else "open"
        status = "paid" if balance == 0 else "partially_paid" if balance < total else unpaid
        assert row["status"] == status, number
    for x in data["invoice_lines"]:
        assert invoices[x["number"]]["exchange_rate"] == (1.1 if x["currency"] == "EUR" else 1.0)
    payments = one_each(
        await records(sb, "books", "customerpayments"),
        "reference_number",
        [x["payment_ref"] for x in data["payment_lines"]],
    )
    for x in data["payment_lines"]:
        (applied,) = payments[x["payment_ref"]]["invoices"]
        assert applied["invoice_id"] == invoices[x["invoice_number"]]["invoice_id"]
    one_each(
        await records(sb, "books", "vendorpayments"),
        "reference_number",
        [x["payment_ref"] for x in data["vendor_payment_lines"]],
    )
    (note,) = await records(sb, "books", "creditnotes")
    assert note["creditnote_number"] == "OLD-CN-001"
    assert [a["invoice_id"] for a in note["invoices_credited"]] == [
        invoices[data["creditnote_lines"][0]["invoice_number"]]["invoice_id"]
    ]


async def test_ledger_lands_exactly_once_under_faults_with_matching_balances(
    tmp_path, make_sandbox
):
    clock = Clock(600, start=T0)
    sb = await ledger_sandbox(
        make_sandbox, clock, latency_ms=50, fault_rate=0.08, lost_response_rate=0.15, seed=11
    )
    data = write_ledger(tmp_path)
    report = await run_ledger(tmp_path, sb, clock)
    assert report.outcome == "done", report.render()
    await assert_ledger(sb, data)
    assert (tmp_path / "run" / "dead_letters.jsonl").read_bytes() == b""


def _payments_first(folder: Path) -> Path:
    """The ledger manifest with its steps in reverse file order (payments first)."""
    text = (folder / "ledger.toml").read_text()
    head, *steps = text.split("\n[[steps]]")
    (folder / "reversed.toml").write_text(head + "".join("\n[[steps]]" + s for s in steps[::-1]))
    return folder / "reversed.toml"


def test_plan_orders_by_lookups_and_prices_each_document(tmp_path):
    data = write_ledger(tmp_path)
    bill = plan(load_manifest(_payments_first(tmp_path)))
    order = [s.name for s in bill.steps]
    assert order.index("customers") < order.index("invoices") < order.index("customer_payments")
    assert order.index("items") < order.index("bills") < order.index("vendor_payments")
    assert order.index("invoices") < order.index("credit_notes")
    steps = {s.name: s for s in bill.steps}
    customers = {x["customer_ref"] for x in data["customers"]}
    # one request a customer, its contact persons nested for free
    assert steps["customers"].write.requests == len(customers) < len(data["customers"])
    assert steps["customer_payments"].write.requests == len(data["payment_lines"])
    assert steps["credit_notes"].write.requests == 2  # the note, then its application
    # the org's taxes and currencies, read once before the first write
    assert [(c.kind, c.requests) for c in bill.setup] == [("org_lists", 2)]


def test_plan_refuses_a_payment_step_keyed_by_anything_but_its_source_key(tmp_path):
    write_ledger(tmp_path)
    text = (tmp_path / "ledger.toml").read_text()
    keyed = 'key = ["reference_number"]\n[steps.fields]\nreference_number = "payment_ref"\n'
    bad = text.replace(keyed, 'key = ["date"]\n[steps.fields]\n', 1)
    assert bad != text
    (tmp_path / "bad.toml").write_text(bad)
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "bad.toml")
    message = str(caught.value)
    assert "bad.toml" in message and "customer_payments" in message
    assert "reference_number" in message and "no unique number" in message


async def test_an_unknown_tax_name_fails_the_record_with_what_to_do(tmp_path, make_sandbox):
    clock = Clock(600, start=T0)
    sb = await ledger_sandbox(make_sandbox, clock)
    write_ledger(tmp_path, n=4)
    lines = (tmp_path / "invoice_lines.csv").read_text().replace("VAT 20", "GST 5", 1)
    (tmp_path / "invoice_lines.csv").write_text(lines)
    await run_ledger(tmp_path, sb, clock)
    dead = (tmp_path / "run" / "dead_letters.jsonl").read_text()
    assert "UNKNOWN_SETTING" in dead and "GST 5" in dead and "Settings > Taxes" in dead


def test_verify_reads_a_credit_notes_applications_where_zoho_lists_them():
    sent = {"creditnote_number": "CN-1", "invoices": [{"invoice_id": "7", "amount_applied": 5.0}]}
    found = {"creditnote_number": "CN-1", "invoices_credited": [
        {"creditnote_invoice_id": "9", "invoice_id": "7", "amount_applied": 5.0}]}  # fmt: skip
    assert diff_record("books", "creditnotes", sent, found) == []
    found["invoices_credited"] = []
    assert diff_record("books", "creditnotes", sent, found) != []
