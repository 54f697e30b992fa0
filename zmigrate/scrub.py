"""The one scrubber every text leaving zmigrate passes through.

Why one: Zoho, a proxy or a crashed server can echo a request back in an error body, so an
access token, a refresh token, the client secret or an authorization code can turn up inside
any message: a Zoho error, a retry note, the report, the run store, a dead letter, a log line,
an exception. Scrubbing only some of those outputs leaked tokens through the others, so the
console, ``report.json``, ``status``, the dead-letter file, ``run.db``, every
``ZmigrateError`` message and the log all call :func:`scrub` (or :func:`scrub_data`).

Two nets, both applied to every text:

* shapes: whatever wraps a credential (``Zoho-oauthtoken X``, ``Bearer X``, ``access_token=X``,
  JSON or repr ``"refresh_token": "X"``, a URL's ``user:password@``) and Zoho's bare
  ``1000.<hex>.<hex>`` tokens and codes;
* values: the exact secrets of the current credentials (client secret, refresh token, each
  access token as it is issued), registered with :func:`register`, wherever they appear.

Pure apart from the registry of known values, which only grows for the life of the process.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
MIN_SECRET = 6
"""Shorter registered values are ignored: masking them would mangle ordinary text."""
SECRET_ENV = ("ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN", "ZOHO_ACCESS_TOKEN", "ZOHO_CLIENT_ID")
"""Environment variables whose values are masked wherever they appear."""

_TOKEN = r"[A-Za-z0-9._~+/=%-]+"
_KEYS = (
    r"access_token|refresh_token|client_secret|id_token|grant_token|authorization_code|"
    r"password|passwd|secret|api_key|apikey"
)
_PATTERNS = (
    # Zoho-oauthtoken X / Bearer X, in any wrapping
    re.compile(rf"(?P<keep>\b(?:Zoho-oauthtoken|Bearer)\s+){_TOKEN}", re.IGNORECASE),
    # an Authorization header with any other scheme: Authorization: Basic X
    re.compile(
        rf"(?P<keep>\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:[A-Za-z-]+\s+)?)(?![\"'])(?![A-Za-z-]+\s){_TOKEN}",
        re.IGNORECASE,
    ),
    # key=X (forms, queries), "key": "X" (JSON), 'key': 'X' (repr), key: X (headers, YAML)
    re.compile(
        rf"(?P<keep>[\"']?(?<![A-Za-z0-9])(?:{_KEYS})\b[\"']?\s*[:=]\s*[\"']?)(?![\"']){_TOKEN}",
        re.IGNORECASE,
    ),
    # an authorization code in a query or form: ?code=X / &code=X
    re.compile(rf"(?P<keep>[?&]code=){_TOKEN}", re.IGNORECASE),
    # Zoho's token shape, bare: access and refresh tokens, grant codes
    re.compile(r"(?P<keep>)\b1000\.[0-9a-f]{16,}\.[0-9a-f]{16,}\b", re.IGNORECASE),
    # a URL's password: scheme://user:password@host
    re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?=@)", re.IGNORECASE),
)

_known: set[str] = set()


def register(*values: str | None) -> None:
    """Remember exact secret values (credentials, issued tokens) to mask wherever they appear."""
    for value in values:
        if value and len(value.strip()) >= MIN_SECRET:
            _known.add(value.strip())


def register_env(env: Mapping[str, str]) -> None:
    """Register the values of the ``ZOHO_*`` secret variables found in ``env``."""
    register(*(env.get(name) for name in SECRET_ENV))


def scrub(text: str) -> str:
    """``text`` with every credential masked as ``***``; the words around it kept."""
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("keep") + MASK, text)
    return text


def scrub_data(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: scrub_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_data(v) for v in value]
    return value


class ScrubbingFormatter(logging.Formatter):
    """A log formatter whose lines (message and traceback alike) go through :func:`scrub`."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))
