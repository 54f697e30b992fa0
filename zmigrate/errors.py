"""Every error zmigrate raises on purpose, under one root.

Retries are decided by class, never by matching message text: ``zmigrate.client.http``
maps each answer (and ``zmigrate.retry`` each aiohttp failure) to one class below, the
transport retries ``TransientError`` under one policy, and the run only pauses
(``QuotaExhausted``), dead-letters (``RequestRejected``), verifies then resends
(``Unconfirmed``) or stops (anything else)::

    ZmigrateError
    ├── UsageError               bad manifest, source file or command line (exit 2)
    │   └── ManifestError        names file, line, step and field; suggests a near name
    ├── ConfigError              missing or invalid credentials / environment (exit 2)
    ├── StoreError               run directory missing, locked, damaged or changed
    └── ZohoError                Zoho (or the sandbox) answered with an error
        ├── TransientError       worth retrying after a bounded, jittered backoff
        │   ├── NetworkError     connection reset, timeout, DNS (mapped from aiohttp)
        │   ├── ServerError      HTTP 5xx, Books/Inventory code 1000
        │   └── Throttled        per-minute cap (44), CRM TOO_MANY_REQUESTS; wait, don't hammer
        │       └── ConcurrencyLimited   code 1070 / CRM concurrency: fewer parallel calls
        ├── Unconfirmed          a write may have landed: look it up by key before resending
        ├── AuthError            401 INVALID_TOKEN etc.; the client refreshes once, then gives up
        ├── QuotaExhausted       daily cap (45) or CRM credit budget: pause, exit 3, resume later
        │   └── Blocked          a throttle with a long Retry-After (44: the org, 1800 s): pause
        └── RequestRejected      a 4xx for this request or record: dead-letter, never retry blindly
"""

from __future__ import annotations

from zmigrate.scrub import scrub


class ZmigrateError(Exception):
    """Root of every error zmigrate raises on purpose; its text never holds a credential
    (a Zoho answer may echo one), so ``str()`` goes through the scrubber."""

    exit_code = 1

    def __str__(self) -> str:
        return scrub(super().__str__())


class UsageError(ZmigrateError):
    """The user's input (command line, manifest, source files) is wrong; fix it and rerun."""

    exit_code = 2


class ManifestError(UsageError):
    """A manifest or source problem, located as precisely as possible."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        step: str | None = None,
        field: str | None = None,
        hint: str | None = None,
        cell: str | None = None,
    ) -> None:
        self.file, self.line, self.step, self.field, self.hint = file, line, step, field, hint
        self.cell = cell
        """A worksheet column letter: the place reads ``file.xlsx!Sheet:C17``."""
        super().__init__(message)

    def __str__(self) -> str:
        at = None if self.line is None else f"{self.cell or ''}{self.line}"
        where = ":".join(str(p) for p in (self.file, at) if p is not None)
        parts = [where] if where else []
        if self.step:
            parts.append(f"step '{self.step}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        head = ", ".join(parts)
        text = f"{head}: {self.args[0]}" if head else str(self.args[0])
        return scrub(f"{text} ({self.hint})" if self.hint else text)


class ConfigError(ZmigrateError):
    """Credentials or environment are missing or inconsistent."""

    exit_code = 2


class StoreError(ZmigrateError):
    """The run directory cannot be used as it is (missing, locked, damaged, inputs changed)."""

    exit_code = 2


class ZohoError(ZmigrateError):
    """An error answer from Zoho, with what it said (code, HTTP status, body) and where."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        body: object = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status, self.code, self.body, self.url = status, code, body, url
        self.retry_after = retry_after
        super().__init__(message)


class TransientError(ZohoError):
    """Retry after a bounded exponential backoff with jitter (honouring Retry-After)."""


class NetworkError(TransientError):
    """The connection failed, was reset or timed out before Zoho answered."""


class ServerError(TransientError):
    """Zoho answered 5xx (Books/Inventory code 1000)."""


class Throttled(TransientError):
    """Too many requests in the current window; wait for it to pass."""


class ConcurrencyLimited(Throttled):
    """Too many calls in flight at once; lower the parallelism."""


class AuthError(ZohoError):
    """The token was refused; refresh once, and stop if it is refused again."""


class QuotaExhausted(ZohoError):
    """A quota that resets later is spent (daily cap, CRM credits): pause and resume."""

    exit_code = 3

    def __init__(self, message: str, *, resets_at: float | None = None, **kw: object) -> None:
        self.resets_at = resets_at
        super().__init__(message, **kw)  # type: ignore[arg-type]


class Blocked(QuotaExhausted):
    """Zoho blocked the organization for a while (code 44 with ``Retry-After``): pause until
    ``resets_at``, as for a daily cap."""


class RequestRejected(ZohoError):
    """Zoho refused this request or record on its merits; retrying the same input won't help."""


class Unconfirmed(ZohoError):
    """A write that may have reached Zoho failed on the way (reset, timeout, 5xx).

    Sending it again blindly could make a duplicate, so the transport raises this after its
    backoff instead of resending: the caller looks the record up by key and sends what is
    missing, with at most ``sends_left`` more sends (the policy's cap less those spent).
    """

    def __init__(self, cause: TransientError, *, sends: int, sends_left: int) -> None:
        self.cause, self.sends, self.sends_left = cause, sends, sends_left
        super().__init__(
            f"{cause} (may have reached Zoho; verifying before sending again)",
            status=cause.status,
            code=cause.code,
            body=cause.body,
            url=cause.url,
            retry_after=cause.retry_after,
        )
