"""/api/v1/support-addresses and /api/v1/inbound-mails: where the workspace receives email,
and its mail log (what arrived, what failed and why), with reprocessing of failed mail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import MISSING, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from frontdesk.channels.email.ingest import access_mail, list_mails, reprocess
from frontdesk.channels.email.support import (
    MAX_ADDRESS_CHARS,
    access_support_address,
    create_support_address,
    delete_support_address,
    update_support_address,
)
from frontdesk.errors import Conflict
from frontdesk.store.models import InboundMail, SupportAddress
from frontdesk.web.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, paginate
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import MAX_ID, Input, Output, Page, StrictBool, error_responses
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(tags=["email"], route_class=ApiRoute)

AddressId = Annotated[int, Path(ge=1, le=MAX_ID, description="A support address's id.")]
MailId = Annotated[int, Path(ge=1, le=MAX_ID, description="An inbound mail's id.")]

# What frontdesk.channels.email.support.clean_support_address accepts, and nothing else.
SupportAddressText = Annotated[
    str,
    Field(
        min_length=3,
        max_length=MAX_ADDRESS_CHARS,
        pattern=(
            r"^[^@\s\x1c-\x1f\x85<>()\[\],;:\"\\+]{1,64}"
            r"@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
        ),
        examples=["support@acme.example"],
        description="An email address without '+' (support+...@ is how replies come back to "
        "their conversation); stored in lowercase.",
    ),
]
DisplayName = Annotated[
    str,
    Field(
        max_length=200,
        pattern=r'^[^<>"\\]*$',
        description="Shown in the From: of the emails sent from this address.",
    ),
]
MailStatus = Literal["pending", "stored", "duplicate", "ignored", "failed"]


class SupportAddressPublic(Output):
    id: int
    address: str
    name: str
    is_default: bool = Field(description="The From: of the workspace's emails.")
    created_at: datetime


class SupportAddressCreate(Input):
    address: SupportAddressText
    name: DisplayName | MISSING = MISSING
    is_default: StrictBool | MISSING = Field(
        default=MISSING, description="Make it the default (the first address always is)."
    )


class SupportAddressUpdate(Input):
    name: DisplayName | MISSING = MISSING
    is_default: Literal[True] | MISSING = Field(
        default=MISSING,
        description="true: make it the default (to change the default, set another one).",
    )


class SupportAddressPage(Page[SupportAddressPublic]):
    pass


class InboundMailPublic(BaseModel):
    id: int
    source: str = Field(description="smtp (the listener) or imap (the poller).")
    status: str = Field(description="pending, stored, duplicate, ignored or failed.")
    reason: str | None = Field(description="Why it was ignored, a duplicate or failed.")
    envelope_from: str
    envelope_to: list[str]
    message_id_header: str | None
    subject: str
    size: int = Field(description="Bytes, as received.")
    attempts: int
    conversation_id: int | None
    message_id: int | None
    received_at: datetime
    processed_at: datetime | None


class InboundMailPage(Page[InboundMailPublic]):
    pass


class InboundMailFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: MailStatus | None = Field(default=None, description="Only mail in this state.")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=300)


def _address(row: SupportAddress) -> SupportAddressPublic:
    return SupportAddressPublic.model_validate(row)


def _mail(row: InboundMail) -> InboundMailPublic:
    return InboundMailPublic(
        id=row.id,
        source=row.source,
        status=row.status,
        reason=row.reason,
        envelope_from=row.envelope_from,
        envelope_to=[str(a) for a in row.envelope_to or []],
        message_id_header=row.message_id_header,
        subject=row.subject,
        size=row.size,
        attempts=row.attempts,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
        received_at=row.received_at,
        processed_at=row.processed_at,
    )


# --------------------------------------------------------------------------- support addresses


@router.get(
    "/support-addresses",
    summary="List support addresses",
    description="The addresses the workspace receives email at, oldest first.",
    responses=error_responses(401, 422),
)
def list_addresses(
    client: ApiClientDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> SupportAddressPage:
    after = decode_cursor(runtime, "support_addresses", cursor)
    query = select(SupportAddress).where(SupportAddress.workspace_id == client.workspace_id)
    if after is not None:
        query = query.where(SupportAddress.id > after)
    with runtime.db.read() as session:
        rows = session.scalars(query.order_by(SupportAddress.id).limit(limit + 1)).all()
        page, next_cursor = paginate(runtime, "support_addresses", rows, limit, lambda a: a.id)
        return SupportAddressPage(data=[_address(a) for a in page], next_cursor=next_cursor)


@router.post(
    "/support-addresses",
    status_code=201,
    summary="Add a support address",
    description="Mail to it is accepted by the SMTP listener from now on. Each address belongs "
    "to one workspace: 409 if any workspace has it already.",
    responses=error_responses(400, 401, 409, 413, 422),
)
def create_address(
    body: SupportAddressCreate, client: ApiClientDep, runtime: RuntimeDep
) -> SupportAddressPublic:
    try:
        with runtime.db.write() as session:
            row = create_support_address(
                session,
                client.workspace_id,
                body.address,
                name=body.name if body.name is not MISSING else "",
                is_default=body.is_default is True,
            )
            return _address(row)
    except IntegrityError:  # a simultaneous create of the same address won the race
        raise Conflict(f"{body.address.lower()} is already a support address.") from None


@router.get(
    "/support-addresses/{address_id}",
    summary="Get a support address",
    responses=error_responses(401, 404, 422),
)
def get_address(
    address_id: AddressId, client: ApiClientDep, runtime: RuntimeDep
) -> SupportAddressPublic:
    with runtime.db.read() as session:
        return _address(access_support_address(session, client.workspace_id, address_id))


@router.patch(
    "/support-addresses/{address_id}",
    summary="Rename a support address or make it the default",
    responses=error_responses(400, 401, 404, 413, 422),
)
def update_address(
    address_id: AddressId, body: SupportAddressUpdate, client: ApiClientDep, runtime: RuntimeDep
) -> SupportAddressPublic:
    with runtime.db.write() as session:
        row = access_support_address(session, client.workspace_id, address_id)
        update_support_address(
            session,
            row,
            name=body.name if body.name is not MISSING else None,
            is_default=True if body.is_default is True else None,
        )
        return _address(row)


@router.delete(
    "/support-addresses/{address_id}",
    status_code=204,
    summary="Remove a support address",
    description="Mail to it is refused from now on; conversations that came through it stay. "
    "If it was the default, the oldest remaining address becomes the default.",
    responses=error_responses(401, 404, 422),
)
def delete_address(address_id: AddressId, client: ApiClientDep, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as session:
        delete_support_address(
            session, access_support_address(session, client.workspace_id, address_id)
        )
    return Response(status_code=204)


# --------------------------------------------------------------------------- the mail log


@router.get(
    "/inbound-mails",
    summary="List inbound mail",
    description="The mail log, newest first: every email received for the workspace and what "
    "became of it (?status=failed: the failed-mail list).",
    responses=error_responses(401, 422),
)
def list_inbound(
    filters: Annotated[InboundMailFilters, Query()], client: ApiClientDep, runtime: RuntimeDep
) -> InboundMailPage:
    before = decode_cursor(runtime, "inbound_mails", filters.cursor)
    with runtime.db.read() as session:
        rows = list_mails(
            session,
            workspace_id=client.workspace_id,
            statuses=(filters.status,) if filters.status else (),
            before_id=before,
            limit=filters.limit + 1,
        )
        page, next_cursor = paginate(runtime, "inbound_mails", rows, filters.limit, lambda m: m.id)
        return InboundMailPage(data=[_mail(m) for m in page], next_cursor=next_cursor)


@router.get(
    "/inbound-mails/{mail_id}",
    summary="Get an inbound mail",
    responses=error_responses(401, 404, 422),
)
def get_inbound(mail_id: MailId, client: ApiClientDep, runtime: RuntimeDep) -> InboundMailPublic:
    with runtime.db.read() as session:
        return _mail(access_mail(session, mail_id, client.workspace_id))


@router.post(
    "/inbound-mails/{mail_id}/reprocess",
    status_code=202,
    summary="Process a failed mail again",
    description="It goes back to pending with fresh attempts and is processed by a worker; "
    "409 unless it is failed.",
    responses=error_responses(401, 404, 409, 422),
)
def reprocess_inbound(
    mail_id: MailId, client: ApiClientDep, runtime: RuntimeDep
) -> InboundMailPublic:
    with runtime.db.write() as session:
        mail = reprocess(session, mail_id, workspace_id=client.workspace_id)
        result = _mail(mail)
    return result
