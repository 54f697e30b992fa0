"""Events' ``Participants``: who attends a meeting, as Zoho takes and shows them.

A write sends ``[{"type": "contact"|"lead"|"user"|"email", "participant": id or address}]``;
a read shows each with its ``name``, ``Email``, ``invited`` (false), ``status``
(``not_known``) and an ``id`` of its own (v8 OpenAPI ``Participants`` schema; v2 Events
response). A contact, lead or user must exist and an address must look like one, else the
event is refused (INVALID_DATA on ``Participants``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from zmigrate.schema.related import ParticipantType

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MODULE_OF = {ParticipantType.CONTACT: "Contacts", ParticipantType.LEAD: "Leads"}
"""The module a participant of each record type lives in (users and addresses: none)."""

Finder = Callable[[ParticipantType, str], Mapping[str, Any] | None]
"""``find(type, participant)``: the contact, lead or user it names, or None."""


class Refused(Exception):
    """A participant Zoho would refuse."""


def _kind(entry: Mapping[str, Any]) -> ParticipantType:
    try:
        return ParticipantType(str(entry.get("type")))
    except ValueError:
        raise Refused from None


def coerce(value: object, find: Finder, new_id: Callable[[], str]) -> list[dict[str, Any]]:
    """The stored participants of a write, each given an id; Refused when one is not valid."""
    if not isinstance(value, list):
        raise Refused
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            raise Refused
        kind = _kind(entry)
        ref = entry.get("participant")
        if not isinstance(ref, str | int) or isinstance(ref, bool):
            raise Refused
        ref = str(ref)
        if kind is ParticipantType.EMAIL:
            if not EMAIL.match(ref):
                raise Refused
        elif find(kind, ref) is None:
            raise Refused
        out.append({"type": kind.value, "participant": ref, "id": new_id()})
    return out


def show(stored: list[dict[str, Any]], find: Finder) -> list[dict[str, Any]]:
    """Participants as a read shows them."""
    out = []
    for p in stored:
        kind = ParticipantType(p["type"])
        rec = find(kind, p["participant"]) if kind is not ParticipantType.EMAIL else None
        email = (rec or {}).get("Email") or (rec or {}).get("email")
        out.append(
            {
                "Email": p["participant"] if kind is ParticipantType.EMAIL else email,
                "name": _name(rec) if rec is not None else p["participant"],
                "invited": False,
                "id": p["id"],
                "type": kind.value,
                "participant": p["participant"],
                "status": "not_known",
            }
        )
    return out


def _name(rec: Mapping[str, Any]) -> str | None:
    if rec.get("full_name"):
        return str(rec["full_name"])
    parts = [str(rec[k]) for k in ("First_Name", "Last_Name") if rec.get(k)]
    return " ".join(parts) or None
