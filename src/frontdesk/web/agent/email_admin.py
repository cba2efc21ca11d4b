"""Admin → Email: the workspace's support addresses, and its mail log (recent and failed
mail, with a Reprocess button for the failed).

Every form posts with the session's CSRF token and is admin-only. A refused change (not an
address, one another workspace has, ...) re-renders the page with the problem (4xx status);
nothing is saved.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from frontdesk.channels.email.imap import parse_imap_url
from frontdesk.channels.email.ingest import FAILED, count_by_status, list_mails, reprocess
from frontdesk.channels.email.support import (
    access_support_address,
    create_support_address,
    delete_support_address,
    list_support_addresses,
    update_support_address,
)
from frontdesk.errors import FrontdeskError
from frontdesk.web.agent.admin import require_admin_page
from frontdesk.web.agent.common import (
    HTMLRoute,
    PageLogin,
    SessionForm,
    redirect,
    render,
    text_field,
)
from frontdesk.web.api.schemas import MAX_ID
from frontdesk.web.deps import AgentLogin, RuntimeDep

router = APIRouter(
    route_class=HTMLRoute, include_in_schema=False, dependencies=[Depends(require_admin_page)]
)

AddressId = Annotated[int, Path(ge=1, le=MAX_ID)]
MailId = Annotated[int, Path(ge=1, le=MAX_ID)]
RECENT = 50
NOTICES = {
    "added": "Support address added: mail to it is accepted from now on.",
    "removed": "Support address removed: mail to it is refused from now on.",
    "default": "Default address changed: the workspace's emails are sent from it now.",
    "reprocess": "The mail is queued for processing again; reload in a moment to see how it went.",
}


def _imap_label(url: str) -> str | None:
    if not url:
        return None
    try:
        return parse_imap_url(url).label
    except ValueError as exc:
        return f"(invalid: {exc})"


def _page(
    request: Request,
    login: AgentLogin,
    runtime: RuntimeDep,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with runtime.db.read() as session:
        addresses = list_support_addresses(session, login.workspace_id)
        failed = list_mails(session, workspace_id=login.workspace_id, statuses=(FAILED,))
        recent = list_mails(session, workspace_id=login.workspace_id, limit=RECENT)
        counts = count_by_status(session, login.workspace_id)
        session.expunge_all()
    context: dict[str, Any] = {
        "section": "email",
        "addresses": addresses,
        "failed": failed,
        "recent": recent,
        "counts": counts,
        "imap": _imap_label(runtime.settings.imap_url),
        "max_bytes": runtime.settings.mail_max_bytes,
        "error": error,
        "form": form or {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return render(request, "agent/admin/email.html", context, login=login, status_code=status_code)


@router.get("/admin/email")
def email_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    return _page(request, login, runtime)


@router.post("/admin/email/addresses")
def add_address(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    address = text_field(form, "address", max_len=400)
    name = text_field(form, "name", max_len=400)
    try:
        with runtime.db.write() as session:
            create_support_address(
                session,
                login.workspace_id,
                address,
                name=name,
                is_default=form.get("is_default") == "on",
            )
    except FrontdeskError as exc:
        return _page(
            request,
            login,
            runtime,
            error=exc.message,
            form={"address": address, "name": name},
            status_code=exc.status,
        )
    return redirect("/admin/email?done=added")


@router.post("/admin/email/addresses/{address_id}/default")
def make_default(
    request: Request,
    address_id: AddressId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    with runtime.db.write() as session:
        row = access_support_address(session, login.workspace_id, address_id)
        update_support_address(session, row, is_default=True)
    return redirect("/admin/email?done=default")


@router.post("/admin/email/addresses/{address_id}/delete")
def remove_address(
    request: Request,
    address_id: AddressId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    with runtime.db.write() as session:
        delete_support_address(
            session, access_support_address(session, login.workspace_id, address_id)
        )
    return redirect("/admin/email?done=removed")


@router.post("/admin/email/mails/{mail_id}/reprocess")
def reprocess_mail(
    request: Request, mail_id: MailId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    try:
        with runtime.db.write() as session:
            reprocess(session, mail_id, workspace_id=login.workspace_id)
    except FrontdeskError as exc:
        return _page(request, login, runtime, error=exc.message, status_code=exc.status)
    return redirect("/admin/email?done=reprocess")
