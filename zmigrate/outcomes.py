"""The run's decisions, as pure functions: which step may start, what to do with an
error, what a record's answer means.

Retries are not decided here: the transport (``zmigrate.client.http``) resends transient
failures under the one policy of ``zmigrate.retry``; what reaches the run pauses it, stops
it or dead-letters records.

Kept apart from the I/O so every rule is tested without a network or an event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from zmigrate.client.codes import FINANCE_DUPLICATE_CODES, RETRYABLE_RECORD_CODES, CrmCode
from zmigrate.client.models import RecordOutcome
from zmigrate.errors import (
    AuthError,
    Blocked,
    QuotaExhausted,
    RequestRejected,
    TransientError,
    ZohoError,
)

__all__ = [
    "FINANCE_DUPLICATE_CODES",
    "Action",
    "Again",
    "Landed",
    "Pause",
    "PauseKind",
    "Reject",
    "Stop",
    "Verdict",
    "chunked",
    "decide",
    "ready_steps",
    "record_outcome",
]

T = TypeVar("T")


# --- scheduling ---------------------------------------------------------------------------


def ready_steps(
    order: Sequence[str], deps: Mapping[str, Iterable[str]], done: set[str], started: set[str]
) -> list[str]:
    """Steps (in manifest order) not yet started whose dependencies have all finished."""
    return [
        s
        for s in order
        if s not in started and s not in done and all(d in done for d in deps.get(s, ()))
    ]


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items (the last may be shorter)."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- errors -> actions --------------------------------------------------------------------


class PauseKind(StrEnum):
    """Why a product pauses, as the run says it."""

    QUOTA = "quota spent"
    BLOCKED = "blocked by Zoho"
    """Code 44 with Retry-After: the org may send nothing until the block ends."""


@dataclass(frozen=True)
class Pause:
    """A quota that resets later is spent (or Zoho blocked the org): stop cleanly, resume
    after ``resets_at``."""

    reason: str
    resets_at: float | None
    kind: PauseKind = PauseKind.QUOTA


@dataclass(frozen=True)
class Reject:
    """Zoho refused the input on its merits: dead-letter it with Zoho's reason."""

    code: str
    message: str


@dataclass(frozen=True)
class Stop:
    """Nothing sensible left to try: stop the run (resumable once the cause is fixed).

    ``usage``: the cause is the user's setup (credentials, organization), exit code 2.
    """

    reason: str
    usage: bool = False


Action = Pause | Reject | Stop


def decide(exc: ZohoError) -> Action:
    """What the run does after a call failed with ``exc``, the transport's retries spent."""
    what = f"{type(exc).__name__} {exc.code or exc.status or ''}".strip()
    if isinstance(exc, QuotaExhausted):
        kind = PauseKind.BLOCKED if isinstance(exc, Blocked) else PauseKind.QUOTA
        return Pause(str(exc), exc.resets_at, kind)
    if isinstance(exc, RequestRejected):
        return Reject(str(exc.code or exc.status or "REJECTED"), str(exc))
    if isinstance(exc, AuthError):
        return Stop(f"Zoho refused the credentials after a token refresh: {exc}")
    if isinstance(exc, TransientError):
        return Stop(f"gave up after the transport's retries ({what}): {exc}")
    return Stop(f"unexpected answer from Zoho ({what}): {exc}")


# --- per-record answers -------------------------------------------------------------------


@dataclass(frozen=True)
class Landed:
    """The record is in Zoho with this id."""

    zoho_id: str
    action: str = "insert"


@dataclass(frozen=True)
class Again:
    """Zoho did not process the record (not its fault): send it again in a later batch."""

    reason: str


Verdict = Landed | Reject | Again


def record_outcome(outcome: RecordOutcome, *, retried: bool) -> Verdict:
    """What one record's answer (a CRM write, a Bulk Write result row) means for the run.

    On a retried batch, DUPLICATE_DATA that points at an existing record is our own earlier
    attempt having landed (the answer to it was lost), so the record is adopted, not failed.
    """
    details = outcome.details if isinstance(outcome.details, Mapping) else {}
    code = str(outcome.code or "")
    if outcome.ok and outcome.id:
        return Landed(str(outcome.id), outcome.action or "insert")
    if code == CrmCode.DUPLICATE_DATA and retried:
        dup = details.get("duplicate_record")
        if isinstance(dup, Mapping) and dup.get("id"):
            return Landed(str(dup["id"]), "adopted")
    if code in RETRYABLE_RECORD_CODES:
        return Again(f"{code}: {outcome.message}".rstrip(": "))
    where = details.get("api_name") or details.get("param_name")
    message = outcome.message or code or "rejected"
    if where and str(where) not in message:
        message = f"{message} ({where})"
    return Reject(code or "REJECTED", message)


# --- distinct ids -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A landed record's claim on a Zoho id: its source key and line, what the write did."""

    key: str
    zoho_id: str
    line: int | None
    action: str = "insert"


@dataclass(frozen=True)
class SharedId:
    """A record Zoho answered with the id of an earlier record of its step: one Zoho record."""

    claim: Claim
    earlier_key: str
    earlier_line: int | None


def split_shared(
    claims: Sequence[Claim], owners: Mapping[str, tuple[str, int | None]]
) -> tuple[list[Claim], list[SharedId]]:
    """Claims on ids no other key holds, and claims on ids another key already holds.

    ``owners`` maps ids the step already holds to their ``(key, line)``; within ``claims`` the
    first to claim an id keeps it. A run counts records by distinct ids: a shared id is never
    a second landed record, it is merged (declared) or an integrity failure (dead-lettered).
    """
    held = dict(owners)
    firsts: list[Claim] = []
    shared: list[SharedId] = []
    for claim in claims:
        owner = held.get(claim.zoho_id)
        if owner is not None and owner[0] != claim.key:
            shared.append(SharedId(claim, owner[0], owner[1]))
            continue
        held.setdefault(claim.zoho_id, (claim.key, claim.line))
        firsts.append(claim)
    return firsts, shared
