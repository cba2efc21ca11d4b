"""Admin pages: agents, teams, settings and API tokens; agents get 403; tenancy holds."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, ApiToken, Team, TeamMember, Workspace
from tests.web.agent.helpers import login_as, setup_workspace

PAGES = ("/admin/agents", "/admin/teams", "/admin/settings", "/admin/tokens")


def test_admin_pages_forbidden_for_agents(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.agent)
    for page in PAGES:
        assert client.get(page).status_code == 403
    assert client.post("/admin/tokens", data={"csrf_token": csrf, "name": "x"}).status_code == 403
    assert (
        client.post(
            f"/admin/agents/{s.agent.id}",
            data={"csrf_token": csrf, "action": "save", "role": "admin"},
        ).status_code
        == 403
    )
    with runtime.db.read() as session:
        agent = session.get(Agent, s.agent.id)
        assert agent is not None and agent.role == "agent"
        assert session.scalars(select(ApiToken)).all() == []


def test_admin_pages_render(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    login_as(client, runtime, s.admin)
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
    settings = client.get("/admin/settings").text
    assert f"data-workspace=&#34;{s.workspace.slug}&#34;" in settings
    assert "http://127.0.0.1/widget.js" in settings


def test_agent_management_and_last_admin(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)

    def post(agent_id: int, **data: str) -> int:
        return client.post(
            f"/admin/agents/{agent_id}", data={"csrf_token": csrf, **data}, follow_redirects=False
        ).status_code

    assert post(s.agent.id, action="save", role="admin", availability="away", capacity="3") == 303
    assert post(s.agent.id, action="save", role="agent", capacity="-1") == 422
    assert post(s.agent.id, action="save", role="agent") == 303
    assert post(s.admin.id, action="deactivate") == 409  # the last admin stays
    assert post(s.admin.id, action="save", role="agent") == 409
    assert post(s.agent.id, action="deactivate") == 303
    with runtime.db.read() as session:
        agent = session.get(Agent, s.agent.id)
        admin = session.get(Agent, s.admin.id)
        assert agent is not None and admin is not None
        assert agent.role == "agent" and agent.capacity == 3 and not agent.is_active
        assert admin.role == "admin" and admin.is_active
    bad = client.post(
        "/admin/agents/invite", data={"csrf_token": csrf, "email": "not-an-email", "name": "x"}
    )
    assert bad.status_code == 422


def test_teams_crud_and_tenancy(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    other = setup_workspace(runtime, "Other")
    csrf = login_as(client, runtime, s.admin)
    assert (
        client.post(
            "/admin/teams",
            data={"csrf_token": csrf, "name": "Billing", "description": "Money"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    with runtime.db.read() as session:
        team = session.scalar(select(Team).where(Team.workspace_id == s.workspace.id))
        assert team is not None
    ok = client.post(
        f"/admin/teams/{team.id}",
        data={
            "csrf_token": csrf,
            "name": "Billing EU",
            "description": "d",
            "member_ids": [str(s.agent.id), str(s.admin.id)],
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    stranger = client.post(
        f"/admin/teams/{team.id}",
        data={"csrf_token": csrf, "name": "X", "member_ids": [str(other.agent.id)]},
    )
    assert stranger.status_code == 404
    with runtime.db.write() as session:
        other_team = Team(workspace_id=other.workspace.id, slug="theirs", name="Theirs")
        session.add(other_team)
    assert (
        client.post(f"/admin/teams/{other_team.id}/delete", data={"csrf_token": csrf}).status_code
        == 404
    )
    with runtime.db.read() as session:
        members = set(
            session.scalars(select(TeamMember.agent_id).where(TeamMember.team_id == team.id))
        )
        assert members == {s.agent.id, s.admin.id}
        assert session.get(Team, team.id).name == "Billing EU"  # type: ignore[union-attr]
    assert (
        client.post(
            f"/admin/teams/{team.id}/delete", data={"csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    with runtime.db.read() as session:
        assert session.get(Team, team.id) is None
        assert session.get(Team, other_team.id) is not None


def test_settings_save_validate_and_rotate(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    saved = client.post(
        "/admin/settings",
        data={
            "csrf_token": csrf,
            "name": "Acme Inc",
            "allowed_origins": "https://shop.example.com/\nhttp://localhost:3000\n",
            "require_identity": "on",
            "default_language": "de",
            "identity_secret": "attacker-chosen",  # not a field of the form: ignored
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    bad = client.post(
        "/admin/settings",
        data={"csrf_token": csrf, "name": "Evil", "allowed_origins": "javascript:alert(1)"},
    )
    assert bad.status_code == 422
    with runtime.db.read() as session:
        workspace = session.get(Workspace, s.workspace.id)
        assert workspace is not None
        assert workspace.name == "Acme Inc" and workspace.require_identity
        assert workspace.allowed_origins == ["http://localhost:3000", "https://shop.example.com"]
        assert workspace.default_language == "de"
        secret = workspace.identity_secret
        assert secret != "attacker-chosen"
    client.post("/admin/settings/rotate-secret", data={"csrf_token": csrf})
    with runtime.db.read() as session:
        assert session.get(Workspace, s.workspace.id).identity_secret != secret  # type: ignore[union-attr]


def test_settings_turn_the_bot_off_and_set_the_quiet_time(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    page = client.get("/admin/settings").text
    assert 'name="bot_enabled" checked' in page and 'value="15"' in page  # the defaults
    form = {"csrf_token": csrf, "name": "Acme", "allowed_origins": "", "default_language": "en"}
    saved = client.post(
        "/admin/settings",
        data={**form, "keyword_suggestions_quiet_minutes": "45"},  # bot_enabled unchecked
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with runtime.db.read() as session:
        workspace = session.get(Workspace, s.workspace.id)
        assert workspace is not None
        assert not workspace.bot_enabled and workspace.keyword_suggestions_quiet_minutes == 45
    for bad in ("-1", "1441", "soon"):
        refused = client.post(
            "/admin/settings",
            data={**form, "bot_enabled": "on", "keyword_suggestions_quiet_minutes": bad},
        )
        assert refused.status_code == 422
        assert 'role="alert"' in refused.text and "minutes" in refused.text
    with runtime.db.read() as session:
        workspace = session.get(Workspace, s.workspace.id)
        assert workspace is not None  # nothing of a refused form was saved
        assert not workspace.bot_enabled and workspace.keyword_suggestions_quiet_minutes == 45


def test_api_token_shown_once_and_revoked(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    page = client.post("/admin/tokens", data={"csrf_token": csrf, "name": "CRM"})
    assert page.status_code == 200
    token = page.text.split('aria-label="New API token"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert token.startswith("fd_")
    assert token not in client.get("/admin/tokens").text
    api = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    with runtime.db.read() as session:
        row = session.scalar(select(ApiToken))
        assert row is not None
    client.post(f"/admin/tokens/{row.id}/revoke", data={"csrf_token": csrf})
    api = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


def test_refused_settings_keep_what_the_admin_typed(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    refused = client.post(
        "/admin/settings",
        data={
            "csrf_token": csrf,
            "name": "Northwind Bikes GmbH",
            "allowed_origins": "https://shop.example.com\nhttps://blog.example.com/path wrong",
            "default_language": "de",
            "keyword_suggestions_quiet_minutes": "30",
            "require_identity": "on",  # bot_enabled unchecked
        },
    )
    assert refused.status_code == 422
    page = refused.text
    assert 'role="alert"' in page and "blog.example.com/path wrong" in page
    assert 'name="name" value="Northwind Bikes GmbH"' in page
    origins = page.split('name="allowed_origins"')[1].split("</textarea>")[0]
    assert "https://shop.example.com\nhttps://blog.example.com/path wrong" in origins
    assert 'name="require_identity" checked' in page
    assert 'name="bot_enabled" checked' not in page
    assert '<option value="de" selected>' in page
    assert 'value="30"' in page.split('name="keyword_suggestions_quiet_minutes"')[1].split(">")[0]
    with runtime.db.read() as session:
        workspace = session.get(Workspace, s.workspace.id)
        assert workspace is not None  # nothing was saved
        assert workspace.name == "Acme" and workspace.allowed_origins == []
        assert not workspace.require_identity and workspace.bot_enabled
    # the page itself still shows what is saved
    page = client.get("/admin/settings").text
    assert 'name="name" value="Acme"' in page and "Northwind" not in page


def test_refused_invitation_and_team_keep_what_the_admin_typed(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    bad = client.post(
        "/admin/agents/invite",
        data={"csrf_token": csrf, "email": "ana-at-example.com", "name": "Ana", "role": "admin"},
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert 'value="ana-at-example.com"' in bad.text and 'value="Ana"' in bad.text
    assert '<option value="admin" selected>' in bad.text
    taken = client.post(
        "/admin/agents/invite",
        data={"csrf_token": csrf, "email": s.agent.email, "name": "Twin"},
    )
    assert taken.status_code == 409 and "exists already" in taken.text
    assert f'value="{s.agent.email}"' in taken.text and 'value="Twin"' in taken.text

    assert client.post("/admin/teams", data={"csrf_token": csrf, "name": "Billing"}).is_success
    again = client.post(
        "/admin/teams",
        data={"csrf_token": csrf, "name": "Billing", "description": "Invoices and refunds"},
    )
    assert again.status_code == 409 and 'role="alert"' in again.text
    assert 'aria-label="Team name" value="Billing"' in again.text
    assert 'value="Invoices and refunds"' in again.text
    with runtime.db.read() as session:
        assert len(session.scalars(select(Team)).all()) == 1
        assert session.scalar(select(Agent).where(Agent.name == "Twin")) is None
