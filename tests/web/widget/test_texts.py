"""The widget speaks every supported language, with every text."""

from __future__ import annotations

import re

import pytest

from frontdesk.language.detect import SUPPORTED
from frontdesk.web.widget.texts import TEXTS, pick_language, widget_texts


def test_every_supported_language_has_every_text() -> None:
    assert set(TEXTS) == set(SUPPORTED)
    keys = set(TEXTS["en"])
    for language, table in TEXTS.items():
        assert set(table) == keys, language
        for key, text in table.items():
            assert text.strip(), (language, key)
            placeholders = set(re.findall(r"\{\w+\}", text))
            assert placeholders == set(re.findall(r"\{\w+\}", TEXTS["en"][key])), (language, key)


def test_texts_are_translated_not_copied() -> None:
    for language in SUPPORTED:
        if language != "en":
            assert TEXTS[language]["placeholder"] != TEXTS["en"]["placeholder"], language


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("th-TH",), "th"),
        (("zh-Hant-TW",), "zh"),
        (("EL",), "el"),
        (("id_ID",), "id"),
        (("pt-BR", "es-MX"), "es"),
        ((None, "", "fr", "de"), "de"),
        (("fr",), "en"),
    ],
)
def test_language_is_the_first_one_spoken(
    candidates: tuple[str | None, ...], expected: str
) -> None:
    assert pick_language(*candidates) == expected


def test_workspace_name_goes_into_the_title_verbatim() -> None:
    texts = widget_texts("en", "<b>Acme</b>")
    assert texts["title"] == "Chat with <b>Acme</b>"  # the widget inserts it as text
    assert "{count}" in texts["unread"]
