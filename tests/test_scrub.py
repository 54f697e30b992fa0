"""The scrubber: every wrapping of a credential masked, ordinary text (Zoho codes, ids) kept."""

from __future__ import annotations

import logging

import pytest

from zmigrate import scrub
from zmigrate.errors import ManifestError, ServerError

TOKEN = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"boom Zoho-oauthtoken {TOKEN} end", "boom Zoho-oauthtoken *** end"),
        ("Authorization: Bearer abc.def then more", "Authorization: Bearer *** then more"),
        (
            '{"Authorization": "Zoho-oauthtoken x9y8z7w6"}',
            '{"Authorization": "Zoho-oauthtoken ***"}',
        ),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("a=1&access_token=tok9876&b=2", "a=1&access_token=***&b=2"),
        ('{"refresh_token": "rt-abc123", "x": 1}', '{"refresh_token": "***", "x": 1}'),
        ("{'client_secret': 'cs_42abc'}", "{'client_secret': '***'}"),
        ("ZOHO_CLIENT_SECRET=cs_42abc", "ZOHO_CLIENT_SECRET=***"),
        ("redirect?code=1000.abc.def&state=s", "redirect?code=***&state=s"),
        (f"plain {TOKEN}.", "plain ***."),
        ("postgres://me:hunter2@db:5432/crm", "postgres://me:***@db:5432/crm"),
    ],
)
def test_every_wrapping_is_masked(text: str, expected: str) -> None:
    assert scrub.scrub(text) == expected
    assert scrub.scrub(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "ok code 45",
        '{"code": 1000, "message": "Internal error"}',
        "the Basic edition allows 1000.5 credits",
        "secrets never go in a manifest: set ZOHO_CLIENT_SECRET",
        "record 4876876000000623001 landed; see https://www.zohoapis.com/crm/v8/Accounts",
        "client_id=1000.EW3TAXN2KOLRBX8BKSYHZ9RBQO1TQB",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert scrub.scrub(text) == text


def test_registered_values_are_masked_wherever_they_appear() -> None:
    scrub.register("s3cr3t-value-xyz", None, "abc")  # None and too-short values are ignored
    assert scrub.scrub("echo: s3cr3t-value-xyz!") == "echo: ***!"
    assert scrub.scrub("abc stays") == "abc stays"
    scrub.register_env({"ZOHO_REFRESH_TOKEN": "rt-only-in-env", "HOME": "/root/home"})
    assert scrub.scrub("rt-only-in-env /root/home") == "*** /root/home"


def test_nested_data_and_errors_and_logs_are_scrubbed() -> None:
    data = {"a": [f"Bearer {TOKEN}", 3], "b": {"c": f"x {TOKEN}"}, "n": None}
    assert scrub.scrub_data(data) == {"a": ["Bearer ***", 3], "b": {"c": "x ***"}, "n": None}
    assert str(ServerError(f"boom Zoho-oauthtoken {TOKEN}")) == "boom Zoho-oauthtoken ***"
    error = ManifestError(f"bad {TOKEN}", file="m.toml", line=3, hint=f"not {TOKEN}")
    assert TOKEN not in str(error) and "m.toml:3" in str(error)
    record = logging.LogRecord("x", logging.ERROR, "f", 1, "got %s", (TOKEN,), None)
    assert scrub.ScrubbingFormatter("%(message)s").format(record) == "got ***"


def test_a_bugs_traceback_is_scrubbed_too(capsys) -> None:
    from zmigrate.cli import _scrubbed_traceback

    try:
        raise KeyError(f"Zoho-oauthtoken {TOKEN}")
    except KeyError as e:
        _scrubbed_traceback(KeyError, e, e.__traceback__)
    err = capsys.readouterr().err
    assert "Traceback" in err and "Zoho-oauthtoken ***" in err and TOKEN not in err
