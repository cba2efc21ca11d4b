"""CSAT surveys (F32): one per resolution by the bot or a person, with who resolved it; the
limits (answered recently, resolved again within minutes, no way to ask); single answers."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from frontdesk.automation import surveys
from frontdesk.automation.surveys import (
    AlreadyCommented,
    NotAnswered,
    SurveyLinkExpired,
    SurveyLinkInvalid,
    answer_survey,
    comment_survey,
    read_survey_token,
    survey_email,
    survey_token,
)
from frontdesk.config import Settings
from frontdesk.conversations.actions import do_change_status
from frontdesk.conversations.events import BOT, Actor, append_event
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.knowledge.store import do_save_article
from frontdesk.runtime import Runtime
from frontdesk.store.models import (
    Conversation,
    ConversationEvent,
    Message,
    OutboundEmail,
    Survey,
    Workspace,
    utcnow,
)
from tests.bot.test_respond import ARTICLES
from tests.factories import (
    make_agent,
    make_customer,
    make_message,
    make_team,
    make_workspace,
    send_chat,
)


@pytest.fixture
def ids(runtime: Runtime) -> dict[str, int]:
    with runtime.db.write() as s:
        ws = make_workspace(s, "Northwind")
        agent = make_agent(s, ws, name="Lena Fischer")
        team = make_team(s, ws, "Workshop", members=[agent])
        customer = make_customer(s, ws, name="Jonas Weber", email="jonas@example.com")
        chat = make_message(s, ws, customer, "My brakes squeak").conversation_id
        email = make_message(s, ws, customer, "Invoice please", channel="email").conversation_id
        for cid in (chat, email):
            conversation = s.get(Conversation, cid)
            assert conversation is not None
            conversation.team_id, conversation.assignee_id = team.id, agent.id
        return {
            "workspace": ws.id,
            "agent": agent.id,
            "team": team.id,
            "customer": customer.id,
            "chat": chat,
            "email": email,
        }


def resolve(runtime: Runtime, cid: int, actor: Actor) -> None:
    with runtime.db.write() as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        if actor.type == "bot":  # what the bot does when the customer says "yes, thanks"
            append_event(
                s,
                workspace_id=conversation.workspace_id,
                conversation_id=cid,
                type="bot_resolved",
                actor=BOT,
                data={"article_id": "x"},
            )
        do_change_status(s, conversation, "resolved", actor=actor)


def reopen(runtime: Runtime, cid: int) -> None:
    with runtime.db.write() as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        do_change_status(s, conversation, "open", actor=Actor("customer", conversation.customer_id))


def all_surveys(runtime: Runtime, cid: int | None = None) -> list[Survey]:
    with runtime.db.read() as s:
        query = select(Survey).order_by(Survey.id)
        if cid is not None:
            query = query.where(Survey.conversation_id == cid)
        return list(s.scalars(query))


def age(runtime: Runtime, survey_id: int, **delta: float) -> None:
    """Move a survey back in time (sent and, if answered, answered)."""
    with runtime.db.write() as s:
        survey = s.get(Survey, survey_id)
        assert survey is not None
        survey.sent_at -= timedelta(**delta)
        if survey.answered_at is not None:
            survey.answered_at -= timedelta(**delta)


def test_an_agents_resolution_of_a_chat_asks_in_the_widget(
    runtime: Runtime, ids: dict[str, int]
) -> None:
    resolve(runtime, ids["chat"], Actor("agent", ids["agent"]))
    (survey,) = all_surveys(runtime)
    with runtime.db.read() as s:
        conversation = s.get(Conversation, ids["chat"])
        assert conversation is not None and conversation.status == "resolved"
        event = s.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == ids["chat"])
            .where(ConversationEvent.type == "status_changed")
        ).one()
        assert s.scalar(select(func.count()).select_from(OutboundEmail)) == 0
    assert survey.channel == "widget" and survey.kind == "csat" and survey.status == "sent"
    assert (survey.resolved_by, survey.agent_id, survey.team_id) == (
        "agent",
        ids["agent"],
        ids["team"],
    )
    assert survey.resolution_event_id == event.id
    assert survey.after_seq == conversation.last_seq
    assert survey.customer_id == ids["customer"]


def test_a_bot_resolution_is_the_bots(runtime: Runtime, ids: dict[str, int]) -> None:
    resolve(runtime, ids["chat"], BOT)
    (survey,) = all_surveys(runtime)
    assert (survey.resolved_by, survey.agent_id, survey.team_id) == ("bot", None, ids["team"])


def test_the_bot_resolving_a_real_chat_asks_for_a_rating(runtime: Runtime, tmp_path: Path) -> None:
    runtime.knowledge = KnowledgeRegistry(cache_dir=tmp_path / "vectors")
    with runtime.db.write() as s:
        ws = make_workspace(s)
        for article in ARTICLES:
            do_save_article(s, ws.id, status="published", **article)
        customer = make_customer(s, ws)
        bot = {"workspace": ws.id, "customer": customer.id}
    cid = send_chat(runtime, bot, "How long does it take to charge the battery?")
    assert all_surveys(runtime) == []
    send_chat(runtime, bot, "Yes, thanks!", cid, intent="yes")
    (survey,) = all_surveys(runtime, cid)
    assert (survey.resolved_by, survey.agent_id, survey.channel) == ("bot", None, "widget")
    with runtime.db.read() as s:
        status_event = s.get(ConversationEvent, survey.resolution_event_id)
        assert status_event is not None and status_event.actor_type == "bot"
        assert status_event.data["reason"] == "bot_resolved"


def test_one_survey_per_resolution_and_none_when_resolved_again_within_minutes(
    runtime: Runtime, ids: dict[str, int]
) -> None:
    agent = Actor("agent", ids["agent"])
    resolve(runtime, ids["chat"], agent)
    reopen(runtime, ids["chat"])
    resolve(runtime, ids["chat"], agent)  # minutes later: the first survey is enough
    (first,) = all_surveys(runtime)
    age(runtime, first.id, minutes=61)
    reopen(runtime, ids["chat"])
    resolve(runtime, ids["chat"], BOT)  # an hour on: a new resolution, a new survey
    old, new = all_surveys(runtime)
    assert old.id == first.id and old.status == "expired"  # replaced: one card to answer
    assert new.status == "sent" and new.resolved_by == "bot"
    assert new.resolution_event_id != old.resolution_event_id
    # Resolved → resolved (a second status save) is no new resolution.
    with runtime.db.write() as s:
        conversation = s.get(Conversation, ids["chat"])
        assert conversation is not None
        do_change_status(s, conversation, "resolved", actor=agent)
    assert len(all_surveys(runtime)) == 2


def test_no_survey_for_a_customer_who_answered_one_recently(
    runtime: Runtime, ids: dict[str, int]
) -> None:
    resolve(runtime, ids["chat"], Actor("agent", ids["agent"]))
    (survey,) = all_surveys(runtime)
    with runtime.db.write() as s:
        answer_survey(s, survey.id, 4, via="widget")
    age(runtime, survey.id, days=6)
    resolve(runtime, ids["email"], Actor("agent", ids["agent"]))
    assert len(all_surveys(runtime)) == 1  # answered 6 days ago: not asked again
    age(runtime, survey.id, days=2)  # 8 days ago now
    reopen(runtime, ids["email"])
    resolve(runtime, ids["email"], Actor("agent", ids["agent"]))
    assert [s.conversation_id for s in all_surveys(runtime)] == [ids["chat"], ids["email"]]


def test_who_resolves_decides_and_some_resolutions_ask_nothing(
    runtime: Runtime, ids: dict[str, int]
) -> None:
    resolve(runtime, ids["chat"], Actor.system())  # an automatic close: nobody to rate
    assert all_surveys(runtime) == []
    reopen(runtime, ids["chat"])
    resolve(runtime, ids["chat"], Actor("api", 77))  # an integration: a person, the assignee
    (survey,) = all_surveys(runtime)
    assert (survey.resolved_by, survey.agent_id) == ("agent", ids["agent"])


def test_no_way_to_ask_means_no_survey(runtime: Runtime, ids: dict[str, int]) -> None:
    with runtime.db.write() as s:
        ws = s.get(Workspace, ids["workspace"])
        assert ws is not None
        no_email = make_customer(s, ws, name="Anonymous")
        ticket = make_message(s, ws, no_email, "Help", channel="web_form").conversation_id
        api = make_message(s, ws, no_email, "From our app", channel="api").conversation_id
        with_email = make_customer(s, ws, email="a@example.com")
        api_known = make_message(s, ws, with_email, "Hi", channel="api").conversation_id
    for cid in (ticket, api, api_known):
        resolve(runtime, cid, Actor("agent", ids["agent"]))
    assert all_surveys(runtime) == []


def test_surveys_can_be_turned_off(runtime: Runtime, ids: dict[str, int]) -> None:
    runtime.settings.csat_enabled = False
    resolve(runtime, ids["chat"], Actor("agent", ids["agent"]))
    assert all_surveys(runtime) == []


def test_a_failing_survey_never_undoes_the_resolution(
    runtime: Runtime, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(**_: Any) -> Any:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(surveys, "survey_email", broken)
    with caplog.at_level(logging.ERROR, logger="frontdesk.automation.surveys"):
        resolve(runtime, ids["email"], Actor("agent", ids["agent"]))
    with runtime.db.read() as s:
        conversation = s.get(Conversation, ids["email"])
        assert conversation is not None and conversation.status == "resolved"
        assert s.scalar(select(func.count()).select_from(OutboundEmail)) == 0
    assert all_surveys(runtime) == []  # the half-made survey went with its savepoint
    assert "the survey could not be sent" in caplog.text


def test_an_email_ticket_gets_the_survey_by_email(runtime: Runtime, ids: dict[str, int]) -> None:
    resolve(runtime, ids["email"], Actor("agent", ids["agent"]))
    (survey,) = all_surveys(runtime)
    assert survey.channel == "email"
    with runtime.db.read() as s:
        (mail,) = s.scalars(select(OutboundEmail)).all()
    assert mail.kind == "survey" and mail.to_addr == "jonas@example.com"
    assert mail.conversation_id == ids["email"]
    assert mail.reply_to.startswith(("support+c", "frontdesk+c"))  # a reply lands back in it
    assert mail.subject.startswith("How did we do?")
    settings = runtime.settings
    for rating in range(1, 6):
        assert f"{rating} – " in mail.body_text
    tokens = {
        line.rsplit("/survey/", 1)[1] for line in mail.body_text.splitlines() if "/survey/" in line
    }
    assert len(tokens) == 5
    token = next(iter(tokens)).rsplit("/", 1)[0]
    assert (
        read_survey_token(
            settings.resolved_secret_key(), token, max_age_days=settings.csat_link_days
        )
        == survey.id
    )
    assert mail.body_html is not None and mail.body_html.count("/survey/") == 5


def test_the_email_speaks_the_language_and_escapes_names() -> None:
    links = {r: f"https://support.example.com/survey/t/{r}" for r in range(1, 6)}
    mail = survey_email(
        language="de",
        customer_name='<img/src=x/onerror=alert(1)> "Jo"',
        workspace_name="Acme & <Co>",
        subject="Rechnung <b>fehlt</b>",
        links=links,
    )
    assert mail.subject == "Wie waren wir? (Rechnung <b>fehlt</b>)"  # a header: plain text
    assert (
        "Sehr zufrieden" in mail.text and "Ihr Anliegen bei Acme & <Co> wurde gelöst." in mail.text
    )
    assert "<img" not in mail.html and "Hallo &lt;img/src=x/onerror=alert(1)&gt;," in mail.html
    assert "Acme &amp; &lt;Co&gt;" in mail.html
    thai = survey_email(
        language="th", customer_name=None, workspace_name="Acme", subject=None, links=links
    )
    assert thai.text.startswith("สวัสดี ") and "พอใจมาก" in thai.html
    assert thai.subject == "เราให้บริการเป็นอย่างไรบ้าง"


def test_tokens_are_signed_and_expire(settings: Settings) -> None:
    secret = settings.resolved_secret_key()
    now = utcnow()
    token = survey_token(secret, 12, now=now)
    assert read_survey_token(secret, token, max_age_days=30, now=now + timedelta(days=29)) == 12
    with pytest.raises(SurveyLinkExpired):
        read_survey_token(secret, token, max_age_days=30, now=now + timedelta(days=31))
    _payload, stamp, signature = token.split(".")
    for forged in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        survey_token("another-secret", 12, now=now),
        survey_token(secret, 13, now=now).split(".")[0] + f".{stamp}.{signature}",
        "",
        "x" * 400,
        "not.a.token",
    ):
        with pytest.raises(SurveyLinkInvalid):
            read_survey_token(secret, forged, max_age_days=30, now=now)
    # Signed with another salt (another feature's tokens): refused.
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer(secret, salt="reset").dumps({"s": 12})
    with pytest.raises(SurveyLinkInvalid):
        read_survey_token(secret, other, max_age_days=30)


def test_an_answer_is_stored_once_with_who_resolved(runtime: Runtime, ids: dict[str, int]) -> None:
    resolve(runtime, ids["chat"], Actor("agent", ids["agent"]))
    (survey,) = all_surveys(runtime)
    with runtime.db.write() as s:
        with pytest.raises(InvalidInput):
            answer_survey(s, survey.id, 6, via="widget")
        with pytest.raises(InvalidInput):
            answer_survey(s, survey.id, True, via="widget")  # type: ignore[arg-type]
        with pytest.raises(NotAnswered):
            comment_survey(s, survey.id, "hm", via="widget")
        with pytest.raises(NotFound):
            answer_survey(s, survey.id, 5, via="widget", customer_id=ids["customer"] + 1)
        answer_survey(s, survey.id, 5, via="widget", customer_id=ids["customer"])
    with runtime.db.write() as s, pytest.raises(Conflict, match="answered already"):
        answer_survey(s, survey.id, 1, via="email")
    with runtime.db.write() as s:
        with pytest.raises(InvalidInput):
            comment_survey(s, survey.id, "   ", via="widget")
        comment_survey(s, survey.id, "Quick and kind <3", via="widget")
    with runtime.db.write() as s, pytest.raises(AlreadyCommented):
        comment_survey(s, survey.id, "again", via="widget")
    with runtime.db.read() as s:
        stored = s.get(Survey, survey.id)
        assert stored is not None
        assert (stored.status, stored.rating, stored.comment) == (
            "answered",
            5,
            "Quick and kind <3",
        )
        answered = s.scalars(
            select(ConversationEvent).where(ConversationEvent.type == "survey_answered")
        ).one()
        assert answered.data == {
            "survey_id": survey.id,
            "rating": 5,
            "resolved_by": "agent",
            "agent_id": ids["agent"],
            "team_id": ids["team"],
            "channel": "widget",
            "via": "widget",
        }
        assert answered.actor_type == "customer" and answered.actor_id == ids["customer"]
        lines = list(
            s.scalars(
                select(Message.body).where(
                    Message.conversation_id == ids["chat"], Message.author_type == "system"
                )
            )
        )
        assert lines == [
            "The customer rated the agent's resolution 5 out of 5.",
            "The customer's comment on the survey: Quick and kind <3",
        ]


def test_an_old_or_replaced_survey_cannot_be_answered(
    runtime: Runtime, ids: dict[str, int]
) -> None:
    resolve(runtime, ids["chat"], Actor("agent", ids["agent"]))
    (survey,) = all_surveys(runtime)
    age(runtime, survey.id, days=31)
    with runtime.db.write() as s, pytest.raises(SurveyLinkExpired):
        answer_survey(s, survey.id, 3, via="widget")
    with runtime.db.read() as s:
        stored = s.get(Survey, survey.id)
        assert stored is not None and stored.status == "sent" and stored.rating is None
