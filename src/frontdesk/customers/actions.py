"""Finding, creating, identifying and updating customers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from frontdesk.conversations.events import Actor, append_event
from frontdesk.customers.attributes import clean_attributes
from frontdesk.customers.identity import hash_token
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.store.models import Conversation, Customer, Workspace, utcnow


def access_customer(
    session: Session, workspace_id: int, customer_id: int, *, lock: bool = False
) -> Customer:
    """The customer, or NotFound. ``lock``: take the row lock now (PostgreSQL ``FOR UPDATE``),
    so that writers touching this customer's rows always lock the customer first."""
    customer = session.get(Customer, customer_id, with_for_update=lock or None)
    if customer is None or customer.workspace_id != workspace_id:
        raise NotFound(f"Customer {customer_id} was not found.")
    return customer


def customer_by_visitor_token(
    session: Session, workspace: Workspace, token: str
) -> Customer | None:
    return session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace.id, Customer.visitor_token_hash == hash_token(token)
        )
    )


def customer_by_external_id(
    session: Session, workspace: Workspace, external_id: str
) -> Customer | None:
    return session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace.id, Customer.external_id == external_id
        )
    )


def customer_by_email(session: Session, workspace: Workspace, email: str) -> Customer | None:
    return session.scalar(
        select(Customer)
        .where(Customer.workspace_id == workspace.id, Customer.email == email.strip().lower())
        .order_by(Customer.id)
        .limit(1)
    )


def create_visitor(
    session: Session, workspace: Workspace, token: str, *, language: str | None
) -> Customer:
    customer = Customer(
        workspace_id=workspace.id, visitor_token_hash=hash_token(token), language=language
    )
    session.add(customer)
    session.flush()
    return customer


def identify_verified_user(
    session: Session,
    workspace: Workspace,
    external_id: str,
    *,
    visitor_token: str | None,
    language: str | None,
) -> Customer:
    """The customer of a verified ``user_id``; an anonymous visitor's history joins it."""
    external_id = external_id.strip()
    if not external_id or len(external_id) > 200:
        raise InvalidInput("user_id must be 1 to 200 characters.")
    customer = customer_by_external_id(session, workspace, external_id)
    if customer is None:
        customer = Customer(
            workspace_id=workspace.id, external_id=external_id, verified=True, language=language
        )
        session.add(customer)
        session.flush()
    customer.verified = True
    if visitor_token:
        anonymous = customer_by_visitor_token(session, workspace, visitor_token)
        if anonymous is not None and anonymous.id != customer.id and anonymous.external_id is None:
            session.execute(
                update(Conversation)
                .where(Conversation.customer_id == anonymous.id)
                .values(customer_id=customer.id)
            )
            customer.email = customer.email or anonymous.email
            customer.name = customer.name or anonymous.name
            session.delete(anonymous)
            session.flush()
    return customer


def do_update_customer(
    session: Session,
    customer: Customer,
    *,
    actor: Actor,
    name: str | None = None,
    email: str | None = None,
    language: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Customer:
    changed: dict[str, Any] = {}
    if name is not None and name.strip() != (customer.name or ""):
        if len(name) > 200:
            raise InvalidInput("Name is longer than 200 characters.")
        customer.name = name.strip() or None
        changed["name"] = customer.name
    if email is not None:
        clean = email.strip().lower()
        if clean and ("@" not in clean or len(clean) > 320 or any(c.isspace() for c in clean)):
            raise InvalidInput(f"{email!r} is not an email address.")
        if clean != (customer.email or ""):
            customer.email = clean or None
            changed["email"] = customer.email
    if language is not None and language != customer.language:
        customer.language = language[:8] or None
        changed["language"] = customer.language
    if attributes is not None:
        merged = clean_attributes(attributes, customer.attributes or {})
        if merged != customer.attributes:
            changed["attributes"] = {
                k: merged.get(k) for k in attributes if merged.get(k) != customer.attributes.get(k)
            }
            customer.attributes = merged
    if changed:
        customer.last_seen_at = utcnow()
        session.flush()
        append_event(
            session,
            workspace_id=customer.workspace_id,
            conversation_id=None,
            type="customer_updated",
            actor=actor,
            data={"customer_id": customer.id, "changed": changed},
        )
    return customer
