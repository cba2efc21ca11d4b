"""POST /widget/v1/{slug}/session: anonymous visitors, verified users, their merge, attributes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.accounts.actions import update_agent
from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, ConversationEvent, Customer
from tests.web.widget.site import bearer, counts, make_site, post, start


def test_anonymous_visitor_gets_a_token_and_keeps_their_conversation(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    first = start(client, site)
    assert first["visitor_token"].startswith("v_")
    assert first["customer"]["verified"] is False
    assert first["conversation"] is None and first["messages"] == []
    sent = post(client, site, first, "Where is my order?")
    assert sent.status_code == 200, sent.text

    # The next page load, with the visitor token from localStorage.
    again = start(client, site, visitor_token=first["visitor_token"])
    assert again["customer"]["id"] == first["customer"]["id"]
    assert again["visitor_token"] == first["visitor_token"]
    assert again["conversation"]["id"] == sent.json()["conversation"]["id"]
    assert [m["body"] for m in again["messages"]] == ["Where is my order?"]
    assert again["messages"][0]["author_type"] == "customer"
    assert "author_id" not in again["messages"][0]


def test_unknown_visitor_token_gets_a_new_visitor(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    data = start(client, site, visitor_token="v_made-up")
    assert data["visitor_token"] != "v_made-up"
    assert counts(runtime)["customers"] == 1


def test_verified_user_is_identified_by_user_id_and_hash(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    data = start(client, site, user_id="u-42", user_hash=site.sign("u-42"), name="Mia")
    assert data["customer"]["verified"] is True and data["customer"]["name"] == "Mia"
    again = start(client, site, user_id="u-42", user_hash=site.sign("u-42").upper())
    assert again["customer"]["id"] == data["customer"]["id"]
    with runtime.db.read() as s:
        customer = s.get(Customer, data["customer"]["id"])
        assert customer is not None and customer.external_id == "u-42"


def test_wrong_or_missing_hash_is_refused_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    anonymous = start(client, site)
    post(client, site, anonymous, "hello")
    before = counts(runtime)
    for body in (
        {"user_id": "u-1", "user_hash": site.sign("u-2")},  # someone else's hash
        {"user_id": "u-1", "user_hash": "0" * 64},
        {"user_id": "u-1"},
        {"user_id": "u-1", "user_hash": ""},
    ):
        body["visitor_token"] = anonymous["visitor_token"]
        response = client.post(f"{site.api}/session", json=body)
        assert response.status_code == 401, body
        assert response.json()["error"]["code"] == "unauthorized"
        assert "user_hash" in response.json()["error"]["message"]
    assert counts(runtime) == before
    # The anonymous visitor was not merged into anyone.
    assert (
        start(client, site, visitor_token=anonymous["visitor_token"])["customer"]["id"]
        == (anonymous["customer"]["id"])
    )


def test_hash_without_user_id_is_refused(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    response = client.post(f"{site.api}/session", json={"user_hash": site.sign("x")})
    assert response.status_code == 422
    assert counts(runtime)["customers"] == 0


def test_workspace_requiring_identity_refuses_anonymous_visitors(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime, require_identity=True)
    response = client.post(f"{site.api}/session", json={})
    assert response.status_code == 401
    assert "signed-in" in response.json()["error"]["message"]
    assert counts(runtime)["customers"] == 0
    assert start(client, site, user_id="u-9", user_hash=site.sign("u-9"))["customer"]["verified"]


def test_anonymous_history_joins_the_verified_user(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    anonymous = start(client, site)
    first = post(client, site, anonymous, "I am not logged in yet").json()
    # Same browser, after logging in to the company's site.
    verified = start(
        client,
        site,
        visitor_token=anonymous["visitor_token"],
        user_id="u-7",
        user_hash=site.sign("u-7"),
    )
    assert verified["customer"]["id"] != anonymous["customer"]["id"]
    assert verified["conversation"]["id"] == first["conversation"]["id"]
    assert [m["body"] for m in verified["messages"]] == ["I am not logged in yet"]
    second = post(client, site, verified, "Now I am", conversation_id=first["conversation"]["id"])
    assert second.status_code == 200
    assert second.json()["conversation"]["id"] == first["conversation"]["id"]
    # The anonymous profile is gone: its old session token no longer works.
    stale = post(client, site, anonymous, "still there?")
    assert stale.status_code == 401
    assert counts(runtime)["customers"] == 1


def test_attributes_are_typed_and_set_for_verified_users(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    attributes = {
        "plan": "pro",
        "signup_date": "2024-05-31T10:00:00Z",
        "spend": 120.5,
        "trial": False,
        "vip": True,
        "products": ["cargo", "city"],
        "favourite_colour": "teal",
    }
    data = start(
        client,
        site,
        user_id="u-1",
        user_hash=site.sign("u-1"),
        email="Mia@Example.com",
        attributes=attributes,
    )
    with runtime.db.read() as s:
        customer = s.get(Customer, data["customer"]["id"])
        assert customer is not None
        assert customer.email == "mia@example.com"
        assert customer.attributes["signup_date"] == "2024-05-31"
        assert customer.attributes["vip"] is True and customer.attributes["spend"] == 120.5
        assert customer.attributes["favourite_colour"] == "teal"
        events = list(
            s.scalars(
                select(ConversationEvent.data).where(ConversationEvent.type == "customer_updated")
            )
        )
    assert [e["customer_id"] for e in events] == [customer.id]
    assert events[0]["changed"]["attributes"]["plan"] == "pro"


def test_badly_typed_attribute_is_refused_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    anonymous = start(client, site)
    post(client, site, anonymous, "hi")
    before = counts(runtime)
    for attributes in ({"vip": "yes"}, {"spend": "a lot"}, {"Bad Key": 1}, {"plan": {"x": 1}}):
        response = client.post(
            f"{site.api}/session",
            json={
                "visitor_token": anonymous["visitor_token"],
                "user_id": "u-3",
                "user_hash": site.sign("u-3"),
                "attributes": attributes,
            },
        )
        assert response.status_code == 422, attributes
        assert response.json()["error"]["code"] == "invalid_input"
    # Neither the verified customer nor the merge happened.
    assert counts(runtime) == before


def test_anonymous_visitors_cannot_set_attributes(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    response = client.post(f"{site.api}/session", json={"attributes": {"vip": True}})
    assert response.status_code == 403
    assert "verified" in response.json()["error"]["message"]
    assert counts(runtime)["customers"] == 0


def test_anonymous_visitor_may_give_name_and_email_but_stays_unverified(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    data = start(client, site, name="Jo", email="jo@example.com")
    assert data["customer"] == {
        "id": data["customer"]["id"],
        "name": "Jo",
        "email": "jo@example.com",
        "verified": False,
    }
    refused = client.post(f"{site.api}/session", json={"email": "not an email"})
    assert refused.status_code == 422
    assert counts(runtime)["customers"] == 1


def test_texts_follow_the_visitors_language(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime, name="Northwind", default_language="de")
    assert start(client, site, locale="th-TH")["texts"]["title"] == "แชทกับ Northwind"
    greek = start(client, site, locale="pt-BR", browser_locales=["el-GR", "en"])
    assert greek["language"] == "el"
    assert start(client, site, locale="zh-Hant-TW")["language"] == "zh"
    fallback = start(client, site, locale="pt-BR", browser_locales=["fr"])
    assert fallback["language"] == "de" and fallback["texts"]["send"] == "Senden"
    assert start(client, site)["limits"]["max_message_chars"] == runtime.settings.max_message_chars


def test_session_token_only_works_for_its_workspace(client: TestClient, runtime: Runtime) -> None:
    one = make_site(runtime, name="One")
    two = make_site(runtime, name="Two")
    session = start(client, one)
    response = client.get(f"{two.api}/conversations/1/messages", headers=bearer(session))
    assert response.status_code == 401
    forged = {"Authorization": "Bearer " + session["session_token"][:-3] + "abc"}
    assert client.get(f"{one.api}/conversations/1/messages", headers=forged).status_code == 401
    assert client.get(f"{one.api}/conversations/1/messages").status_code == 401


def test_profile_text_that_is_not_utf8_is_refused(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    for body in (
        '{"name": "Jo \\ud800"}',
        '{"user_id": "u-1", "user_hash": "x", "attributes": {"plan": "\\udfff"}}',
        '{"locale": "th", "unknown_field": 1}',
        '{"browser_locales": "en"}',
    ):
        response = client.post(
            f"{site.api}/session", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "invalid_input"
    assert counts(runtime)["customers"] == 0


def test_the_header_says_when_nobody_is_there_to_answer(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime, name="Northwind")
    online = start(client, site, locale="es-ES")["texts"]["subtitle"]
    assert online == "Solemos responder en pocos minutos."
    with runtime.db.write() as s:
        update_agent(s, s.get_one(Agent, site.agent_id), availability="away")
    away = start(client, site, locale="es-ES")["texts"]
    assert away["subtitle"] == away["subtitle_away"] != online
    assert "deja un mensaje" in away["subtitle"]
    # the texts a widget gets without a session promise nothing either way: the usual line
    texts = client.get(f"{site.api}/texts", params={"locale": "es-ES"}).json()["texts"]
    assert texts["subtitle"] == online
