"""Reading "did that answer your question?" replies written as text, in every language.

The widget's Yes / No buttons send the answer explicitly; a customer may also just write
"yes thanks", "nope", "ใช่ค่ะ", "没有", "ja, danke". Only a short message that is clearly one
or the other counts: anything longer is treated as a new question.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from frontdesk.language.tokenize import fold

__all__ = ["read_feedback"]

Feedback = Literal["yes", "no"]
MAX_WORDS = 6

_YES: Final[tuple[str, ...]] = (
    # en
    "yes",
    "yeah",
    "yep",
    "yup",
    "ya",
    "sure",
    "ok",
    "okay",
    "it did",
    "that helped",
    "helped",
    "thanks",
    "thank you",
    "perfect",
    "great",
    "solved",
    "got it",
    # es
    "si",
    "claro",
    "vale",
    "gracias",
    "perfecto",
    "me sirvio",
    "sirvio",
    "resuelto",
    # de
    "ja",
    "jawohl",
    "genau",
    "danke",
    "super",
    "passt",
    "hat geholfen",
    "gelost",
    # id
    "iya",
    "ya",
    "betul",
    "benar",
    "sudah",
    "terima kasih",
    "makasih",
    "membantu",
    "oke",
    # el
    "ναι",
    "ευχαριστω",
    "ωραια",
    "τελεια",
    "βοηθησε",
    "εντάξει",
    "εντaξει",
    "ενταξει",
    # zh
    "是",
    "是的",
    "对",
    "對",
    "好的",
    "解决了",
    "解決了",
    "谢谢",
    "謝謝",
    "有帮助",
    "可以",
    # th
    "ใช่",
    "ช่วยได้",
    "ขอบคุณ",
    "เรียบร้อย",
    "โอเค",
    "ได้แล้ว",
)
_NO: Final[tuple[str, ...]] = (
    # en
    "no",
    "nope",
    "nah",
    "not really",
    "it didn't",
    "it did not",
    "didn't help",
    "did not help",
    "not helpful",
    "wrong",
    "not what i asked",
    "no it didn't",
    # es
    "no",
    "para nada",
    "no me sirvio",
    "no sirvio",
    "no ayudo",
    "incorrecto",
    # de
    "nein",
    "nee",
    "nö",
    "no",
    "nicht wirklich",
    "hat nicht geholfen",
    "leider nicht",
    "falsch",
    # id
    "tidak",
    "enggak",
    "nggak",
    "gak",
    "ga",
    "belum",
    "bukan",
    "tidak membantu",
    # el
    "οχι",
    "οχι ακριβως",
    "δεν βοηθησε",
    "λαθος",
    # zh
    "不",
    "不是",
    "没有",
    "沒有",
    "否",
    "不对",
    "不對",
    "没用",
    "沒用",
    "没解决",
    "沒解決",
    # th
    "ไม่",
    "ไม่ใช่",
    "ไม่ได้",
    "ไม่ช่วย",
    "ยังไม่ได้",
    "ไม่ถูก",
)
_POLITE = re.compile(r"(ค่ะ|คะ|ครับ|นะ|จ้า|啊|呀|了|吧|dong|kok|ya|please|bitte|por favor)$")
_PUNCT = re.compile(r"[\s!.,?¿¡;:…。！？，、~\-\"'()]+")


def _phrases(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fold(w) for w in words)


_YES_SET = _phrases(_YES)
_NO_SET = _phrases(_NO)


def read_feedback(text: str) -> Feedback | None:
    """``"yes"``, ``"no"`` or None (not a short, clear answer)."""
    folded = _PUNCT.sub(" ", fold(text)).strip()
    if not folded or len(folded.split()) > MAX_WORDS:
        return None
    candidates = [folded]
    stripped = _POLITE.sub("", folded).strip()
    if stripped and stripped != folded:
        candidates.append(stripped)
    for candidate in candidates:
        no = candidate in _NO_SET or any(
            candidate.startswith(w + " ") for w in _NO_SET if " " not in w and w.isascii()
        )
        yes = candidate in _YES_SET or any(
            candidate.startswith(w + " ") for w in _YES_SET if " " not in w and w.isascii()
        )
        if no and not yes:
            return "no"
        if yes and not no:
            return "yes"
        # Scripts without spaces: "ใช่ค่ะ", "没有啊" — match the beginning.
        if not candidate.isascii() and " " not in candidate:
            if any(
                candidate.startswith(w)
                for w in sorted(_NO_SET, key=len, reverse=True)
                if not w.isascii() and len(w) > 1
            ):
                return "no"
            if any(candidate.startswith(w) for w in _YES_SET if not w.isascii()):
                return "yes"
    return None
