"""Inbound email end to end: real emails over SMTP (smtplib → the listener on loopback) through
the mail log, parsing, threading and the one ingest path, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from frontdesk import inbound
from frontdesk.channels.email import ingest
from frontdesk.channels.email.addresses import client_id_for, reply_address
from frontdesk.channels.email.ingest import (
    accept_mail,
    claim,
    message_text,
    process_mail,
    reprocess,
    sweep,
)
from frontdesk.channels.email.listener import MailListener
from frontdesk.channels.email.outbound import queue_email
from frontdesk.channels.email.parse import parse_email
from frontdesk.channels.email.support import create_support_address
from frontdesk.errors import Conflict, NotFound
from frontdesk.runtime import Runtime
from frontdesk.store.models import (
    Attachment,
    Conversation,
    ConversationEvent,
    Customer,
    InboundMail,
    Message,
    OutboundEmail,
    utcnow,
)
from tests.channels.email.conftest import (
    SUPPORT,
    MailWorkspace,
    conversations,
    count,
    customer,
    email,
    last_mail,
    mails,
    messages,
    send,
)
from tests.factories import make_workspace


def _agent_reply(runtime: Runtime, conversation_id: int, text: str) -> str:
    """An email we sent in the conversation (as an agent's reply would be); its Message-ID."""
    with runtime.db.write() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        queued = queue_email(session, conversation, text=text)
        assert queued is not None
        return queued.message_id_header.strip("<>")


def _raw(headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("ascii") + b"\r\n" + body


# --------------------------------------------------------------------------- the basics


def test_a_plain_email_becomes_a_ticket_of_a_new_customer(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    msg = email()
    send(listener, msg)

    mail = last_mail(runtime)
    assert (mail.status, mail.reason, mail.source) == ("stored", None, "smtp")
    assert mail.envelope_from == "carla@example.net" and mail.envelope_to == [SUPPORT]
    assert b"the battery stays at 0%" in mail.raw and mail.size == len(mail.raw)
    assert mail.message_id_header == msg["Message-ID"].strip("<>")
    [conversation] = conversations(runtime)
    assert conversation.channel == "email" and conversation.reply_by_email is True
    assert conversation.subject == "My bike will not charge"
    assert (mail.conversation_id, mail.workspace_id) == (conversation.id, mail_ws.workspace_id)
    [message] = messages(runtime)
    assert message.id == mail.message_id and message.author_type == "customer"
    assert message.body == "Hello, the battery stays at 0% after a night on the charger."
    assert message.client_id == client_id_for(msg["Message-ID"].strip("<>"))
    meta = message.meta["email"]
    assert meta["inbound_mail_id"] == mail.id and meta["subject"] == "My bike will not charge"
    assert meta["from"] == "carla@example.net" and meta["to"] == [SUPPORT]
    carla = customer(runtime, "carla@example.net")
    assert carla is not None and carla.name == "Carla Customer"
    assert conversation.customer_id == carla.id


def test_html_only_email_is_read_as_text_and_its_html_kept_sanitised(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    msg = email(body=None)
    msg.set_content(
        "<html><body><p>My <b>brakes</b> squeak.</p><script>alert(1)</script>"
        '<img src=x onerror="alert(2)"><p>Thanks</p></body></html>',
        subtype="html",
    )
    send(listener, msg)
    assert last_mail(runtime).status == "stored"
    [message] = messages(runtime)
    assert "My brakes squeak." in message.body and "Thanks" in message.body
    assert "alert" not in message.body
    html = message.meta["email"]["html"]
    assert "<b>brakes</b>" in html and "script" not in html and "onerror" not in html


def test_attachments_are_stored_on_the_message(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    msg = email(body="Photo and invoice attached.")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    msg.add_attachment(png, maintype="image", subtype="png", filename="brake.png")
    msg.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="a.pdf")
    send(listener, msg)
    mail = last_mail(runtime)
    assert mail.status == "stored"
    with runtime.db.read() as session:
        rows = list(session.scalars(select(Attachment).order_by(Attachment.id)))
    assert [(a.filename, a.size, a.message_id) for a in rows] == [
        ("brake.png", len(png), mail.message_id),
        ("a.pdf", 16, mail.message_id),
    ]
    assert rows[0].content_type == "image/png"
    [message] = messages(runtime)
    assert message.body == "Photo and invoice attached."
    assert [a["filename"] for a in message.meta["attachments"]] == ["brake.png", "a.pdf"]


def test_past_the_quota_an_email_is_stored_and_its_files_listed_as_not_kept(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    runtime.settings.attachment_quota_bytes = 100
    msg = email(body="Two photos.")
    msg.add_attachment(
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 80, maintype="image", subtype="png", filename="fits.png"
    )
    msg.add_attachment(
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 80, maintype="image", subtype="png", filename="over.png"
    )
    send(listener, msg)
    assert last_mail(runtime).status == "stored"
    [message] = messages(runtime)
    assert message.body == "Two photos."
    assert [a["filename"] for a in message.meta["attachments"]] == ["fits.png"]
    (note,) = message.meta["email"]["dropped"]
    assert "'over.png' was not kept: this workspace's attachment storage is full" in note
    assert count(runtime, Attachment) == 1


def test_an_email_with_only_an_attachment_is_stored_with_a_placeholder(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "carla@example.net", SUPPORT, "scan"
    msg["Message-ID"] = make_msgid()
    msg.add_attachment(b"%PDF-1.4 scan", maintype="application", subtype="pdf", filename="s.pdf")
    send(listener, msg)
    assert last_mail(runtime).status == "stored"
    [message] = messages(runtime)
    assert message.body == "(no text; 1 attachment)"
    assert count(runtime, Attachment) == 1


def test_an_email_of_only_quoted_text_is_stored_whole(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    """Nothing new above the quote: the quote is all there is, so it is what is stored."""
    quoted = "On Mon, 30 Nov 2026 at 09:00, Acme Support wrote:\n> How can we help?\n> Acme"
    send(listener, email(body=quoted))
    assert last_mail(runtime).status == "stored"
    [message] = messages(runtime)
    assert message.body == quoted
    assert message.meta["email"]["full_text"] == quoted


def test_quotes_are_stripped_from_what_the_pipeline_reads_and_kept_in_meta(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    body = (
        "Still broken, see below.\n\n"
        "On Mon, 30 Nov 2026 at 09:00, Acme Support <support@acme.example> wrote:\n"
        "> Did you try another charger?\n"
    )
    send(listener, email(body=body))
    [message] = messages(runtime)
    assert message.body == "Still broken, see below."
    assert "another charger" in message.meta["email"]["full_text"]


def test_a_text_over_the_limit_is_cut_saying_so_and_kept_whole_in_meta(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    runtime.settings.max_message_chars = 500
    body = "\n".join(f"Line {i}: the motor stops when I brake." for i in range(100))
    send(listener, email(body=body))
    assert last_mail(runtime).status == "stored"
    [message] = messages(runtime)
    assert len(message.body) <= 500
    assert message.body.startswith("Line 0:") and "[Cut: this email is" in message.body
    assert message.meta["email"]["full_text"].strip() == body


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-8859-1", "Grüße aus Köln: mein Fahrrad lädt nicht."),
        ("tis-620", "แบตเตอรี่ไม่ชาร์จครับ"),
        ("gb2312", "我的电池无法充电。"),
        ("big5", "我的電池無法充電。"),
    ],
)
def test_non_utf8_charsets_and_encoded_headers_are_decoded(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener, charset: str, text: str
) -> None:
    subject = base64.b64encode(text.encode(charset)).decode()
    name = base64.b64encode("Jörg Müller".encode("iso-8859-1")).decode()
    raw = _raw(
        [
            ("From", f"=?iso-8859-1?B?{name}?= <jorg@example.de>"),
            ("To", SUPPORT),
            ("Subject", f"=?{charset}?B?{subject}?="),
            ("Message-ID", make_msgid()),
            ("MIME-Version", "1.0"),
            ("Content-Type", f"text/plain; charset={charset}"),
            ("Content-Transfer-Encoding", "base64"),
        ],
        base64.encodebytes(text.encode(charset)),
    )
    send(listener, raw, mail_from="jorg@example.de")
    assert last_mail(runtime).status == "stored"
    [message] = messages(runtime)
    assert message.body == text
    [conversation] = conversations(runtime)
    assert conversation.subject == text
    jorg = customer(runtime, "jorg@example.de")
    assert jorg is not None and jorg.name == "Jörg Müller"


def test_a_broken_date_header_still_stores_the_mail(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    msg = email()
    msg.replace_header("Date", "Thursday, 35 Smarch 20x6 25:61")
    send(listener, msg)
    assert last_mail(runtime).status == "stored"
    [message] = messages(runtime)
    assert message.meta["email"]["date"] is None


# --------------------------------------------------------------------------- threading


def test_a_thread_of_three_replies_stays_in_one_conversation(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    first = email()
    send(listener, first)
    [conversation] = conversations(runtime)
    ours = _agent_reply(runtime, conversation.id, "Try the other charger, please.")

    # reply 1: In-Reply-To our email
    send(
        listener,
        email(subject="Re: My bike", body="Tried it.", headers={"In-Reply-To": f"<{ours}>"}),
    )
    # reply 2: References only, naming the customer's first email
    send(
        listener,
        email(
            subject="Re: Re: My bike",
            body="Still nothing.",
            headers={"References": first["Message-ID"]},
        ),
    )
    # reply 3: no headers, but to the conversation's signed reply-to address
    tagged = reply_address(SUPPORT, conversation.id, runtime.settings.resolved_secret_key())
    send(listener, email(to=tagged, subject="another subject", body="Any news?"), rcpt=[tagged])

    assert [m.status for m in mails(runtime)] == ["stored"] * 4
    assert len(conversations(runtime)) == 1
    bodies = [m.body for m in messages(runtime, conversation.id) if m.author_type == "customer"]
    assert bodies == [
        "Hello, the battery stays at 0% after a night on the charger.",
        "Tried it.",
        "Still nothing.",
        "Any news?",
    ]


def test_a_new_subject_from_the_same_customer_opens_a_new_conversation(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    send(listener, email(subject="Battery"))
    send(listener, email(subject="Invoice", body="Where is my invoice?"))
    first, second = conversations(runtime)
    assert (first.subject, second.subject) == ("Battery", "Invoice")
    assert first.customer_id == second.customer_id
    assert count(runtime, Customer) == 1


def test_a_forged_reply_tag_is_not_threaded(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    send(listener, email())
    [conversation] = conversations(runtime)
    forged = f"support+c{conversation.id}-aaaaaaaaaa@acme.example"
    send(listener, email(to=forged, subject="Re: hi", body="Me again"), rcpt=[forged])
    assert [m.status for m in mails(runtime)] == ["stored", "stored"]
    assert len(conversations(runtime)) == 2
    assert [m.body for m in messages(runtime, conversation.id) if m.author_type == "customer"] == [
        "Hello, the battery stays at 0% after a night on the charger."
    ]


def test_a_valid_tag_or_reference_from_another_sender_is_not_threaded(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    first = email()
    send(listener, first)
    [conversation] = conversations(runtime)
    tagged = reply_address(SUPPORT, conversation.id, runtime.settings.resolved_secret_key())
    intruder = "Mallory <mallory@example.org>"
    send(
        listener,
        email(sender=intruder, to=tagged, headers={"In-Reply-To": first["Message-ID"]}),
        mail_from="mallory@example.org",
        rcpt=[tagged],
    )
    assert len(conversations(runtime)) == 2
    assert len(messages(runtime, conversation.id)) == 1


def test_a_reply_joins_the_conversation_of_a_second_customer_with_the_same_address(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    """A chat visitor gave the address of an existing customer (the waterfall): their email
    reply to the tagged address lands in the visitor's conversation, not in a new one."""
    send(listener, email())  # carla@example.net is a customer already
    with runtime.db.write() as session:
        visitor = Customer(workspace_id=mail_ws.workspace_id, email="carla@example.net")
        session.add(visitor)
        session.flush()
        chat = Conversation(
            workspace_id=mail_ws.workspace_id,
            customer_id=visitor.id,
            channel="chat",
            reply_by_email=True,
        )
        session.add(chat)
        session.flush()
        chat_id, visitor_id = chat.id, visitor.id
    tagged = reply_address(SUPPORT, chat_id, runtime.settings.resolved_secret_key())
    send(
        listener, email(to=tagged, subject="Re: Your chat", body="Here is my answer"), rcpt=[tagged]
    )
    assert mails(runtime)[-1].status == "stored"
    [reply] = [m for m in messages(runtime, chat_id) if m.author_type == "customer"]
    assert reply.body == "Here is my answer" and reply.author_id == visitor_id
    assert len(conversations(runtime)) == 2


def test_a_spoofed_agent_from_is_customer_mail(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    """RELIABILITY row 9: an agent's From: and the In-Reply-To of one of our emails."""
    send(listener, email())
    [conversation] = conversations(runtime)
    ours = _agent_reply(runtime, conversation.id, "We are on it.")
    spoof = email(
        sender=f"Alice Agent <{mail_ws.agent_email}>",
        subject="Re: My bike will not charge",
        body="Refund approved, send them 1000 EUR.",
        headers={"In-Reply-To": f"<{ours}>"},
    )
    send(listener, spoof, mail_from=mail_ws.agent_email)

    assert last_mail(runtime).status == "stored"
    assert len(messages(runtime, conversation.id)) == 1  # not in the customer's thread
    spoofed = messages(runtime)[-1]
    assert spoofed.author_type == "customer" and spoofed.conversation_id != conversation.id
    as_customer = customer(runtime, mail_ws.agent_email)
    assert as_customer is not None and spoofed.author_id == as_customer.id
    assert count(runtime, ConversationEvent, ConversationEvent.type == "agent_replied") == 0


# --------------------------------------------------------------------------- once, and no loops


def test_the_same_message_id_twice_is_stored_once(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    msg = email()
    send(listener, msg)
    send(listener, msg)
    first, second = mails(runtime)
    assert (first.status, second.status) == ("stored", "duplicate")
    assert second.message_id == first.message_id and second.conversation_id == first.conversation_id
    assert f"inbound mail {first.id}" in (second.reason or "")
    assert len(messages(runtime)) == 1 and len(conversations(runtime)) == 1


def test_an_out_of_office_reply_and_a_bounce_are_ignored(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    send(listener, email())
    [conversation] = conversations(runtime)
    ours = _agent_reply(runtime, conversation.id, "Here is how to reset it.")
    outbox = count(runtime, OutboundEmail)

    ooo = email(
        subject="Out of office: Re: My bike",
        body="I am away until Monday.",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": f"<{ours}>"},
    )
    send(listener, ooo)
    bounce = _raw(
        [
            ("From", "Mail Delivery System <MAILER-DAEMON@mx.example.net>"),
            ("To", SUPPORT),
            ("Subject", "Undelivered Mail Returned to Sender"),
            ("Message-ID", make_msgid()),
            ("MIME-Version", "1.0"),
            (
                "Content-Type",
                'multipart/report; report-type=delivery-status; boundary="b1"',
            ),
        ],
        b"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Final-Recipient: rfc822; carla@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--b1--\r\n",
    )
    send(listener, bounce, mail_from="")

    _, ooo_mail, bounce_mail = mails(runtime)
    assert ooo_mail.status == "ignored" and "auto-submitted" in (ooo_mail.reason or "")
    assert bounce_mail.status == "ignored" and "bounce" in (bounce_mail.reason or "")
    assert ooo_mail.workspace_id == mail_ws.workspace_id
    assert len(messages(runtime, conversation.id)) == 1
    assert len(conversations(runtime)) == 1
    assert count(runtime, OutboundEmail) == outbox  # nothing answered them


def test_mail_from_our_own_support_address_is_ignored(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    send(listener, email(sender=f"Acme Support <{SUPPORT}>"), mail_from=SUPPORT)
    tagged = reply_address(SUPPORT, 7, runtime.settings.resolved_secret_key())
    send(listener, email(sender=tagged), mail_from=tagged)  # our reply-to, bounced back
    assert [m.status for m in mails(runtime)] == ["ignored", "ignored"]
    assert all("own support address" in (m.reason or "") for m in mails(runtime))
    assert conversations(runtime) == []


def test_one_envelope_to_two_workspaces_reaches_both(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    with runtime.db.write() as session:
        other = make_workspace(session, "Globex")
        create_support_address(session, other.id, "help@globex.example")
        other_id = other.id
    msg = email(to=f"{SUPPORT}, help@globex.example")
    send(listener, msg, rcpt=[SUPPORT, "help@globex.example"])
    first, second = mails(runtime)
    assert {first.workspace_id, second.workspace_id} == {mail_ws.workspace_id, other_id}
    assert first.status == second.status == "stored"
    assert {c.workspace_id for c in conversations(runtime)} == {mail_ws.workspace_id, other_id}


def test_the_bot_sees_a_conversation_that_answers_by_email(
    runtime: Runtime,
    mail_ws: MailWorkspace,
    listener: MailListener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """reply_by_email is set before the pipeline's steps: the bot's answer goes by email."""
    seen: list[bool] = []

    def probe(session: object, ctx: inbound.InboundContext) -> None:
        with runtime.db.read() as read:
            found = read.get(Conversation, ctx.conversation_id)
            assert found is not None
            seen.append(found.reply_by_email)

    monkeypatch.setattr(inbound, "PIPELINE", [("probe", probe), *inbound.PIPELINE])
    send(listener, email())
    assert seen == [True]


# --------------------------------------------------------------------------- failures


def test_garbage_is_kept_as_failed_mail_with_an_alert(
    runtime: Runtime,
    mail_ws: MailWorkspace,
    listener: MailListener,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="frontdesk.channels.email.ingest")
    send(listener, b"\x00\x01\x02 this is not an email at all \xff\xfe")
    mail = last_mail(runtime)
    assert mail.status == "failed" and (mail.reason or "").startswith("unparseable:")
    assert mail.workspace_id == mail_ws.workspace_id  # listed in its Admin → Email
    assert b"not an email at all" in mail.raw
    assert f"inbound mail {mail.id} failed: unparseable" in caplog.text
    assert messages(runtime) == []


def test_a_failed_mail_is_reprocessed_once_the_cause_is_fixed(
    runtime: Runtime, mail_ws: MailWorkspace
) -> None:
    raw = email(to="sales@acme.example").as_bytes()
    mail = accept_mail(runtime.db, source="imap", envelope_from="", envelope_to=[], raw=raw)
    with runtime.db.read() as session:
        failed = session.get(InboundMail, mail.id)
        assert failed is not None and failed.status == "failed"
        assert "no support address among the recipients (sales@acme.example)" in (
            failed.reason or ""
        )
    with runtime.db.write() as session, pytest.raises(NotFound):
        reprocess(session, mail.id, workspace_id=mail_ws.workspace_id)  # not its workspace yet
    with runtime.db.write() as session:
        create_support_address(session, mail_ws.workspace_id, "sales@acme.example")
    with runtime.db.write() as session:
        reprocess(session, mail.id)  # enqueued after the commit; the job runs inline here
    again = last_mail(runtime)
    assert (again.status, again.attempts, again.reason) == ("stored", 1, None)
    assert again.workspace_id == mail_ws.workspace_id
    with runtime.db.write() as session, pytest.raises(Conflict):
        reprocess(session, mail.id)  # only failed mail


def test_an_unexpected_error_fails_the_mail_and_reprocess_recovers(
    runtime: Runtime,
    mail_ws: MailWorkspace,
    listener: MailListener,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("customer table on fire")

    monkeypatch.setattr(ingest, "_customer_for", broken)
    send(listener, email())
    mail = last_mail(runtime)
    assert mail.status == "failed"
    assert mail.reason == "unexpected error: RuntimeError: customer table on fire"
    assert f"inbound mail {mail.id} failed: unexpected error" in caplog.text
    monkeypatch.undo()
    with runtime.db.write() as session:
        reprocess(session, mail.id)
    assert last_mail(runtime).status == "stored"
    assert len(messages(runtime)) == 1


# --------------------------------------------------------------------------- crashes and leases


class Killed(BaseException):
    """A worker killed mid-job: nothing after this point runs, no except clause sees it."""


def test_a_worker_killed_after_storing_the_message_does_not_store_it_twice(
    runtime: Runtime, mail_ws: MailWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    msg = email(body="Photo attached.")
    msg.add_attachment(b"\x89PNG\r\n\x1a\n1234", maintype="image", subtype="png", filename="p.png")
    real_complete = ingest._complete

    def killed(*args: object, **kwargs: object) -> None:
        raise Killed

    monkeypatch.setattr(ingest, "_complete", killed)
    runtime.jobs.huey.immediate = False  # this test runs the job itself
    mail = accept_mail(
        runtime.db, source="smtp", envelope_from="", envelope_to=[SUPPORT], raw=msg.as_bytes()
    )
    with pytest.raises(Killed):
        process_mail(runtime, mail.id)
    mail = last_mail(runtime)
    assert mail.status == "pending" and mail.attempts == 1 and mail.lease_until is not None
    assert len(messages(runtime)) == 1  # receive() had stored it

    monkeypatch.setattr(ingest, "_complete", real_complete)
    assert process_mail(runtime, mail.id) == "skipped"  # the lease still holds
    later = utcnow() + timedelta(seconds=ingest.LEASE_SECONDS + 1)
    assert process_mail(runtime, mail.id, now=later) == "stored"
    done = last_mail(runtime)
    assert (done.status, done.attempts, done.message_id) == ("stored", 2, messages(runtime)[0].id)
    assert len(messages(runtime)) == 1
    assert count(runtime, Attachment) == 1
    assert process_mail(runtime, mail.id, now=later) == "skipped"  # processing twice: no-op


def test_a_worker_killed_before_storing_is_taken_over_after_the_lease(
    runtime: Runtime, mail_ws: MailWorkspace
) -> None:
    runtime.jobs.huey.immediate = False  # nobody processes it: as if the worker died at once
    mail = accept_mail(
        runtime.db, source="smtp", envelope_from="", envelope_to=[SUPPORT], raw=email().as_bytes()
    )
    runtime.jobs.huey.immediate = True
    now = utcnow()
    assert claim(runtime, mail.id, now) is not None  # the worker that dies
    assert claim(runtime, mail.id, now) is None  # a second worker must wait
    later = now + timedelta(seconds=ingest.LEASE_SECONDS + 1)
    assert process_mail(runtime, mail.id, now=later) == "stored"
    assert len(messages(runtime)) == 1


def test_the_sweep_picks_up_mail_whose_job_was_lost(
    runtime: Runtime, mail_ws: MailWorkspace
) -> None:
    runtime.jobs.huey.immediate = False
    mail = accept_mail(
        runtime.db, source="smtp", envelope_from="", envelope_to=[SUPPORT], raw=email().as_bytes()
    )
    runtime.jobs.huey.immediate = True
    assert sweep(runtime) == 0  # not a minute old yet
    with runtime.db.write() as session:
        session.execute(
            update(InboundMail)
            .where(InboundMail.id == mail.id)
            .values(received_at=utcnow() - timedelta(minutes=2))
        )
    assert sweep(runtime) == 1
    assert last_mail(runtime).status == "stored"
    assert sweep(runtime) == 0


def test_a_mail_that_keeps_killing_its_worker_fails_after_the_attempts(
    runtime: Runtime, mail_ws: MailWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.jobs.huey.immediate = False
    mail = accept_mail(
        runtime.db, source="smtp", envelope_from="", envelope_to=[SUPPORT], raw=email().as_bytes()
    )
    now = utcnow()
    for attempt in range(runtime.settings.mail_process_max_attempts):
        now += timedelta(seconds=ingest.LEASE_SECONDS + 1)
        assert claim(runtime, mail.id, now) is not None, attempt
    now += timedelta(seconds=ingest.LEASE_SECONDS + 1)
    assert process_mail(runtime, mail.id, now=now) == "skipped"
    failed = last_mail(runtime)
    assert failed.status == "failed" and "gave up after 5 attempts" in (failed.reason or "")
    assert f"inbound mail {mail.id} failed: gave up" in caplog.text
    assert messages(runtime) == []


def test_a_database_error_is_retried_not_failed(
    runtime: Runtime, mail_ws: MailWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadlock or a lost connection is the database's problem, not the mail's."""
    runtime.jobs.huey.immediate = False
    real = ingest._customer_for
    errors = iter([True, False])

    def flaky(*args: object, **kwargs: object) -> int:
        if next(errors):
            raise OperationalError("UPDATE customers", {}, Exception("deadlock detected"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "_customer_for", flaky)
    mail = accept_mail(
        runtime.db, source="smtp", envelope_from="", envelope_to=[SUPPORT], raw=email().as_bytes()
    )
    now = utcnow()
    assert process_mail(runtime, mail.id, now=now) == "retrying"
    waiting = last_mail(runtime)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    later = now + timedelta(seconds=ingest.LEASE_SECONDS)
    assert process_mail(runtime, mail.id, now=later) == "stored"
    assert len(messages(runtime)) == 1


def test_a_database_error_on_the_last_attempt_fails_the_mail(
    runtime: Runtime, mail_ws: MailWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.jobs.huey.immediate = False
    runtime.settings.mail_process_max_attempts = 1

    def down(*args: object, **kwargs: object) -> int:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(ingest, "_customer_for", down)
    mail = accept_mail(
        runtime.db, source="smtp", envelope_from="", envelope_to=[SUPPORT], raw=email().as_bytes()
    )
    assert process_mail(runtime, mail.id) == "failed"
    failed = last_mail(runtime)
    assert failed.status == "failed"
    assert (failed.reason or "").startswith("gave up after 1 attempts: OperationalError")


def test_a_reply_processed_before_its_original_waits_for_it(
    runtime: Runtime, mail_ws: MailWorkspace
) -> None:
    """Two workers: the reply is taken up while its original is still pending."""
    runtime.jobs.huey.immediate = False
    first = email()
    original = accept_mail(
        runtime.db, source="smtp", envelope_from="", envelope_to=[SUPPORT], raw=first.as_bytes()
    )
    reply = accept_mail(
        runtime.db,
        source="smtp",
        envelope_from="",
        envelope_to=[SUPPORT],
        raw=email(body="Any news?", headers={"In-Reply-To": first["Message-ID"]}).as_bytes(),
    )
    now = utcnow()
    assert process_mail(runtime, reply.id, now=now) == "deferred"
    waiting = mails(runtime)[1]
    assert (waiting.status, waiting.attempts) == ("pending", 0)  # the wait is not an attempt
    assert process_mail(runtime, reply.id, now=now) == "skipped"  # not before its time
    assert process_mail(runtime, original.id, now=now) == "stored"
    later = now + timedelta(seconds=ingest.DEFER_SECONDS + 1)
    assert process_mail(runtime, reply.id, now=later) == "stored"
    [conversation] = conversations(runtime)
    assert [m.body for m in messages(runtime, conversation.id)][-1] == "Any news?"


def test_a_reply_to_a_mail_pending_for_long_does_not_wait(
    runtime: Runtime, mail_ws: MailWorkspace
) -> None:
    runtime.jobs.huey.immediate = False
    first = email()
    accept_mail(
        runtime.db, source="smtp", envelope_from="", envelope_to=[SUPPORT], raw=first.as_bytes()
    )
    reply = accept_mail(
        runtime.db,
        source="smtp",
        envelope_from="",
        envelope_to=[SUPPORT],
        raw=email(body="Hello?", headers={"In-Reply-To": first["Message-ID"]}).as_bytes(),
    )
    much_later = utcnow() + timedelta(seconds=ingest.DEFER_WINDOW_SECONDS + 1)
    assert process_mail(runtime, reply.id, now=much_later) == "stored"


# --------------------------------------------------------------------------- pieces


def test_message_text_placeholders_and_cut() -> None:
    def parsed(text: str, attachments: int = 0) -> object:
        msg = email(body=text or None)
        for i in range(attachments):
            msg.add_attachment(
                b"x" * 10, maintype="application", subtype="octet-stream", filename=f"f{i}.bin"
            )
        return parse_email(msg.as_bytes(), max_attachment_bytes=1000)

    assert message_text(parsed("", 2), 100) == "(no text; 2 attachments)"  # type: ignore[arg-type]
    assert message_text(parsed("  \n "), 100) == "(no text)"  # type: ignore[arg-type]
    cut = message_text(parsed("word " * 100), 120)  # type: ignore[arg-type]
    assert len(cut) <= 120 and cut.startswith("word word") and "[Cut:" in cut


def test_the_mail_log_keeps_awkward_envelopes(runtime: Runtime, mail_ws: MailWorkspace) -> None:
    runtime.jobs.huey.immediate = False
    mail = accept_mail(
        runtime.db,
        source="smtp",
        envelope_from="odd\x00sender\udcff@example.net",
        envelope_to=["x" * 400 + "@example.net"],
        raw=b"Message-ID: <\xff\xfe@x>\r\n\r\nbody",
    )
    with runtime.db.read() as session:
        row = session.get(InboundMail, mail.id)
        assert row is not None and row.status == "pending"
        assert "\x00" not in row.envelope_from and len(row.envelope_to[0]) == 320
    with runtime.db.read() as session:
        assert session.scalar(select(Message.id)) is None
