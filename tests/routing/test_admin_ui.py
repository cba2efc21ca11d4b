"""The rules admin pages: admins only, CSRF, create/edit with clear errors, enable/disable,
reorder, delete, team assignment mode, and another workspace's rules are 404."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from frontdesk.routing.store import do_create_rule, list_rules
from frontdesk.runtime import Runtime
from frontdesk.store.models import Team
from tests.factories import make_team
from tests.web.agent.helpers import login_as, setup_workspace


def _form(csrf: str, name: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "name": name, "enabled": "on", "match": "any", **fields}


def _team(runtime: Runtime, workspace: Any, name: str = "Engineers") -> int:
    with runtime.db.write() as s:
        return make_team(s, workspace, name).id


def test_agents_cannot_see_or_change_rules(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.agent)
    assert client.get("/admin/rules").status_code == 403
    assert client.get("/admin/rules/new").status_code == 403
    response = client.post(
        "/admin/rules",
        data=_form(csrf, "x", **{"cond-0-field": "plan", "cond-0-op": "eq", "cond-0-value": "p"}),
    )
    assert response.status_code == 403
    with runtime.db.read() as session:
        assert list_rules(session, s.workspace.id) == []


def test_admin_creates_edits_orders_and_deletes_rules(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    team_id = _team(runtime, s.workspace)
    csrf = login_as(client, runtime, s.admin)
    assert "Routing rules" in client.get("/admin/agents").text
    assert client.get("/admin/rules/new").status_code == 200

    missing_csrf = client.post("/admin/rules", data={"name": "x"})
    assert missing_csrf.status_code == 403

    created = client.post(
        "/admin/rules",
        data=_form(
            csrf,
            "Developers",
            team=str(team_id),
            priority="high",
            tags="api, dev",
            **{
                "cond-0-field": "page_url",
                "cond-0-op": "prefix",
                "cond-0-value": "/developers/",
                "cond-1-field": "keywords",
                "cond-1-value": "python, API, webhook",
            },
        ),
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    second = client.post(
        "/admin/rules",
        data=_form(
            csrf,
            "Big spenders",
            priority="urgent",
            **{"cond-0-field": "spend", "cond-0-op": "gte", "cond-0-value": "1000"},
        ),
        follow_redirects=False,
    )
    assert second.status_code == 303
    with runtime.db.read() as session:
        rules = list_rules(session, s.workspace.id)
        first_id, second_id = rules[0].id, rules[1].id
        assert rules[0].match == "any"
        assert rules[0].conditions == [
            {"field": "page_url", "op": "prefix", "value": "/developers/"},
            {"field": "keywords", "op": "any", "value": ["python", "API", "webhook"]},
        ]
        assert rules[0].actions == {"team": team_id, "priority": "high", "tags": ["api", "dev"]}
        assert rules[1].conditions == [{"field": "spend", "op": "gte", "value": 1000}]

    page = client.get("/admin/rules").text
    assert page.index("Developers") < page.index("Big spenders")
    assert "Page URL starts with /developers/ or Message keywords" in page

    client.post(f"/admin/rules/{second_id}/move", data={"csrf_token": csrf, "direction": "up"})
    client.post(f"/admin/rules/{first_id}/toggle", data={"csrf_token": csrf})
    with runtime.db.read() as session:
        rules = list_rules(session, s.workspace.id)
        assert [r.id for r in rules] == [second_id, first_id]
        assert rules[1].enabled is False

    edit = client.get(f"/admin/rules/{first_id}")
    assert edit.status_code == 200 and 'value="python, API, webhook"' in edit.text
    saved = client.post(
        f"/admin/rules/{first_id}",
        data=_form(
            csrf,
            "Developers v2",
            team=str(team_id),
            **{"cond-0-field": "channel", "cond-0-op": "in", "cond-0-value": "email, web_form"},
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with runtime.db.read() as session:
        rule = list_rules(session, s.workspace.id)[1]
        assert rule.name == "Developers v2" and rule.enabled is True
        assert rule.conditions == [{"field": "channel", "op": "in", "value": ["email", "web_form"]}]
        assert rule.actions == {"team": team_id}

    client.post(f"/admin/rules/{second_id}/delete", data={"csrf_token": csrf})
    with runtime.db.read() as session:
        assert [r.id for r in list_rules(session, s.workspace.id)] == [first_id]


def test_a_bad_rule_is_shown_again_with_what_to_fix(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    response = client.post(
        "/admin/rules",
        data=_form(
            csrf,
            "Bad",
            priority="high",
            **{"cond-0-field": "plan", "cond-0-op": "gt", "cond-0-value": "pro"},
        ),
    )
    assert response.status_code == 422
    assert "conditions[0].op: for plan the operator is one of eq, neq, in, exists" in response.text
    assert 'value="Bad"' in response.text  # the form keeps what was typed
    no_action = client.post(
        "/admin/rules",
        data=_form(csrf, "Bad", **{"cond-0-field": "plan", "cond-0-op": "eq", "cond-0-value": "x"}),
    )
    assert no_action.status_code == 422 and "at least one action" in no_action.text
    with runtime.db.read() as session:
        assert list_rules(session, s.workspace.id) == []


def test_team_assignment_mode(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    team_id = _team(runtime, s.workspace)
    csrf = login_as(client, runtime, s.admin)
    assert "Round robin" in client.get("/admin/rules").text
    client.post(
        f"/admin/rules/team-assignment/{team_id}",
        data={"csrf_token": csrf, "assignment": "least_loaded"},
    )
    bad = client.post(
        f"/admin/rules/team-assignment/{team_id}",
        data={"csrf_token": csrf, "assignment": "random"},
    )
    assert bad.status_code == 422
    with runtime.db.read() as session:
        team = session.get(Team, team_id)
        assert team is not None and team.assignment == "least_loaded"


def test_other_workspaces_rules_are_404(client: TestClient, runtime: Runtime) -> None:
    mine = setup_workspace(runtime, "Mine")
    theirs = setup_workspace(runtime, "Theirs")
    their_team = _team(runtime, theirs.workspace)
    with runtime.db.write() as session:
        rule = do_create_rule(
            session,
            theirs.workspace.id,
            {
                "name": "Theirs",
                "conditions": [{"field": "plan", "op": "eq", "value": "pro"}],
                "actions": {"team": their_team},
            },
        )
        rule_id = rule.id
    csrf = login_as(client, runtime, mine.admin)
    assert client.get(f"/admin/rules/{rule_id}").status_code == 404
    for action in ("toggle", "delete"):
        assert (
            client.post(f"/admin/rules/{rule_id}/{action}", data={"csrf_token": csrf}).status_code
            == 404
        )
    moved = client.post(
        f"/admin/rules/{rule_id}/move", data={"csrf_token": csrf, "direction": "up"}
    )
    assert moved.status_code == 404
    saved = client.post(
        f"/admin/rules/{rule_id}",
        data=_form(
            csrf,
            "Mine now",
            priority="low",
            **{"cond-0-field": "plan", "cond-0-op": "eq", "cond-0-value": "x"},
        ),
    )
    assert saved.status_code == 404
    team_mode = client.post(
        f"/admin/rules/team-assignment/{their_team}",
        data={"csrf_token": csrf, "assignment": "manual"},
    )
    assert team_mode.status_code == 404
    with runtime.db.read() as session:
        [kept] = list_rules(session, theirs.workspace.id)
        assert kept.name == "Theirs" and kept.enabled
        team = session.get(Team, their_team)
        assert team is not None and team.assignment == "round_robin"
    assert "Theirs" not in client.get("/admin/rules").text
