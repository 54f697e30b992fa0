"""Records that hang off a parent record: notes, activities and attached files.

Notes, Tasks, Events and Calls are CRM modules (``crm.py``); they have no natural unique key,
so a step writing them may leave ``key`` out and the run finds what landed on the parent
instead. Attachments are not a module of Zoho's records API: they are uploaded to a parent
record (``POST /crm/v8/{module}/{id}/Attachments``, multipart ``file``). ``ATTACHMENTS``
describes such a step's record for the manifest: the file's path (a source column, relative
to the manifest), the name Zoho shows and the parent.
"""

from __future__ import annotations

from enum import StrEnum

from zmigrate.schema.crm import WHAT_MODULES
from zmigrate.schema.model import Field, Module


class Related(StrEnum):
    """CRM targets written against a parent record rather than by a key."""

    NOTES = "Notes"
    TASKS = "Tasks"
    EVENTS = "Events"
    CALLS = "Calls"
    ATTACHMENTS = "Attachments"


ACTIVITIES = (Related.TASKS, Related.EVENTS, Related.CALLS)
PARENT_MODULES = ("Leads", "Contacts", *WHAT_MODULES)
"""Modules a note or an attachment may hang off (Notes' ``Parent_Id`` targets)."""

ATTACHMENT_MAX_BYTES = 100 * 1024 * 1024
"""Zoho's largest attached file: "Maximum allowed file size: 100 MB" (v2+ Upload an
Attachment page), 413 ``FILE_SIZE_MORE_THAN_ALLOWED_SIZE`` beyond (v8 OpenAPI)."""

FILE, FILE_NAME, PARENT = "File", "File_Name", "Parent_Id"
"""The fields of an attachment step: the path column, Zoho's file name, the parent lookup."""

MATCH_FIELDS: dict[Related, tuple[str, ...]] = {
    Related.NOTES: ("Note_Title", "Note_Content"),
    Related.TASKS: ("Subject",),
    Related.CALLS: ("Subject",),
    Related.EVENTS: ("Event_Title",),
    Related.ATTACHMENTS: (FILE_NAME, "Size"),
}
"""What tells a record that landed on its parent from the others: compared when a send's
answer was lost, before sending again."""

ATTACHMENTS = Module(
    "crm",
    Related.ATTACHMENTS,
    (
        Field(FILE, "fileupload", mandatory=True, label="File"),
        Field(FILE_NAME, "text", max_length=255, label="File Name"),
        Field(PARENT, "lookup", mandatory=True, lookup_modules=PARENT_MODULES, label="Parent"),
    ),
    "Attachment",
    FILE_NAME,
    plural_label="Attachments",
)


class ParticipantType(StrEnum):
    """Who an event's participant is (v8 OpenAPI ``Participants.type``; v2 Events response:
    "Possible participant types are lead, contact, user, and email")."""

    CONTACT = "contact"
    LEAD = "lead"
    USER = "user"
    EMAIL = "email"


PARTICIPANT_OF = {"Contacts": ParticipantType.CONTACT, "Leads": ParticipantType.LEAD}
"""The participant type of a record of each module an event's ``Participants`` take."""


def participant(kind: ParticipantType, ref: str) -> dict[str, str]:
    """One entry of an event's ``Participants`` as Zoho takes it: the id (or address)."""
    return {"type": kind.value, "participant": ref}


def related_kind(module: str | None) -> Related | None:
    """The related-record kind of a CRM target module, or None for an ordinary module."""
    try:
        return Related(module) if module else None
    except ValueError:
        return None


def parent_ref(module: str, ref_id: str) -> dict[str, object]:
    """A note's parent as CRM v8 takes it: ``{"module": {"api_name"}, "id"}`` (v8's Create
    Notes sample; older versions sent ``Parent_Id`` with ``$se_module``)."""
    return {"module": {"api_name": module}, "id": ref_id}
