"""Pure parts of the client: answers → error classes, retry waits, bulk CSV files, credentials."""

from __future__ import annotations

import pytest

from zmigrate.auth import Credentials, content_url_for, parse_token
from zmigrate.client.bulk import chunks, parse_errors, unzip_csv, write_outcomes, zip_csv
from zmigrate.client.crm import coql_literal, escape_criteria, write_results
from zmigrate.client.http import RetryPolicy, classify, parse_retry_after
from zmigrate.errors import (
    AuthError,
    ConcurrencyLimited,
    ConfigError,
    NetworkError,
    QuotaExhausted,
    RequestRejected,
    ServerError,
    Throttled,
)

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"code": 0, "message": "success"}, None),
        (201, {"data": [{"status": "success"}]}, None),
        (207, {"data": [{"status": "error", "code": "DUPLICATE_DATA"}]}, None),
        (400, {"data": [{"status": "error", "code": "INVALID_DATA"}]}, None),
        (429, {"code": 44, "message": "per minute"}, Throttled),
        (429, {"code": 1070, "message": "concurrency"}, ConcurrencyLimited),
        (429, {"code": 45, "message": "daily"}, QuotaExhausted),
        (500, {"code": 1000, "message": "Internal error"}, ServerError),
        (401, {"code": 14, "message": "not authenticated"}, AuthError),
        (404, {"code": 1002, "message": "does not exist"}, RequestRejected),
        (400, {"code": 1001, "message": "already exists"}, RequestRejected),
        (429, {"code": "TOO_MANY_REQUESTS", "status": "error"}, Throttled),
        (400, {"code": "TOO_MANY_REQUESTS", "status": "error"}, Throttled),
        (
            429,
            {"code": "TOO_MANY_REQUESTS", "details": {"type": "concurrency"}},
            ConcurrencyLimited,
        ),
        (
            400,
            {"code": "TOO_MANY_REQUESTS", "details": {"type": "sub_concurrency"}},
            ConcurrencyLimited,
        ),
        (429, {"code": "LIMIT_EXCEEDED", "details": {"limit": 5000}}, QuotaExhausted),
        (400, {"code": "LIMIT_EXCEEDED", "details": {"limit": 2000}}, RequestRejected),
        (401, {"code": "INVALID_TOKEN", "status": "error"}, AuthError),
        (400, {"code": "REQUIRED_PARAM_MISSING", "status": "error"}, RequestRejected),
        (503, None, ServerError),
        (204, None, None),
    ],
)
def test_classify_maps_each_signal_to_one_class(status, body, expected) -> None:
    error = classify(status, body, {}, "http://x/y", NOW)
    if expected is None:
        assert error is None
    else:
        assert type(error) is expected
        assert error.status == status


def test_daily_cap_says_when_it_resets() -> None:
    error = classify(429, {"code": 45}, {"Retry-After": "3600"}, "u", NOW)
    assert isinstance(error, QuotaExhausted)
    assert error.resets_at == pytest.approx(NOW + 3600)
    error = classify(429, {"code": 45}, {}, "u", NOW)  # the finance client knows the org's
    assert isinstance(error, QuotaExhausted) and error.resets_at is None  # midnight


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("12", NOW) == 12.0
    assert parse_retry_after("Tue, 14 Nov 2023 23:13:20 GMT", NOW) == pytest.approx(3600.0)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_retry_policy_waits() -> None:
    policy = RetryPolicy(attempts=5, base=1.0, cap=8.0, window=60.0)
    throttled = Throttled("x")
    assert policy.delay(1, throttled, 0.5) == 60.0  # a whole window when Zoho doesn't say
    assert policy.delay(1, throttled, 0.5, windowed=False) == 0.5  # CRM: no minute window
    assert policy.delay(1, Throttled("x", retry_after=7.0), 0.5) == 7.0
    server = ServerError("x")
    assert policy.delay(1, server, 0.999) <= 1.0
    assert policy.delay(10, server, 0.999) <= 8.0  # bounded
    assert policy.delay(3, ServerError("x", retry_after=20.0), 0.1) == 20.0  # never shorter
    assert policy.delay(2, NetworkError("x"), 0.0) == 0.0  # full jitter reaches zero
    assert 0 < policy.delay(2, ConcurrencyLimited("x"), 0.5) <= 2.0


def test_zip_csv_round_trip_and_write_outcomes() -> None:
    rows = [{"Last_Name": "Ng, Jr.", "Email": "a@x.io"}, {"Last_Name": 'Q"uote', "Email": None}]
    data = zip_csv(["Last_Name", "Email"], rows)
    back = unzip_csv(data)
    assert back == [
        {"Last_Name": "Ng, Jr.", "Email": "a@x.io"},
        {"Last_Name": 'Q"uote', "Email": ""},
    ]
    result = [
        {"Last_Name": "a", "STATUS": "ADDED", "RECORD_ID": "11", "ERRORS": ""},
        {"Last_Name": "b", "STATUS": "UPDATED", "RECORD_ID": "12", "ERRORS": ""},
        {"STATUS": "SKIPPED", "ERRORS": "MANDATORY_NOT_FOUND-Last_Name:INVALID_DATA-Email"},
    ]
    outcomes = write_outcomes(result)
    assert [(o.index, o.ok, o.id, o.action) for o in outcomes] == [
        (0, True, "11", "insert"),
        (1, True, "12", "update"),
        (2, False, None, None),
    ]
    assert outcomes[2].code == "MANDATORY_NOT_FOUND"
    assert parse_errors("A-x:B-y") == [("A", "x"), ("B", "y")]
    assert [len(c) for c in chunks(list(range(5)), 2)] == [2, 2, 1]


def test_crm_write_results_and_escaping() -> None:
    body = {
        "data": [
            {"code": "SUCCESS", "details": {"id": "1"}, "status": "success", "action": "update"},
            {"code": "DUPLICATE_DATA", "details": {}, "message": "dup", "status": "error"},
        ]
    }
    outcomes = write_results(body, 2, "insert")
    assert outcomes[0].ok and outcomes[0].action == "update" and outcomes[0].id == "1"
    assert not outcomes[1].ok and outcomes[1].code == "DUPLICATE_DATA" and outcomes[1].index == 1
    with pytest.raises(ServerError):
        write_results(body, 3, "insert")
    assert escape_criteria("Acme (UK), Ltd") == "Acme \\(UK\\)\\, Ltd"
    assert coql_literal("O'Neil") == "'O\\'Neil'"
    assert coql_literal(5) == "5"


def test_credentials_from_env() -> None:
    env = {
        "ZOHO_CLIENT_ID": "1000.ABC",
        "ZOHO_CLIENT_SECRET": "s3cret",
        "ZOHO_REFRESH_TOKEN": "1000.refresh",
        "ZOHO_DC": "eu",
        "ZOHO_ORGANIZATION_ID": "123",
    }
    creds = Credentials.from_env(env)
    assert creds.token_url == "https://accounts.zoho.eu/oauth/v2/token"
    assert creds.grant()["grant_type"] == "refresh_token"
    assert "s3cret" not in repr(creds) and "1000.refresh" not in repr(creds)
    cc_env = {"ZOHO_REFRESH_TOKEN": "", "ZOHO_SOID": "ZohoBooks.9"}
    cc = Credentials.from_env({**env, **cc_env, "ZOHO_ACCOUNTS_URL": "http://127.0.0.1:9/"})
    assert cc.grant()["grant_type"] == "client_credentials" and cc.grant()["soid"] == "ZohoBooks.9"
    assert cc.token_url == "http://127.0.0.1:9/oauth/v2/token"
    with pytest.raises(ConfigError, match="ZOHO_CLIENT_SECRET"):
        Credentials.from_env({"ZOHO_CLIENT_ID": "x", "ZOHO_REFRESH_TOKEN": "y"})
    with pytest.raises(ConfigError, match="data center"):
        Credentials.from_env({**env, "ZOHO_DC": "mars"})


def test_token_answers() -> None:
    answer = {"access_token": "1000.sekrit", "expires_in": 3600, "api_domain": "https://x.eu"}
    token = parse_token(answer, 100.0)
    assert token.expires_at == 3700.0 and token.fresh(3300.0) and not token.fresh(3401.0)
    assert "sekrit" not in repr(token) and token.api_domain == "https://x.eu"
    with pytest.raises(ConfigError):
        parse_token({"error": "invalid_code"}, 0.0)
    with pytest.raises(Throttled):
        parse_token({"error": "Access Denied", "status": "failure"}, 0.0)
    assert content_url_for("https://www.zohoapis.eu") == "https://content.zohoapis.eu"
    assert content_url_for("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
