"""The durable run store: everything a run needs to stop at any instant and go on exactly once.

One SQLite file, ``RUN_DIR/run.db`` (WAL, ``synchronous=FULL``), beside ``RUN_DIR/lock``.
``RUN_DIR`` is 0700, every file in it 0600. Nothing secret is ever written: text that could
carry one (errors, Zoho messages, the plan, dead rows) goes through :func:`zmigrate.scrub.scrub`
first.

Model
-----
* A **step** (one manifest step) has ``total_rows`` source rows cut into fixed **batches**:
  batch ``n`` is rows ``[n*batch_size, min((n+1)*batch_size, total_rows))`` in source order, so
  a resumed run re-derives a batch's rows from the source by index; rows are never stored.
* A batch moves ``pending → in_flight → done | failed``. ``mark_in_flight`` must be committed
  *before* the request leaves (it is: every write method commits before it returns), so after
  a crash every batch that may have landed is known.
* The **id cross-reference** ``xref`` maps ``(step, source_key) → zoho_id``; later steps'
  lookups read it (:meth:`RunStore.lookup_many`). A row whose key is in ``xref`` (or in the
  dead letters) is *settled* and is never sent again (:meth:`RunStore.settled_keys`). Two
  keys with one id are one Zoho record: a step's records ``done`` count distinct ids, the
  rest are ``merged`` (:meth:`RunStore.id_owners` finds an id's earlier key).
* **Dead letters** are rows Zoho refused on their merits (a 4xx per record).
* **Quota** spent per product (requests, credits), counted in memory by :meth:`RunStore.spend`
  and written with the next commit (a crash may lose the last few counts, never a record).

Crash recovery
--------------
``RunStore.open(run_dir)`` takes the lock (``fcntl.flock``: a second process is refused, and
the OS drops the lock when a process dies, even on SIGKILL) and :meth:`RunStore.recover` turns
every batch left ``in_flight`` into ``pending`` with ``verify=True``. A ``verify`` batch may
have landed, so the engine (``zmigrate.executor``) finds out before sending it again: rows
whose keys are settled are skipped; CRM upserts are re-sent (idempotent on the key); a CRM
bulk batch with a saved ``job_id`` is polled, never re-submitted blindly; CRM inserts and
Books/Inventory records are looked up by their unique field (COQL; ``find_by`` contact_name,
sku, invoice_number, ...) and only the missing ones are created.

Event loop
----------
:class:`RunStore` is synchronous. An async engine uses :class:`AsyncRunStore`, which runs every
call on one dedicated writer thread so a commit (an fsync) never stalls the event loop, and
keeps calls in the order they were made; the calls queued together share one transaction,
a batch's rows go in slices of 1,000 with its state change last, and settled keys and
lookups are read on a second, read-only connection (they see what is committed).

Public API::

    hash_file(path) -> str;  hash_bytes(data) -> str
    StepSpec(name, product, module, method, total_rows, batch_size, key_field="",
             planned_requests=0, planned_credits=0)
    Batch(step, batch_no, first_row, last_row, state, attempts, verify, job_id, file_id, error)
    BatchState: pending | in_flight | done | failed;  RunStatus: running | paused | done |
        failed | interrupted  (StrEnums; their values are the strings stored in run.db)
    DeadLetter(step, row_no, source_key, row, code, message, batch_no=None)
    RunStore.create(run_dir, *, manifest_path, manifest_hash, source_hashes, plan, steps)
        # manifest_path and the source paths (keys of source_hashes) are stored absolute
    RunStore.open(run_dir, *, readonly=False)        # readonly: no lock (for `status`)
    RunStore.exists(run_dir) -> bool;  lock_holder(run_dir) -> pid | None
    store.meta() -> RunMeta;  store.steps() -> list[StepSpec];  store.plan() -> dict
    store.changed_inputs(manifest_hash, source_hashes) -> list[str]
    store.replan(*, manifest_hash, source_hashes, plan, steps)      # `resume --force`
    store.recover() -> list[Batch]                     # in_flight → pending + verify
    store.pending_batches(step) -> list[Batch]          # pending (and in_flight), in order
    store.batch(step, batch_no) -> Batch
    store.mark_in_flight(step, batch_no) -> Batch       # attempts += 1, committed
    store.set_bulk_job(step, batch_no, job_id, file_id=None)
    store.mark_done(step, batch_no, xref=[(key, zoho_id, line, action)], dead=[DeadLetter])
    store.landed(step) -> list[LandedRecord]   # key, id, line, WriteAction (None: unknown)
    store.mark_failed(step, batch_no, error, dead=[...])
    store.lookup_many(step, keys) -> dict[key, zoho_id]
    store.settled_keys(step, keys) -> set[key]
    store.id_owners(step, zoho_ids) -> dict[zoho_id, (key, line)]   # the first key of each id
    store.spend(product, requests=1, credits=0);  store.flush()
    store.pause(until, reason);  store.set_status(RunStatus);  store.record_error(text)
    store.summary() -> RunSummary   # what `zmigrate status` prints; .to_dict() its JSON
        # RunSummary.steps: tuple[StepSummary, ...] (done, merged, failed, left, BatchCounts)
        # RunSummary.quota: product -> QuotaSpent (requests, credits, planned_*)
    store.dead_letters(step=None) -> list[DeadLetter]; store.iter_dead_letters() streams them
    store.close()
    AsyncRunStore(store): the same methods, awaited, on one writer thread; aclose()

Modules
-------
``records`` what a caller hands in (steps, dead letters) and the state enums; ``summary``
the typed results (:class:`RunMeta`, :class:`RunSummary`); ``schema`` the tables, version
and connection; ``locking`` the run directory's modes and lock; ``hashing`` the input
hashes; ``inputs`` what a run began from; ``batches`` and ``queries`` the SQL over one
connection; ``damage`` SQLite's failures said plainly; ``store`` :class:`RunStore`;
``async_store`` :class:`AsyncRunStore`.
"""

from zmigrate.checkpoint.async_store import AsyncRunStore
from zmigrate.checkpoint.before import BeforeImage
from zmigrate.checkpoint.damage import disk_full, is_disk_full
from zmigrate.checkpoint.hashing import hash_bytes, hash_file
from zmigrate.checkpoint.locking import lock_holder
from zmigrate.checkpoint.records import (
    Batch,
    BatchState,
    DeadLetter,
    LandedRecord,
    RunStatus,
    StepSpec,
    WriteAction,
    XrefRow,
)
from zmigrate.checkpoint.schema import DB_NAME, LOCK_NAME, SCHEMA_VERSION
from zmigrate.checkpoint.store import RunStore
from zmigrate.checkpoint.summary import (
    BatchCounts,
    QuotaSpent,
    RunMeta,
    RunSummary,
    StepSummary,
)

__all__ = [
    "DB_NAME",
    "LOCK_NAME",
    "SCHEMA_VERSION",
    "AsyncRunStore",
    "Batch",
    "BatchCounts",
    "BeforeImage",
    "BatchState",
    "DeadLetter",
    "LandedRecord",
    "QuotaSpent",
    "RunMeta",
    "RunStatus",
    "RunStore",
    "RunSummary",
    "StepSpec",
    "StepSummary",
    "WriteAction",
    "XrefRow",
    "disk_full",
    "hash_bytes",
    "hash_file",
    "is_disk_full",
    "lock_holder",
]
