"""`zmigrate rollback`: take a run back by deleting exactly what it created.

``decide`` (pure) says what to delete, in which order and calls, what it costs and what
each answer means; ``ledger`` checkpoints it in ``RUN_DIR/rollback``; ``execute`` sends the
deletes through ``client``.
"""

from zmigrate.rollback.decide import StepBill
from zmigrate.rollback.execute import RollbackResult, StepResult, bill, bill_json, rollback

__all__ = ["RollbackResult", "StepBill", "StepResult", "bill", "bill_json", "rollback"]
