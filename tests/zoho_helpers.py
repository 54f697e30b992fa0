"""Helpers for the transport tests: client credentials pointing at a running sandbox."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from zmigrate.auth import Credentials
from zmigrate.sandbox import Sandbox


def credentials_for(sandbox: Sandbox, **overrides: Any) -> Credentials:
    """What a user would put in ZOHO_* for this sandbox: accounts URL only, API host via token."""
    c = sandbox.credentials
    env = {
        "ZOHO_CLIENT_ID": c.client_id,
        "ZOHO_CLIENT_SECRET": c.client_secret,
        "ZOHO_REFRESH_TOKEN": c.refresh_token,
        "ZOHO_ORGANIZATION_ID": c.organization_id,
        "ZOHO_DC": c.data_center,
        "ZOHO_ACCOUNTS_URL": sandbox.urls["accounts"],
        "ZOHO_CONTENT_URL": sandbox.urls["content"],
    }
    return replace(Credentials.from_env(env), **overrides)
