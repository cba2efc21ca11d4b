"""/api/v1/customers: one profile per person across visits and channels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.conversations.events import Actor, append_event
from frontdesk.customers.actions import access_customer, do_update_customer
from frontdesk.customers.attributes import clean_attributes
from frontdesk.errors import Conflict
from frontdesk.store.models import Conversation, Customer
from frontdesk.web.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paginate
from frontdesk.web.api.params import CustomerId
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import (
    CustomerCreate,
    CustomerDetail,
    CustomerPage,
    CustomerPublic,
    CustomerRef,
    CustomerUpdate,
    Email,
    ExternalId,
    error_responses,
)
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/customers", tags=["customers"], route_class=ApiRoute)


def _taken(
    session: Session,
    workspace_id: int,
    *,
    email: str | None,
    external_id: str | None,
    other_than: int | None = None,
) -> None:
    """Conflict when another customer of the workspace has this email or external id."""
    for column, value, what in (
        (Customer.external_id, external_id, "external_id"),
        (Customer.email, email, "email"),
    ):
        if value is None:
            continue
        query = select(Customer.id).where(Customer.workspace_id == workspace_id, column == value)
        if other_than is not None:
            query = query.where(Customer.id != other_than)
        found = session.scalar(query.limit(1))
        if found is not None:
            raise Conflict(f"Customer {found} has this {what} already: update that one.")


def create_customer(
    session: Session,
    workspace_id: int,
    *,
    actor: Actor,
    email: str | None = None,
    name: str | None = None,
    external_id: str | None = None,
    language: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Customer:
    """A customer made by the company through the API (trusted: an external id is verified)."""
    email = email.strip().lower() if email else None
    external_id = external_id.strip() if external_id else None
    _taken(session, workspace_id, email=email, external_id=external_id)
    customer = Customer(
        workspace_id=workspace_id,
        email=email,
        name=name.strip() if name else None,
        external_id=external_id,
        verified=external_id is not None,
        language=language,
        attributes=clean_attributes(attributes or {}, {}),
    )
    session.add(customer)
    session.flush()
    append_event(
        session,
        workspace_id=workspace_id,
        conversation_id=None,
        type="customer_created",
        actor=actor,
        data={"customer_id": customer.id},
    )
    return customer


def find_or_create_customer(
    session: Session, workspace_id: int, ref: CustomerRef, *, actor: Actor
) -> Customer:
    """The customer with ``ref``'s external id, else its email, else a new one."""
    found: Customer | None = None
    if ref.external_id is not MISSING:
        found = session.scalar(
            select(Customer).where(
                Customer.workspace_id == workspace_id,
                Customer.external_id == ref.external_id.strip(),
            )
        )
    elif ref.email is not MISSING:
        found = session.scalar(
            select(Customer)
            .where(
                Customer.workspace_id == workspace_id,
                Customer.email == ref.email.strip().lower(),
            )
            .order_by(Customer.id)
            .limit(1)
        )
    if found is None:
        return create_customer(
            session,
            workspace_id,
            actor=actor,
            email=ref.email if ref.email is not MISSING else None,
            name=ref.name if ref.name is not MISSING else None,
            external_id=ref.external_id if ref.external_id is not MISSING else None,
        )
    # Fill in what the profile lacks; never overwrite what it has.
    fill_email = ref.email if ref.email is not MISSING and not found.email else None
    if fill_email is not None:
        _taken(
            session, workspace_id, email=fill_email.lower(), external_id=None, other_than=found.id
        )
    do_update_customer(
        session,
        found,
        actor=actor,
        name=ref.name if ref.name is not MISSING and not found.name else None,
        email=fill_email,
    )
    return found


def _detail(session: Session, customer: Customer) -> CustomerDetail:
    ids = session.scalars(
        select(Conversation.id)
        .where(Conversation.customer_id == customer.id)
        .order_by(Conversation.id.desc())
    ).all()
    return CustomerDetail.model_validate(
        {**CustomerPublic.model_validate(customer).model_dump(), "conversation_ids": list(ids)}
    )


@router.get(
    "",
    summary="List customers",
    description="Newest first. Filter by exact email or external_id.",
    responses=error_responses(401, 422),
)
def list_customers(
    client: ApiClientDep,
    runtime: RuntimeDep,
    email: Annotated[Email | None, Query()] = None,
    external_id: Annotated[ExternalId | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> CustomerPage:
    before = decode_cursor(runtime, "customers", cursor)
    query = select(Customer).where(Customer.workspace_id == client.workspace_id)
    if email is not None:
        query = query.where(Customer.email == email.strip().lower())
    if external_id is not None:
        query = query.where(Customer.external_id == external_id.strip())
    if before is not None:
        query = query.where(Customer.id < before)
    with runtime.db.read() as session:
        rows = session.scalars(query.order_by(Customer.id.desc()).limit(limit + 1)).all()
        page, next_cursor = paginate(runtime, "customers", rows, limit, lambda c: c.id)
        data = [CustomerPublic.model_validate(c) for c in page]
    return CustomerPage(data=data, next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Create a customer",
    responses=error_responses(400, 401, 409, 413, 422),
)
def create(body: CustomerCreate, client: ApiClientDep, runtime: RuntimeDep) -> CustomerDetail:
    try:
        with runtime.db.write() as session:
            customer = create_customer(
                session,
                client.workspace_id,
                actor=Actor("api", client.token.id),
                email=body.email if body.email is not MISSING else None,
                name=body.name if body.name is not MISSING else None,
                external_id=body.external_id if body.external_id is not MISSING else None,
                language=body.language if body.language is not MISSING else None,
                attributes=body.attributes if body.attributes is not MISSING else None,
            )
            result = _detail(session, customer)
    except IntegrityError:  # a simultaneous create with the same external id won the race
        raise Conflict("A customer with this external_id exists already.") from None
    return result


@router.get(
    "/{customer_id}",
    summary="Get a customer",
    description="With the ids of its conversations.",
    responses=error_responses(401, 404, 422),
)
def get_customer(
    customer_id: CustomerId, client: ApiClientDep, runtime: RuntimeDep
) -> CustomerDetail:
    with runtime.db.read() as session:
        return _detail(session, access_customer(session, client.workspace_id, customer_id))


@router.patch(
    "/{customer_id}",
    summary="Update a customer",
    description="Fields left out stay as they are. attributes are merged: a null value removes "
    "the key. Records a customer_updated event.",
    responses=error_responses(400, 401, 404, 409, 413, 422),
)
def update_customer(
    customer_id: CustomerId, body: CustomerUpdate, client: ApiClientDep, runtime: RuntimeDep
) -> CustomerDetail:
    with runtime.db.write() as session:
        customer = access_customer(session, client.workspace_id, customer_id)
        email: str | None = None
        if body.email is not MISSING:
            email = (body.email or "").strip().lower()
            if email:
                _taken(
                    session,
                    client.workspace_id,
                    email=email,
                    external_id=None,
                    other_than=customer.id,
                )
        do_update_customer(
            session,
            customer,
            actor=Actor("api", client.token.id),
            name=(body.name or "") if body.name is not MISSING else None,
            email=email,
            language=(body.language or "") if body.language is not MISSING else None,
            attributes=body.attributes if body.attributes is not MISSING else None,
        )
        return _detail(session, customer)
