"""Macros (F26): rendering in a sandbox, checks when saved, language variants, actions applied
through the conversation actions in one transaction, visibility and search."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from frontdesk.accounts.actions import delete_team
from frontdesk.automation.macros import (
    access_macro,
    apply_macro,
    check_template,
    do_create_macro,
    do_update_macro,
    macro_values,
    render_macro,
    render_text,
    search_macros,
)
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.runtime import Runtime
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Macro,
    Message,
    Survey,
    Team,
)
from tests.factories import make_agent, make_customer, make_message, make_team, make_workspace

VALUES: dict[str, Any] = {
    "customer": {
        "first_name": "Maria",
        "name": "Maria Papadopoulou",
        "email": "maria@example.com",
        "attributes": {"plan": "care_plus", "products": ["city-e2", "cargo-c1"], "vip": True},
    },
    "agent": {"first_name": "Lena", "name": "Lena Fischer"},
    "conversation": {"id": 42, "subject": "Battery"},
    "workspace": {"name": "Northwind"},
}


# Rendering ------------------------------------------------------------------------------------


def test_every_variable_renders() -> None:
    body = (
        "{{ customer.first_name }}|{{ customer.name }}|{{ customer.email }}|"
        "{{ customer.attributes.plan }}|{{ customer.attributes['products'] }}|"
        "{{ agent.name }}|{{ agent.first_name }}|{{ conversation.id }}|"
        "{{ conversation.subject }}|{{ workspace.name }}"
    )
    assert render_text(body, VALUES) == (
        "Maria|Maria Papadopoulou|maria@example.com|care_plus|city-e2, cargo-c1|"
        "Lena Fischer|Lena|42|Battery|Northwind"
    )


def test_defaults_filters_and_conditions() -> None:
    empty: dict[str, Any] = {
        "customer": {"attributes": {}},
        "agent": {},
        "conversation": {},
        "workspace": {},
    }
    body = 'Hi {{ customer.first_name | default("there") }}, {{ customer.attributes.plan | d("free") }}'
    assert render_text(body, empty) == "Hi there, free"
    assert render_text(body, VALUES) == "Hi Maria, care_plus"
    assert render_text("{{ customer.name | upper | truncate(9) }}", VALUES) == "MARIA..."
    condition = '{% if customer.attributes.plan == "care_plus" %}Care+{% else %}basic{% endif %}'
    assert render_text(condition, VALUES) == "Care+"
    assert render_text(condition, empty) == "basic"
    # A missing value with no default prints nothing (never "None").
    assert render_text("[{{ customer.email }}]", empty) == "[]"
    assert render_text("{{ customer.first_name | default(customer.email) }}", VALUES) == "Maria"


def test_values_are_data_never_templates() -> None:
    hostile = {
        "customer": {
            "first_name": "{{",
            "name": "{{ 7*7 }} {% for x in range(9) %}x{% endfor %}",
            "attributes": {"plan": "{{ ''.__class__.__mro__ }}"},
        },
        "agent": {"name": "{{ agent.name }}"},
        "conversation": {"subject": "{% raw %}"},
        "workspace": {"name": "${7*7} #{7*7}"},
    }
    body = (
        "{{ customer.name }}|{{ customer.attributes.plan }}|{{ agent.name }}|"
        "{{ conversation.subject }}|{{ workspace.name }}|{{ customer.first_name }}"
    )
    assert render_text(body, hostile) == (
        "{{ 7*7 }} {% for x in range(9) %}x{% endfor %}|{{ ''.__class__.__mro__ }}|"
        "{{ agent.name }}|{% raw %}|${7*7} #{7*7}|{{"
    )


def test_a_customer_named_like_a_template_is_greeted_literally(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s, "Acme")
        agent = make_agent(s, ws, name="Ana Lima")
        customer = make_customer(s, ws, name="{{ 7*7 }} Smith", email="x@example.com")
        cid = make_message(s, ws, customer, "hello").conversation_id
        macro = do_create_macro(s, ws.id, name="Hi", body="Hi {{ customer.first_name }}!")
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        rendered = render_macro(s, macro, conversation, agent)
    assert rendered.text == "Hi {{!"  # the first "word" of the name, taken as it is
    assert render_text("{{ customer.name }}", macro_values(conversation, agent, ws)) == (
        "{{ 7*7 }} Smith"
    )


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", 1, "calling functions"),
        ("{{ ''.__class__ }}", 1, "only variables"),
        ("{{ customer.name.__class__ }}", 1, "unknown variable"),
        ("{{ 7*7 }}", 1, "arithmetic"),
        ("{{ 'a' * 1000000000 }}", 1, "arithmetic"),
        ("Hi\n{% for i in range(10**9) %}x{% endfor %}", 2, "{% for %}"),
        ("{{ lipsum() }}", 1, "calling functions"),
        ("{{ cycler }}", 1, "unknown variable cycler"),
        ("{{ self }}", 1, "unknown variable self"),
        ("{{ config }}", 1, "unknown variable config"),
        ("{% set x = customer.name %}{{ x }}", 1, "{% set %}"),
        ("{% include 'agent/base.html' %}", 1, "{% include %}"),
        ("{{ customer.name | attr('__class__') }}", 1, "unknown filter attr"),
        ("{{ customer.name | format('%s') }}", 1, "unknown filter format"),
        ("{{ customer }}", 1, "customer alone"),
        ("ok\nok\n{{ customer.firstname }}", 3, "unknown variable customer.firstname"),
        ("{{ customer.attributes }}", 1, "name one customer attribute"),
        ("{{ agent.email }}", 1, "unknown variable agent.email"),
        ("{% filter upper %}x{% endfilter %}", 1, "{% filter %}"),
        ("{{ [customer.name] }}", 1, "a list"),
        ("Hello\n\n{{ customer.name ", 3, "unexpected end of template"),
        ("{% if %}x{% endif %}", 1, "Expected an expression"),
        ("{% endif %}", 1, "endif"),
    ],
)
def test_the_check_refuses_what_a_macro_may_not_do_and_names_the_line(
    body: str, line: int, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_template(body)
    error = caught.value
    assert words in error.message, error.message
    assert error.details == [
        {"field": "body", "line": line, "message": error.details[0]["message"]}
    ]
    assert f"line {line}:" in error.message


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ customer.name.__class__.__init__.__globals__ }}",
        "{{ 'a' * 1000000000 }}",
        "{{ customer.name.upper() }}",
        "{{ customer.attributes.update({'x': 1}) }}",
        "{{ -conversation.id }}",
        "{{ range(10) }}",
    ],
)
def test_the_sandbox_holds_even_without_the_check(body: str) -> None:
    """A body that never went through the save-time check (an old row, a bug) still cannot
    escape: rendering fails with a clear error, or prints nothing of Python's insides."""
    try:
        out = render_text(body, VALUES, check=False)
    except InvalidInput as exc:
        assert "not allowed" in exc.message or "undefined" in exc.message, exc.message
    else:
        assert "class" not in out and "function" not in out and "method" not in out, out


def test_dictionary_methods_are_never_reachable_only_keys() -> None:
    values = {**VALUES, "customer": {"attributes": {"items": "12 bikes", "keys": "3"}}}
    assert render_text(
        "{{ customer.attributes.items }}/{{ customer.attributes.keys }}", values
    ) == ("12 bikes/3")
    assert render_text("[{{ customer.attributes.values }}]", values) == "[]"


# Languages ------------------------------------------------------------------------------------


def _setup(runtime: Runtime, **customer: Any) -> dict[str, int]:
    with runtime.db.write() as s:
        ws = make_workspace(s, "Northwind")
        agent = make_agent(s, ws, name="Lena Fischer")
        other = make_agent(s, ws, name="Arun C")
        team = make_team(s, ws, "Billing", members=[agent])
        cust = make_customer(s, ws, name="Jonas Weber", email="jonas@example.com", **customer)
        cid = make_message(s, ws, cust, "Wo ist meine Rechnung?").conversation_id
        return {
            "workspace": ws.id,
            "agent": agent.id,
            "other": other.id,
            "team": team.id,
            "customer": cust.id,
            "conversation": cid,
        }


def _render(runtime: Runtime, ids: dict[str, int], macro_id: int, language: str | None) -> Any:
    with runtime.db.write() as s:
        conversation = s.get(Conversation, ids["conversation"])
        assert conversation is not None
        conversation.language = language
        s.flush()
        macro = s.get(Macro, macro_id)
        assert macro is not None
        return render_macro(s, macro, conversation, s.get(Agent, ids["agent"]))


def test_the_variant_in_the_conversations_language_is_picked(runtime: Runtime) -> None:
    ids = _setup(runtime, language="th")
    with runtime.db.write() as s:
        macro = do_create_macro(
            s,
            ids["workspace"],
            name="Invoice",
            body="Hi {{ customer.first_name }}, the invoice is on its way.",
            variants={
                "de": "Hallo {{ customer.first_name }}, die Rechnung ist unterwegs.",
                "th": "สวัสดีคุณ {{ customer.first_name }} ใบแจ้งหนี้กำลังส่งไป",
                "zh": "{{ customer.first_name }}，发票已发出。",
            },
        )
        macro_id = macro.id
    german = _render(runtime, ids, macro_id, "de")
    assert (german.text, german.language) == ("Hallo Jonas, die Rechnung ist unterwegs.", "de")
    chinese = _render(runtime, ids, macro_id, "zh-Hant")  # the primary language decides
    assert (chinese.text, chinese.language) == ("Jonas，发票已发出。", "zh")
    spanish = _render(runtime, ids, macro_id, "es")  # no Spanish variant: the base body
    assert (spanish.text, spanish.language) == ("Hi Jonas, the invoice is on its way.", "en")
    # No language on the conversation: the customer's (th).
    thai = _render(runtime, ids, macro_id, None)
    assert thai.language == "th" and thai.text.startswith("สวัสดีคุณ Jonas")


# Saving ---------------------------------------------------------------------------------------


def test_saving_checks_bodies_variants_and_actions(runtime: Runtime) -> None:
    ids = _setup(runtime)
    ws = ids["workspace"]
    with runtime.db.write() as s:
        other_ws = make_workspace(s, "Globex")
        foreign_team = make_team(s, other_ws, "Sales").id
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "x", "body": "Hi {{ customer.nme }}"}, "unknown variable customer.nme"),
        (
            {"name": "x", "body": "ok", "variants": {"th": "ok\n{{ agent.name "}},
            "variants.th: line 2",
        ),
        ({"name": "x", "body": "ok", "variants": {"EN!": "x"}}, "language code"),
        ({"name": "x", "body": "ok", "actions": {"close": True}}, "Unknown macro action"),
        ({"name": "x", "body": "ok", "actions": {"status": "snoozed"}}, "snoozing needs a time"),
        ({"name": "x", "body": "ok", "actions": {"priority": "asap"}}, "actions.priority"),
        ({"name": "x", "body": "ok", "actions": {"tags": ["a" * 51]}}, "at most 30 tags"),
        ({"name": "x", "body": "ok", "actions": {"team": foreign_team}}, "was not found"),
        ({"name": "x", "body": "ok", "actions": {"team": "nope"}}, "was not found"),
        ({"name": "  ", "body": "ok"}, "needs a name"),
        ({"name": "x", "body": ""}, "a body or at least one action"),
        ({"name": "x", "body": "a\x00b"}, "NUL"),
        ({"name": "x", "body": "x" * 10_001}, "too long"),
        ({"name": "x", "body": "ok", "owner_id": 10**9}, "was not found"),
    ]
    for fields, words in cases:
        with runtime.db.write() as s, pytest.raises((InvalidInput, NotFound)) as caught:
            do_create_macro(s, ws, **fields)
        assert words in caught.value.message, (fields, caught.value.message)
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Macro)) == 0
    with runtime.db.write() as s:
        team = s.get(Team, ids["team"])
        assert team is not None
        macro = do_create_macro(
            s,
            ws,
            name="  Refund   done ",
            body="Done.",
            actions={"tags": [" Refund", "refund", "VIP"], "team": team.slug, "status": "resolved"},
        )
        assert macro.name == "Refund done"
        assert macro.actions == {"tags": ["refund", "vip"], "team": team.id, "status": "resolved"}
        # An update is checked as a whole: a body emptied while actions stay is fine.
        do_update_macro(s, macro, {"body": ""})
        assert macro.body == ""
        with pytest.raises(InvalidInput):
            do_update_macro(s, macro, {"actions": {}})  # now it would do nothing at all


# Applying -------------------------------------------------------------------------------------


def _counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.read() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Message)) or 0),
            int(s.scalar(select(func.count()).select_from(ConversationEvent)) or 0),
        )


def test_applying_sends_the_reply_and_the_actions_in_one_transaction(runtime: Runtime) -> None:
    ids = _setup(runtime, language="de")
    with runtime.db.write() as s:
        conversation = s.get(Conversation, ids["conversation"])
        assert conversation is not None
        conversation.tags = ["invoice"]
        macro = do_create_macro(
            s,
            ids["workspace"],
            name="Invoice sent",
            body="Hi {{ customer.first_name }}, sent.",
            variants={"de": "Hallo {{ customer.first_name }}, gesendet. {{ agent.first_name }}"},
            actions={
                "tags": ["billing"],
                "priority": "high",
                "team": ids["team"],
                "status": "resolved",
            },
        )
        macro_id = macro.id
    with runtime.db.write() as s:
        conversation = s.get(Conversation, ids["conversation"])
        agent = s.get(Agent, ids["agent"])
        macro = s.get(Macro, macro_id)
        assert conversation is not None and agent is not None and macro is not None
        applied = apply_macro(s, conversation, agent, macro)
        assert applied.message is not None
        assert applied.changes == {
            "tags": ["billing"],
            "priority": "high",
            "team_id": ids["team"],
            "status": "resolved",
        }
    with runtime.db.read() as s:
        conversation = s.get(Conversation, ids["conversation"])
        assert conversation is not None
        assert conversation.status == "resolved"
        assert conversation.priority == "high"
        assert conversation.team_id == ids["team"]
        assert conversation.assignee_id == ids["agent"]  # a member of the team: kept
        assert conversation.tags == ["billing", "invoice"]  # added, the old one kept
        reply = s.scalars(
            select(Message).where(
                Message.conversation_id == conversation.id, Message.author_type == "agent"
            )
        ).one()
        assert reply.body == "Hallo Jonas, gesendet. Lena"
        types = list(
            s.scalars(
                select(ConversationEvent.type)
                .where(ConversationEvent.conversation_id == conversation.id)
                .order_by(ConversationEvent.id)
            )
        )
        tail = types[types.index("agent_replied") :]
        assert tail[-2:] == ["status_changed", "macro_applied"]
        assert {"tags_changed", "priority_changed", "team_changed"} <= set(tail)
        applied_event = s.scalars(
            select(ConversationEvent).where(ConversationEvent.type == "macro_applied")
        ).one()
        assert applied_event.actor_type == "agent" and applied_event.actor_id == ids["agent"]
        assert applied_event.data["macro_id"] == macro_id
        assert applied_event.data["message_id"] == reply.id
        macro = s.get(Macro, macro_id)
        assert macro is not None and macro.uses == 1
        # The resolution by a person asked for a rating (the CSAT listener saw the final team).
        survey = s.scalars(select(Survey).where(Survey.conversation_id == conversation.id)).one()
        assert (survey.resolved_by, survey.agent_id, survey.team_id) == (
            "agent",
            ids["agent"],
            ids["team"],
        )


def test_an_edited_text_is_sent_as_it_is_and_an_empty_one_applies_only_actions(
    runtime: Runtime,
) -> None:
    ids = _setup(runtime)
    with runtime.db.write() as s:
        macro = do_create_macro(
            s,
            ids["workspace"],
            name="Pending",
            body="Hi {{ customer.first_name }}",
            actions={"status": "pending"},
        )
        macro_id = macro.id
    with runtime.db.write() as s:
        conversation = s.get(Conversation, ids["conversation"])
        agent = s.get(Agent, ids["agent"])
        macro = s.get(Macro, macro_id)
        assert conversation is not None and agent is not None and macro is not None
        # What the agent typed is data too: never rendered.
        applied = apply_macro(s, conversation, agent, macro, body="Hi Jonas {{ 7*7 }}")
        assert applied.message is not None and applied.message.body == "Hi Jonas {{ 7*7 }}"
        do = apply_macro(s, conversation, agent, macro, body="   ")
        assert do.message is None
    with runtime.db.read() as s:
        macro = s.get(Macro, macro_id)
        assert macro is not None and macro.uses == 2


def test_a_failing_action_rolls_back_the_reply(runtime: Runtime) -> None:
    ids = _setup(runtime)
    with runtime.db.write() as s:
        team = make_team(s, s.get(Agent, ids["agent"]).workspace, "Workshop")  # type: ignore[union-attr]
        macro = do_create_macro(
            s,
            ids["workspace"],
            name="To workshop",
            body="Passing it on.",
            actions={"team": team.id},
        )
        macro_id = macro.id
        delete_team(s, team)
    before = _counts(runtime)
    with pytest.raises(InvalidInput, match="team that no longer exists"):
        with runtime.db.write() as s:
            conversation = s.get(Conversation, ids["conversation"])
            agent = s.get(Agent, ids["agent"])
            macro = s.get(Macro, macro_id)
            assert conversation is not None and agent is not None and macro is not None
            apply_macro(s, conversation, agent, macro)
    assert _counts(runtime) == before  # no reply, no event: one transaction
    with runtime.db.read() as s:
        macro = s.get(Macro, macro_id)
        assert macro is not None and macro.uses == 0


def test_personal_macros_are_their_owners_only(runtime: Runtime) -> None:
    ids = _setup(runtime)
    with runtime.db.write() as s:
        mine = do_create_macro(
            s, ids["workspace"], name="My sign-off", body="Cheers, Lena", owner_id=ids["agent"]
        )
        shared = do_create_macro(s, ids["workspace"], name="Shared sign-off", body="Best regards")
        mine_id, shared_id = mine.id, shared.id
    with runtime.db.write() as s:
        assert access_macro(s, ids["workspace"], mine_id, agent_id=ids["agent"]).id == mine_id
        assert access_macro(s, ids["workspace"], shared_id, agent_id=ids["other"]).id == shared_id
        with pytest.raises(NotFound):
            access_macro(s, ids["workspace"], mine_id, agent_id=ids["other"])
        with pytest.raises(NotFound):
            access_macro(s, ids["workspace"] + 999, shared_id)
        conversation = s.get(Conversation, ids["conversation"])
        other = s.get(Agent, ids["other"])
        macro = s.get(Macro, mine_id)
        assert conversation is not None and other is not None and macro is not None
        with pytest.raises(NotFound):
            apply_macro(s, conversation, other, macro)
        found = search_macros(s, ids["workspace"], ids["other"], "sign-off")
        assert [m.id for m in found] == [shared_id]
        found = search_macros(s, ids["workspace"], ids["agent"], "sign-off")
        assert {m.id for m in found} == {mine_id, shared_id}


# Search ---------------------------------------------------------------------------------------


def test_search_by_name_and_text_in_any_language(runtime: Runtime) -> None:
    ids = _setup(runtime)
    ws = ids["workspace"]
    with runtime.db.write() as s:
        refund = do_create_macro(s, ws, name="Refund confirmed", body="Your money is on its way.")
        cafe = do_create_macro(s, ws, name="Café voucher", body="A voucher for the café.")
        brakes = do_create_macro(
            s,
            ws,
            name="Brakes",
            body="Please bring the bike in for a refund check of the brakes.",
            variants={
                "th": "กรุณานำจักรยานมาตรวจเบรก",
                "de": "Bremsen prüfen lassen, Rückerstattung folgt",
            },
        )
        popular = do_create_macro(s, ws, name="Greeting", body="Hello!")
        popular.uses = 50
        ids_by = {"refund": refund.id, "cafe": cafe.id, "brakes": brakes.id, "popular": popular.id}
    with runtime.db.read() as s:

        def names(q: str) -> list[int]:
            return [m.id for m in search_macros(s, ws, ids["agent"], q)]

        # A name match comes before a match in the text.
        assert names("refund") == [ids_by["refund"], ids_by["brakes"]]
        assert names("REF") == [ids_by["refund"], ids_by["brakes"]]
        assert names("cafe") == [ids_by["cafe"]]  # accents and case ignored
        assert names("ตรวจเบรก") == [ids_by["brakes"]]  # the Thai variant
        assert names("rückerstattung") == [ids_by["brakes"]]
        assert names("money way") == [ids_by["refund"]]  # every word, anywhere
        assert names("money brakes") == []
        assert names("")[0] == ids_by["popular"]  # nothing typed: the most used first


def test_search_stays_fast_with_many_macros(runtime: Runtime) -> None:
    ids = _setup(runtime)
    with runtime.db.write() as s:
        for i in range(1500):
            do_create_macro(
                s,
                ids["workspace"],
                name=f"Macro {i} about order number {i * 7}",
                body=f"Hi {{{{ customer.first_name }}}}, the status of order {i} is known. " * 3,
                variants={"de": f"Hallo, Bestellung {i} ist unterwegs"},
                owner_id=ids["agent"] if i % 2 else None,
            )
    with runtime.db.read() as s:
        started = time.perf_counter()
        for q in ("order 77", "bestellung 1499", "macro 12", "status", "zzz"):
            found = search_macros(s, ids["workspace"], ids["agent"], q, limit=8)
        per_query = (time.perf_counter() - started) / 5
        assert found == []
        assert [
            m.name for m in search_macros(s, ids["workspace"], ids["agent"], "bestellung 1499")
        ] == ["Macro 1499 about order number 10493"]
        assert len(search_macros(s, ids["workspace"], ids["other"], "status", limit=1000)) == 750
    print(f"macro search over 1500 macros: {per_query * 1000:.1f} ms per query")
    assert per_query < 0.05
