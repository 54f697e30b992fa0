"""CRM v8 related records of one parent: its related lists, attachment upload and download.

Each call costs 1 credit (a guess: Zoho's credit table lists no price for them, and 1 is
what every call not listed costs). An upload is not idempotent: a lost answer is raised as
``Unconfirmed``, and the writer looks at the parent's Attachments list before sending again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO, Any

from aiohttp import FormData
from aiohttp.payload import IOBasePayload

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


class _SizedStream(IOBasePayload):
    """A file streamed with its size known up front: a zip member has no ``fileno`` to
    measure, and the multipart body should go with a Content-Length rather than chunked.
    A file on disk is measured when sent, as aiohttp does."""

    def __init__(self, value: IO[bytes], size: int, **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self._known = size

    @property
    def size(self) -> int:
        measured = super().size
        return self._known if measured is None else measured


async def upload_attachment(
    crm: CrmClient,
    module: str,
    parent_id: str,
    name: str,
    opener: Callable[[], IO[bytes]],
    size: int,
) -> RecordOutcome:
    """Attach the file ``opener`` streams (``size`` bytes) as ``name`` to one record
    (multipart ``file``); each attempt opens it afresh, and every stream is closed after."""
    opened: list[IO[bytes]] = []

    def form() -> FormData:
        stream = opener()
        opened.append(stream)
        body = FormData()
        part = _SizedStream(stream, size, filename=name, content_type="application/octet-stream")
        body.add_field("file", part, filename=name, content_type="application/octet-stream")
        return body

    try:
        resp = await crm._call(
            "POST",
            f"{crm.base}/{module}/{parent_id}/Attachments",
            data=form,
            credits=CREDITS_RELATED,
            idempotent=False,
        )
    finally:
        for stream in opened:
            stream.close()
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
