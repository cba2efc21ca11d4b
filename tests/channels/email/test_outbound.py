"""The outbox against a real SMTP relay on loopback (tests/mailserver.CaptureRelay): threading
headers and the signed reply-to of a reply, a relay outage (retrying, nothing lost, delivered
once when it returns), failed after the last attempt and the agent's Retry, a worker killed
mid-send (RELIABILITY 17), the sweep, and a real job consumer. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.channels.email.addresses import parse_recipient
from frontdesk.channels.email.outbound import (
    attempt_send,
    claim,
    delivery_state,
    lease_seconds,
    retry_failed,
    sweep,
)
from frontdesk.config import Settings
from frontdesk.conversations.actions import do_send_agent_reply
from frontdesk.errors import Conflict, NotFound
from frontdesk.mail import smtp_send
from frontdesk.runtime import Runtime, install
from frontdesk.store.models import (
    Agent,
    Conversation,
    Message,
    OutboundEmail,
    SupportAddress,
    Workspace,
    utcnow,
)
from tests.conftest import make_settings
from tests.factories import make_agent, make_customer, make_message, make_workspace
from tests.mailserver import CaptureRelay
from tests.web.agent.helpers import login_as

SECRET = "test-secret-key"
CUSTOMER_MESSAGE_ID = "CAF-1234@mail.customer.example"


@pytest.fixture
def relay() -> Iterator[CaptureRelay]:
    server = CaptureRelay()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, relay: CaptureRelay) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        smtp_url=relay.url,
        mail_max_attempts=3,
        mail_retry_base_seconds=10.0,
        mail_timeout_seconds=5.0,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings, migrate=False)
    rt.jobs.huey.immediate = True  # the send job runs right after the commit that queues it
    install(rt)
    yield rt
    rt.close()


@dataclass
class Ticket:
    workspace_id: int
    conversation_id: int
    agent_id: int


def email_ticket(runtime: Runtime, *, subject: str = "Broken pedal") -> Ticket:
    """An email ticket as the inbound channel leaves it: the customer's email (with its
    Message-ID in the message meta), a subject, reply_by_email."""
    with runtime.db.write() as s:
        ws = make_workspace(s, "Acme")
        s.add(
            SupportAddress(
                workspace_id=ws.id, address="support@acme.example", name="Acme Support",
                is_default=True,
            )
        )  # fmt: skip
        agent = make_agent(s, ws, name="Ana Agent")
        customer = make_customer(s, ws, name="Carla", email="carla@customer.example")
        result = make_message(s, ws, customer, "My pedal fell off", channel="email")
        message = s.get_one(Message, result.message_id)
        message.meta = {"email": {"message_id": CUSTOMER_MESSAGE_ID}}
        conversation = s.get_one(Conversation, result.conversation_id)
        conversation.subject = subject
        conversation.reply_by_email = True
        return Ticket(ws.id, conversation.id, agent.id)


def reply(runtime: Runtime, ticket: Ticket, body: str) -> int:
    """The agent replies; returns the id of the outbox row that carries the reply."""
    with runtime.db.write() as s:
        conversation = s.get_one(Conversation, ticket.conversation_id)
        message = do_send_agent_reply(s, conversation, s.get_one(Agent, ticket.agent_id), body=body)
        message_id = message.id
    with runtime.db.read() as s:
        email = s.scalars(select(OutboundEmail).where(OutboundEmail.message_id == message_id)).one()
        return email.id


def row(runtime: Runtime, email_id: int) -> OutboundEmail:
    with runtime.db.read() as s:
        email = s.get_one(OutboundEmail, email_id)
        s.expunge(email)
        return email


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_reply_goes_out_threaded_with_a_signed_reply_to(
    runtime: Runtime, relay: CaptureRelay
) -> None:
    ticket = email_ticket(runtime)
    first_id = reply(runtime, ticket, "We'll send you a new pedal today.")
    [mail] = relay.wait_for(1)
    first = row(runtime, first_id)
    assert (first.status, first.attempts, delivery_state(first)) == ("sent", 1, "sent")
    assert first.sent_at is not None and first.last_error is None

    assert parseaddr(mail["From"]) == ("Acme Support", "support@acme.example")
    assert mail["To"] == "carla@customer.example"
    assert mail["Subject"] == "Re: Broken pedal"
    assert mail["Message-ID"] == first.message_id_header
    assert mail["In-Reply-To"] == f"<{CUSTOMER_MESSAGE_ID}>"
    assert mail["References"] == f"<{CUSTOMER_MESSAGE_ID}>"
    reply_to = str(mail["Reply-To"])
    assert reply_to.startswith(f"support+c{ticket.conversation_id}-")
    assert reply_to.endswith("@acme.example")
    recipient = parse_recipient(reply_to, SECRET)
    assert recipient.conversation_id == ticket.conversation_id and not recipient.tag_invalid
    assert "Auto-Submitted" not in mail  # a person's reply, not an auto-generated email
    assert "We'll send you a new pedal today." in text_of(mail)
    assert "Ana Agent, Acme" in text_of(mail)  # signed by the agent
    assert relay.envelopes[0][1] == ["carla@customer.example"]

    # The second reply continues the thread: it answers our first email.
    second_id = reply(runtime, ticket, "It is on its way.")
    mails = relay.wait_for(2)
    second = row(runtime, second_id)
    assert mails[1]["Message-ID"] == second.message_id_header != first.message_id_header
    assert mails[1]["In-Reply-To"] == first.message_id_header
    assert str(mails[1]["References"]).split() == [
        f"<{CUSTOMER_MESSAGE_ID}>",
        first.message_id_header,
    ]
    assert mails[1]["Reply-To"] == reply_to  # the same conversation, the same tag


def test_relay_outage_retries_and_delivers_once_with_the_same_message_id(
    runtime: Runtime, relay: CaptureRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[dict[str, Any]] = []
    original = runtime.bus.publish

    def spy(channel: str, message: dict[str, Any]) -> None:
        if message.get("type") == "email.delivery":
            published.append(message["delivery"])
        original(channel, message)

    monkeypatch.setattr(runtime.bus, "publish", spy)
    ticket = email_ticket(runtime)
    relay.stop()
    email_id = reply(runtime, ticket, "Your refund is on its way.")

    down = row(runtime, email_id)
    assert (down.status, down.attempts, delivery_state(down)) == ("pending", 1, "retrying")
    assert down.last_error and "relay 127.0.0.1" in down.last_error
    assert down.next_attempt_at > utcnow() + timedelta(seconds=4)  # backoff: base 10 s · jitter
    with runtime.db.read() as s:  # nothing lost: the reply is in the transcript
        assert s.get_one(Message, down.message_id).body == "Your refund is on its way."
    assert relay.messages == []
    # Not due yet: nothing is attempted early.
    assert attempt_send(runtime, email_id) == "skipped"
    assert row(runtime, email_id).attempts == 1

    relay.start()
    later = down.next_attempt_at + timedelta(seconds=1)
    assert attempt_send(runtime, email_id, now=later) == "sent"
    [mail] = relay.wait_for(1)
    assert mail["Message-ID"] == down.message_id_header
    assert "Your refund is on its way." in text_of(mail)
    sent = row(runtime, email_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    # Once sent, never again.
    assert attempt_send(runtime, email_id, now=later + timedelta(hours=1)) == "skipped"
    assert sweep(runtime, now=later + timedelta(hours=1)) == 0
    time.sleep(0.2)
    assert len(relay.messages) == 1

    assert [p["state"] for p in published] == ["sending", "retrying", "sent"]
    assert published[1]["attempts"] == 1 and published[1]["next_attempt_at"]
    assert {p["message_id"] for p in published} == {down.message_id}


def test_failed_after_the_last_attempt_then_retry_from_the_inbox_sends_it(
    runtime: Runtime, relay: CaptureRelay, client: TestClient
) -> None:
    ticket = email_ticket(runtime)
    relay.stop()
    email_id = reply(runtime, ticket, "Please try the new firmware.")
    for attempt in (2, 3):
        due = row(runtime, email_id).next_attempt_at + timedelta(seconds=1)
        status = attempt_send(runtime, email_id, now=due)
        assert status == ("failed" if attempt == 3 else "pending")
    failed = row(runtime, email_id)
    assert (failed.status, failed.attempts, delivery_state(failed)) == ("failed", 3, "failed")
    assert attempt_send(runtime, email_id, now=utcnow() + timedelta(days=1)) == "skipped"

    with runtime.db.read() as s:
        agent = s.get_one(Agent, ticket.agent_id)
    csrf = login_as(client, runtime, agent)
    page = client.get(f"/inbox/c/{ticket.conversation_id}")
    assert page.status_code == 200
    assert f'data-delivery-for="{failed.message_id}"' in page.text
    assert "Email failed after 3 attempts" in page.text
    retry_url = f"/inbox/c/{ticket.conversation_id}/emails/{email_id}/retry"
    assert f'action="{retry_url}"' in page.text

    relay.start()
    headers = {"X-Requested-With": "fetch", "X-CSRF-Token": csrf}
    assert client.post(retry_url, headers=headers).status_code == 204
    [mail] = relay.wait_for(1)
    assert mail["Message-ID"] == failed.message_id_header
    sent = row(runtime, email_id)
    assert (sent.status, sent.attempts) == ("sent", 1)
    fragment = client.get(f"/inbox/c/{ticket.conversation_id}/messages?after_seq=0")
    assert "Email sent to carla@customer.example" in fragment.text
    assert retry_url not in fragment.text

    # Only failed emails retry; another workspace's email is not found; no CSRF, no retry.
    again = client.post(retry_url, headers=headers)
    assert again.status_code == 409 and "only failed emails retry" in again.text
    with runtime.db.write() as s:
        with pytest.raises(Conflict):
            retry_failed(s, email_id, ticket.workspace_id)
        with pytest.raises(NotFound):
            retry_failed(s, email_id, ticket.workspace_id + 1000)
    assert client.post(retry_url).status_code == 403
    with runtime.db.write() as s:
        ws = s.get_one(Workspace, ticket.workspace_id)
        other = make_message(s, ws, make_customer(s, ws), "Another ticket").conversation_id
    foreign = f"/inbox/c/{other}/emails/{email_id}/retry"  # the email is not this one's
    assert client.post(foreign, headers=headers).status_code == 404
    missing = f"/inbox/c/{ticket.conversation_id}/emails/{email_id + 999}/retry"
    assert client.post(missing, headers=headers).status_code == 404
    assert len(relay.messages) == 1


def test_worker_killed_mid_send_is_sent_again_after_the_lease_with_the_same_message_id(
    runtime: Runtime, relay: CaptureRelay, settings: Settings
) -> None:
    ticket = email_ticket(runtime)
    runtime.jobs.huey.immediate = False  # nobody consumes: this test plays the worker
    email_id = reply(runtime, ticket, "Here is your invoice.")
    assert row(runtime, email_id).attempts == 0

    now = utcnow()
    claimed = claim(runtime, email_id, now)
    assert claimed is not None and claimed.attempt == 1
    smtp_send(settings, claimed.mime)  # handed to the relay, then the worker is SIGKILLed
    relay.wait_for(1)
    crashed = row(runtime, email_id)
    assert (crashed.status, delivery_state(crashed)) == ("pending", "sending")

    # While the lease holds, no other worker sends it.
    assert attempt_send(runtime, email_id, now=now + timedelta(seconds=1)) == "skipped"
    after_lease = now + timedelta(seconds=lease_seconds(settings.mail_timeout_seconds) + 1)
    assert sweep(runtime, now=after_lease) == 1  # the sweep finds it again
    assert attempt_send(runtime, email_id, now=after_lease) == "sent"
    first, second = relay.wait_for(2)
    # The same Message-ID: the customer's mail client shows one email.
    assert first["Message-ID"] == second["Message-ID"] == crashed.message_id_header
    done = row(runtime, email_id)
    assert (done.status, done.attempts) == ("sent", 2)
    # A late result from the killed worker's attempt cannot overwrite the outcome.
    from frontdesk.channels.email.outbound import record_result

    assert record_result(runtime, claimed, "late failure", utcnow()) == "lost"
    assert row(runtime, email_id).status == "sent"


def test_the_sweep_sends_what_a_lost_enqueue_left_behind(
    tmp_path: Path, database_url: str, relay: CaptureRelay
) -> None:
    settings = make_settings(
        tmp_path, database_url, smtp_url=relay.url, mail_retry_base_seconds=0.05
    )
    runtime = Runtime.build(settings, migrate=False)
    runtime.jobs.huey.immediate = True
    install(runtime)
    try:
        ticket = email_ticket(runtime)
        relay.stop()
        email_id = reply(runtime, ticket, "Sorry for the wait.")
        assert delivery_state(row(runtime, email_id)) == "retrying"
        relay.start()
        time.sleep(0.1)  # the backoff (at most 0.05 s) has passed; the retry's enqueue was lost
        assert sweep(runtime) == 1  # enqueued, and (inline here) sent
        [mail] = relay.wait_for(1)
        assert mail["Message-ID"] == row(runtime, email_id).message_id_header
        assert row(runtime, email_id).status == "sent"
    finally:
        runtime.close()


def test_a_real_consumer_retries_with_backoff_until_the_relay_returns(
    tmp_path: Path, database_url: str, relay: CaptureRelay
) -> None:
    settings = make_settings(
        tmp_path, database_url, smtp_url=relay.url, mail_retry_base_seconds=0.3
    )
    runtime = Runtime.build(settings, migrate=False)
    install(runtime)
    runtime.jobs.start_consumer(workers=1)
    try:
        ticket = email_ticket(runtime)
        relay.stop()
        email_id = reply(runtime, ticket, "Your order ships tomorrow.")
        deadline = time.monotonic() + 10
        while delivery_state(row(runtime, email_id)) != "retrying":
            assert time.monotonic() < deadline, "the consumer never attempted the send"
            time.sleep(0.05)
        assert relay.messages == []
        relay.start()
        [mail] = relay.wait_for(1, timeout=15)
        assert mail["Message-ID"] == row(runtime, email_id).message_id_header
        deadline = time.monotonic() + 5
        while row(runtime, email_id).status != "sent":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(relay.messages) == 1
    finally:
        runtime.close()


def test_a_customer_without_an_address_gets_no_email_and_the_reply_is_kept(
    runtime: Runtime, relay: CaptureRelay
) -> None:
    ticket = email_ticket(runtime)
    with runtime.db.write() as s:
        s.get_one(Conversation, ticket.conversation_id).customer.email = None
    with runtime.db.write() as s:
        conversation = s.get_one(Conversation, ticket.conversation_id)
        message = do_send_agent_reply(
            s, conversation, s.get_one(Agent, ticket.agent_id), body="Hello?"
        )
        message_id = message.id
    with runtime.db.read() as s:
        assert s.get_one(Message, message_id).body == "Hello?"
        assert s.scalars(select(OutboundEmail)).all() == []
    assert relay.messages == []


def test_long_message_ids_stay_one_token_in_the_threading_headers() -> None:
    """A 90-character Message-ID (ours for mail that had none) must not be folded into an
    RFC 2047 encoded word: mail clients would no longer thread the reply."""
    from frontdesk.channels.email.outbound import build_email
    from frontdesk.store.models import utcnow

    long_id = "<" + "a" * 64 + "@frontdesk.missing-id>"
    email = OutboundEmail(
        from_addr="Support <support@acme.example>",
        to_addr="ana@example.com",
        reply_to="support+c1-abcdefghij@acme.example",
        subject="Re: Help",
        message_id_header="<" + "b" * 32 + "@acme.example>",
        in_reply_to=long_id,
        references=[long_id, "<" + "c" * 70 + "@mail.example>"],
        body_text="Hello",
        kind="reply",
        created_at=utcnow(),
    )
    raw = build_email(email).as_bytes()
    assert f"In-Reply-To: {long_id}\n".encode() in raw
    assert b"=?utf-8?" not in raw
