"""Does the customer ask for a person? (F3, the escape hatch), in every supported language.

Plain patterns over the folded text (casefolded, accents removed, see
:func:`frontdesk.language.tokenize.fold`): a verb of talking or connecting near a word for a
person, or a word that only means a human agent ("转人工", "operator"). Every language is
checked whatever the detected language, since short messages are often misdetected. The
widget's "Talk to a person" button does not depend on this: it sends an explicit request.
"""

from __future__ import annotations

import re
from typing import Final

from frontdesk.language.tokenize import fold

__all__ = ["is_human_request"]

_NEAR = r".{0,40}?"

# Words for a person who works at the company, per language (folded: no accents).
_PERSON: Final[dict[str, str]] = {
    "en": r"(?:human|humans|person|people|someone|somebody|agent|representative|rep|operator|"
    r"staff|employee|support team|customer service|real (?:person|human)|live (?:agent|chat)|"
    r"actual person|team member)",
    "es": r"(?:persona|humano|alguien|agente|asesor|operador|operadora|representante|"
    r"atencion al cliente|personal)",
    "de": r"(?:mensch|menschen|person|mitarbeiter|mitarbeiterin|jemandem|jemand|berater|"
    r"beraterin|kundendienst|kundenservice|agent|support-team|echten)",
    "id": r"(?:orang|manusia|agen|petugas|cs|customer service|operator|admin|staf|pegawai)",
    "el": r"(?:ανθρωπο|ανθρωπος|ανθρωπινο|υπαλληλο|εκπροσωπο|τεχνικο|πραγματικο|καποιον|"
    r"εξυπηρετηση|χειριστη)",
}

_TALK: Final[dict[str, str]] = {
    "en": r"\b(?:talk|speak|chat|connect|transfer|put me through|contact|reach)\b",
    "es": r"\b(?:hablar|hable|hablo|comunicarme|contactar|pasame|pasar|pasas|pasa|paseme|ponme|"
    r"ponerme|conectar|conectarme)\b",
    "de": r"\b(?:sprechen|reden|verbinden|verbinde|kontakt|weiterleiten|durchstellen)\b",
    "id": r"\b(?:bicara|berbicara|ngobrol|hubungkan|sambungkan|chat|minta)\b",
    "el": r"(?:μιλησω|μιλησουμε|μιλαω|μιλω|συνδεστε|συνδεση|επικοινωνησω)",
}

# Asking for one outright, with no verb of talking: "I need a human", "bitte einen Menschen",
# "quiero una persona". Only the words that mean a person at the company (not "someone", who
# may be asked to come and fix something), near a verb of wanting or a "please".
_WANT: Final[tuple[str, ...]] = (
    r"\b(?:need|want|get me|give me)\b.{0,12}?\b(?:an? )?(?:human|real person|live agent|"
    r"representative|operator|person)\b",  # not "agent": "do I need an agent to install …"
    r"\b(?:bitte|brauche|will|mochte|hatte gern|hatte gerne)\b.{0,12}?\b(?:einen |eine )?"
    r"(?:mensch|menschen|mitarbeiter|mitarbeiterin|berater|beraterin)\b",
    r"\b(?:mensch|menschen|mitarbeiter|mitarbeiterin)\b.{0,6}?\bbitte\b",
    r"\b(?:quiero|necesito|prefiero)\b.{0,12}?\b(?:una persona|un humano|un agente|un asesor)\b",
    r"\b(?:mau|ingin|butuh|perlu)\b.{0,12}?\b(?:manusia|petugas|agen|cs)\b",
    r"(?:θελω|χρειαζομαι).{0,12}?(?:ανθρωπο|υπαλληλο|εκπροσωπο)",
)

# Whole messages that are nothing but a request ("agent", "human please").
_ALONE: Final[str] = (
    r"^(?:an? |the )?(?:human|agent|operator|person|real person|live agent|representative|"
    r"humano|agente|asesor|mensch|mitarbeiter|agen|cs|manusia|ανθρωπος|ανθρωπο|"
    r"人工|人工客服|真人|客服|พนักงาน|เจ้าหน้าที่)(?: please| pls| por favor| bitte| dong| ค่ะ| ครับ)?[!.?。！？ ]*$"
)

# Scripts without spaces: the phrases themselves.
_PHRASES: Final[tuple[str, ...]] = (
    # zh
    "转人工",
    "轉人工",
    "人工客服",
    "人工服务",
    "人工服務",
    "真人",
    "客服人员",
    "客服人員",
    "找客服",
    "联系客服",
    "和客服",
    "跟客服",
    "找人工",
    # th
    "คุยกับพนักงาน",
    "คุยกับเจ้าหน้าที่",
    "คุยกับคน",
    "ขอพนักงาน",
    "ขอเจ้าหน้าที่",
    "ติดต่อพนักงาน",
    "ติดต่อเจ้าหน้าที่",
    "ต่อสายพนักงาน",
    "คนจริง",
    "พูดกับพนักงาน",
    "พูดกับเจ้าหน้าที่",
)

_PATTERNS: Final[list[re.Pattern[str]]] = [
    re.compile(_ALONE),
    *(re.compile(_TALK[lang] + _NEAR + _PERSON[lang]) for lang in _TALK),
    # German and Greek put the verb last ("mit einem Mitarbeiter sprechen").
    *(re.compile(_PERSON[lang] + _NEAR + _TALK[lang]) for lang in ("de", "el")),
    *(re.compile(pattern) for pattern in _WANT),
]

# "Is a person reading this?" is a question about the bot, not a request; and the word
# "agent" is common in other senses ("installation agent", "user agent"). These are not
# handled: a false handoff costs a person's minute, a missed one costs a customer.


def is_human_request(text: str) -> bool:
    """True when the message asks to be put through to a person."""
    folded = " ".join(fold(text).split())
    if not folded:
        return False
    if any(phrase in folded for phrase in _PHRASES):
        return True
    return any(pattern.search(folded) for pattern in _PATTERNS)
