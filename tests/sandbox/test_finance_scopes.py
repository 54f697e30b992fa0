"""Books and Inventory scopes by area, as Zoho issues them: a token lacking the area's
scope gets 401 code 57; the engine knows a manifest's scopes before it starts."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from fixed_time import T0
from migration_helpers import write_migration

from zmigrate.auth import DEFAULT_SCOPE as AUTH_SCOPE
from zmigrate.clock import Clock
from zmigrate.errors import ConfigError
from zmigrate.manifest.load import load_manifest
from zmigrate.manifest.model import Product
from zmigrate.planner.scopes import manifest_scopes
from zmigrate.progress import Progress
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.run import execute
from zmigrate.sandbox import Sandbox
from zmigrate.sandbox.app import DEFAULT_SCOPE as SANDBOX_SCOPE
from zmigrate.schema_pull import Bill, Part
from zmigrate.zoho_scopes import ScopeOp, finance_scope, grants, missing

PLANS = Path(__file__).resolve().parents[2] / "plans"
REFUSED = {"code": 57, "message": "You are not authorized to perform this operation"}


@pytest.mark.parametrize(
    ("scope", "method", "path", "allowed"),
    [
        ("ZohoBooks.contacts.CREATE", "POST", "/books/v3/contacts", True),
        ("ZohoBooks.contacts.CREATE", "GET", "/books/v3/contacts", False),
        ("ZohoBooks.contacts.CREATE", "POST", "/books/v3/invoices", False),
        ("ZohoBooks.invoices.READ", "GET", "/books/v3/invoices", True),
        ("ZohoBooks.invoices.READ", "GET", "/books/v3/contacts", False),
        ("ZohoBooks.settings.READ", "GET", "/books/v3/items", True),  # Books items: settings
        ("ZohoBooks.settings.READ", "GET", "/books/v3/settings/taxes", True),
        ("ZohoBooks.items.READ", "GET", "/books/v3/items", False),
        ("ZohoBooks.invoices.ALL", "POST", "/books/v3/invoices", True),
        ("ZohoBooks.fullaccess.all", "GET", "/books/v3/contacts", True),
        ("ZohoInventory.items.READ", "GET", "/inventory/v1/items", True),
        ("ZohoInventory.items.READ", "GET", "/inventory/v1/contacts", False),
        ("ZohoInventory.settings.READ", "GET", "/inventory/v1/locations", True),
        ("ZohoInventory.salesorders.ALL", "GET", "/inventory/v1/purchaseorders", False),
        ("ZohoInventory.FullAccess.all", "GET", "/inventory/v1/salesorders", True),
        ("ZohoBooks.fullaccess.all", "GET", "/inventory/v1/items", False),
    ],
)
async def test_a_token_reaches_only_its_scopes_areas(
    sandbox: Sandbox, call, scope: str, method: str, path: str, allowed: bool
) -> None:
    auth = f"Zoho-oauthtoken {sandbox.issue_token(scopes=scope)}"
    kw = {"json": {"contact_name": "Scoped"}} if path.endswith("contacts") else {}
    status, body, _ = await call(method, path, auth=auth, **kw)
    if allowed:
        assert status in (200, 201, 400), body  # past the scope check (400: a body error)
        assert body.get("code") != 57
    else:
        assert (status, body) == (401, REFUSED)


def test_grants_reads_zoho_scope_forms() -> None:
    need = finance_scope(Product.BOOKS, "items", ScopeOp.CREATE)
    assert need == "ZohoBooks.settings.CREATE"
    assert grants(["zohobooks.settings.all"], need)
    assert grants(["ZohoBooks.fullaccess.all"], need)
    assert not grants(["ZohoBooks.settings.READ", "ZohoInventory.fullaccess.all"], need)
    assert grants(["ZohoCRM.modules.ALL"], "ZohoCRM.modules.contacts.CREATE")
    assert grants(["ZohoCRM.modules.CREATE"], "ZohoCRM.modules.contacts.CREATE")
    assert not grants(["ZohoCRM.modules.leads.ALL"], "ZohoCRM.modules.contacts.CREATE")
    assert missing(
        ["ZohoCRM.settings.ALL"], ["ZohoCRM.settings.fields.READ", "ZohoFiles.files.CREATE"]
    ) == ["ZohoFiles.files.CREATE"]


def test_a_manifest_needs_the_scopes_of_its_targets_and_sources() -> None:
    scopes = manifest_scopes(load_manifest(PLANS / "crm_to_books.toml"))
    assert "ZohoCRM.bulk.READ" in scopes and "ZohoCRM.modules.accounts.READ" in scopes
    assert {"ZohoBooks.contacts.CREATE", "ZohoBooks.contacts.READ"} <= set(scopes)
    assert "ZohoBooks.settings.READ" in scopes
    assert not any(s.startswith("ZohoInventory") for s in scopes)
    sample = manifest_scopes(load_manifest(PLANS / "sample.toml"))
    assert "ZohoBooks.invoices.CREATE" in sample and "ZohoInventory.items.CREATE" in sample
    assert "ZohoCRM.modules.deals.CREATE" in sample
    # the sandbox's default grant, and the engine's client-credentials ask, cover them all
    assert missing(SANDBOX_SCOPE.split(","), sample) == []
    assert missing(AUTH_SCOPE.split(","), sample) == []


async def test_run_refuses_before_any_write_when_the_token_lacks_a_scope(
    tmp_path: Path, make_sandbox
) -> None:
    clock = Clock(600, start=T0)
    sb = await make_sandbox(clock=clock)
    write_migration(tmp_path)
    full = sandbox_credentials(sb)
    # client credentials name their scopes; Books invoices are left out
    narrow = ",".join(s for s in AUTH_SCOPE.split(",") if not s.startswith("ZohoBooks"))
    narrow += ",ZohoBooks.contacts.ALL,ZohoBooks.settings.ALL"
    creds = dataclasses.replace(full, refresh_token=None, soid="1", scope=narrow)
    with pytest.raises(ConfigError) as caught:
        await execute(
            tmp_path / "migration.toml",
            tmp_path / "run",
            creds,
            clock,
            progress=Progress(io.StringIO(), tty=False),
        )
    assert "ZohoBooks.invoices.CREATE" in str(caught.value)
    assert (
        sum(
            sb.state()["counts"][p].get(m, 0)
            for p in ("crm", "books", "inventory")
            for m in sb.state()["counts"][p]
        )
        == 0
    )
    creds = dataclasses.replace(full, refresh_token=None, soid="1", scope=AUTH_SCOPE)
    report = await execute(
        tmp_path / "migration.toml",
        tmp_path / "run2",
        creds,
        clock,
        progress=Progress(io.StringIO(), tty=False),
    )
    assert report.outcome == "done", report.render()


def test_schema_pull_says_its_scopes_first() -> None:
    bill = Bill((Part.CRM, Part.BOOKS))
    assert bill.scopes() == [
        "ZohoCRM.settings.fields.READ",
        "ZohoCRM.settings.modules.READ",
        "ZohoCRM.users.READ",
        "ZohoCRM.org.READ",
        "ZohoBooks.settings.READ",
    ]
    assert bill.lines()[-1].startswith("scopes needed: ZohoCRM.settings.fields.READ")
