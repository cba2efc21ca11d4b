"""`frontdesk mail failed | reprocess | poll`, and `serve`/`demo --smtp-port`, run as a user
would (CliRunner, a SQLite data folder)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from frontdesk import cli
from frontdesk.channels.email.ingest import accept_mail
from frontdesk.channels.email.support import create_support_address
from frontdesk.cli import app
from frontdesk.config import get_settings
from frontdesk.runtime import Runtime, install
from frontdesk.store.models import InboundMail, Message, Workspace
from tests.channels.email.conftest import email
from tests.channels.email.test_imap import Dovecot, dovecot  # noqa: F401 (the fixture)
from tests.factories import make_workspace
from tests.mailserver import free_port

runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", "")
    monkeypatch.setenv("FRONTDESK_REDIS_URL", "")
    monkeypatch.setenv("FRONTDESK_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("FRONTDESK_KNOWLEDGE_MODELS", "hashing")
    monkeypatch.setenv("FRONTDESK_IMAP_URL", "")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def rt(data_dir: Path) -> Iterator[Runtime]:
    """The same database the commands use, to set things up and look at the outcome."""
    runtime = Runtime.build(get_settings())
    runtime.jobs.huey.immediate = True
    install(runtime)
    with runtime.db.write() as session:
        make_workspace(session, "Acme", slug="acme")
    yield runtime
    runtime.close()


def _workspace_id(runtime: Runtime) -> int:
    with runtime.db.read() as session:
        found = session.scalar(select(Workspace.id).where(Workspace.slug == "acme"))
        assert found is not None
        return found


def test_failed_mail_is_listed_and_reprocessed(rt: Runtime) -> None:
    mail = accept_mail(
        rt.db,
        source="imap",
        envelope_from="carla@example.net",
        envelope_to=[],
        raw=email(to="help@acme.example", subject="Where is my order?").as_bytes(),
    )
    listed = runner.invoke(app, ["mail", "failed"])
    assert listed.exit_code == 0, listed.output
    out = _flat(listed.output)
    assert str(mail.id) in out and "carla@example.net" in out and "Where is my order?" in out
    assert "no support address among the recipients" in out
    assert "frontdesk mail reprocess ID" in out

    still = runner.invoke(app, ["mail", "reprocess", str(mail.id)])
    assert still.exit_code == 2
    assert f"inbound mail {mail.id} failed again: no support address" in _flat(still.output)

    with rt.db.write() as session:
        create_support_address(session, _workspace_id(rt), "help@acme.example")
    done = runner.invoke(app, ["mail", "reprocess", str(mail.id)])
    assert done.exit_code == 0, done.output
    assert f"Inbound mail {mail.id}: stored, message" in _flat(done.output)
    with rt.db.read() as session:
        row = session.get(InboundMail, mail.id)
        assert row is not None and row.status == "stored" and row.message_id is not None
        assert session.get(Message, row.message_id) is not None

    empty = runner.invoke(app, ["mail", "failed"])
    assert empty.exit_code == 0 and "No failed inbound mail." in empty.output


def test_reprocess_refuses_what_it_cannot_do(rt: Runtime) -> None:
    missing = runner.invoke(app, ["mail", "reprocess", "999"])
    assert missing.exit_code == 2 and "Inbound mail 999 was not found." in _flat(missing.output)
    with rt.db.write() as session:
        create_support_address(session, _workspace_id(rt), "help@acme.example")
    mail = accept_mail(
        rt.db,
        source="smtp",
        envelope_from="",
        envelope_to=["help@acme.example"],
        raw=email(to="help@acme.example").as_bytes(),
    )
    stored = runner.invoke(app, ["mail", "reprocess", str(mail.id)])
    assert stored.exit_code == 2
    assert "is stored; only failed mail is reprocessed" in _flat(stored.output)


def test_failed_can_be_limited_to_a_workspace(rt: Runtime) -> None:
    accept_mail(rt.db, source="smtp", envelope_from="", envelope_to=[], raw=b"garbage")
    with rt.db.write() as session:
        make_workspace(session, "Other", slug="other")
    only = runner.invoke(app, ["mail", "failed", "--workspace", "other"])
    assert only.exit_code == 0 and "No failed inbound mail." in only.output
    unknown = runner.invoke(app, ["mail", "failed", "--workspace", "nope"])
    assert unknown.exit_code == 2 and "not found" in unknown.output


def test_poll_fetches_and_processes_the_mailbox(rt: Runtime, dovecot: Dovecot) -> None:  # noqa: F811
    with rt.db.write() as session:
        create_support_address(session, _workspace_id(rt), "support@acme.example")
    user, password = dovecot.new_mailbox()
    dovecot.append(user, password, email().as_bytes())
    result = runner.invoke(app, ["mail", "poll", "--url", dovecot.url(user, password)])
    assert result.exit_code == 0, result.output
    assert "1 unseen, 1 accepted" in _flat(result.output)
    with rt.db.read() as session:
        [row] = session.scalars(select(InboundMail))
        assert (row.source, row.status) == ("imap", "stored")
    assert dovecot.unseen(user, password) == 0

    nothing = runner.invoke(app, ["mail", "poll"])
    assert nothing.exit_code == 2 and "set FRONTDESK_IMAP_URL" in _flat(nothing.output)
    refused = runner.invoke(app, ["mail", "poll", "--url", f"imap://u:p@127.0.0.1:{free_port()}"])
    assert refused.exit_code == 2 and "cannot connect" in _flat(refused.output)
    bad = runner.invoke(app, ["mail", "poll", "--url", "http://x"])
    assert bad.exit_code == 2 and "must start with imap://" in _flat(bad.output)


def _fake_server(sent: list[dict[str, Any]], to: str) -> Any:
    """Stands in for uvicorn: while 'serving', a mail server sends one email to the
    listener; then the server 'shuts down'."""

    def run(runtime: Runtime, host: str, port: int, listener: Any = None) -> None:
        install(runtime)
        runtime.jobs.huey.immediate = True
        assert listener is not None and listener.running
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
            refused = client.sendmail("carla@example.net", [to], email(to=to).as_bytes())
        with runtime.db.read() as session:
            statuses = list(session.scalars(select(InboundMail.status)))
        listener.stop()
        sent.append({"refused": refused, "statuses": statuses})

    return run


def test_serve_with_smtp_port_receives_mail(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    with rt.db.write() as session:
        create_support_address(session, _workspace_id(rt), "support@acme.example")
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "_run_server", _fake_server(sent, "support@acme.example"))
    port = free_port()
    result = runner.invoke(app, ["serve", "--smtp-port", str(port)])
    assert result.exit_code == 0, result.output
    assert f"SMTP listener on 127.0.0.1:{port}" in result.output
    assert sent == [{"refused": {}, "statuses": ["stored"]}]


def test_serve_refuses_a_busy_smtp_port(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setattr(cli, "_run_server", lambda *a, **k: pytest.fail("must not serve"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["serve", "--smtp-port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen for SMTP on 127.0.0.1:{port}" in _flat(result.output)
    assert runner.invoke(app, ["serve", "--smtp-port", "0"]).exit_code == 2


def test_demo_prints_its_support_address_and_receives_mail(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import frontdesk.demo as demo

    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "_run_server", _fake_server(sent, demo.SUPPORT_ADDRESS))
    monkeypatch.setattr(demo, "start_demo_site", lambda *a, **k: None)
    monkeypatch.setattr(demo, "warm_knowledge_index", lambda *a, **k: None)
    result = runner.invoke(app, ["demo", "--smtp-port", str(free_port())])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert f"Support email: {demo.SUPPORT_ADDRESS}" in lines
    assert sent and sent[0]["refused"] == {} and sent[0]["statuses"][-1] == "stored"

    monkeypatch.setattr(cli, "_run_server", lambda *a, **k: None)
    plain = runner.invoke(app, ["demo"])  # without --smtp-port: no listener, no address line
    assert plain.exit_code == 0, plain.output
    assert "Support email:" not in plain.output
