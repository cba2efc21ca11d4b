"""Safety and outages: a person at once, priority urgent, in every supported language.

Two kinds, each a set of patterns per language over the folded text:

* **hazard**: smoke, sparks, a burning smell, fire, an electric shock, an earth fault or a
  breaker that keeps tripping, a panel falling or coming loose; and, during a power cut, no
  power or no backup from the battery ("power is out and the battery did not switch over").
  A power cut alone is not urgent: "how long does the battery last in an outage?" is a
  question the help center answers.
* **account**: a data breach or an account takeover (someone else logged in, the password or
  email changed without the customer).

:func:`detect_safety` returns ``(kind, signals)`` or None.
"""

from __future__ import annotations

from typing import Final

from frontdesk.guardrails.text import NEAR, compile_table, find_all

__all__ = ["detect_safety"]


_HAZARD: Final = compile_table(
    {
        "en": [
            r"\b(?:smoke|smoking|smoky|sparks?|sparking|arcing|flames?|on fire|caught fire|"
            r"fire|burnt|burned|burning|scorch\w*|melted|melting|electric shock|electrocut\w*|"
            r"earth fault|ground fault|earth leakage|short circuit)\b",
            r"\b(?:got|get|gave me|giving) (?:a |an )?(?:electric )?shocks?\b",
            r"\bsmells? (?:of |like )?(?:burn\w*|plastic|melt\w*)\b",
            r"\b(?:breaker|rcd|fuse|trip switch|safety switch)s?\b.{0,30}\b(?:trip\w*|blow\w*|"
            r"keeps? (?:going|switching) off)\b",
            r"\b(?:we|i) (?:have|got|have got) no (?:power|electricity)\b",
            r"\bno (?:power|electricity) (?:at all|in the (?:house|home))\b",
            r"\bpanels?\b.{0,30}\b(?:fell|fall\w*|fallen|came off|come off|coming off|loose|"
            r"blown off|blew off|sliding|slid|hanging)\b",
        ],
        "es": [
            r"\b(?:humo|chispas?|chispazos?|fuego|incendio|quemad\w*|olor a quemado|"
            r"huele a quemado|derretid\w*|descarga electrica|electrocut\w*|calambre|"
            r"fallo a tierra|derivacion a tierra|cortocircuito)\b",
            r"\b(?:diferencial|interruptor|automatico|fusible)\b.{0,30}\b(?:salta|saltando|"
            r"se dispara|dispara)\w*",
            r"\bpanel(?:es)?\b.{0,30}\b(?:se cayo|se cayeron|cayendo|caido|suelto|sueltos|"
            r"se solto|colgando)\b",
        ],
        "de": [
            r"\b(?:rauch|raucht|qualm|qualmt|funken|funkt|funkenflug|brandgeruch|verbrannt|"
            r"verschmort|brennt|feuer|flammen|geschmolzen|stromschlag|elektrischen schlag|"
            r"erdschluss|fehlerstrom|kurzschluss)\b",
            r"\briecht\b.{0,20}\b(?:verbrannt|verschmort|verbrannt|nach plastik)\b",
            r"\b(?:fi|fi-schalter|sicherung|schutzschalter|leitungsschutzschalter)\b.{0,30}"
            r"\b(?:fliegt|fliegen|lost|losen|springt|raus)\b",
            r"\b(?:panel|paneel|modul|module|solarmodul\w*)\b.{0,30}\b(?:heruntergefallen|"
            r"runtergefallen|gefallen|fallt|lose|locker|rutscht|hangt)\b",
        ],
        "id": [
            r"\b(?:berasap|keluar asap|ada asap|percikan api|keluar api|ada api|memercik|"
            r"bau terbakar|bau gosong|gosong|terbakar|kebakaran|meleleh|tersengat listrik|"
            r"kesetrum|nyetrum|"
            r"korsleting|konslet|arus bocor|bocor arus)\b",
            r"\b(?:mcb|sekering|breaker)\b.{0,30}\b(?:turun|jeglek|trip|putus|mati terus)\b",
            r"\bpanel\w*\b.{0,30}\b(?:jatuh|lepas|copot|miring|melorot)\b",
        ],
        "el": [
            r"(?:καπνο|καπνος|καπνιζ|σπιθ|σπινθηρ|μυριζει καμενο|μυρωδια καμενου|καμμεν|καμεν|"
            r"φωτια|φλογ|πυρκαγια|λιωσ|ηλεκτροπληξια|με χτυπησε (?:το )?ρευμα|διαρροη (?:προς )?γη|"
            r"βραχυκυκλωμα)",
            r"(?:ασφαλεια|ρελε|διακοπτη)(?:.{0,30})(?:πεφτει|πεφτουν|πεσει|κατεβαινει|πεταγεται)",
            r"(?:πανελ|πλαισι)(?:.{0,30})(?:επεσε|πεφτει|πεσει|ξεκολλ|χαλαρ|κρεμεται)",
        ],
        "zh": [
            r"(?:冒烟|冒煙|烟雾|有烟|火花|打火|烧焦|燒焦|焦味|糊味|着火|起火|失火|火灾|冒火|融化|熔化|"
            r"触电|觸電|电击|電擊|漏电|漏電|短路)",
            r"(?:跳闸|跳閘|空开跳|断路器跳)",
            r"(?:板|面板|组件)(?:.{0,6})(?:掉下|掉了|脱落|松动|松了|滑落|快掉)",
        ],
        "th": [
            r"(?:ควัน|ประกายไฟ|สะเก็ดไฟ|ไฟแลบ|กลิ่นไหม้|ไหม้|ไฟไหม้|ลุกไหม้|ไฟช็อต|ไฟดูด|ไฟรั่ว|"
            r"ไฟฟ้าลัดวงจร|ลัดวงจร|ละลาย)",
            r"(?:เบรกเกอร์|เบรคเกอร์|เซฟทีคัท|ฟิวส์)(?:.{0,10})(?:ตัด|ทริป|ตก|ขาด|เด้ง)",
            r"(?:แผง)(?:.{0,10})(?:หล่น|ตก|หลุด|ร่วง|หลวม)",
        ],
    }
)

# A power cut, and no power or no backup in it.
_OUTAGE: Final = compile_table(
    {
        "en": [
            r"\b(?:power (?:is |went )?out|power cut|power outage|outage|blackout|grid (?:is )?down)\b"
        ],
        "es": [
            r"\b(?:apagon|corte de luz|corte de electricidad|sin luz|sin electricidad|se fue la luz)\b"
        ],
        "de": [r"\b(?:stromausfall|kein strom|netzausfall|blackout)\b"],
        "id": [
            r"\b(?:listrik (?:\w+ )?(?:padam|mati)|mati listrik|pemadaman|tidak ada listrik|gak ada listrik)\b"
        ],
        "el": [r"(?:διακοπη ρευματος|δεν εχουμε ρευμα|χωρις ρευμα|μπλακ αουτ|blackout)"],
        "zh": [r"(?:停电|停電|断电|斷電)"],
        "th": [r"(?:ไฟดับ|ไฟฟ้าดับ|ไม่มีไฟ)"],
    }
)

_NO_BACKUP: Final = compile_table(
    {
        "en": [
            rf"\b(?:battery|backup|back-up|inverter)\b{NEAR}\b(?:not|didn't|didnt|did not|won't|"
            r"wont|isn't|doesn't|never|failed|fails|dead|nothing)\b",
            r"\b(?:no|without) (?:backup|back-up|power|electricity)\b",
            rf"\b(?:not|didn't|didnt|did not|won't|doesn't)\b{NEAR}\b(?:switch\w*|kick\w*|"
            r"start\w*|take over|backup|back-up)\b",
        ],
        "es": [
            rf"\b(?:bateria|respaldo)\b{NEAR}\b(?:no|nada|muerta|fallo)\b",
            r"\bsin (?:respaldo|luz|electricidad)\b",
        ],
        "de": [
            rf"\b(?:batterie|akku|speicher|notstrom|ersatzstrom)\w*{NEAR}\b(?:nicht|kein|keine|nichts|aus)\b",
            r"\b(?:kein|keinen) (?:notstrom|ersatzstrom|strom)\b",
        ],
        "id": [
            rf"\b(?:baterai|cadangan)\b{NEAR}\b(?:tidak|gak|nggak|ga|mati|gagal)\b",
            r"\b(?:tidak|gak) ada (?:cadangan|listrik)\b",
        ],
        "el": [
            rf"(?:μπαταρια|εφεδρικ){NEAR}(?:δεν|δε|τιποτα|νεκρη)",
            r"(?:δεν εχουμε ρευμα|χωρις ρευμα)",
        ],
        "zh": [
            r"(?:电池|备用电|储能)(?:.{0,8})(?:没有|没|不|无法|不能)",
            r"(?:没有电|完全没电|家里没电)",
        ],
        "th": [r"(?:แบต|แบตเตอรี่|ไฟสำรอง)(?:.{0,10})(?:ไม่|ไม่ได้|ไม่ทำงาน|ไม่จ่าย)"],
    }
)

_ACCOUNT: Final = compile_table(
    {
        "en": [
            r"\b(?:hacked|hacker|hijacked|compromised|data breach|breach|account takeover|"
            r"taken over|stolen account|account (?:was |is |got )?stolen|phishing)\b",
            r"\bsomeone (?:else )?(?:has |is |was )?(?:logged|logging|log|signed|signing|got|"
            r"getting|accessed|accessing|using|changed)\b.{0,30}\b(?:in|into|account|password|email)\b",
            r"\b(?:password|email|e-mail)\b.{0,20}\bchanged\b.{0,30}\b(?:without|not me|wasn't me|"
            r"didn't)\b",
            r"\b(?:login|log-in|sign-in|logins|sign in)s?\b.{0,30}\b(?:i didn't|i did not|not me|"
            r"unknown|strange|suspicious|unrecogni[sz]ed)\b",
            r"\b(?:unknown|strange|suspicious|unauthori[sz]ed|unrecogni[sz]ed)\b.{0,20}"
            r"\b(?:login|log-in|sign-in|access|device|logins)\b",
        ],
        "es": [
            r"\b(?:hackead\w*|hackearon|pirate\w*|robaron mi cuenta|cuenta robada|"
            r"filtracion de datos|brecha de datos|suplantacion)\b",
            r"\balguien (?:ha )?(?:entro|entrado|accedio|accedido|cambio|cambiado|inicio)\b",
            r"\b(?:acceso|inicio de sesion)\b.{0,20}\b(?:desconocido|sospechoso|no autorizado)\b",
        ],
        "de": [
            r"\b(?:gehackt|gekapert|kompromittiert|datenleck|datenpanne|phishing|account "
            r"ubernommen|konto ubernommen)\b",
            r"\bjemand (?:hat|ist)\b.{0,40}\b(?:eingeloggt|angemeldet|geandert|zugegriffen)\b",
            r"\b(?:unbekannte|verdachtige|fremde)\b.{0,20}\b(?:anmeldung|login|zugriff)\w*",
        ],
        "id": [
            r"\b(?:diretas|dibajak|di-hack|dihack|kena hack|peretasan|kebocoran data|phishing)\b",
            r"\bada (?:orang )?(?:lain )?yang\b.{0,20}\b(?:masuk|login|mengakses|mengganti|ganti)\b",
            r"\b(?:login|akses)\b.{0,20}\b(?:mencurigakan|tidak dikenal|asing)\b",
        ],
        "el": [
            r"(?:χακαρ|παραβιασ|υποκλοπ|κλεψαν τον λογαριασμο|διαρροη δεδομενων|phishing)",
            r"καποιος (?:αλλος )?(?:μπηκε|συνδεθηκε|αλλαξε)",
        ],
        "zh": [
            r"(?:被盗|被黑|被入侵|盗号|被盗号|数据泄露|資料外洩|信息泄露|有人登录|有人登入|异地登录|陌生设备登录|不是我登录|被人改了密码)"
        ],
        "th": [r"(?:ถูกแฮก|โดนแฮก|ถูกแฮ็ก|โดนแฮ็ก|ถูกขโมยบัญชี|มีคนเข้าบัญชี|มีคนล็อกอิน|ข้อมูลรั่วไหล|ข้อมูลหลุด)"],
    }
)

# "fire" in "Fire TV" or "fireplace", and "burning" in "burning question": rare enough here to
# accept; a missed fire costs more than a person reading a harmless message.


def detect_safety(folded: str) -> tuple[str, list[str]] | None:
    """``("account" | "hazard", signals)`` when the message reports a safety problem."""
    account = find_all(_ACCOUNT, folded)
    if account:
        return "account", account
    hazard = find_all(_HAZARD, folded)
    if hazard:
        return "hazard", hazard
    outage = find_all(_OUTAGE, folded)
    if outage:
        no_backup = find_all(_NO_BACKUP, folded)
        if no_backup:
            return "hazard", outage + no_backup
    return None
