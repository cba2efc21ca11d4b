"""Fixtures of the inbound email tests: a workspace with a support address, the SMTP listener
on a loopback port, and a real SMTP client (smtplib) to send to it."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from frontdesk.channels.email.listener import MailListener
from frontdesk.channels.email.support import create_support_address
from frontdesk.runtime import Runtime, install
from frontdesk.store.models import Conversation, Customer, InboundMail, Message
from tests.factories import make_agent, make_workspace
from tests.mailserver import free_port

SUPPORT = "support@acme.example"


@dataclass
class MailWorkspace:
    workspace_id: int
    support: str
    agent_email: str


@pytest.fixture
def mail_ws(runtime: Runtime) -> MailWorkspace:
    install(runtime)  # jobs (process_mail, run inline) reach the runtime through current()
    with runtime.db.write() as session:
        workspace = make_workspace(session, "Acme")
        create_support_address(session, workspace.id, SUPPORT, name="Acme Support")
        agent = make_agent(session, workspace, name="Alice Agent", email="alice@acme.example")
        return MailWorkspace(workspace.id, SUPPORT, agent.email)


@pytest.fixture
def listener(runtime: Runtime) -> Iterator[MailListener]:
    server = MailListener(runtime, free_port())
    server.start()
    yield server
    server.stop()


def email(
    *,
    sender: str = "Carla Customer <carla@example.net>",
    to: str = SUPPORT,
    subject: str = "My bike will not charge",
    body: str | None = "Hello, the battery stays at 0% after a night on the charger.",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A plain-text email, as a mail client would write it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.net")
    msg["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    for name, value in (headers or {}).items():
        msg[name] = value
    if body is not None:
        msg.set_content(body)
    return msg


def send(
    listener: MailListener,
    message: EmailMessage | bytes,
    *,
    mail_from: str = "carla@example.net",
    rcpt: list[str] | None = None,
) -> dict[str, tuple[int, bytes]]:
    """Send over SMTP to the listener; returns the refused recipients (raises on a refused
    message, like any SMTP client)."""
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        return client.sendmail(mail_from, rcpt or [SUPPORT], raw)


def count(runtime: Runtime, model: type, *where: object) -> int:
    with runtime.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def mails(runtime: Runtime) -> list[InboundMail]:
    with runtime.db.read() as session:
        return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))


def last_mail(runtime: Runtime) -> InboundMail:
    found = mails(runtime)
    assert found, "no mail in the mail log"
    return found[-1]


def messages(
    runtime: Runtime, conversation_id: int | None = None, *, everyone: bool = False
) -> list[Message]:
    """The customers' messages (with ``everyone``, the bot's and system lines too)."""
    with runtime.db.read() as session:
        query = select(Message).order_by(Message.id)
        if not everyone:
            query = query.where(Message.author_type == "customer")
        if conversation_id is not None:
            query = query.where(Message.conversation_id == conversation_id)
        return list(session.scalars(query))


def conversations(runtime: Runtime) -> list[Conversation]:
    with runtime.db.read() as session:
        return list(session.scalars(select(Conversation).order_by(Conversation.id)))


def customer(runtime: Runtime, email_address: str) -> Customer | None:
    with runtime.db.read() as session:
        return session.scalar(select(Customer).where(Customer.email == email_address))
