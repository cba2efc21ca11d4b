"""The SMTP listener as a mail server sees it: RCPT checks, size limits, the 250 only after the
mail is stored, 4xx when it cannot be, and no input that stops it."""

from __future__ import annotations

import logging
import smtplib
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from frontdesk.channels.email import listener as listener_module
from frontdesk.channels.email.addresses import reply_address
from frontdesk.channels.email.listener import MailListener
from frontdesk.runtime import Runtime
from frontdesk.store.models import InboundMail
from tests.channels.email.conftest import (
    SUPPORT,
    MailWorkspace,
    count,
    email,
    last_mail,
    mails,
    messages,
    send,
)
from tests.mailserver import free_port


def _client(listener: MailListener) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", listener.port, timeout=30)
    client.ehlo("client.example.net")
    return client


def test_it_logs_where_it_listens_and_stops_cleanly(
    runtime: Runtime, mail_ws: MailWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="frontdesk.channels.email.listener")
    port = free_port()
    server = MailListener(runtime, port)
    server.start()
    assert f"SMTP listener on 127.0.0.1:{port}" in caplog.text
    send(server, email())
    server.stop()
    assert not server.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with MailListener(runtime, port) as again:  # the port is free again: a restart works
        send(again, email())
    assert [m.status for m in mails(runtime)] == ["stored", "stored"]


def test_unknown_recipients_are_refused_at_rcpt(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    with _client(listener) as client:
        client.mail("carla@example.net")
        code, reply = client.rcpt("nobody@acme.example")
        assert code == 550
        assert reply.decode() == "5.1.1 <nobody@acme.example>: no such mailbox here"
        code, reply = client.rcpt("nobody+c1-aaaaaaaaaa@acme.example")
        assert code == 550 and b"no such mailbox here" in reply
        code, _ = client.rcpt("SUPPORT@ACME.EXAMPLE")  # any case
        assert code == 250
        code, _ = client.rcpt("support+newsletter@acme.example")  # sub-addressing
        assert code == 250
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener, email(to="sales@acme.example"), rcpt=["sales@acme.example"])
    assert refused.value.recipients["sales@acme.example"][0] == 550
    assert mails(runtime) == []


def test_a_mixed_envelope_delivers_to_the_known_address_only(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    refused = send(listener, email(), rcpt=["ghost@acme.example", SUPPORT])
    assert refused == {
        "ghost@acme.example": (550, b"5.1.1 <ghost@acme.example>: no such mailbox here")
    }
    mail = last_mail(runtime)
    assert mail.envelope_to == [SUPPORT] and mail.status == "stored"


def test_a_reply_tag_address_is_accepted(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    tagged = reply_address(SUPPORT, 12345, runtime.settings.resolved_secret_key())
    with _client(listener) as client:
        client.mail("carla@example.net")
        assert client.rcpt(tagged)[0] == 250


def test_an_oversized_mail_is_refused_with_552(runtime: Runtime, mail_ws: MailWorkspace) -> None:
    runtime.settings.mail_max_bytes = 20_000
    with MailListener(runtime, free_port()) as server:
        big = email(body="x" * 30_000)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # smtplib announces SIZE=
            send(server, big)
        assert refused.value.smtp_code == 552
        assert refused.value.smtp_error == (
            b"5.3.4 Message too big: this server accepts at most 20000 bytes a message"
        )
        with _client(server) as client:  # a client that does not say: refused after DATA
            assert client.esmtp_features["size"] == "20000"
            assert client.mail("carla@example.net")[0] == 250
            assert client.rcpt(SUPPORT)[0] == 250
            code, reply = client.data(big.as_bytes())
            assert code == 552 and b"Message too big" in reply
        send(server, email())  # a normal one still goes through
    assert [m.status for m in mails(runtime)] == ["stored"]


def test_long_lines_are_accepted(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    body = b"A" * 5000
    raw = (
        (
            f"From: carla@example.net\r\nTo: {SUPPORT}\r\nSubject: long\r\n"
            "Message-ID: <long@example.net>\r\n\r\n"
        ).encode()
        + body
        + b"\r\n"
    )
    send(listener, raw)
    assert last_mail(runtime).status == "stored"
    assert messages(runtime)[0].body == body.decode()


def test_garbage_and_broken_mime_get_250_and_are_kept(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    send(listener, b"\xff\xfe\x00garbage without any header\r\n")
    broken = (
        f"From: carla@example.net\r\nTo: {SUPPORT}\r\nSubject: broken\r\n"
        "Message-ID: <broken@example.net>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        "--never-closed\r\nContent-Type: text/plain; charset=no-such-charset\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n"
        "--never-closed\r\nContent-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment; filename*=bogus''%ZZ%\r\n\r\n\x00\x01"
    ).encode()
    send(listener, broken)
    send(listener, email())  # and the listener goes on
    garbage, broken_mail, normal = mails(runtime)
    assert garbage.status == "failed" and (garbage.reason or "").startswith("unparseable")
    assert broken_mail.status == "stored" and normal.status == "stored"
    assert b"never-closed" in broken_mail.raw


def test_a_mail_that_cannot_be_stored_gets_451_and_is_retried(
    runtime: Runtime,
    mail_ws: MailWorkspace,
    listener: MailListener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = listener_module.accept_mail

    def database_down(*args: object, **kwargs: object) -> InboundMail:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(listener_module, "accept_mail", database_down)
    msg = email()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(listener, msg)
    assert refused.value.smtp_code == 451
    assert b"could not be stored; try again later" in refused.value.smtp_error
    monkeypatch.setattr(listener_module, "accept_mail", real)
    send(listener, msg)  # the sending server's retry
    assert [m.status for m in mails(runtime)] == ["stored"]


def test_a_failing_recipient_lookup_is_a_temporary_error(
    runtime: Runtime,
    mail_ws: MailWorkspace,
    listener: MailListener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lookup_down(*args: object) -> None:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(listener_module, "find_support_address", lookup_down)
    with _client(listener) as client:
        client.mail("carla@example.net")
        code, reply = client.rcpt(SUPPORT)
    assert code == 451 and b"try again later" in reply


def test_too_many_recipients_are_refused(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener
) -> None:
    with _client(listener) as client:
        client.mail("carla@example.net")
        for _ in range(listener_module.MAX_RECIPIENTS):
            assert client.rcpt(SUPPORT)[0] == 250
        code, reply = client.rcpt(SUPPORT)
    assert code == 452 and b"Too many recipients" in reply


def test_the_port_must_be_a_port() -> None:
    with pytest.raises(ValueError, match="not a port number"):
        MailListener(None, 0)  # type: ignore[arg-type]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.one_of(
        st.binary(min_size=1, max_size=2000),
        st.builds(
            lambda head, body: head + b"\r\n\r\n" + body,
            st.sampled_from(
                [
                    b"From: a@example.net\r\nTo: support@acme.example",
                    b"Content-Type: multipart/mixed; boundary=x\r\nTo: support@acme.example",
                    b"From: =?utf-8?B?////?= <a@b>\r\nSubject: =?x?Q?=ZZ?=",
                    b"Message-ID: <>\r\nReferences: <<<>>>\r\nIn-Reply-To: " + b"<a>" * 50,
                ]
            ),
            st.binary(max_size=1000),
        ),
    )
)
def test_any_bytes_are_stored_or_clearly_refused_and_the_listener_survives(
    runtime: Runtime, mail_ws: MailWorkspace, listener: MailListener, data: bytes
) -> None:
    before = count(runtime, InboundMail)
    try:
        send(listener, data)
    except smtplib.SMTPResponseException as exc:  # a clear refusal is fine, silence is not
        assert 500 <= exc.smtp_code < 600, exc
        assert count(runtime, InboundMail) == before
    else:
        assert count(runtime, InboundMail) == before + 1
        assert last_mail(runtime).status in ("stored", "duplicate", "ignored", "failed")
    with _client(listener) as client:  # still answering
        assert client.noop()[0] == 250
