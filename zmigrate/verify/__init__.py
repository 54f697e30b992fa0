"""`zmigrate verify`: prove what a run landed is the data it was handed.

``compare`` (pure) says whether Zoho's answer holds what the run sent, in Zoho's forms;
``bill`` (pure) prices the read-back; ``ledger`` checkpoints it in ``RUN_DIR/verify``;
``execute`` reads the records back through ``client`` and puts the three together.
"""

from zmigrate.verify.bill import Bill, StepBill
from zmigrate.verify.execute import StepResult, VerifyResult, bill, verify

__all__ = ["Bill", "StepBill", "StepResult", "VerifyResult", "bill", "verify"]
