"""GET /inbox/attachments/{id}: an attachment's bytes, for an agent of its workspace.

Always a download, never a page: ``Content-Disposition: attachment``, the sniffed type,
``nosniff`` and ``Content-Security-Policy: sandbox``, so even an HTML or SVG file that slipped
through as a PDF or an image cannot run script on this origin. Another workspace's id answers
exactly like a missing one (RELIABILITY row 3).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from frontdesk.attachments import open_attachment
from frontdesk.errors import NotFound
from frontdesk.store.models import Attachment
from frontdesk.web.agent.common import HTMLRoute, PageLogin
from frontdesk.web.deps import RuntimeDep

router = APIRouter(route_class=HTMLRoute, include_in_schema=False)

NOT_FOUND = "This attachment was not found."


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 one (RFC 6266 / 5987)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'attachment'}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/inbox/attachments/{attachment_id}")
def download(attachment_id: int, login: PageLogin, runtime: RuntimeDep) -> Response:
    # a huge id is "not found" like any other (indistinguishable), not a 422
    if not 0 < attachment_id < 2**63:
        raise NotFound(NOT_FOUND)
    with runtime.db.read() as session:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None or attachment.workspace_id != login.workspace_id:
            raise NotFound(NOT_FOUND)
        session.expunge(attachment)
    data = open_attachment(runtime.settings, attachment)
    media_type = attachment.content_type
    if media_type == "text/plain":
        media_type = "text/plain; charset=utf-8"
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cross-Origin-Resource-Policy": "same-origin",
            "Cache-Control": "private, no-store",
        },
    )
