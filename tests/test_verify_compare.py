"""verify's comparison in Zoho's forms: what matches although it reads differently, and
what does not."""

from __future__ import annotations

from zmigrate.verify.compare import diff_record, same


def test_zoho_forms_of_the_same_value_match() -> None:
    assert same({"id": "7"}, {"name": "Acme", "id": "7"}, "lookup")
    assert same("7", {"id": "7"}, "lookup")
    assert same(1.5, "1.50", "double")
    assert same(10.005, 10.01, "currency")  # Zoho keeps currency to the cent
    assert same("2026-01-15T10:00:00+00:00", "2026-01-15T15:30:00+05:30", "datetime")
    assert same("2026-01-15T10:00:00+00:00", "2026-01-15T10:00:00+0000", "datetime")
    assert same(["b", "a"], "a;b", "multiselectpicklist")
    assert same(True, "true", "boolean")
    assert same(" Closed Won ", "Closed Won", "picklist")
    assert same("", None)


def test_other_values_differ() -> None:
    assert not same({"id": "7"}, {"name": "Acme", "id": "8"}, "lookup")
    assert not same(1.5, 1.25, "double")
    assert not same(10.01, 10.02, "currency")
    assert not same("2026-01-15T10:00:00+00:00", "2026-01-15T10:00:00+05:30", "datetime")
    assert not same(["a", "b"], ["a"], "multiselectpicklist")
    assert not same("Qualification", "Closed Won", "picklist")
    assert not same("x", None)


def test_a_record_diff_names_each_field_and_line_item() -> None:
    sent = {
        "invoice_number": "INV-1",
        "customer_id": "42",
        "line_items": [{"item_id": "9", "quantity": 2.0}, {"item_id": "8", "quantity": 1.0}],
    }
    found = {
        "invoice_number": "INV-1",
        "customer_id": "43",
        "line_items": [{"item_id": "9", "quantity": 2}, {"item_id": "8", "quantity": 3}],
    }
    diffs = diff_record("books", "invoices", sent, found)
    assert [(d.field, d.expected, d.found) for d in diffs] == [
        ("customer_id", "42", "43"),
        ("line_items[1].quantity", 1.0, 3),
    ]


def test_a_multi_module_lookups_se_module_is_not_a_field_to_compare() -> None:
    sent = {"Subject": "Call", "What_Id": {"id": "7"}, "$se_module": "Accounts"}
    found = {"Subject": "Call", "What_Id": {"id": "7", "name": "Acme"}}
    assert diff_record("crm", "Tasks", sent, found) == []
