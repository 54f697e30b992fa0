"""CRM v8 related records of one parent: its related lists, attachment upload and download.

Each call costs 1 credit (a guess: Zoho's credit table lists no price for them, and 1 is
what every call not listed costs). An upload is not idempotent: a lost answer is raised as
``Unconfirmed``, and the writer looks at the parent's Attachments list before sending again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import FormData

from zmigrate import quotas
from zmigrate.client.crm import CrmClient
from zmigrate.client.crm_wire import page_of, write_results
from zmigrate.client.models import RecordOutcome

CREDITS_RELATED = quotas.CREDITS_GET
"""Credits of a related list page, an upload or a download (see the module's note)."""


async def related_list(
    crm: CrmClient, module: str, parent_id: str, related: str, fields: Sequence[str]
) -> list[dict[str, Any]]:
    """Every record of ``related`` (``Notes``, ``Attachments``) on one parent, page by page."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        resp = await crm._call(
            "GET",
            f"{crm.base}/{module}/{parent_id}/{related}",
            params={"fields": ",".join(fields), "page": str(page), "per_page": "200"},
            credits=CREDITS_RELATED,
        )
        got = page_of(resp, page)
        out += got.records
        if not got.more:
            return out
        page += 1


async def upload_attachment(
    crm: CrmClient, module: str, parent_id: str, name: str, data: bytes
) -> RecordOutcome:
    """Attach ``data`` as file ``name`` to one record (multipart ``file``)."""

    def form() -> FormData:
        body = FormData()
        body.add_field("file", data, filename=name, content_type="application/octet-stream")
        return body

    resp = await crm._call(
        "POST",
        f"{crm.base}/{module}/{parent_id}/Attachments",
        data=form,
        credits=CREDITS_RELATED,
        idempotent=False,
    )
    return write_results(resp.body, 1, "insert")[0]


async def download_attachment(
    crm: CrmClient, module: str, parent_id: str, attachment_id: str
) -> bytes:
    """The bytes of one attachment."""
    resp = await crm._call(
        "GET",
        f"{crm.base}/{module}/{parent_id}/Attachments/{attachment_id}",
        credits=CREDITS_RELATED,
        raw=True,
    )
    return bytes(resp.body)


async def delete_attachment(
    crm: CrmClient, module: str, parent_id: str, attachment_id: str
) -> RecordOutcome:
    """Delete one attachment of one record (idempotent: one already gone says so)."""
    resp = await crm._call(
        "DELETE",
        f"{crm.base}/{module}/{parent_id}/Attachments/{attachment_id}",
        credits=CREDITS_RELATED,
    )
    return write_results(resp.body, 1, "delete")[0]
