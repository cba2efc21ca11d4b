"""The public web form (/form/SLUG): the ticket it creates, and every bad input it refuses."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from frontdesk.accounts.actions import update_workspace
from frontdesk.channels.webform import TokenRefused, check_token, issue_token
from frontdesk.config import Settings
from frontdesk.conversations.actions import do_send_agent_reply
from frontdesk.runtime import Runtime
from frontdesk.store.models import (
    Agent,
    Attachment,
    Conversation,
    Customer,
    Message,
    OutboundEmail,
    Workspace,
)
from tests.conftest import make_settings
from tests.factories import make_agent, make_customer, make_workspace

TOKEN = re.compile(r'name="token" value="([^"]+)"')
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
SHOP = "https://shop.example"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, rate_form_per_hour=1000)


@dataclass
class Site:
    workspace_id: int
    slug: str
    agent_id: int

    @property
    def url(self) -> str:
        return f"/form/{self.slug}"


@pytest.fixture
def site(runtime: Runtime) -> Site:
    with runtime.db.write() as session:
        workspace = make_workspace(session, "Northwind Bikes")
        update_workspace(session, workspace, allowed_origins=[SHOP, "http://localhost:8001"])
        agent = make_agent(session, workspace)
        return Site(workspace.id, workspace.slug, agent.id)


def token_of(page: str) -> str:
    found = TOKEN.search(page)
    assert found, "no token in the form"
    return found.group(1)


def fresh_token(client: TestClient, site: Site) -> str:
    page = client.get(site.url)
    assert page.status_code == 200
    return token_of(page.text)


def fields(**overrides: Any) -> dict[str, str]:
    values = {
        "name": "Ana Pérez",
        "email": "Ana.Perez@Customer.test",
        "subject": "My e-bike will not charge",
        "message": "Hello, the battery light blinks red and it does not charge. Order 1234.",
        "website": "",
    }
    values.update(overrides)
    return values


def post(
    client: TestClient,
    site: Site,
    data: dict[str, str],
    *,
    token: str | None = None,
    file: tuple[str, bytes, str] | None = None,
    url: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    body = dict(data)
    body.setdefault("token", token if token is not None else fresh_token(client, site))
    files = {"attachment": file} if file else {"attachment": ("", b"", "application/octet-stream")}
    return client.post(url or site.url, data=body, files=files, headers=headers or {})


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.read() as session:
        return {
            "customers": session.scalar(select(func.count()).select_from(Customer)) or 0,
            "conversations": session.scalar(select(func.count()).select_from(Conversation)) or 0,
            "messages": session.scalar(select(func.count()).select_from(Message)) or 0,
            "attachments": session.scalar(select(func.count()).select_from(Attachment)) or 0,
        }


NOTHING = {"customers": 0, "conversations": 0, "messages": 0, "attachments": 0}


def test_the_form_page_can_be_framed_by_the_allowed_origins_only(
    client: TestClient, site: Site
) -> None:
    page = client.get(site.url)
    assert page.status_code == 200
    for name in ("name", "email", "subject", "message", "attachment", "website", "token"):
        assert f'name="{name}"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    csp = page.headers["content-security-policy"]
    ancestors = csp.split("frame-ancestors ", 1)[1].split(";")[0].split()
    assert sorted(ancestors) == sorted(["'self'", SHOP, "http://localhost:8001"])
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert "x-frame-options" not in page.headers
    assert page.headers["cache-control"] == "no-store"
    css = client.get("/form/_static/form.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_unknown_workspace(client: TestClient) -> None:
    for path in ("/form/no-such-workspace", "/form/bad%20slug%3Cx%3E"):
        page = client.get(path)
        assert page.status_code == 404
        assert "This contact form does not exist." in page.text
        assert page.headers["x-frame-options"] == "DENY"
    posted = client.post("/form/no-such-workspace", data=fields())
    assert posted.status_code == 404


@pytest.mark.parametrize(
    ("query", "accept", "label", "lang"),
    [
        ("", "", "Your name", "en"),
        ("?lang=de", "th", "Ihr Name", "de"),
        ("", "th-TH,th;q=0.9,en;q=0.5", "ชื่อของคุณ", "th"),
        ("", "el", "Το όνομά σας", "el"),
        ("", "zh-CN", "您的姓名", "zh"),
        ("?lang=id", "", "Nama Anda", "id"),
        ("?lang=es-MX", "", "Su nombre", "es"),
        ("?lang=xx", "fr, en;q=0.1", "Your name", "en"),
    ],
)
def test_page_language(
    client: TestClient, site: Site, query: str, accept: str, label: str, lang: str
) -> None:
    page = client.get(site.url + query, headers={"Accept-Language": accept})
    assert label in page.text
    assert f'<html lang="{lang}">' in page.text


def test_a_ticket_with_an_attachment(client: TestClient, runtime: Runtime, site: Site) -> None:
    answer = post(client, site, fields(), file=("../quote\u200b.pdf", PDF, "text/html"))
    assert answer.status_code == 200, answer.text
    assert "We&#39;ve got your message; we&#39;ll reply to ana.perez@customer.test." in answer.text
    assert SHOP in answer.headers["content-security-policy"].split("frame-ancestors")[1]

    with runtime.db.read() as session:
        customer = session.scalars(select(Customer)).one()
        assert (customer.email, customer.name) == ("ana.perez@customer.test", "Ana Pérez")
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.workspace_id == site.workspace_id
        assert conversation.channel == "web_form"
        assert conversation.subject == "My e-bike will not charge"
        assert conversation.reply_by_email is True
        assert conversation.customer_id == customer.id
        message = session.scalars(select(Message).where(Message.author_type == "customer")).one()
        assert message.body == fields()["message"]
        assert message.meta["web_form"] == {"name": "Ana Pérez", "email": customer.email}
        attachment = session.scalars(select(Attachment)).one()
        assert attachment.message_id == message.id
        assert attachment.filename == "quote.pdf"
        assert attachment.content_type == "application/pdf"  # sniffed, not the declared text/html
        assert attachment.size == len(PDF)
        assert message.meta["attachments"][0]["id"] == attachment.id

    # the agent sees it and can download it; their reply goes out by email
    from tests.web.agent.helpers import login_as

    with runtime.db.read() as session:
        agent = session.get(Agent, site.agent_id)
        assert agent is not None
    login_as(client, runtime, agent)
    view = client.get(f"/inbox/c/{conversation.id}")
    assert f'href="/inbox/attachments/{attachment.id}"' in view.text and "quote.pdf" in view.text
    assert client.get(f"/inbox/attachments/{attachment.id}").content == PDF
    with runtime.db.write() as session:
        conv = session.get(Conversation, conversation.id)
        me = session.get(Agent, site.agent_id)
        assert conv is not None and me is not None
        do_send_agent_reply(session, conv, me, body="We will look at it.")
    with runtime.db.read() as session:
        emails = session.scalars(select(OutboundEmail)).all()
        assert [e.to_addr for e in emails] == ["ana.perez@customer.test"]


def test_an_existing_customer_is_found_by_email(
    client: TestClient, runtime: Runtime, site: Site
) -> None:
    with runtime.db.write() as session:
        workspace = session.get(Workspace, site.workspace_id)
        assert workspace is not None
        known = make_customer(session, workspace, email="ana.perez@customer.test", name=None)
        known_id = known.id
    assert post(client, site, fields()).status_code == 200
    assert post(client, site, fields(subject="Second question", name="Other")).status_code == 200
    with runtime.db.read() as session:
        customers = session.scalars(select(Customer)).all()
        assert [c.id for c in customers] == [known_id]
        assert customers[0].name == "Ana Pérez"  # filled in once, not overwritten
        conversations = session.scalars(select(Conversation)).all()
        assert len(conversations) == 2  # a new subject is a new ticket


def test_the_same_token_makes_one_ticket(client: TestClient, runtime: Runtime, site: Site) -> None:
    token = fresh_token(client, site)
    first = post(client, site, fields(), token=token)
    again = post(client, site, fields(message="A replayed post with other text"), token=token)
    assert first.status_code == again.status_code == 200
    assert "we&#39;ll reply to" in again.text
    assert counts(runtime)["messages"] == 1
    with runtime.db.read() as session:
        assert session.scalars(select(Message.body)).one() == fields()["message"]


def _errors(page: str) -> dict[str, str]:
    return {
        m.group(1): html.unescape(m.group(2))
        for m in re.finditer(r'<p class="wf-error" id="([a-z]+)-error">([^<]*)</p>', page)
    }


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"name": ""}, {"name": "Please fill in this field."}),
        ({"email": "  "}, {"email": "Please fill in this field."}),
        (
            {"subject": "", "message": " \n "},
            {
                "subject": "Please fill in this field.",
                "message": "Please fill in this field.",
            },
        ),
        (
            {"email": "ana@"},
            {"email": "Please enter a valid email address, like name@example.com."},
        ),
        (
            {"email": "ana at example.com"},
            {"email": "Please enter a valid email address, like name@example.com."},
        ),
        (
            {"email": "Ana <ana@example.com>"},
            {"email": "Please enter a valid email address, like name@example.com."},
        ),
        (
            {"email": "ana@localhost"},
            {"email": "Please enter a valid email address, like name@example.com."},
        ),
        (
            {"message": "x" * 10_001},
            {"message": "This is too long: 10001 characters, the limit is 10000."},
        ),
        ({"name": "n" * 201}, {"name": "This is too long: 201 characters, the limit is 200."}),
        (
            {"subject": "s" * 301},
            {"subject": "This is too long: 301 characters, the limit is 300."},
        ),
        ({"message": "nul\x00byte"}, {"message": "This contains characters that cannot be sent."}),
    ],
)
def test_bad_fields_are_explained_inline_and_nothing_is_stored(
    client: TestClient,
    runtime: Runtime,
    site: Site,
    overrides: dict[str, str],
    expected: dict[str, str],
) -> None:
    data = fields(**overrides)
    answer = post(client, site, data)
    assert answer.status_code == 422
    assert "Please check the fields marked below." in answer.text
    assert _errors(answer.text) == expected
    # the typed values are kept (escaped) and a fresh token comes with the page
    for name in ("name", "email", "subject"):
        if name not in expected:
            assert f'value="{html.escape(data[name])}"' in answer.text
    if "message" not in expected:
        assert html.escape(data["message"], quote=False) in answer.text
    assert token_of(answer.text)
    assert counts(runtime) == NOTHING


def test_typed_markup_is_kept_as_text(client: TestClient, runtime: Runtime, site: Site) -> None:
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    answer = post(client, site, fields(name=evil, email="bad"))
    assert answer.status_code == 422
    assert "<script>alert(1)" not in answer.text and "<img src=x" not in answer.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;' in answer.text
    assert counts(runtime) == NOTHING


def test_a_file_in_a_text_field(client: TestClient, runtime: Runtime, site: Site) -> None:
    body = fields()
    del body["subject"]
    body["token"] = fresh_token(client, site)
    answer = client.post(site.url, data=body, files={"subject": ("s.txt", b"file", "text/plain")})
    assert answer.status_code == 422
    assert _errors(answer.text)["subject"] == "This contains characters that cannot be sent."
    assert counts(runtime) == NOTHING


def test_an_oversized_or_empty_attachment(client: TestClient, runtime: Runtime, site: Site) -> None:
    runtime.settings.attachment_max_bytes = 2000
    big = post(
        client, site, fields(), file=("big.zip", b"PK\x03\x04" + b"x" * 2000, "application/zip")
    )
    assert big.status_code == 422
    assert _errors(big.text) == {
        "attachment": "The file is too large (2004 bytes); it can be at most 2000 bytes. "
        "Choose a smaller file, or send the form without it."
    }
    assert 'value="Ana Pérez"' in big.text and fields()["message"] in big.text
    empty = post(client, site, fields(), file=("empty.txt", b"", "text/plain"))
    assert empty.status_code == 422
    assert "The file is empty." in _errors(empty.text)["attachment"]
    # another field wrong while a file was chosen: say the file must be chosen again
    other = post(client, site, fields(email="nope"), file=("a.pdf", PDF, "application/pdf"))
    assert _errors(other.text)["attachment"] == "For your safety, choose the file again."
    assert counts(runtime) == NOTHING


def test_a_huge_body_is_refused_before_it_is_read(
    client: TestClient, runtime: Runtime, site: Site
) -> None:
    runtime.settings.attachment_max_bytes = 1000
    huge = b"x" * (2 * 1000 + 1_000_001)
    answer = post(client, site, fields(), file=("huge.bin", huge, "application/octet-stream"))
    assert answer.status_code == 413
    assert "too large" in answer.text
    assert counts(runtime) == NOTHING


def test_a_body_without_content_length_is_refused(
    client: TestClient, runtime: Runtime, site: Site
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"name=Ana&email=a%40b.test"

    answer = client.post(
        site.url,
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 411
    assert counts(runtime) == NOTHING


def test_an_unreadable_body(client: TestClient, runtime: Runtime, site: Site) -> None:
    answer = client.post(
        site.url,
        content=b'--XYZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nAna\r\n--XY',
        headers={"Content-Type": "multipart/form-data; boundary=XYZ"},
    )
    assert answer.status_code == 400
    assert counts(runtime) == NOTHING
    two_files = client.post(
        site.url,
        data={**fields(), "token": fresh_token(client, site)},
        files=[
            ("attachment", ("a.txt", b"a", "text/plain")),
            ("other", ("b.txt", b"b", "text/plain")),
        ],
    )
    assert two_files.status_code == 400
    assert "could not be read" in two_files.text
    assert counts(runtime) == NOTHING


def test_the_honeypot(
    client: TestClient, runtime: Runtime, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="frontdesk.web.webform.router"):
        answer = post(
            client,
            site,
            fields(website="http://spam.example"),
            file=("a.pdf", PDF, "application/pdf"),
        )
    assert answer.status_code == 200
    assert "we&#39;ll reply to" in answer.text  # the bot cannot tell
    assert counts(runtime) == NOTHING
    assert any(
        "honeypot" in r.getMessage() and "nothing stored" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize("kind", ["missing", "forged", "other_workspace", "expired"])
def test_tokens(
    client: TestClient, runtime: Runtime, site: Site, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = runtime.settings
    if kind == "missing":
        token = ""
    elif kind == "forged":
        token = fresh_token(client, site)[:-3] + "abc"
    elif kind == "other_workspace":
        token = issue_token(settings, site.workspace_id + 1000)
    else:
        real = TimestampSigner.get_timestamp
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 86_401)
        token = issue_token(settings, site.workspace_id)
        monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    answer = post(client, site, fields(), token=token)
    assert answer.status_code == 400
    assert "This form was open for too long or could not be verified." in answer.text
    assert 'value="Ana Pérez"' in answer.text
    assert token_of(answer.text) != token  # a fresh one: sending again works
    assert counts(runtime) == NOTHING
    assert post(client, site, fields(), token=token_of(answer.text)).status_code == 200


def test_check_token_reasons(runtime: Runtime) -> None:
    settings = runtime.settings
    token = issue_token(settings, 7)
    assert len(check_token(settings, 7, token).nonce) == 32
    for value, reason in (
        (None, "missing"),
        ("x" * 600, "missing"),
        (token + "x", "forged"),
        (issue_token(settings, 8), "another workspace"),
    ):
        with pytest.raises(TokenRefused) as caught:
            check_token(settings, 7, value)
        assert reason in caught.value.reason
    with pytest.raises(TokenRefused) as old:
        check_token(settings, 7, token, max_age=-1)
    assert old.value.expired


@pytest.mark.usefixtures("one_rate_window")
def test_the_rate_limit(client: TestClient, runtime: Runtime, site: Site) -> None:
    runtime.settings.rate_form_per_hour = 2
    assert post(client, site, fields()).status_code == 200
    assert post(client, site, fields(subject="second")).status_code == 200
    limited = post(client, site, fields(subject="third"), headers={"Accept-Language": "de"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Zu viele Nachrichten" in limited.text
    assert counts(runtime)["conversations"] == 2


@pytest.mark.parametrize(
    ("lang", "thanks"),
    [
        ("es", "Hemos recibido su mensaje; le responderemos a ana.perez@customer.test."),
        ("th", "เราได้รับข้อความของคุณแล้ว เราจะตอบกลับไปที่ ana.perez@customer.test"),
        ("zh", "我们已收到您的留言，将回复至 ana.perez@customer.test。"),
    ],
)
def test_localised_thank_you(client: TestClient, site: Site, lang: str, thanks: str) -> None:
    token = token_of(client.get(f"{site.url}?lang={lang}").text)
    answer = post(client, site, fields(), token=token, url=f"{site.url}?lang={lang}")
    assert answer.status_code == 200
    assert thanks in html.unescape(answer.text)


def test_errors_are_localised(client: TestClient, site: Site) -> None:
    answer = post(client, site, fields(email="x"), url=f"{site.url}?lang=de")
    assert _errors(answer.text)["email"].startswith("Bitte geben Sie eine gültige E-Mail-Adresse")


def test_a_storage_failure_keeps_what_was_typed(
    client: TestClient, runtime: Runtime, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    import frontdesk.web.webform.router as router

    def broken(*args: object) -> None:
        raise RuntimeError("the database is down")

    monkeypatch.setattr(router, "submit_web_form", broken)
    answer = post(client, site, fields())
    assert answer.status_code == 503
    assert "We could not send your message just now." in answer.text
    assert 'value="Ana Pérez"' in answer.text and fields()["message"] in answer.text


def test_past_the_attachment_quota_the_ticket_arrives_without_its_file(
    client: TestClient, runtime: Runtime, site: Site
) -> None:
    runtime.settings.attachment_quota_bytes = len(PDF) + 10
    first = post(client, site, fields(), file=("one.pdf", PDF, "application/pdf"))
    assert first.status_code == 200 and "could not keep" not in first.text
    second = post(client, site, fields(), file=("two.pdf", PDF, "application/pdf"))
    assert second.status_code == 200, second.text
    assert "We&#39;ve got your message, but not your file" in second.text
    with runtime.db.read() as session:
        assert session.query(Attachment).count() == 1
        latest = session.scalars(
            select(Message).where(Message.author_type == "customer").order_by(Message.id.desc())
        ).first()
        assert latest is not None and latest.body == fields()["message"]  # the ticket is there
        (note,) = latest.meta["web_form"]["dropped"]
        assert "'two.pdf' was not kept: this workspace's attachment storage is full" in note
        agent = session.get(Agent, site.agent_id)
        assert agent is not None
    from tests.web.agent.helpers import login_as

    login_as(client, runtime, agent)
    view = client.get(f"/inbox/c/{latest.conversation_id}")
    assert 'class="msg-dropped"' in view.text
    assert "two.pdf&#39; was not kept: this workspace&#39;s attachment storage is full" in view.text
