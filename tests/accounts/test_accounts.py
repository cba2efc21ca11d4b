from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.accounts.actions import (
    api_token_workspace,
    authenticate,
    change_password,
    consume_agent_token,
    create_agent_token,
    create_session,
    normalise_origin,
    revoke_api_token,
    session_agent,
    update_agent,
    update_workspace,
)
from frontdesk.errors import Conflict, InvalidInput, Unauthorized
from frontdesk.runtime import Runtime
from frontdesk.store.models import AgentToken
from tests.factories import PASSWORD, make_agent, make_api_token, make_workspace


def test_login_with_the_right_password_only(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        agent = make_agent(s, make_workspace(s), email="ana@example.com")
        assert authenticate(s, "ANA@example.com ", PASSWORD).id == agent.id
        with pytest.raises(Unauthorized):
            authenticate(s, "ana@example.com", "wrong password")
        with pytest.raises(Unauthorized):
            authenticate(s, "nobody@example.com", PASSWORD)


def test_password_change_needs_the_current_one_and_revokes_other_sessions(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        agent = make_agent(s, make_workspace(s))
        mine, my_row = create_session(s, agent, days=1)
        other, _ = create_session(s, agent, days=1)
        with pytest.raises(InvalidInput):
            change_password(s, agent, "not it", "a new long password", keep_session=my_row.id)
        change_password(s, agent, PASSWORD, "a new long password", keep_session=my_row.id)
        assert session_agent(s, mine) is not None
        assert session_agent(s, other) is None


def test_tokens_are_single_use_and_expire(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        agent = make_agent(s, make_workspace(s))
        token = create_agent_token(s, agent, "reset", hours=1)
        assert consume_agent_token(s, token, "reset").id == agent.id
        for bad in (token, "", "x" * 500, "unknown"):
            with pytest.raises(InvalidInput):
                consume_agent_token(s, bad, "reset")
        invite = create_agent_token(s, agent, "invite", hours=1)
        with pytest.raises(InvalidInput):
            consume_agent_token(s, invite, "reset")  # wrong purpose
        expired = create_agent_token(s, agent, "reset", hours=1)
        for row in s.query(AgentToken).filter(AgentToken.used_at.is_(None)):
            row.expires_at = row.expires_at - timedelta(hours=2)
        s.flush()
        with pytest.raises(InvalidInput):
            consume_agent_token(s, expired, "reset")


def test_the_last_admin_cannot_be_demoted_or_deactivated(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        admin = make_agent(s, ws, role="admin")
        with pytest.raises(Conflict):
            update_agent(s, admin, role="agent")
        with pytest.raises(Conflict):
            update_agent(s, admin, is_active=False)
        second = make_agent(s, ws, role="admin")
        update_agent(s, admin, role="agent")
        assert second.role == "admin"


def test_api_tokens_resolve_to_their_workspace_until_revoked(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        token = make_api_token(s, ws)
        found = api_token_workspace(s, token)
        assert found is not None and found[1].id == ws.id
        revoke_api_token(s, ws, found[0].id)
        assert api_token_workspace(s, token) is None
        assert api_token_workspace(s, "") is None


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("https://shop.example.com/", "https://shop.example.com"),
        ("http://localhost:8001", "http://localhost:8001"),
        ("HTTPS://Shop.Example.com", "https://shop.example.com"),
    ],
)
def test_origins_are_normalised(typed: str, origin: str) -> None:
    assert normalise_origin(typed) == origin


@pytest.mark.parametrize(
    "bad", ["shop.example.com", "javascript:alert(1)", "https://x.com/path", "ftp://x.com"]
)
def test_bad_origins_are_refused(runtime: Runtime, bad: str) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        with pytest.raises(InvalidInput):
            update_workspace(s, ws, allowed_origins=[bad])
