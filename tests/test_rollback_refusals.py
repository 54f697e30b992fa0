"""Records Zoho refuses to delete (or to restore) are listed with Zoho's reason, kept in the
rollback checkpoint, and tried again by the next rollback; records already gone are not
errors. Zoho's answers here are the outcomes the clients make of its wire answers."""

from __future__ import annotations

from pathlib import Path

from zmigrate.client.models import RecordOutcome
from zmigrate.rollback.decide import Deletion, Work, judge, judge_restore
from zmigrate.rollback.execute import RollbackResult, StepResult
from zmigrate.rollback.ledger import Ledger

PAID = RecordOutcome(
    0, False, "9001", code=1040, message="Invoices that have payments cannot be deleted."
)
GONE_BOOKS = RecordOutcome(0, True, "9002", "gone", 1002, "Invoice does not exist.")
GONE_CRM = RecordOutcome(0, False, code="INVALID_DATA", message="invalid", details={"id": "7"})
MISSING_FOR_RESTORE = RecordOutcome(0, False, "9003", code=1002, message="Contact does not exist.")


def test_refusals_keep_zohos_reason_and_gone_records_count_as_deleted() -> None:
    assert judge("books", PAID) == (
        Deletion.REFUSED,
        "1040: Invoices that have payments cannot be deleted.",
    )
    assert judge("books", GONE_BOOKS) == (Deletion.GONE, "")
    assert judge("crm", GONE_CRM) == (Deletion.GONE, "")
    assert judge_restore("crm", RecordOutcome(0, True, "7", "update")) == (Deletion.RESTORED, "")
    assert judge_restore("books", MISSING_FOR_RESTORE) == (
        Deletion.REFUSED,
        "1002: Contact does not exist.",
    )


def test_the_checkpoint_lists_refusals_per_work_and_a_new_rollback_tries_them_again(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "rollback")
    ledger.plan(
        [
            (Work.DELETE, "invoices", ["9001", "9002"], 1),
            (Work.RESTORE, "customers", ["9003"], 1),
        ]
    )
    ledger.settle("invoices", [("9001", *judge("books", PAID)), ("9002", Deletion.GONE, "")])
    ledger.settle(
        "customers", [("9003", *judge_restore("books", MISSING_FOR_RESTORE))], Work.RESTORE
    )
    assert ledger.refused("invoices") == [("9001", f"1040: {PAID.message}")]
    assert ledger.refused("customers", Work.RESTORE) == [("9003", "1002: Contact does not exist.")]
    assert ledger.open_batches("invoices") == []
    result = RollbackResult(
        str(tmp_path),
        [StepResult("invoices", "books", "invoices", 1, ledger.refused("invoices"))],
    )
    assert result.exit_code == 1
    assert "refused 9001: 1040: Invoices that have payments cannot be deleted." in result.render()
    ledger.retry_refused()
    assert ledger.open_batches("invoices") == [(0, ["9001"])]
    assert ledger.open_batches("customers", Work.RESTORE) == [(0, ["9003"])]
    ledger.close()
