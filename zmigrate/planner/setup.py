"""What a run does before its first write, priced: reading the org's CRM metadata (the
preflight) and creating the custom fields the manifest declares.

The preflight reads ``GET /settings/modules`` once, ``GET /settings/fields?module=`` for each
CRM module the manifest writes or exports, and ``GET /users`` (200 a page) when a step maps
owners: 1 credit each (Zoho's metadata price). Creating fields is ``POST /settings/fields``
with at most 5 fields a call, priced at 1 credit a call: Zoho's credit table does not list
it, so that is a guess. Pure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from zmigrate import quotas
from zmigrate.manifest import Manifest, Product, SourceKind
from zmigrate.schema.related import Related

FIELDS_PER_CREATE = 5
"""Fields one ``POST /crm/v8/settings/fields`` creates at most."""
CREDITS_CREATE_FIELDS = 1
"""Credits of one create-fields call: a guess (not in Zoho's list of priced calls)."""
USERS_PER_PAGE = 200


class SetupKind(StrEnum):
    PREFLIGHT = "preflight"
    CREATE_FIELDS = "create_fields"
    ORG_LISTS = "org_lists"
    BULK_ORG = "bulk_org"


@dataclass(frozen=True)
class SetupCalls:
    """One kind of call made before the first write, in one product."""

    kind: SetupKind
    product: Product
    requests: int
    credits: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "product": self.product,
            "requests": self.requests,
            "credits": self.credits,
            "reason": self.reason,
        }


def crm_modules(manifest: Manifest) -> tuple[str, ...]:
    """The CRM modules the manifest writes or exports, in first-use order."""
    names: list[str] = []
    for s in manifest.steps:
        if s.target.product == Product.CRM and s.target.module != Related.ATTACHMENTS:
            names.append(s.target.module or "")  # attachments are not a module to read
        if s.source.kind is SourceKind.ZOHO and s.source.product == Product.CRM:
            names.append(s.source.module or "")
    return tuple(dict.fromkeys(n for n in names if n))


def maps_owners(manifest: Manifest) -> bool:
    return any(s.owners is not None for s in manifest.steps)


def users_pages(manifest: Manifest) -> int:
    """``GET /users`` pages the preflight reads (the snapshot's user count tells how many)."""
    return max(1, math.ceil(len(manifest.schema.users) / USERS_PER_PAGE))


def fields_to_create(manifest: Manifest) -> dict[str, list[str]]:
    """Declared fields by CRM module (each api_name once)."""
    by_module: dict[str, list[str]] = defaultdict(list)
    for s in manifest.steps:
        for f in s.create_fields:
            names = by_module[s.target.module or ""]
            if f.api_name not in names:
                names.append(f.api_name)
    return dict(by_module)


def setup_calls(manifest: Manifest) -> tuple[SetupCalls, ...]:
    """The calls a new run makes before its first write (none without a CRM step)."""
    modules = crm_modules(manifest)
    if not modules:
        return ()
    users = users_pages(manifest) if maps_owners(manifest) else 0
    reads = 1 + len(modules) + users
    why = f"1 modules list, {len(modules)} field lists" + (
        f", {users} users page(s)" if users else ""
    )
    out = [
        SetupCalls(
            SetupKind.PREFLIGHT,
            Product.CRM,
            reads,
            reads * quotas.CREDITS_METADATA,
            f"the org's metadata, checked before the first write: {why}",
        )
    ]
    create = fields_to_create(manifest)
    if create:
        calls = sum(math.ceil(len(v) / FIELDS_PER_CREATE) for v in create.values())
        count = sum(len(v) for v in create.values())
        out.append(
            SetupCalls(
                SetupKind.CREATE_FIELDS,
                Product.CRM,
                calls,
                calls * CREDITS_CREATE_FIELDS,
                f"at most {count} custom field(s) created, {FIELDS_PER_CREATE} a call, only "
                "those the org lacks (1 credit a call is a guess: Zoho does not list it)",
            )
        )
    return tuple(out)
