"""/api/v1/macros and /api/v1/surveys: CRUD with strict schemas, checks with the line, render and
apply on behalf of an agent, tenancy; the survey list with its filters and the CSAT summary."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from frontdesk.conversations.actions import do_change_status
from frontdesk.conversations.events import BOT, Actor
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, Macro, Survey
from tests.factories import make_customer, make_message
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot

BODY = 'Hi {{ customer.first_name | default("there") }}, {{ agent.first_name }} here.'


def create(api: Api, **fields: Any) -> dict[str, Any]:
    response = api.post("/macros", {"name": "Hello", "body": BODY, **fields})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def macro_count(runtime: Runtime) -> int:
    with runtime.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Macro)) or 0)


def test_create_read_update_delete(api: Api, tenant_a: Tenant, runtime: Runtime) -> None:
    macro = create(
        api,
        variants={"de": "Hallo {{ customer.first_name }}!"},
        actions={"tags": ["Billing"], "status": "resolved", "team": tenant_a.team_id},
    )
    assert macro["owner_id"] is None and macro["uses"] == 0 and macro["language"] == "en"
    assert macro["actions"] == {"tags": ["billing"], "status": "resolved", "team": tenant_a.team_id}
    assert macro["variants"] == {"de": "Hallo {{ customer.first_name }}!"}
    assert api.get(f"/macros/{macro['id']}").json() == macro
    changed = api.patch(
        f"/macros/{macro['id']}", {"name": "Greeting", "actions": {"priority": "high"}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Greeting"
    assert changed.json()["actions"] == {"priority": "high"}  # replaced
    assert changed.json()["body"] == BODY  # left out: unchanged
    personal = create(api, name="Mine", owner_id=tenant_a.agent_id)
    assert personal["owner_id"] == tenant_a.agent_id
    shared = api.patch(f"/macros/{personal['id']}", {"owner_id": None})
    assert shared.json()["owner_id"] is None
    assert api.delete(f"/macros/{macro['id']}").status_code == 204
    assert_error(api.get(f"/macros/{macro['id']}"), 404, "not_found")
    assert macro_count(runtime) == 1


def test_bodies_are_checked_with_the_line(api: Api, runtime: Runtime) -> None:
    cases = [
        ({"body": "Hi\n{{ customer.frist_name }}"}, "unknown variable customer.frist_name", 2),
        ({"body": "{{ ''.__class__.__mro__ }}"}, "only variables", 1),
        ({"body": "{% for x in range(9) %}{% endfor %}"}, "{% for %}", 1),
        ({"body": "ok", "variants": {"th": "ok\n\n{{ customer.name"}}, "variants.th", 3),
    ]
    for fields, words, line in cases:
        error = assert_error(api.post("/macros", {"name": "x", **fields}), 422, "invalid_input")
        assert words in error["message"], error
        assert error["details"][0]["line"] == line
    assert macro_count(runtime) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "body": "ok", "workspace_id": 2},
        {"name": "x", "body": "ok", "uses": 99},
        {"name": "x", "body": "ok", "actions": {"close": True}},
        {"name": "x", "body": "ok", "actions": {"status": "snoozed"}},
        {"name": "x", "body": "ok", "actions": {"team": "NOT A SLUG"}},
        {"name": "x", "body": "ok", "actions": {"tags": "refund"}},
        {"name": "x", "body": "ok", "variants": {"EN-us-long!": "x"}},
        {"name": "x", "body": "x" * 10_001},
        {"name": "", "body": "ok"},
        {"name": "x", "body": "ok", "owner_id": "1"},
        {"name": "x", "body": "a\u0000b"},
        {"name": "x", "body": ""},
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    api: Api, runtime: Runtime, body: dict[str, Any]
) -> None:
    before = snapshot(runtime)
    assert_error(api.post("/macros", body), 422, "invalid_input")
    assert snapshot(runtime) == before and macro_count(runtime) == 0


def test_update_mass_assignment_refused(api: Api, runtime: Runtime) -> None:
    macro = create(api)
    for body in ({"workspace_id": 9}, {"uses": 5}, {"id": 3}, {"name": None}):
        assert_error(api.patch(f"/macros/{macro['id']}", body), 422, "invalid_input")
    assert api.get(f"/macros/{macro['id']}").json() == macro


def test_another_tenants_macros_are_invisible(
    client: Any, runtime: Runtime, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    a, b = Api(client, tenant_a), Api(client, tenant_b)
    theirs = create(b, name="B only")
    assert_error(a.get(f"/macros/{theirs['id']}"), 404, "not_found")
    assert_error(a.patch(f"/macros/{theirs['id']}", {"name": "mine"}), 404, "not_found")
    assert_error(a.delete(f"/macros/{theirs['id']}"), 404, "not_found")
    assert_error(
        a.post(
            f"/macros/{theirs['id']}/apply",
            {"conversation_id": tenant_a.conversation_id, "agent_id": tenant_a.agent_id},
        ),
        404,
    )
    mine = create(a)
    # B's conversation, B's agent, B's team: as if they did not exist.
    assert_error(
        a.post(f"/macros/{mine['id']}/render", {"conversation_id": tenant_b.conversation_id}), 404
    )
    assert_error(
        a.post(
            f"/macros/{mine['id']}/apply",
            {"conversation_id": tenant_a.conversation_id, "agent_id": tenant_b.agent_id},
        ),
        404,
    )
    assert_error(a.post("/macros", {"name": "x", "body": "y", "owner_id": tenant_b.agent_id}), 404)
    assert_error(
        a.post("/macros", {"name": "x", "body": "y", "actions": {"team": tenant_b.team_id}}), 404
    )
    assert [m["id"] for m in a.get("/macros").json()["data"]] == [mine["id"]]
    with runtime.db.read() as s:
        stored = s.get(Macro, theirs["id"])
        assert stored is not None and stored.name == "B only" and stored.uses == 0


def test_list_filters_and_pagination(api: Api, tenant_a: Tenant) -> None:
    shared = [create(api, name=f"Shared {i}")["id"] for i in range(3)]
    mine = [create(api, name=f"Mine {i}", owner_id=tenant_a.agent_id)["id"] for i in range(2)]
    theirs = create(api, name="Admin's", owner_id=tenant_a.admin_id)["id"]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/macros", params=params).json()
        seen += [m["id"] for m in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted([*shared, *mine, theirs])
    ids = lambda **p: [m["id"] for m in api.get("/macros", params=p).json()["data"]]  # noqa: E731
    assert ids(scope="shared") == shared
    assert ids(scope="personal") == [*mine, theirs]
    assert ids(owner_id=tenant_a.agent_id) == mine
    assert ids(visible_to=tenant_a.agent_id) == [*shared, *mine]
    assert_error(api.get("/macros", params={"scope": "everything"}), 422)
    assert_error(api.get("/macros", params={"cursor": "forged.cursor"}), 422)
    assert_error(api.get("/macros", params={"sort": "name"}), 422)  # unknown filter
    found = api.get("/macros/search", params={"agent_id": tenant_a.admin_id, "q": "mine"}).json()
    assert found["data"] == []  # the agent's personal macros are theirs alone
    found = api.get("/macros/search", params={"agent_id": tenant_a.agent_id, "q": "mine 1"})
    assert [m["id"] for m in found.json()["data"]] == [mine[1]]


def test_render_and_apply_on_behalf_of_an_agent(
    api: Api, tenant_a: Tenant, runtime: Runtime
) -> None:
    with runtime.db.write() as s:
        conversation = s.get(Conversation, tenant_a.conversation_id)
        assert conversation is not None
        conversation.language = "de"
    macro = create(
        api,
        variants={"de": "Hallo {{ customer.first_name }}, {{ agent.first_name }} hier."},
        actions={"tags": ["invoice"], "status": "resolved", "team": tenant_a.team_id},
    )
    rendered = api.post(
        f"/macros/{macro['id']}/render",
        {"conversation_id": tenant_a.conversation_id, "agent_id": tenant_a.agent_id},
    )
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "macro_id": macro["id"],
        "body": "Hallo Acme, Acme hier.",
        "language": "de",
    }
    body = {
        "conversation_id": tenant_a.conversation_id,
        "agent_id": tenant_a.agent_id,
        "client_id": "macro-1",
    }
    applied = api.post(f"/macros/{macro['id']}/apply", body)
    assert applied.status_code == 201, applied.text
    data = applied.json()
    assert data["message"]["body"] == "Hallo Acme, Acme hier."
    assert data["message"]["author_id"] == tenant_a.agent_id
    assert data["conversation"]["status"] == "resolved"
    assert data["conversation"]["tags"] == ["invoice"]
    assert data["conversation"]["team_id"] == tenant_a.team_id
    assert data["changes"] == {
        "tags": ["invoice"],
        "team_id": tenant_a.team_id,
        "status": "resolved",
    }
    again = api.post(f"/macros/{macro['id']}/apply", body)  # a retry: nothing happens twice
    assert again.status_code == 200 and again.json()["message"]["id"] == data["message"]["id"]
    assert api.get(f"/macros/{macro['id']}").json()["uses"] == 1
    edited = api.post(
        f"/macros/{macro['id']}/apply",
        {
            "conversation_id": tenant_a.conversation_id,
            "agent_id": tenant_a.agent_id,
            "body": "My own words {{ 7*7 }}",
        },
    )
    assert (
        edited.status_code == 201 and edited.json()["message"]["body"] == "My own words {{ 7*7 }}"
    )
    with runtime.db.read() as s:
        (survey,) = s.scalars(select(Survey)).all()  # resolved again within minutes: one survey
        assert survey.resolved_by == "agent" and survey.agent_id == tenant_a.agent_id


def test_apply_refusals_change_nothing(api: Api, tenant_a: Tenant, runtime: Runtime) -> None:
    personal = create(api, name="Admin's", owner_id=tenant_a.admin_id)
    shared = create(api)
    before = snapshot(runtime)
    target = {"conversation_id": tenant_a.conversation_id, "agent_id": tenant_a.agent_id}
    assert_error(api.post(f"/macros/{personal['id']}/apply", target), 404)  # not theirs
    assert_error(api.post(f"/macros/{shared['id']}/apply", {**target, "body": ""}), 422)
    assert_error(api.post(f"/macros/{shared['id']}/apply", {**target, "extra": 1}), 422)
    assert_error(
        api.post(f"/macros/{shared['id']}/apply", {**target, "conversation_id": 10**9}), 404
    )
    assert_error(api.post("/macros/999999/apply", target), 404)
    assert snapshot(runtime) == before


# Surveys --------------------------------------------------------------------------------------


def _survey_data(runtime: Runtime, tenant: Tenant) -> list[int]:
    """Three resolutions: by the agent (rated 5), by the bot (rated 2), by the bot (unanswered)."""
    from frontdesk.automation.surveys import answer_survey
    from frontdesk.store.models import Workspace

    with runtime.db.write() as s:
        ws = s.get(Workspace, tenant.workspace_id)
        assert ws is not None
        cids = [tenant.conversation_id]
        for i in range(2):
            customer = make_customer(s, ws, name=f"C{i}", email=f"c{i}@x.test")
            cids.append(make_message(s, ws, customer, "hi").conversation_id)
    actors = [Actor("agent", tenant.agent_id), BOT, BOT]
    for cid, actor in zip(cids, actors, strict=True):
        with runtime.db.write() as s:
            conversation = s.get(Conversation, cid)
            assert conversation is not None
            do_change_status(s, conversation, "resolved", actor=actor)
    with runtime.db.write() as s:
        ids = list(s.scalars(select(Survey.id).order_by(Survey.id)))
        answer_survey(s, ids[0], 5, via="email")
        answer_survey(s, ids[1], 2, via="widget")
    return ids


def test_survey_list_filters(api: Api, tenant_a: Tenant, runtime: Runtime) -> None:
    agent_survey, bot_rated, bot_open = _survey_data(runtime, tenant_a)
    ids = lambda **p: [s["id"] for s in api.get("/surveys", params=p).json()["data"]]  # noqa: E731
    assert ids() == [bot_rated, agent_survey]  # answered ones, newest first
    assert ids(status="any") == [bot_open, bot_rated, agent_survey]
    assert ids(status="sent") == [bot_open]
    assert ids(resolved_by="bot") == [bot_rated]
    assert ids(resolved_by="agent") == [agent_survey]
    assert ids(rating=[1, 2]) == [bot_rated]
    assert ids(rating=5, agent_id=tenant_a.agent_id) == [agent_survey]
    first = api.get("/surveys", params={"status": "any", "limit": 2}).json()
    assert [s["id"] for s in first["data"]] == [bot_open, bot_rated]
    rest = api.get("/surveys", params={"status": "any", "limit": 2, "cursor": first["next_cursor"]})
    assert [s["id"] for s in rest.json()["data"]] == [agent_survey]
    assert rest.json()["next_cursor"] is None
    one = api.get("/surveys", params={"resolved_by": "agent"}).json()["data"][0]
    assert one["rating"] == 5 and one["agent_id"] == tenant_a.agent_id
    assert one["team_id"] is None and one["channel"] == "widget"
    for bad in ({"rating": 6}, {"resolved_by": "robot"}, {"status": "all"}, {"x": "1"}):
        assert_error(api.get("/surveys", params=bad), 422)
    summary = api.get("/surveys/summary").json()
    assert summary["agent"] == {
        "sent": 1,
        "answered": 1,
        "response_rate": 1.0,
        "average": 5.0,
        "csat": 1.0,
        "ratings": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1},
    }
    assert summary["bot"]["sent"] == 2 and summary["bot"]["answered"] == 1
    assert summary["bot"]["response_rate"] == 0.5 and summary["bot"]["csat"] == 0.0


def test_surveys_of_another_tenant_are_invisible(
    client: Any, runtime: Runtime, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    _survey_data(runtime, tenant_b)
    a = Api(client, tenant_a)
    assert a.get("/surveys", params={"status": "any"}).json()["data"] == []
    assert a.get("/surveys/summary").json()["bot"]["sent"] == 0
