"""Every intent in every supported language: messages written for these tests (tests/guardrails/
cases.py) that must trigger the rule, and ones that must not (questions the bot can answer)."""

from __future__ import annotations

import pytest

from frontdesk.guardrails.frustration import detect_frustration
from frontdesk.guardrails.policy import RULE_REASONS, default_policy, evaluate
from frontdesk.guardrails.safety import detect_safety
from frontdesk.guardrails.text import keyword_hits, normalize
from frontdesk.language.detect import SUPPORTED
from tests.guardrails.cases import CASES

POSITIVES = [
    (intent, lang, text)
    for intent, languages in CASES.items()
    for lang, (positives, _) in languages.items()
    for text in positives
]
NEGATIVES = [
    (intent, lang, text)
    for intent, languages in CASES.items()
    for lang, (_, negatives) in languages.items()
    for text in negatives
]


def test_every_intent_has_cases_in_every_language() -> None:
    for intent, languages in CASES.items():
        assert set(languages) == set(SUPPORTED), intent
        for positives, negatives in languages.values():
            assert positives and negatives


@pytest.mark.parametrize(("intent", "lang", "text"), POSITIVES)
def test_triggers(intent: str, lang: str, text: str) -> None:
    decision = evaluate(default_policy(), text, {})
    assert decision is not None, f"{intent}/{lang}: {text}"
    assert decision.rule == intent
    assert decision.reason == RULE_REASONS[intent]


@pytest.mark.parametrize(("intent", "lang", "text"), NEGATIVES)
def test_does_not_trigger(intent: str, lang: str, text: str) -> None:
    decision = evaluate(default_policy(), text, {})
    assert decision is None, f"{intent}/{lang}: {text} -> {decision}"


def test_shouting() -> None:
    assert detect_frustration("WHERE IS MY REFUND", normalize("WHERE IS MY REFUND"))
    assert detect_frustration("Hello??!!!", normalize("Hello??!!!"))
    one_caps = "please fix it NOW"
    assert detect_frustration(one_caps, normalize(one_caps)) == []  # one weak signal
    assert detect_frustration("fix it NOW!!", normalize("fix it NOW!!"))  # two weak signals
    codes = "My SEPA payment and the CSV export show E04"
    assert detect_frustration(codes, normalize(codes)) == []  # acronyms are not shouting


def test_safety_kinds() -> None:
    account = detect_safety(normalize("Someone logged into my account and changed the email"))
    assert account is not None and account[0] == "account"
    hazard = detect_safety(normalize("One panel came loose and is hanging off the roof"))
    assert hazard is not None and hazard[0] == "hazard"
    assert detect_safety(normalize("What can the battery run during an outage?")) is None


def test_keywords_match_whole_words_and_unspaced_scripts() -> None:
    folded = normalize("Is the Próblem solved? 我要发票")
    assert keyword_hits({"en": ["pro"]}, folded) == []
    assert keyword_hits({"es": ["problem"]}, folded) == ["problem"]
    assert keyword_hits({"zh": ["发票"]}, folded) == ["发票"]
