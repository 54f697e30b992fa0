"""Every Zoho error code zmigrate acts on, named once; what each means is decided by the sets.

Books and Inventory answer numeric codes in a flat ``{"code", "message"}`` body, CRM string
codes (per request, or per record of a write). ``zmigrate.client.http.classify`` turns the
request-level ones into the classes of ``zmigrate.errors``; ``zmigrate.outcomes`` reads the
record-level ones. To make a code refresh the token, add it to ``BOOKS_AUTH_CODES`` or
``CRM_AUTH_CODES``; nothing else changes.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class BooksCode(IntEnum):
    """Books / Inventory ``code`` values."""

    SUCCESS = 0
    NOT_AUTHENTICATED = 14
    """The Authorization header is missing or malformed."""
    NOT_AUTHORIZED = 57
    """An expired or revoked token (or one lacking the area's scope)."""
    PER_MINUTE = 44
    DAILY = 45
    INTERNAL = 1000
    DUPLICATE = 1001
    """A unique value (name, sku, document number) exists already."""
    CONCURRENCY = 1070
    CONTACT_DUPLICATE = 3062
    """A contact with this name exists already."""
    NO_ORGANIZATION = 6024
    NOT_A_MEMBER = 6041
    """The organization_id is not one of the user's."""


class CrmCode(StrEnum):
    """CRM ``code`` values, of a whole request or of one record of a write."""

    INVALID_TOKEN = "INVALID_TOKEN"
    AUTHENTICATION_FAILURE = "AUTHENTICATION_FAILURE"
    OAUTH_SCOPE_MISMATCH = "OAUTH_SCOPE_MISMATCH"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    """With HTTP 429: the credit budget of the rolling 24 h is spent."""
    INTERNAL_ERROR = "INTERNAL_ERROR"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    UNPROCESSED = "UNPROCESSED"
    DUPLICATE_DATA = "DUPLICATE_DATA"


BOOKS_AUTH_CODES = frozenset({BooksCode.NOT_AUTHENTICATED, BooksCode.NOT_AUTHORIZED})
"""Token refused: drop it, fetch a new one, send once more."""
CRM_AUTH_CODES = frozenset(
    {CrmCode.INVALID_TOKEN, CrmCode.AUTHENTICATION_FAILURE, CrmCode.OAUTH_SCOPE_MISMATCH}
)
"""Token refused: drop it, fetch a new one, send once more."""
CRM_THROTTLE_CODES = frozenset({CrmCode.TOO_MANY_REQUESTS})
CRM_SERVER_CODES = frozenset({CrmCode.INTERNAL_ERROR, CrmCode.INTERNAL_SERVER_ERROR})
CRM_POOL_TYPES = frozenset({"concurrency", "sub_concurrency"})
"""``details.type`` of a TOO_MANY_REQUESTS that names a concurrency pool, not a window."""
ORGANIZATION_CODES = frozenset({BooksCode.NO_ORGANIZATION, BooksCode.NOT_A_MEMBER})
"""Books/Inventory: organization_id missing, or not one the user belongs to."""
FINANCE_DUPLICATE_CODES = frozenset({BooksCode.DUPLICATE, BooksCode.CONTACT_DUPLICATE})
"""Books/Inventory: a record with this unique value exists (upsert then updates it)."""
RETRYABLE_RECORD_CODES = frozenset(
    {
        CrmCode.INTERNAL_ERROR,
        CrmCode.TOO_MANY_REQUESTS,
        CrmCode.LIMIT_EXCEEDED,
        CrmCode.REQUEST_TIMEOUT,
        CrmCode.UNPROCESSED,
    }
)
"""CRM record codes meaning Zoho did not process the record: send it in a later batch."""
