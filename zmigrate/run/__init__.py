"""The run: execute a manifest's plan against Zoho exactly once, at the quota ceiling.

Shape (a resume runs the same code on an existing run directory)::

    export Zoho sources once (exports) → open/create the run store (preparation) → recover
    in-flight batches → run the steps (scheduler), each as soon as the steps it looks up are
    done, their batches (batch) concurrently within the quotas, each through the writer of
    its kind of target (writers) → dead-letter file and report (finish)

Every batch goes ``pending → in_flight`` (committed before its first request) ``→ done``
with its id cross-reference rows and dead letters in one transaction. A batch that may have
landed before a crash or a lost answer is *verified* before it is sent again, by its writer.
Pacing, token renewal and every retry live in ``zmigrate.client``; what to do with a failed
batch or a refused record is decided by ``zmigrate.outcomes``. Nothing here imports the
sandbox: a rehearsal (``zmigrate.rehearsal``) starts one and hands ``execute`` its URLs.
"""

from zmigrate.run.accounting import Tally
from zmigrate.run.execution import execute, run_interruptible
from zmigrate.run.preparation import (
    default_run_dir,
    plan_for_run,
    source_hashes,
    zoho_credentials,
)
from zmigrate.run.vocab import Outcome, WriteMethod

__all__ = [
    "Outcome",
    "Tally",
    "WriteMethod",
    "default_run_dir",
    "execute",
    "plan_for_run",
    "run_interruptible",
    "source_hashes",
    "zoho_credentials",
]
