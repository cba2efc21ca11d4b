"""Text helpers shared by the guardrail detectors.

Every detector reads the *folded* text (casefolded, accents removed, whitespace collapsed; see
:func:`frontdesk.language.tokenize.fold`), so patterns are written in lowercase without accents.
Casefolding turns the Greek final sigma into the ordinary sigma: :func:`rx` does the same to a
pattern, so a pattern may be written with either. Every language is checked whatever the detected language:
short messages are often misdetected and customers mix languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

from frontdesk.language.tokenize import fold

__all__ = ["Patterns", "compile_table", "find_all", "find_first", "keyword_hits", "normalize", "rx"]

# Between two parts of one phrase ("cancel ... subscription"): a few words at most.
NEAR: Final = r".{0,40}?"

Patterns = Mapping[str, Iterable[re.Pattern[str]]]


def normalize(text: str) -> str:
    """The folded text the detectors read."""
    return " ".join(fold(text).split())


def _fold_pattern(pattern: str) -> str:
    """The normalisations of :func:`fold` that keep a regex intact (not casefold, which would
    turn ``\\S`` into ``\\s``): NFKC (Thai sara am splits in two), accents off, final sigma."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", pattern))
    out: list[str] = []
    previous_is_thai = False
    for ch in decomposed:
        if unicodedata.combining(ch) and not previous_is_thai:
            continue
        out.append(ch)
        previous_is_thai = "\u0e00" <= ch <= "\u0e7f"
    return unicodedata.normalize("NFC", "".join(out)).replace("ς", "σ")


def rx(pattern: str) -> re.Pattern[str]:
    """Compile a detector pattern, written lowercase (accents and a final sigma are accepted)."""
    return re.compile(_fold_pattern(pattern))


def compile_table(table: dict[str, list[str]]) -> dict[str, list[re.Pattern[str]]]:
    """A detector's patterns per language, each compiled with :func:`rx`."""
    return {lang: [rx(p) for p in patterns] for lang, patterns in table.items()}


def find_first(patterns: Patterns, folded: str) -> tuple[str, str] | None:
    """``(language, matched text)`` of the first pattern that matches, or None."""
    for language, items in patterns.items():
        for pattern in items:
            found = pattern.search(folded)
            if found:
                return language, found.group(0).strip()
    return None


def find_all(patterns: Patterns, folded: str) -> list[str]:
    """Every matched text, at most one per pattern."""
    hits: list[str] = []
    for items in patterns.values():
        for pattern in items:
            found = pattern.search(folded)
            if found:
                hits.append(found.group(0).strip())
    return hits


_UNSPACED = re.compile(r"[\u0E00-\u0E7F\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]")


def keyword_hits(keywords: Mapping[Any, Iterable[str]], folded: str) -> list[str]:
    """The admin's keywords (any language) found in the folded text.

    A keyword in Thai or Chinese (no spaces between words) matches anywhere; any other keyword
    matches whole words only ("pro" does not match "problem")."""
    hits: list[str] = []
    for words in keywords.values():
        for word in words:
            needle = normalize(word)
            if not needle:
                continue
            if _UNSPACED.search(needle):
                found = needle in folded
            else:
                found = re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", folded) is not None
            if found:
                hits.append(word)
    return hits
