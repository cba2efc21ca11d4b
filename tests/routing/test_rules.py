"""Assignment rules as pure functions: every condition type, all/any, ordering, validation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from frontdesk.errors import InvalidInput
from frontdesk.routing.rules import Facts, Rule, evaluate, keyword_matches, validate_rule

TODAY = date(2025, 6, 1)


def rule(rule_id: int, *conditions: dict[str, Any], match: str = "all", **actions: Any) -> Rule:
    return Rule(rule_id, f"r{rule_id}", True, match, list(conditions), actions or {"team": "t"})


def holds(condition: dict[str, Any], **facts: Any) -> bool:
    facts.setdefault("today", TODAY)
    return evaluate([rule(1, condition)], Facts(**facts)).routes


ENGINEERS = {
    "name": "Developers",
    "match": "any",
    "conditions": [
        {"field": "page_url", "op": "prefix", "value": "/developers/"},
        {"field": "keywords", "op": "any", "value": ["python", "API", "webhook"]},
    ],
    "actions": {"team": "customer-support-engineers"},
}


def test_the_engineers_example() -> None:
    r = Rule(7, **validate_rule(ENGINEERS))
    assert evaluate([r], Facts(page_url="https://helios.example/developers/api")).team_rule_id == 7
    assert evaluate([r], Facts(page_url="https://helios.example/developers")).routes
    assert evaluate([r], Facts(text="My webhooks stopped firing")).routes
    assert evaluate([r], Facts(text="How do I call the api from Python?")).routes
    assert not evaluate([r], Facts(text="rapid shipping please", page_url="/shop/")).routes


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("API", "the api returns 500", True),
        ("API", "rapid delivery", False),
        ("webhook", "Webhooks fail", True),
        ("pedido", "¿Dónde está mi PEDÍDO?", True),
        ("κωδικός", "ξέχασα τον ΚΩΔΙΚΟ μου", False),
        ("κωδικος", "Ο κωδικός δεν δουλεύει", True),
        ("Straße", "wrong STRASSE on the invoice", True),
        ("error code", "I see error  code E04", True),
        ("error code", "code error", False),
        ("E04", "แอป Helios ขึ้น E04", True),
        ("ใบแจ้งหนี้", "ขอใบแจ้งหนี้เดือนที่แล้วหน่อยครับ", True),
        ("发票", "我需要上个月的发票", True),
        ("退款", "我需要上个月的发票", False),
        ("install*", "the installer did not come", True),
        ("C#", "my C# client", True),
    ],
)
def test_keywords(keyword: str, text: str, expected: bool) -> None:
    assert keyword_matches(keyword, text) is expected


def test_each_condition_type() -> None:
    attrs: dict[str, Any] = {
        "products": ["Battery X", "Panel"],
        "company_type": "installer_partner",
        "signup_date": "2025-05-01",
        "plan": "Pro",
        "spend": 1200.5,
        "vip": True,
        "region": "north-east",
    }
    a = {"attributes": attrs}
    assert holds({"field": "product", "op": "contains", "value": ["battery x"]}, **a)
    assert not holds({"field": "product", "op": "contains", "value": "inverter"}, **a)
    assert holds({"field": "company_type", "op": "eq", "value": "installer_partner"}, **a)
    assert holds(
        {"field": "company_type", "op": "in", "value": ["business", "installer_partner"]}, **a
    )
    assert not holds({"field": "company_type", "op": "neq", "value": "installer_partner"}, **a)
    assert holds({"field": "tenure_days", "op": "lt", "value": 60}, **a)  # 31 days
    assert not holds({"field": "tenure_days", "op": "gte", "value": 60}, **a)
    assert not holds({"field": "tenure_days", "op": "lt", "value": 60})  # no signup date
    assert holds({"field": "plan", "op": "eq", "value": "pro"}, **a)
    assert holds({"field": "plan", "op": "exists", "value": False})
    assert holds({"field": "plan", "op": "neq", "value": "pro"})  # no plan is not pro
    assert holds({"field": "spend", "op": "gt", "value": 1000}, **a)
    assert not holds({"field": "spend", "op": "lte", "value": 1000}, **a)
    assert holds({"field": "language", "op": "in", "value": ["th", "zh"]}, language="th")
    assert not holds({"field": "language", "op": "eq", "value": "en"}, language="th")
    assert holds({"field": "channel", "op": "eq", "value": "email"}, channel="email")
    assert holds({"field": "channel", "op": "neq", "value": "email"}, channel="chat")
    assert holds(
        {"field": "page_url", "op": "glob", "value": "*/pricing*"},
        page_url="https://x.io/pricing?a=1",
    )
    assert holds(
        {"field": "page_url", "op": "prefix", "value": "https://docs.x.io/"},
        page_url="https://docs.x.io/a",
    )
    assert not holds(
        {"field": "page_url", "op": "prefix", "value": "/developers/"},
        page_url="https://x.io/shop/developers/",
    )
    attr = {"field": "attribute", "key": "region"}
    assert holds({**attr, "op": "prefix", "value": "north"}, **a)
    assert holds({**attr, "op": "glob", "value": "*-east"}, **a)
    assert holds({**attr, "op": "contains", "value": "th-ea"}, **a)
    assert holds({**attr, "op": "exists", "value": True}, **a)
    assert holds({"field": "attribute", "key": "vip", "op": "eq", "value": True}, **a)
    assert not holds({"field": "attribute", "key": "vip", "op": "eq", "value": "true"}, **a)
    assert holds(
        {"field": "attribute", "key": "signup_date", "op": "gte", "value": "2025-01-01"}, **a
    )
    assert not holds({"field": "attribute", "key": "missing", "op": "gt", "value": 1}, **a)


def test_all_and_any() -> None:
    python = {"field": "keywords", "op": "any", "value": ["python"]}
    email = {"field": "channel", "op": "eq", "value": "email"}
    facts = Facts(text="python question", channel="chat")
    assert not evaluate([rule(1, python, email)], facts).routes
    assert evaluate([rule(1, python, email, match="any")], facts).routes


def test_order_first_match_wins_and_extras_come_from_the_first_that_sets_them() -> None:
    always = {"field": "channel", "op": "in", "value": ["chat", "email"]}
    rules = [
        Rule(1, "tags only", True, "all", [always], {"tags": ["vip"]}),
        Rule(2, "disabled", False, "all", [always], {"team": "nobody", "priority": "low"}),
        Rule(3, "first team", True, "all", [always], {"team": "billing", "agent": 5}),
        Rule(
            4,
            "second team",
            True,
            "all",
            [always],
            {"team": "sales", "priority": "high", "tags": ["x"]},
        ),
    ]
    outcome = evaluate(rules, Facts())
    assert (outcome.team, outcome.agent, outcome.team_rule_id) == ("billing", 5, 3)
    assert (outcome.priority, outcome.priority_rule_id) == ("high", 4)
    assert (outcome.tags, outcome.tags_rule_id) == (("vip",), 1)
    assert outcome.matched == (1, 3, 4)


@pytest.mark.parametrize(
    ("definition", "where"),
    [
        ({"conditions": []}, "conditions"),
        ({"conditions": [{"field": "plan", "op": "gt", "value": 3}]}, "conditions[0].op"),
        ({"conditions": [{"field": "colour", "op": "eq", "value": 3}]}, "conditions[0].field"),
        (
            {"conditions": [{"field": "spend", "op": "gt", "value": "1; DROP TABLE x"}]},
            "conditions[0].value",
        ),
        ({"conditions": [{"field": "plan", "op": "eq; --", "value": "pro"}]}, "conditions[0].op"),
        ({"conditions": [{"field": "attribute", "op": "eq", "value": 1}]}, "conditions[0].key"),
        (
            {"conditions": [{"field": "attribute", "key": "x' OR 1=1", "op": "eq", "value": 1}]},
            "conditions[0].key",
        ),
        ({"conditions": [{"field": "keywords", "op": "any", "value": []}]}, "conditions[0].value"),
        ({"conditions": [{"field": "channel", "op": "eq", "value": "fax"}]}, "conditions[0].value"),
        ({"conditions": [{"field": "plan", "op": "in", "value": "pro"}]}, "conditions[0].value"),
        ({"actions": {}}, "actions"),
        ({"actions": {"priority": "asap"}}, "actions.priority"),
        ({"actions": {"team": "Not A Slug!"}}, "actions.team"),
        ({"match": "most"}, "match"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_definitions_say_what_to_fix(definition: dict[str, Any], where: str) -> None:
    base: dict[str, Any] = {
        "name": "r",
        "conditions": [{"field": "plan", "op": "eq", "value": "pro"}],
        "actions": {"team": "sales"},
    }
    with pytest.raises(InvalidInput) as caught:
        validate_rule({**base, **definition})
    assert caught.value.details[0]["field"] == where
    assert caught.value.message.startswith(where)


def test_validation_cleans() -> None:
    clean = validate_rule(
        {
            "name": "  VIPs ",
            "conditions": [{"field": "keywords", "value": [" refund "]}],
            "actions": {"tags": ["VIP", "vip ", ""], "priority": "high", "team": None},
        }
    )
    assert clean == {
        "name": "VIPs",
        "enabled": True,
        "match": "all",
        "conditions": [{"field": "keywords", "op": "any", "value": ["refund"]}],
        "actions": {"tags": ["vip"], "priority": "high"},
    }
