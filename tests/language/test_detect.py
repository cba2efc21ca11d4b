from __future__ import annotations

import pytest

from frontdesk.language.detect import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("my inverter shows an error since yesterday", "en"),
        ("ขอคุยกับพนักงานหน่อยครับ", "th"),
        ("θέλω να μιλήσω με άνθρωπο", "el"),
        ("我的账单有问题，请帮忙", "zh"),
        ("mau bicara dengan orang, tolong", "id"),
        ("hola, necesito ayuda con mi factura", "es"),
        ("Ich brauche Hilfe mit meiner Rechnung", "de"),
    ],
)
def test_each_supported_language(text: str, language: str) -> None:
    assert detect_language(text).language == language


@pytest.mark.parametrize("text", ["ok", "E04??", "👍", "agent"])
def test_short_or_unclear_text_falls_back(text: str) -> None:
    detection = detect_language(text, fallback="th")
    assert (detection.language, detection.method) == ("th", "fallback")
