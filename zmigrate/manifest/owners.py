"""Owners: ``Owner = { user = "owner_email" }`` maps e-mail addresses to the org's users.

The users are the manifest's schema's (``crm.users`` of the snapshot), active ones only, and
an address matches whatever its case. ``default_owner`` (a step's, else ``[target]``'s) owns
records whose cell is empty and, with ``unknown_owner = "default"``, records whose address no
active user has; otherwise those go to the dead-letter file (code ``UNKNOWN_USER``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from zmigrate.manifest.hints import did_you_mean
from zmigrate.manifest.model import FieldMap, Owners, UnknownOwner
from zmigrate.manifest.validate import Scope
from zmigrate.schema import PULL_HINT, Field, FieldType, OrgSchema

USER_TYPES = frozenset({FieldType.OWNERLOOKUP, FieldType.USERLOOKUP})
ACTIVE = "active"


def active_users(org: OrgSchema) -> Mapping[str, str]:
    """Each active user's id by lower-cased e-mail address."""
    return MappingProxyType(
        {u.email.strip().lower(): u.id for u in org.users if u.status == ACTIVE and u.email}
    )


def check_user_field(
    scope: Scope, fld: Field | None, spec: Mapping[str, Any], org: OrgSchema
) -> None:
    """A ``{ user = ... }`` mapping fills an owner or user lookup; the org's users are known."""
    name = scope.field or ""
    if fld is not None and fld.data_type not in USER_TYPES:
        scope.fail(
            f"'{name}' is {fld.data_type}, not a user field: {{ user = ... }} fills an owner "
            "or user lookup",
            "user",
            field=name,
            hint="map it with { column = ... } instead",
        )
    extra = [k for k in ("transform", "map", "default", "format", "tz", "places") if k in spec]
    if extra:
        scope.fail(
            f"a user mapping takes no '{extra[0]}'",
            extra[0],
            field=name,
            hint="the cell must hold the user's e-mail address; set default_owner for a default",
        )
    if not active_users(org):
        scope.fail(
            f"{org.origin} lists no active users to map e-mail addresses to",
            "user",
            field=name,
            hint=f"pull the org's schema with its users: {PULL_HINT}",
        )


def default_owner(scope: Scope, email: str | None, org: OrgSchema) -> str | None:
    """The id of the active user ``email`` names (None: no default), else a located error."""
    if email is None:
        return None
    users = active_users(org)
    found = users.get(email.strip().lower())
    if found is None:
        inactive = org.user(email)
        why = f" (their status is {inactive.status})" if inactive else ""
        scope.fail(
            f"default_owner '{email}' is not an active user of the org{why}",
            "default_owner",
            field="default_owner",
            hint=did_you_mean(email.lower(), users, "user")
            or f"active users: {', '.join(sorted(users)) or 'none'}",
        )
    return found


def step_owners(
    scope: Scope,
    values: Mapping[str, Any],
    fields: tuple[FieldMap, ...],
    org: OrgSchema,
    target_default: str | None,
) -> Owners | None:
    """How the step maps users (None: it maps none), its keys checked against the schema."""
    users = [f for f in fields if f.user]
    own = values.get("default_owner")
    if not users:
        if own is not None:
            scope.fail(
                'default_owner needs a field mapped with { user = "column" }',
                "default_owner",
                field="default_owner",
                hint='e.g. Owner = { user = "owner_email" } under [steps.fields]',
            )
        return None
    default = default_owner(scope, own, org) if own is not None else None
    email = own
    if own is None and target_default is not None:
        default, email = active_users(org).get(target_default.strip().lower()), target_default
    unknown = UnknownOwner(values["unknown_owner"])
    if unknown is UnknownOwner.DEFAULT and default is None:
        scope.fail(
            "unknown_owner = 'default' needs a default_owner",
            "unknown_owner",
            field="unknown_owner",
            hint="set default_owner (in the step or under [target]) to a user's e-mail address",
        )
    return Owners(active_users(org), default, email, unknown)
