"""Books' ledger rules, as a migration runs into them.

- A customer payment's ``invoices[]`` (a vendor payment's ``bills[]``) and a credit note's
  applications (``POST /creditnotes/{id}/invoices``) lower each document's ``balance``; an
  amount over the balance is refused with code 24016 ("The amount entered is more than the
  balance due for this invoice", Zoho's documented code for customer payments).
- A document's status follows: ``paid`` at balance 0, ``partially_paid`` in between, its
  first status (``draft``/``open``) again when its payments are deleted.
- A payment applying more than its amount, or a credit note crediting more than its
  balance, is refused (code 2, message a guess); the rest of a payment is ``unused_amount``.
- Deleting an item used in a transaction (packages and transfer orders included), a document
  with payments or credits, a credit note applied to invoices or a sales order with packages
  is refused (codes and messages best guesses).
- Deleting or updating a payment gives its amounts back to the documents first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zmigrate.sandbox.core import Reply
from zmigrate.sandbox.finance_store import FinanceStore
from zmigrate.sandbox.finance_values import error, invalid, number
from zmigrate.schema.finance import Resource, resource

OVER_BALANCE = 24016
OVER_BALANCE_MESSAGE = "The amount entered is more than the balance due for this invoice"
IN_USE = 1005
HAS_PAYMENTS = 1006
IN_USE_MESSAGE = (
    "The item is used in transactions and cannot be deleted. Mark it as inactive instead."
)
PAID_MESSAGE = "Payments or credits have been applied to this transaction. Delete them first."
CREDITED_MESSAGE = "Credits of this credit note have been applied to invoices. Delete them first."
PACKED_MESSAGE = "Packages have been created for this sales order. Delete them first."
CREDITED = "invoices_credited"
APPLY_MESSAGE = "Credits have been applied to the invoice(s)."
OPEN_STATUS = {"invoices": "draft", "bills": "open", "creditnotes": "open"}
"""A document's status before any payment or credit."""
DOCUMENTS_WITH_LINES = (
    "invoices", "bills", "creditnotes", "estimates", "salesorders", "purchaseorders",
    "packages", "transferorders",
)  # fmt: skip
ENTRIES = ("journals", "expenses")
"""Ledger entries on accounts (no party, no document number)."""
UNBALANCED = "The journal entry is not balanced: total debits and credits must be equal."
ACCOUNT_IN_USE = "The account is used in transactions and cannot be deleted."

NewId = Callable[[], str]


def cents(value: float) -> float:
    return round(value + 0.0, 2)


def settle(row: dict[str, Any], module: str) -> None:
    """``balance`` and ``status`` of a document from its total, payments and credits."""
    paid = row.get("payment_made", 0.0) + row.get("credits_applied", 0.0)
    row["balance"] = cents(row.get("total", 0.0) - paid)
    if paid <= 0:
        if row.get("status") in ("paid", "partially_paid"):
            row["status"] = OPEN_STATUS.get(module, "open")
    else:
        row["status"] = "paid" if row["balance"] <= 0 else "partially_paid"


def open_document(row: dict[str, Any], module: str) -> None:
    """A new invoice, bill or credit note: nothing paid, balance = total."""
    if module in ("invoices", "bills"):
        row.setdefault("payment_made", 0.0)
    if module == "invoices":
        row.setdefault("credits_applied", 0.0)
    if module == "creditnotes":
        row[CREDITED] = []
        row["balance"] = row.get("total", 0.0)
        return
    settle(row, module)


class Ledger:
    """The rules over one shared store (Books owns the ledger's modules)."""

    def __init__(self, store: FinanceStore) -> None:
        self.store = store

    # ---- payments ------------------------------------------------------------------------
    def pay(
        self, org: str, entry: Resource, row: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        """Apply a new or updated payment's documents (``old``'s amounts given back first)."""
        array = entry.arrays[0] if entry.arrays else ""
        target = resource(entry.product, array)
        if target is None:
            return
        if old is not None:
            self._give_back(org, target, old.get(array) or [], "payment_made")
        applied = row.get(array) or []
        total = cents(sum(a["amount_applied"] for a in applied))
        if total > cents(number(row.get("amount", 0), "amount")):
            if old is not None:
                self._take(org, target, old.get(array) or [], "payment_made", self.store.new_id)
            raise invalid("amount")
        try:
            self._check(org, target, applied)
        except Reply:
            if old is not None:
                self._take(org, target, old.get(array) or [], "payment_made", self.store.new_id)
            raise
        row[array] = self._take(org, target, applied, "payment_made", self.store.new_id)
        row["unused_amount"] = cents(row.get("amount", 0.0) - total)

    def unpay(self, org: str, entry: Resource, row: dict[str, Any]) -> None:
        """A deleted payment gives its amounts back to its documents."""
        array = entry.arrays[0] if entry.arrays else ""
        target = resource(entry.product, array)
        if target is not None:
            self._give_back(org, target, row.get(array) or [], "payment_made")

    # ---- credits -------------------------------------------------------------------------
    def credit(self, org: str, note: dict[str, Any], given: Any) -> list[dict[str, Any]]:
        """``POST /creditnotes/{id}/invoices``: apply ``given`` (``{"invoices": [...]}``)."""
        invoices = resource("books", "invoices")
        assert invoices is not None
        apps = given.get("invoices") if isinstance(given, dict) else None
        if not isinstance(apps, list) or not apps:
            raise invalid("invoices")
        clean: list[dict[str, Any]] = []
        for i, app in enumerate(apps):
            if not isinstance(app, dict) or not app.get("invoice_id"):
                raise invalid(f"invoices[{i}].invoice_id")
            amount = number(app.get("amount_applied"), f"invoices[{i}].amount_applied")
            clean.append({"invoice_id": str(app["invoice_id"]), "amount_applied": float(amount)})
        if cents(sum(a["amount_applied"] for a in clean)) > note.get("balance", 0.0):
            raise invalid("amount_applied")
        self._check(org, invoices, clean)
        done = self._take(org, invoices, clean, "credits_applied", self.store.new_id)
        for app in done:
            app["creditnote_invoice_id"] = app.pop("invoice_payment_id")
            app["creditnote_id"] = note["creditnote_id"]
            app["date"] = note.get("date", "")
        note[CREDITED] = [*note.get(CREDITED, []), *done]
        note["balance"] = cents(note["balance"] - sum(a["amount_applied"] for a in done))
        note["status"] = "closed" if note["balance"] <= 0 else "open"
        self.store.save(org, "creditnotes", note["creditnote_id"], note)
        return done

    # ---- entries on accounts -------------------------------------------------------------
    def entry(
        self, org: str, module: str, values: dict[str, Any], old: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """What Books adds to a journal (balanced debits and credits, its entry number) or an
        expense (its total)."""
        if module == "expenses":
            return {"total": values.get("amount", 0.0), "status": "unbilled"}
        sides = {"debit": 0.0, "credit": 0.0}
        for line in values.get("line_items") or []:
            sides[line["debit_or_credit"]] += line["amount"]
        if cents(sides["debit"]) != cents(sides["credit"]) or not sides["debit"]:
            raise Reply(error(400, 2, UNBALANCED))
        number = (old or {}).get("entry_number") or self.store.next_number(org, module, "")
        return {"total": cents(sides["debit"]), "entry_number": number, "status": "published"}

    # ---- deletes -------------------------------------------------------------------------
    def check_delete(self, org: str, module: str, row: dict[str, Any]) -> None:
        """Refuse deleting what Books keeps: used items, paid or credited documents."""
        if module == "items":
            for doc in DOCUMENTS_WITH_LINES:
                for other in self.store.table(org, doc).values():
                    if any(
                        line.get("item_id") == row["item_id"]
                        for line in other.get("line_items") or []
                    ):
                        raise Reply(error(400, IN_USE, IN_USE_MESSAGE))
        if module == "chartofaccounts" and self._account_used(org, row["account_id"]):
            raise Reply(error(400, IN_USE, ACCOUNT_IN_USE))
        if module == "salesorders" and any(
            line.get("quantity_packed") for line in row.get("line_items") or []
        ):
            raise Reply(error(400, HAS_PAYMENTS, PACKED_MESSAGE))
        if row.get("payment_made") or row.get("credits_applied"):
            raise Reply(error(400, HAS_PAYMENTS, PAID_MESSAGE))
        if row.get(CREDITED):
            raise Reply(error(400, HAS_PAYMENTS, CREDITED_MESSAGE))

    def _account_used(self, org: str, account_id: str) -> bool:
        for expense in self.store.table(org, "expenses").values():
            if account_id in (expense.get("account_id"), expense.get("paid_through_account_id")):
                return True
        return any(
            line.get("account_id") == account_id
            for journal in self.store.table(org, "journals").values()
            for line in journal.get("line_items") or []
        )

    # ---- the documents' side -------------------------------------------------------------
    def _check(self, org: str, target: Resource, applied: list[dict[str, Any]]) -> None:
        """Every document exists and has the balance for what is applied to it."""
        wanted: dict[str, float] = {}
        for app in applied:
            doc_id = app[target.id_field]
            doc = self.store.table(org, target.module).get(doc_id)
            if doc is None:
                raise Reply(error(400, 1002, f"{target.label} does not exist."))
            wanted[doc_id] = cents(wanted.get(doc_id, 0.0) + app["amount_applied"])
            if wanted[doc_id] > doc.get("balance", 0.0):
                message = OVER_BALANCE_MESSAGE.replace("invoice", target.label.lower())
                raise Reply(error(400, OVER_BALANCE, message))

    def _take(
        self, org: str, target: Resource, applied: list[dict[str, Any]], counter: str, new_id: NewId
    ) -> list[dict[str, Any]]:
        out = []
        for app in applied:
            doc = self.store.table(org, target.module)[app[target.id_field]]
            doc[counter] = cents(doc.get(counter, 0.0) + app["amount_applied"])
            settle(doc, target.module)
            self.store.save(org, target.module, doc[target.id_field], doc)
            number_field = target.number or ""
            out.append(
                {
                    **app,
                    "invoice_payment_id"
                    if target.module == "invoices"
                    else "bill_payment_id": app.get("invoice_payment_id")
                    or app.get("bill_payment_id")
                    or new_id(),
                    number_field: doc.get(number_field, ""),
                    "date": doc.get("date", ""),
                    f"{target.singular}_amount": doc.get("total", 0.0),
                    "balance_amount": doc["balance"],
                }
            )
        return out

    def _give_back(
        self, org: str, target: Resource, applied: list[dict[str, Any]], counter: str
    ) -> None:
        for app in applied:
            doc = self.store.table(org, target.module).get(app.get(target.id_field, ""))
            if doc is None:
                continue
            doc[counter] = cents(doc.get(counter, 0.0) - app["amount_applied"])
            settle(doc, target.module)
            self.store.save(org, target.module, doc[target.id_field], doc)
