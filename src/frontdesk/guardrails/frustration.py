"""Is the customer frustrated? (F9), in every supported language.

Signals over the folded text, plus shouting read from the original text:

* **strong** (one is enough): anger and insults ("useless", "scam", "太过分", "ห่วย"), a repeated
  complaint ("this is the third time", "我已经投诉三次", "ครั้งที่สาม"), "still not fixed",
  "nobody answers", and shouting (several words in capitals, or "!!!");
* **weak** (two are needed): one word in capitals ("fix it NOW"), "!!" or "?!".

"again" alone, a polite complaint ("the invoice is wrong, please check") and a short wait
("I've been waiting 10 minutes") are not frustration: they are ordinary support questions.
"""

from __future__ import annotations

import re
from typing import Final

from frontdesk.guardrails.text import find_all, rx

__all__ = ["detect_frustration"]

_STRONG: Final = {
    "en": [
        rx(
            r"\b(?:useless|ridiculous|unacceptable|terrible|horrible|awful|worst|pathetic|"
            r"incompetent|disgrace|disgraceful|disgusting|scam|scammers?|rip-?off|outrageous|"
            r"furious|angry|pissed|wtf|fuck\w*|shit\w*|damn|crap|idiots?|stupid|joke of a|"
            r"fed up|sick (?:and tired )?of|waste of (?:time|money)|had enough|i'm done with|"
            r"lawyer|sue you|what is wrong with you|how many times)\b"
        ),
        rx(
            r"\b(?:(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th|umpteenth|nth) time|"
            r"(?:three|four|five|six|several|many|multiple|countless|\d+) times)\b"
        ),
        rx(r"\b(?:again and again|over and over)\b"),
        rx(
            r"\bstill (?:not|isn't|isnt|hasn't|hasnt|haven't|havent|doesn't|doesnt|no|nobody|"
            r"not been)\b.{0,20}\b(?:fixed|working|works|resolved|solved|sorted|repaired|"
            r"answer\w*|repl\w*|respon\w*|one|help\w*|back|refund\w*|heard)\b"
        ),
        rx(r"\bstill (?:broken|waiting|unresolved)\b"),
        rx(
            r"\b(?:nobody|no one|noone|no-one)\b.{0,20}\b(?:answers|answered|responds|responded|"
            r"replies|replied|helps|helped|cares|called|gets back|got back|fixed|does anything)\b"
        ),
        rx(r"\bnever (?:got|get|received|had) (?:a|any) (?:reply|response|answer|call)\b"),
    ],
    "es": [
        rx(
            r"\b(?:inaceptable|ridiculo|verguenza|pesimo|pesima|horrible|estafa|estafadores|"
            r"inutil|inutiles|harto|harta|hartos|una broma|mierda|furioso|furiosa|enfadado|"
            r"enfadada|indignado|indignada|incompetentes?|tomadura de pelo|ya basta)\b"
        ),
        rx(
            r"\b(?:(?:segunda|tercera|cuarta|quinta|enesima) vez|(?:tres|cuatro|varias|muchas|"
            r"\d+) veces)\b"
        ),
        rx(
            r"\b(?:todavia no|aun no|sigue sin|sigo sin|seguimos sin)\b.{0,20}\b(?:arreglad|"
            r"resuelt|solucionad|funcion|respond|contest)\w*"
        ),
        rx(r"\bnadie (?:me )?(?:responde|contesta|ayuda|soluciona|hace nada)\b"),
    ],
    "de": [
        rx(
            r"\b(?:unverschamt|inakzeptabel|lacherlich|frechheit|katastrophe|katastrophal|"
            r"nutzlos|unbrauchbar|betrug|betruger|abzocke|wutend|verarscht|verarschen|"
            r"scheiss\w*|mist|skandal|es reicht|reicht mir|zumutung|sauer|inkompetent)\b"
        ),
        rx(
            r"\b(?:(?:zum )?(?:zweiten|dritten|vierten|funften|x-ten|zigsten) mal|"
            r"(?:drei|vier|funf|mehrere|zig|x)(?: ?-?mal)\b)"
        ),
        rx(r"\b(?:immer noch|noch immer|nach wie vor)\b.{0,30}\b(?:nicht|kein|keine|nichts)\b"),
        rx(
            r"\b(?:niemand|keiner)\b.{0,20}\b(?:antwortet|meldet|hilft|reagiert|kummert|"
            r"ruft)\w*"
        ),
    ],
    "id": [
        rx(
            r"\b(?:kecewa|parah|payah|penipuan|penipu|nipu|tipu|menyebalkan|keterlaluan|marah|"
            r"kesal|kesel|bodoh|sampah|tidak becus|gak becus|nggak becus|ga becus|lelet|"
            r"mengecewakan|brengsek|capek deh)\b"
        ),
        rx(
            r"\b(?:(?:yang )?(?:kedua|ketiga|keempat|kelima) kali|(?:tiga|empat|lima|berkali|"
            r"beberapa|\d+) kali|berkali-kali)\b"
        ),
        rx(
            r"\b(?:masih|sampai sekarang)\b.{0,10}\b(?:belum|tidak|gak|nggak|ga|blm)\b.{0,15}"
            r"\b(?:diperbaiki|beres|selesai|dibalas|ditangani|diproses|berfungsi|ada kabar)\b"
        ),
        rx(
            r"\b(?:tidak|gak|nggak|ga) ada yang\b.{0,10}\b(?:membalas|balas|bales|menjawab|"
            r"jawab|merespon|respon|peduli|menangani)\b"
        ),
    ],
    "el": [
        rx(
            r"(?:απαραδεκτ|αισχος|αισχρο|ντροπη|απατη|απατεων|κοροιδ|αχρηστ|εκνευρισ|θυμωμεν|"
            r"εξοργιστικ|γελοι|χαλια|βαρεθηκα|μπουχτισα|ανικανοι)"
        ),
        rx(r"(?:(?:δευτερη|τριτη|τεταρτη|πεμπτη) φορα|(?:τρεις|τεσσερις|πολλες|αρκετες) φορες)"),
        rx(r"(?:ακομα|ακομη) (?:δεν|δε)\b.{0,25}(?:διορθ|λυθ|λυσ|απαντ|φτιαχ|επιστρ|βοηθ)"),
        rx(r"κανεις (?:δεν|δε) (?:μου )?(?:απαντα|απανταει|βοηθα|ασχολειται|λυνει)"),
    ],
    "zh": [
        rx(
            r"(?:太过分|过分了|垃圾|骗子|骗人|诈骗|欺诈|无语|气死|生气|愤怒|投诉|太差|差劲|破服务|"
            r"坑人|忍无可忍|受够了|搞什么|什么鬼|废物|恶心|离谱)"
        ),
        rx(r"(?:第[二三四五2-5]次|好几次|多次|[三四五3-5]次了|几次了|无数次|一次又一次)"),
        rx(
            r"(?:还是没|还没(?:有)?(?:解决|修好|处理|回复|人)|仍然没|依然没|一直没(?:有)?(?:人|解决|回复|处理))"
        ),
        rx(r"(?:没人|没有人|没有任何人)(?:.{0,4})(?:处理|回复|理|管|回应|联系)"),
    ],
    "th": [
        rx(
            r"(?:แย่มาก|ห่วย|โกง|หลอกลวง|โมโห|โกรธ|ไม่พอใจ|รำคาญ|เสียเวลา|ผิดหวัง|แย่ที่สุด|"
            r"เซ็ง|ไร้ประโยชน์|ทนไม่ไหว)"
        ),
        rx(r"(?:ครั้งที่(?:สอง|สาม|สี่|ห้า|[2-5])|(?:หลาย|สาม|สี่|[3-9])ครั้ง(?:แล้ว)?)"),
        rx(r"(?:ยังไม่(?:ได้)?(?:แก้|ซ่อม|ตอบ|มีใคร|มีคน|ได้รับการแก้))"),
        rx(r"(?:ไม่มีใคร|ไม่มีคน)(?:.{0,6})(?:ตอบ|ช่วย|สนใจ|ติดต่อ|ดูแล)"),
    ],
}

# Capitals that are not shouting: codes and acronyms customers type ("SEPA", "E05", "HS-1048").
_ACRONYMS: Final = frozenset(
    {
        "API", "APP", "SMS", "CSV", "PDF", "SEPA", "IBAN", "HTTP", "HTTPS", "JSON", "WIFI",
        "WLAN", "USB", "LED", "PLN", "EUR", "USD", "THB", "IDR", "VAT", "MWST", "IVA", "FAQ",
        "ASAP", "PIN", "OTP", "SSO", "URL", "DNS", "LAN", "MCB", "RCD", "GFCI", "RCBO", "PRO",
        "PLUS", "BASIC", "CEO", "HELIOS", "KWH", "UPS", "DHL", "TNT", "GPS", "IOS", "NB",
    }
)  # fmt: skip
_CAPS_WORD = re.compile(r"\b[A-ZÀ-ÖØ-ÞΑ-ΩΆ-Ώ]{3,}\b")
_BANGS = re.compile(r"[!！]{3,}|[!?！？]{2,}[!！]")
_DOUBLE = re.compile(r"[!！]{2}|[?？][!！]|[!！][?？]")


def _shouting(text: str) -> tuple[list[str], list[str]]:
    """(strong, weak) shouting signals from the original text."""
    strong: list[str] = []
    weak: list[str] = []
    words = [w for w in _CAPS_WORD.findall(text) if w.upper() == w and w not in _ACRONYMS]
    letters = [c for c in text if c.isalpha() and c.lower() != c.upper()]
    upper_share = sum(1 for c in letters if c.isupper()) / len(letters) if letters else 0.0
    if len(words) >= 2 or (len(letters) >= 12 and upper_share >= 0.7):
        strong.append("caps: " + " ".join(words[:5]))
    elif len(words) == 1:
        weak.append(f"caps: {words[0]}")
    if _BANGS.search(text):
        strong.append("!!!")
    elif _DOUBLE.search(text):
        weak.append("!!")
    return strong, weak


def detect_frustration(text: str, folded: str) -> list[str]:
    """The signals of frustration in a message (empty: none). ``folded`` is its folded text."""
    strong = find_all(_STRONG, folded)
    loud, weak = _shouting(text)
    strong += loud
    if strong:
        return strong + weak
    return weak if len(weak) >= 2 else []
