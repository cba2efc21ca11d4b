from __future__ import annotations

import pytest

from frontdesk.bot.feedback import read_feedback
from frontdesk.bot.phrases import LANGUAGE_NAMES, PHRASES, phrase
from frontdesk.language.detect import SUPPORTED


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes, thanks!",
        "yep",
        "sí, gracias",
        "ja, danke",
        "iya makasih",
        "Ναι",
        "是的",
        "ใช่ค่ะ",
    ],
)
def test_yes_in_every_language(text: str) -> None:
    assert read_feedback(text) == "yes"


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "nope",
        "not really",
        "no me sirvió",
        "Nein, leider nicht",
        "tidak",
        "Όχι",
        "没有",
        "不是",
        "ไม่ใช่ครับ",
    ],
)
def test_no_in_every_language(text: str) -> None:
    assert read_feedback(text) == "no"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "How do I reset my password?",
        "yes but how do I also change the delivery address of my second order",
        "E04",
        "😀",
    ],
)
def test_anything_else_is_a_new_question(text: str) -> None:
    assert read_feedback(text) is None


def test_every_language_has_every_phrase_and_language_name() -> None:
    names = set(PHRASES["en"])
    for language in SUPPORTED:
        assert set(PHRASES[language]) == names, language
        assert set(LANGUAGE_NAMES[language]) == set(SUPPORTED), language
        for name in names:
            assert PHRASES[language][name].strip(), (language, name)
    assert phrase("th", "other_language", language="อังกฤษ") == "บทความนี้มีเฉพาะภาษาอังกฤษ"
    assert phrase("xx", "yes") == "Yes"  # an unknown language falls back to English
