"""Language identification for customer messages (F8).

py3langid restricted to the supported languages (MODELS.md: 1.00 on the Helios messages), with
two guards it lacks: text in the Thai, Greek or Han script is decided by the script alone, and a
message too short or too uncertain to tell ("ok", "E04??", an emoji) falls back to what we
already know: the customer's language, then the conversation's, then the workspace default.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

SUPPORTED = ("en", "th", "el", "zh", "id", "es", "de")
MIN_CONFIDENCE = 0.9
MIN_LETTERS = 8

_identifier: Any = None
_lock = threading.Lock()


def _get_identifier() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(SUPPORTED))
                _identifier = identifier
    return _identifier


@dataclass(frozen=True)
class Detection:
    language: str
    confidence: float
    method: str  # script | model | fallback


def _script_language(text: str) -> str | None:
    counts = {"th": 0, "el": 0, "zh": 0}
    for ch in text:
        code = ord(ch)
        if 0x0E00 <= code <= 0x0E7F:
            counts["th"] += 1
        elif 0x0370 <= code <= 0x03FF or 0x1F00 <= code <= 0x1FFF:
            counts["el"] += 1
        elif 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
            counts["zh"] += 1
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= 2 else None


def detect_language(text: str, *, fallback: str = "en") -> Detection:
    script = _script_language(text)
    if script is not None:
        return Detection(script, 1.0, "script")
    letters = sum(1 for ch in text if unicodedata.category(ch).startswith("L"))
    if letters >= MIN_LETTERS:
        language, confidence = _get_identifier().classify(text)
        if confidence >= MIN_CONFIDENCE:
            return Detection(str(language), float(confidence), "model")
    return Detection(fallback, 0.0, "fallback")


def warm_up() -> None:
    """Load the model now rather than on the first customer message."""
    _get_identifier()
