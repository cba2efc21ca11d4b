"""Admin → SLAs (policies, business hours) and the SLA side of the inbox: sort by time left,
the badge on each row and in the conversation header, amber at the warning, red at breach."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from frontdesk.automation import sla
from frontdesk.conversations import actions, events
from frontdesk.conversations.actions import do_change_priority, do_change_status
from frontdesk.conversations.events import SYSTEM
from frontdesk.conversations.queries import ConversationFilters, list_conversations
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, Workspace, utcnow
from tests.factories import make_customer, make_message, make_team, make_workspace
from tests.web.agent.helpers import Setup, login_as, setup_workspace

ROW = re.compile(r'<li class="conv-item[^"]*" data-conversation="(\d+)"')


def policy_form(csrf: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "name": "Default",
        "enabled": "on",
        "counted": "business",
        "warn_at_percent": "80",
        **fields,
    }


def hours_form(csrf: str, **days: str) -> dict[str, str]:
    form = {"csrf_token": csrf, "timezone": "Europe/Berlin", "holidays": "2026-12-25\n2026-12-26"}
    form.update({f"day-{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    form.update({f"day-{d}": v for d, v in days.items()})
    return form


def policies(runtime: Runtime, workspace_id: int) -> list[tuple[Any, ...]]:
    with runtime.db.read() as s:
        return [
            (p.name, p.position, p.enabled, p.priority, p.team_id, p.first_response_minutes)
            for p in sla.list_policies(s, workspace_id)
        ]


def stored_hours(runtime: Runtime, workspace_id: int) -> Any:
    with runtime.db.read() as s:
        workspace = s.get(Workspace, workspace_id)
        assert workspace is not None
        return workspace.settings.get("business_hours")


def test_agents_cannot_open_or_change_slas(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.agent)
    assert client.get("/admin/sla").status_code == 403
    response = client.post(
        "/admin/sla/policies", data=policy_form(csrf, first_response_minutes="60")
    )
    assert response.status_code == 403
    assert (
        client.post("/admin/sla/hours", data=hours_form(csrf, mon="09:00-17:00")).status_code == 403
    )
    assert policies(runtime, s.workspace.id) == []
    assert stored_hours(runtime, s.workspace.id) is None


def test_admin_creates_edits_orders_and_deletes_policies(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        team_id = make_team(session, s.workspace, "Billing").id
    csrf = login_as(client, runtime, s.admin)
    page = client.get("/admin/sla")
    assert page.status_code == 200 and "No SLA policies yet" in page.text
    assert 'href="/admin/sla"' in client.get("/admin/agents").text  # the admin nav links here
    assert client.post("/admin/sla/policies", data={"name": "x"}).status_code == 403  # no CSRF

    created = client.post(
        "/admin/sla/policies",
        data=policy_form(csrf, first_response_minutes="240", resolution_minutes="2880"),
        follow_redirects=False,
    )
    assert created.status_code == 303
    urgent = client.post(
        "/admin/sla/policies",
        data=policy_form(
            csrf,
            name="Urgent billing",
            priority="urgent",
            team_id=str(team_id),
            first_response_minutes="15",
            counted="calendar",
            warn_at_percent="50",
        ),
        follow_redirects=False,
    )
    assert urgent.status_code == 303
    assert policies(runtime, s.workspace.id) == [
        ("Default", 0, True, None, None, 240),
        ("Urgent billing", 1, True, "urgent", team_id, 15),
    ]
    page = client.get("/admin/sla").text
    assert "urgent · Billing" in page and "First response: 15m" in page
    assert "Resolution: 2d" in page and "calendar time" in page

    with runtime.db.read() as session:
        ids = [p.id for p in sla.list_policies(session, s.workspace.id)]
    client.post(f"/admin/sla/policies/{ids[1]}/move", data={"csrf_token": csrf, "direction": "up"})
    assert [p[0] for p in policies(runtime, s.workspace.id)] == ["Urgent billing", "Default"]
    client.post(f"/admin/sla/policies/{ids[0]}/toggle", data={"csrf_token": csrf})
    assert policies(runtime, s.workspace.id)[1][2] is False

    edit = client.get(f"/admin/sla/policies/{ids[0]}")
    assert edit.status_code == 200 and 'value="240"' in edit.text
    saved = client.post(
        f"/admin/sla/policies/{ids[0]}",
        data=policy_form(csrf, name="Everyone", first_response_minutes="120"),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert policies(runtime, s.workspace.id)[1] == ("Everyone", 1, True, None, None, 120)

    client.post(f"/admin/sla/policies/{ids[1]}/delete", data={"csrf_token": csrf})
    assert policies(runtime, s.workspace.id) == [("Everyone", 0, True, None, None, 120)]


@pytest.mark.parametrize(
    ("fields", "words", "status"),
    [
        ({}, "first-response target, a resolution target, or both", 422),
        ({"first_response_minutes": "0"}, "first_response_minutes", 422),
        ({"first_response_minutes": "an hour"}, "whole number of minutes", 422),
        ({"first_response_minutes": "60", "warn_at_percent": "120"}, "warn_at_percent", 422),
        ({"first_response_minutes": "60", "name": " "}, "name", 422),
        ({"first_response_minutes": "60", "priority": "asap"}, "priority", 422),
    ],
)
def test_bad_policy_forms_show_what_to_fix_and_store_nothing(
    client: TestClient, runtime: Runtime, fields: dict[str, str], words: str, status: int
) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    response = client.post(
        "/admin/sla/policies", data=policy_form(csrf, **{"name": "Kept", **fields})
    )
    assert response.status_code == status
    assert words in response.text
    assert "The policy was not saved" in response.text
    if "name" not in fields:
        assert 'value="Kept"' in response.text  # the form comes back filled in
    assert policies(runtime, s.workspace.id) == []


def test_another_workspaces_policy_and_team_are_404(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    other = setup_workspace(runtime, "Globex")
    with runtime.db.write() as session:
        theirs = sla.do_create_policy(
            session, other.workspace.id, {"name": "B", "first_response_minutes": 5}
        ).id
        their_team = make_team(session, other.workspace, "Sales").id
    csrf = login_as(client, runtime, s.admin)
    assert client.get(f"/admin/sla/policies/{theirs}").status_code == 404
    for action in ("", "/toggle", "/delete"):
        response = client.post(
            f"/admin/sla/policies/{theirs}{action}",
            data=policy_form(csrf, first_response_minutes="1"),
        )
        assert response.status_code == 404, action
    response = client.post(
        "/admin/sla/policies",
        data=policy_form(csrf, first_response_minutes="5", team_id=str(their_team)),
    )
    assert response.status_code == 404
    assert policies(runtime, s.workspace.id) == []
    assert policies(runtime, other.workspace.id) == [("B", 0, True, None, None, 5)]


def test_business_hours_form(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    assert "None set" in client.get("/admin/sla").text
    saved = client.post(
        "/admin/sla/hours",
        data=hours_form(
            csrf, mon="09:00-12:30, 13:30-17:00", fri="09:00 – 15:00", sat="10:00-24:00"
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert stored_hours(runtime, s.workspace.id) == {
        "timezone": "Europe/Berlin",
        "weekly": {
            "mon": [["09:00", "12:30"], ["13:30", "17:00"]],
            "fri": [["09:00", "15:00"]],
            "sat": [["10:00", "24:00"]],
        },
        "holidays": ["2026-12-25", "2026-12-26"],
    }
    page = client.get("/admin/sla").text
    assert 'value="09:00-12:30, 13:30-17:00"' in page and "Open now:" in page
    cleared = client.post(
        "/admin/sla/hours/clear", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert cleared.status_code == 303
    assert stored_hours(runtime, s.workspace.id) is None


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"mon": "25:00-26:00"}, "not a time of day"),
        ({"mon": "17:00-09:00"}, "ends before it starts"),
        ({"mon": "09:00-12:00, 11:00-13:00"}, "overlap"),
        ({"mon": "nine to five"}, "write an interval as 09:00-17:00"),
        ({"mon": "09:00-17:00", "timezone": "Mars/Olympus"}, "Unknown timezone"),
        ({"mon": "09:00-17:00", "holidays": "2026-02-30"}, "not a date in the calendar"),
        ({}, "at least one interval"),
    ],
)
def test_bad_business_hours_keep_the_old_ones(
    client: TestClient, runtime: Runtime, form: dict[str, str], words: str
) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    client.post("/admin/sla/hours", data=hours_form(csrf, tue="08:00-16:00"))
    before = stored_hours(runtime, s.workspace.id)
    assert before is not None
    data = hours_form(csrf, **{k: v for k, v in form.items() if k not in ("timezone", "holidays")})
    data.update({k: v for k, v in form.items() if k in ("timezone", "holidays")})
    response = client.post("/admin/sla/hours", data=data)
    assert response.status_code == 422
    assert words in response.text and "The business hours were not saved" in response.text
    assert stored_hours(runtime, s.workspace.id) == before


# The inbox -------------------------------------------------------------------------------------


def _conversation(runtime: Runtime, workspace_id: int, priority: str = "normal") -> int:
    with runtime.db.write() as s:
        workspace = s.get(Workspace, workspace_id)
        assert workspace is not None
        customer = make_customer(s, workspace, name=f"Customer {priority}")
        conversation_id = make_message(s, workspace, customer, "Help").conversation_id
        conversation = s.get(Conversation, conversation_id)
        assert conversation is not None
        if priority != "normal":
            do_change_priority(s, conversation, priority, actor=SYSTEM)
        return conversation_id


def _policies(runtime: Runtime, workspace_id: int) -> None:
    with runtime.db.write() as s:
        for name, priority, minutes in (
            ("Urgent", "urgent", 15),
            ("High", "high", 60),
            ("Any", None, 240),
        ):
            sla.do_create_policy(
                s,
                workspace_id,
                {
                    "name": name,
                    "priority": priority,
                    "first_response_minutes": minutes,
                    "business_hours": False,
                },
            )


@pytest.fixture
def inbox(client: TestClient, runtime: Runtime) -> tuple[Setup, dict[str, int]]:
    s = setup_workspace(runtime)
    before_policies = _conversation(runtime, s.workspace.id)  # no SLA: sorts last
    _policies(runtime, s.workspace.id)
    ids = {
        "none": before_policies,
        "high": _conversation(runtime, s.workspace.id, "high"),
        "normal": _conversation(runtime, s.workspace.id),
        "urgent": _conversation(runtime, s.workspace.id, "urgent"),
    }
    login_as(client, runtime, s.agent)
    return s, ids


def test_inbox_sorts_by_time_left(client: TestClient, inbox: tuple[Setup, dict[str, int]]) -> None:
    _, ids = inbox
    by_sla = client.get("/inbox", params={"view": "all", "sort": "sla"})
    assert by_sla.status_code == 200
    assert [int(i) for i in ROW.findall(by_sla.text)] == [
        ids["urgent"],
        ids["high"],
        ids["normal"],
        ids["none"],
    ]
    assert '<option value="sla" selected>Time left (SLA)</option>' in by_sla.text
    recent = client.get("/inbox", params={"view": "all"})
    assert [int(i) for i in ROW.findall(recent.text)] == [
        ids["urgent"],
        ids["normal"],
        ids["high"],
        ids["none"],
    ]
    fragment = client.get("/inbox/fragment", params={"view": "all", "sort": "sla"})
    assert ROW.findall(fragment.text)[:1] == [str(ids["urgent"])]
    assert client.get("/inbox", params={"sort": "random"}).status_code == 422


def test_rows_and_header_carry_the_badge(
    client: TestClient, inbox: tuple[Setup, dict[str, int]]
) -> None:
    _, ids = inbox
    page = client.get("/inbox", params={"view": "all", "sort": "sla"}).text
    badges = re.findall(r'<span class="badge sla sla-(\w+)"[^>]*>([^<]+)</span>', page)
    assert [level for level, _ in badges] == ["ok", "ok", "ok"]
    assert re.fullmatch(r"1[45]m left", badges[0][1]), badges
    assert re.fullmatch(r"(59m|1h) left", badges[1][1]), badges
    header = client.get(f"/inbox/c/{ids['urgent']}").text
    assert re.search(r'<header class="conv-header">.*class="badge sla sla-ok"', header, re.S)
    details = client.get(f"/inbox/c/{ids['urgent']}/details").text
    assert "badge sla sla-ok" in details
    assert "badge sla" not in client.get(f"/inbox/c/{ids['none']}/details").text


def test_warning_is_amber_breach_is_red_and_pending_is_paused(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        sla.do_create_policy(
            session,
            s.workspace.id,
            {"name": "Hour", "first_response_minutes": 60, "business_hours": False},
        )
    real_now = utcnow()
    moments = {
        "warning": real_now - timedelta(minutes=50),
        "breached": real_now - timedelta(minutes=75),
    }
    ids = {}
    for level, moment in moments.items():
        for module in (events, actions, sla):
            monkeypatch.setattr(module, "utcnow", lambda moment=moment: moment)
        ids[level] = _conversation(runtime, s.workspace.id)
    monkeypatch.undo()
    paused = _conversation(runtime, s.workspace.id)
    with runtime.db.write() as session:
        conversation = session.get(Conversation, paused)
        assert conversation is not None
        do_change_status(session, conversation, "pending", actor=SYSTEM)
    login_as(client, runtime, s.agent)
    page = client.get("/inbox", params={"view": "all", "status": "any", "sort": "sla"}).text
    badges = re.findall(r'<span class="badge sla sla-(\w+)"[^>]*>([^<]+)</span>', page)
    # (rendered a moment after those times: allow the minute to have moved on)
    assert [level for level, _ in badges] == ["breached", "warning", "paused"]
    assert re.fullmatch(r"breached 1[56]m ago", badges[0][1]), badges
    assert re.fullmatch(r"(9|10)m left", badges[1][1]), badges
    assert badges[2][1] == "SLA paused"
    assert [int(i) for i in ROW.findall(page)] == [ids["breached"], ids["warning"], paused]


def test_sla_sort_pages_with_a_cursor(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Pages")
        workspace_id = workspace.id
    _policies(runtime, workspace_id)
    expected = []
    for priority in ("low", "urgent", "high", "normal", "urgent", "high"):
        expected.append((priority, _conversation(runtime, workspace_id, priority)))
    with runtime.db.write() as s:
        # without a running clock: after every deadline, by id
        resolved = s.get(Conversation, expected[0][1])
        assert resolved is not None
        do_change_status(s, resolved, "pending", actor=SYSTEM)
    seen: list[int] = []
    cursor = None
    with runtime.db.read() as s:
        while True:
            page = list_conversations(
                s,
                workspace_id,
                view="all",
                agent_id=0,
                filters=ConversationFilters(status=None),
                cursor=cursor,
                limit=2,
                sort="sla",
            )
            seen += [c.id for c in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
    priority_of = {i: p for p, i in expected}
    # the pending one (no running clock) comes last
    assert [priority_of[i] for i in seen] == ["urgent", "urgent", "high", "high", "normal", "low"]
    assert len(set(seen)) == len(seen) == len(expected)
