"""Books' ledger rules in the sandbox: balances and statuses follow payments and credits;
what Zoho refuses (over the balance, unknown tax, duplicate numbers, deleting used items and
paid invoices) is refused with its code."""

from __future__ import annotations

import pytest


async def make(call, path: str, body: dict) -> dict:
    status, resp, _ = await call("POST", path, json=body)
    assert status == 201, resp
    return resp


async def ledger(call) -> tuple[str, str, dict]:
    """A customer, an item and a 10 %-taxed invoice of 2 × 50.00 (total 110.00)."""
    cid = (await make(call, "/books/v3/contacts", {"contact_name": "Payer"}))["contact"]
    iid = (await make(call, "/books/v3/items", {"name": "Widget", "rate": 50}))["item"]
    line = {"item_id": iid["item_id"], "quantity": 2, "tax_id": "460000000000101"}
    body = {"customer_id": cid["contact_id"], "invoice_number": "A-1", "line_items": [line]}
    invoice = (await make(call, "/books/v3/invoices", body))["invoice"]
    return cid["contact_id"], iid["item_id"], invoice


async def test_payments_and_credits_move_balance_and_status(call) -> None:
    cid, iid, inv = await ledger(call)
    assert (inv["sub_total"], inv["tax_total"], inv["total"]) == (100, 10, 110)
    assert (inv["balance"], inv["status"]) == (110, "draft")
    apply = {"invoice_id": inv["invoice_id"], "amount_applied": 40}
    pay = {"customer_id": cid, "amount": 50, "date": "2026-01-02", "reference_number": "R1"}
    made = await make(call, "/books/v3/customerpayments", {**pay, "invoices": [apply]})
    assert made["message"] == "The payment has been created."
    payment = made["payment"]
    assert payment["unused_amount"] == 10 and payment["invoices"][0]["balance_amount"] == 70
    _, got, _ = await call("GET", f"/books/v3/invoices/{inv['invoice_id']}")
    assert (got["invoice"]["balance"], got["invoice"]["status"]) == (70, "partially_paid")

    note_line = {"item_id": iid, "rate": 30, "quantity": 1}
    note = (
        await make(call, "/books/v3/creditnotes", {"customer_id": cid, "line_items": [note_line]})
    )["creditnote"]
    assert note["creditnote_number"] == "CN-000001" and note["balance"] == 30
    path = f"/books/v3/creditnotes/{note['creditnote_id']}/invoices"
    applied = await make(call, path, {"invoices": [{**apply, "amount_applied": 30}]})
    assert applied["apply_to_invoices"]["invoices"] == [{**apply, "amount_applied": 30}]
    _, got, _ = await call("GET", f"/books/v3/invoices/{inv['invoice_id']}")
    assert (got["invoice"]["balance"], got["invoice"]["credits_applied"]) == (40, 30)
    _, got, _ = await call("GET", f"/books/v3/creditnotes/{note['creditnote_id']}")
    assert got["creditnote"]["status"] == "closed"
    assert got["creditnote"]["invoices_credited"][0]["invoice_id"] == inv["invoice_id"]

    # more than the balance: Zoho's 24016
    status, over, _ = await call(
        "POST", "/books/v3/customerpayments", json={**pay, "reference_number": "R2",
                                                    "invoices": [{**apply, "amount_applied": 41}]}
    )  # fmt: skip
    assert (status, over["code"]) == (400, 24016)
    assert over["message"] == "The amount entered is more than the balance due for this invoice"
    rest = {**pay, "amount": 40, "reference_number": "R3", "invoices": [apply]}
    await make(call, "/books/v3/customerpayments", rest)
    _, got, _ = await call("GET", f"/books/v3/invoices/{inv['invoice_id']}")
    assert (got["invoice"]["balance"], got["invoice"]["status"]) == (0, "paid")

    # a paid invoice and a used item stay; deleting the payment gives its amount back
    status, kept, _ = await call("DELETE", f"/books/v3/invoices/{inv['invoice_id']}")
    assert (status, kept["code"]) == (400, 1006)
    status, used, _ = await call("DELETE", f"/books/v3/items/{iid}")
    assert (status, used["code"]) == (400, 1005)
    status, _, _ = await call("DELETE", f"/books/v3/customerpayments/{payment['payment_id']}")
    assert status == 200
    _, got, _ = await call("GET", f"/books/v3/invoices/{inv['invoice_id']}")
    assert (got["invoice"]["balance"], got["invoice"]["status"]) == (40, "partially_paid")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"line_items": [{"name": "x", "rate": 1, "tax_id": "999"}]}, 1002),  # no such tax
        ({"line_items": [{"name": "x", "rate": 1}], "bill_number": "B-1"}, 1001),  # duplicate
        ({"line_items": [{"name": "x", "rate": 1}]}, 4),  # a bill needs its number
    ],
)
async def test_bill_refusals(call, body, code) -> None:
    vid = await make(call, "/books/v3/contacts", {"contact_name": "V", "contact_type": "vendor"})
    vendor = {"vendor_id": vid["contact"]["contact_id"]}
    await make(call, "/books/v3/bills", {**vendor, "bill_number": "B-1",
                                         "line_items": [{"name": "y", "rate": 2}]})  # fmt: skip
    status, refused, _ = await call("POST", "/books/v3/bills", json={**vendor, **body})
    assert (status, refused["code"]) == (400, code), refused


async def test_credit_note_takes_applications_by_their_own_request(call) -> None:
    cid, _, inv = await ledger(call)
    body = {"customer_id": cid, "line_items": [{"name": "x", "rate": 5}],
            "invoices": [{"invoice_id": inv["invoice_id"], "amount_applied": 5}]}  # fmt: skip
    status, refused, _ = await call("POST", "/books/v3/creditnotes", json=body)
    assert (status, refused["code"]) == (400, 2)


async def test_estimates_are_numbered_priced_documents(call) -> None:
    cid, iid, _ = await ledger(call)
    line = {"item_id": iid, "quantity": 3, "tax_id": "460000000000101"}
    made = await make(call, "/books/v3/estimates", {"customer_id": cid, "line_items": [line]})
    estimate = made["estimate"]
    assert made["message"] == "The estimate has been created."
    assert (estimate["estimate_number"], estimate["total"]) == ("EST-000001", 165)


async def test_books_sales_and_purchase_orders_are_numbered_documents(call) -> None:
    cid, iid, _ = await ledger(call)
    vid = await make(call, "/books/v3/contacts", {"contact_name": "V", "contact_type": "vendor"})
    line = {"item_id": iid, "quantity": 2}
    body = {"customer_id": cid, "salesorder_number": "SO-7", "line_items": [line]}
    order = (await make(call, "/books/v3/salesorders", body))["salesorder"]
    assert (order["salesorder_number"], order["total"]) == ("SO-7", 100)
    status, refused, _ = await call("POST", "/books/v3/salesorders", json=body)
    assert (status, refused["code"]) == (400, 1001)
    po = {"vendor_id": vid["contact"]["contact_id"], "line_items": [line]}
    made = (await make(call, "/books/v3/purchaseorders", po))["purchaseorder"]
    assert made["purchaseorder_number"] == "PO-000001"
    _, got, _ = await call("GET", f"/books/v3/salesorders/{order['salesorder_id']}")
    assert got["salesorder"]["customer_id"] == cid


async def test_opening_balances_are_one_balanced_record_per_org(call) -> None:
    path = "/books/v3/settings/openingbalances"
    ids = []
    for name, kind in (("Cash", "cash"), ("Capital", "equity")):
        body = {"account_name": name, "account_type": kind}
        ids.append((await make(call, "/books/v3/chartofaccounts", body))["chart_of_account"])
    cash, capital = (a["account_id"] for a in ids)
    lines = [{"account_id": cash, "debit_or_credit": "debit", "amount": 50, "exchange_rate": 2},
             {"account_id": capital, "debit_or_credit": "credit", "amount": 99}]  # fmt: skip
    status, refused, _ = await call("POST", path, json={"date": "2026-01-01", "accounts": lines})
    assert (status, refused["code"]) == (400, 2)  # 100 debit in the base currency, 99 credit
    lines[1]["amount"] = 100
    made = (await make(call, path, {"date": "2026-01-01", "accounts": lines}))["opening_balance"]
    assert made["total"] == 100 and made["accounts"][0]["bcy_amount"] == 100
    status, again, _ = await call("POST", path, json={"date": "2026-01-02", "accounts": lines})
    assert (status, again["code"]) == (400, 2)
    _, got, _ = await call("GET", path)
    assert got["opening_balance"]["opening_balance_id"] == made["opening_balance_id"]
