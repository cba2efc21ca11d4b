"""Tokens for a lexical (BM25) index, in every supported language.

One function, driven by script rather than by the declared language, because customers mix
them ("แอป Helios ขึ้น E04"):

* text is NFKC-normalised and casefolded (German ``ß`` becomes ``ss``), then accents are
  removed (``pedído`` → ``pedido``, ``κωδικός`` → ``κωδικος``), so a customer who types without
  accents still matches;
* identifiers are kept whole: a run of letters, digits and inner ``-``/``_``/``/``/``.`` that
  holds a digit (``E04``, ``NW-20431``, ``v2.3``) is one token, and its parts are added too so
  ``NW 20431`` and ``20431`` still match;
* Thai and Chinese have no spaces between words: each run of such characters yields its
  character bigrams (and, for Chinese, the single characters, which carry meaning on their own).
  A dictionary segmenter (pythainlp, jieba) was not added: the lexical signal only has a low
  weight in the fused score (see ``frontdesk.knowledge.index``), where bigrams do the job of
  matching names and identifiers without a dictionary to ship and keep up to date.
"""

from __future__ import annotations

import re
import unicodedata

from frontdesk.language.detect import SUPPORTED

__all__ = ["SUPPORTED", "fold", "tokenize"]

# Thai block, and CJK ideographs (unified, extension A, compatibility).
_THAI = r"\u0E00-\u0E7F"
_HAN = r"\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF"

_TOKEN = re.compile(
    rf"(?P<thai>[{_THAI}]+)"
    rf"|(?P<han>[{_HAN}]+)"
    rf"|(?P<word>[^\W_{_THAI}{_HAN}]+(?:[-_/.][^\W_{_THAI}{_HAN}]+)*)",
)
_PART = re.compile(r"[^\W_]+")
_MAX_TOKEN_CHARS = 64


def fold(text: str) -> str:
    """Casefold and strip accents from Latin/Greek letters; keep Thai marks intact."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    out: list[str] = []
    previous_is_thai = False
    for ch in decomposed:
        if unicodedata.combining(ch) and not previous_is_thai:
            continue
        out.append(ch)
        previous_is_thai = "\u0e00" <= ch <= "\u0e7f"
    return unicodedata.normalize("NFC", "".join(out))


def _bigrams(units: list[str] | str) -> list[str]:
    if len(units) == 1:
        return [units[0]]
    return [units[i] + units[i + 1] for i in range(len(units) - 1)]


def _thai_clusters(run: str) -> list[str]:
    """Letters with their vowel and tone marks attached (``ขึ้`` is one unit, not three)."""
    clusters: list[str] = []
    for ch in run:
        if clusters and unicodedata.category(ch) == "Mn":
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return clusters


def tokenize(text: str, language: str | None = None) -> list[str]:
    """Index tokens for ``text``.

    ``language`` is accepted for symmetry with the rest of the pipeline (and for a future
    per-language stemmer) but tokens depend on the script of each run of characters, so the
    same token comes out of an article and a question whatever language each was filed under.
    """
    del language  # script-driven; see the docstring
    tokens: list[str] = []
    for match in _TOKEN.finditer(fold(text)):
        kind = match.lastgroup
        run = match.group()
        if kind == "thai":
            tokens.extend(_bigrams(_thai_clusters(run)))
        elif kind == "han":
            tokens.extend(run)
            if len(run) > 1:
                tokens.extend(_bigrams(run))
        else:
            if len(run) > _MAX_TOKEN_CHARS:
                run = run[:_MAX_TOKEN_CHARS]
            parts = _PART.findall(run)
            if len(parts) > 1:
                if any(ch.isdigit() for ch in run):
                    tokens.append(run)  # NW-20431 and v2.3 whole; "wi-fi" only as parts
                tokens.extend(parts)
            else:
                tokens.append(run)
    return tokens
