from __future__ import annotations

import pytest

from frontdesk.language.tokenize import fold, tokenize


def test_latin_is_casefolded_and_accents_removed() -> None:
    assert tokenize("¿Dónde está mi PEDIDO?") == ["donde", "esta", "mi", "pedido"]
    assert tokenize("Straße über") == ["strasse", "uber"]


def test_greek_accents_and_final_sigma_fold() -> None:
    assert tokenize("Κωδικός") == tokenize("κωδικοσ") == ["κωδικοσ"]


def test_identifiers_stay_whole_and_their_parts_match_too() -> None:
    assert tokenize("Order NW-20431 shows E04") == [
        "order",
        "nw-20431",
        "nw",
        "20431",
        "shows",
        "e04",
    ]
    assert "v2.3" in tokenize("firmware v2.3")
    assert tokenize("wi-fi") == ["wi", "fi"]  # no digit: a hyphenated word, not an identifier


def test_thai_becomes_bigrams_of_letters_with_their_marks() -> None:
    tokens = tokenize("ลืมรหัสผ่าน")
    assert tokens[0] == "ลืม"  # ล + ื + ม: the vowel mark stays with its letter
    assert "หัส" in tokens
    assert all(
        len(t.strip("\u0e31\u0e34\u0e35\u0e36\u0e37\u0e47\u0e48\u0e49\u0e4a\u0e4b\u0e4c")) >= 2
        for t in tokens
    )
    assert fold("ผ่าน") == "ผ่าน"  # Thai tone marks are never stripped like accents


def test_chinese_gives_characters_and_bigrams_and_mixed_text_splits_by_script() -> None:
    assert tokenize("逆变器E04错误") == [
        "逆",
        "变",
        "器",
        "逆变",
        "变器",
        "e04",
        "错",
        "误",
        "错误",
    ]
    assert tokenize("แอปขึ้น E04") == ["แอ", "อป", "ปขึ้", "ขึ้น", "e04"]


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "!!!", "https://example.com/a?b=1"])
def test_odd_input_does_not_fail(text: str) -> None:
    assert isinstance(tokenize(text), list)


def test_huge_input_is_bounded() -> None:
    tokens = tokenize("a" * 10_000 + " b")
    assert tokens == ["a" * 64, "b"]
