"""Login, logout, CSRF, rate limits, password reset, invitations and the account page."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from frontdesk.accounts.actions import create_agent_token, create_session, session_agent
from frontdesk.accounts.tokens import digest
from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, AgentSession, AgentToken, utcnow
from frontdesk.web.deps import SESSION_COOKIE
from tests.factories import PASSWORD
from tests.web.agent.helpers import form_csrf, login_as, setup_workspace

HTML = {"accept": "text/html"}


def _login(client: TestClient, email: str, password: str, spoof: str | None = None) -> object:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": form_csrf(page.text)},
        headers={"X-Forwarded-For": spoof} if spoof else {},
        follow_redirects=False,
    )


def test_root_leads_to_login_then_inbox(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    login_as(client, runtime, s.agent)
    assert client.get("/", follow_redirects=False).headers["location"] == "/inbox"


def test_login_ok_sets_secure_cookie(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    response = _login(client, s.agent.email, PASSWORD)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/inbox"  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    inbox = client.get("/inbox")
    assert inbox.status_code == 200
    assert s.agent.name in inbox.text


def test_login_wrong_password_stores_no_session(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    response = _login(client, s.agent.email, "wrong password!")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong email or password" in response.text  # type: ignore[attr-defined]
    unknown = _login(client, "nobody@example.com", "wrong password!")
    assert unknown.status_code == 401  # type: ignore[attr-defined]
    with runtime.db.read() as session:
        assert session.scalars(select(AgentSession)).all() == []


def test_login_without_csrf_is_refused(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    client.get("/login")
    response = client.post("/login", data={"email": s.agent.email, "password": PASSWORD})
    assert response.status_code == 403
    wrong = client.post(
        "/login", data={"email": s.agent.email, "password": PASSWORD, "csrf_token": "x" * 32}
    )
    assert wrong.status_code == 403
    with runtime.db.read() as session:
        assert session.scalars(select(AgentSession)).all() == []


@pytest.mark.usefixtures("one_rate_window")
def test_login_rate_limit_per_email(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    limit = runtime.settings.rate_login_per_minute
    for _ in range(limit):
        assert _login(client, s.agent.email, "wrong password!").status_code == 401  # type: ignore[attr-defined]
    blocked = _login(client, s.agent.email, PASSWORD)
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert "Retry-After" in blocked.headers  # type: ignore[attr-defined]


@pytest.mark.usefixtures("one_rate_window")
def test_login_rate_limit_per_ip(client: TestClient, runtime: Runtime) -> None:
    setup_workspace(runtime)
    limit = runtime.settings.rate_login_per_minute
    statuses = [
        # A spoofed X-Forwarded-For (no trusted proxy) does not make a new client.
        _login(client, f"user{i}@example.com", "wrong password!", f"10.0.0.{i}").status_code  # type: ignore[attr-defined]
        for i in range(limit + 1)
    ]
    assert statuses[:limit] == [401] * limit
    assert statuses[limit] == 429


def test_next_is_never_an_open_redirect(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    page = client.get("/login?next=//evil.example.com")
    response = client.post(
        "/login",
        data={
            "email": s.agent.email,
            "password": PASSWORD,
            "csrf_token": form_csrf(page.text),
            "next": "//evil.example.com",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/inbox"


def test_logout_revokes_the_session(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.agent)
    token = client.cookies.get(SESSION_COOKIE)
    assert client.post("/logout", data={}).status_code == 403  # no CSRF: still logged in
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    with runtime.db.read() as session:
        assert session_agent(session, token) is None
    client.cookies.set(SESSION_COOKIE, token or "")
    assert client.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")


def test_password_change_needs_current_and_revokes_others(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        other_token, _ = create_session(session, session.get(Agent, s.agent.id), days=1)  # type: ignore[arg-type]
    csrf = login_as(client, runtime, s.agent)
    mine = client.cookies.get(SESSION_COOKIE)
    new = "a brand new password"
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": "nope",
            "password": new,
            "password_again": new,
        },
    )
    assert wrong.status_code == 422
    with runtime.db.read() as session:
        assert session_agent(session, other_token) is not None
    ok = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD,
            "password": new,
            "password_again": new,
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with runtime.db.read() as session:
        assert session_agent(session, other_token) is None
        assert session_agent(session, mine) is not None
    client.cookies.clear()
    assert _login(client, s.agent.email, new).status_code == 303  # type: ignore[attr-defined]


def test_email_change_needs_current_password(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.agent)
    bad = client.post(
        "/account/email",
        data={"csrf_token": csrf, "current_password": "nope", "email": "new@example.com"},
    )
    assert bad.status_code == 422
    good = client.post(
        "/account/email",
        data={"csrf_token": csrf, "current_password": PASSWORD, "email": "new@example.com"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    name = client.post(
        "/account/name", data={"csrf_token": csrf, "name": "Renamed"}, follow_redirects=False
    )
    assert name.status_code == 303
    with runtime.db.read() as session:
        agent = session.get(Agent, s.agent.id)
        assert agent is not None and agent.email == "new@example.com" and agent.name == "Renamed"


def test_forgot_answers_the_same_for_unknown_email(
    client: TestClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    s = setup_workspace(runtime)

    def ask(email: str) -> str:
        page = client.get("/forgot")
        response = client.post("/forgot", data={"email": email, "csrf_token": form_csrf(page.text)})
        assert response.status_code == 200
        return response.text

    with caplog.at_level(logging.INFO, logger="frontdesk.mail"):
        known = ask(s.agent.email)
        unknown = ask("nobody@example.com")
    assert known == unknown
    assert "/reset/" in caplog.text and s.agent.email in caplog.text
    with runtime.db.read() as session:
        assert len(session.scalars(select(AgentToken)).all()) == 1


def _token(runtime: Runtime, agent_id: int, purpose: str, hours: int = 2) -> str:
    with runtime.db.write() as session:
        return create_agent_token(session, session.get(Agent, agent_id), purpose, hours=hours)  # type: ignore[arg-type]


def _set_password(client: TestClient, path: str, password: str = "another good password") -> int:  # noqa: S107
    page = client.get("/forgot")
    return client.post(
        path,
        data={
            "csrf_token": form_csrf(page.text),
            "password": password,
            "password_again": password,
        },
        follow_redirects=False,
    ).status_code


def test_reset_token_single_use_and_revokes_sessions(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        old_token, _ = create_session(session, session.get(Agent, s.agent.id), days=1)  # type: ignore[arg-type]
    token = _token(runtime, s.agent.id, "reset")
    assert client.get(f"/reset/{token}").status_code == 200
    assert _set_password(client, f"/reset/{token}", "short") == 422  # too short: token kept
    assert _set_password(client, f"/reset/{token}") == 200
    assert _set_password(client, f"/reset/{token}") == 400  # used
    assert client.get(f"/reset/{token}").status_code == 400
    with runtime.db.read() as session:
        assert session_agent(session, old_token) is None
    assert _login(client, s.agent.email, "another good password").status_code == 303  # type: ignore[attr-defined]


def test_expired_empty_and_wrong_purpose_tokens_refused(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    token = _token(runtime, s.agent.id, "reset")
    with runtime.db.write() as session:
        session.execute(
            update(AgentToken)
            .where(AgentToken.id == digest(token))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert client.get(f"/reset/{token}").status_code == 400
    assert _set_password(client, f"/reset/{token}") == 400
    invite = _token(runtime, s.agent.id, "invite")
    assert _set_password(client, f"/reset/{invite}") == 400  # an invitation is no reset link
    assert client.get("/reset/%20").status_code == 400
    assert _set_password(client, "/reset/%20") == 400


def test_invite_sets_password_once_and_logs_in(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    page = client.post(
        "/admin/agents/invite",
        data={"csrf_token": csrf, "email": "newbie@example.com", "name": "Newbie", "role": "agent"},
    )
    assert page.status_code == 200
    link = page.text.split('value="http://127.0.0.1/invite/')[1].split('"')[0]
    client.cookies.clear()
    assert client.get(f"/invite/{link}").status_code == 200
    form = client.get(f"/invite/{link}")
    response = client.post(
        f"/invite/{link}",
        data={
            "csrf_token": form_csrf(form.text),
            "name": "New Person",
            "password": "newbie password 1",
            "password_again": "newbie password 1",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.get("/inbox").status_code == 200
    assert _set_password(client, f"/invite/{link}") == 400
    with runtime.db.read() as session:
        agent = session.scalar(select(Agent).where(Agent.email == "newbie@example.com"))
        assert agent is not None and agent.name == "New Person" and agent.password_hash


def test_availability_from_header(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.agent)
    response = client.post(
        "/account/availability",
        data={"csrf_token": csrf, "availability": "away"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    bad = client.post("/account/availability", data={"csrf_token": csrf, "availability": "busy"})
    assert bad.status_code == 422
    with runtime.db.read() as session:
        agent = session.get(Agent, s.agent.id)
        assert agent is not None and agent.availability == "away"


def test_forgot_is_rate_limited(client: TestClient, runtime: Runtime) -> None:
    limit = runtime.settings.rate_login_per_minute
    page = client.get("/forgot")
    statuses = [
        client.post(
            "/forgot", data={"email": "x@example.com", "csrf_token": form_csrf(page.text)}
        ).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [200] * limit
    assert statuses[limit] == 429
    with runtime.db.read() as session:
        assert session.scalars(select(AgentToken)).all() == []
