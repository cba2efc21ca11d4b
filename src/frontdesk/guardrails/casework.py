"""Cases only a person can solve: the customer reports a problem with *their* order, invoice
or visit, in every supported language.

The help center explains how things work ("how do I track my order?", "where is my
invoice?"); it cannot look into one order that arrived broken, an invoice charged twice or a
roof tile a technician cracked. Such messages are in scope, and the knowledge base often has an
article on the topic, so retrieval alone finds the article with confidence and the bot would
answer with something that does not help. Four kinds, each a set of patterns per language over
the folded text (:func:`frontdesk.guardrails.text.normalize`):

* **delivery**: an order or a parcel that arrived damaged, broken, incomplete or wrong, or that
  is shown as delivered but never came. An order that has not arrived *yet* is a tracking
  question the help center answers, and is left alone;
* **billing**: an invoice, bill or charge that is wrong, charged twice, or not recognised;
* **visit**: a technician or installer who damaged something, left something behind or did not
  finish, or a fault that is back after their visit;
* **action**: the customer asks the team to do something to their case: check or fix an
  invoice or an order, send someone (back), send a replacement, reissue a document, or say who
  pays for a damage.

:func:`detect_case` returns ``(kind, matched phrases)`` or None: the first kind that matched,
with every phrase that did (they become the event's signals).
"""

from __future__ import annotations

import re
from typing import Final

from frontdesk.guardrails.text import Patterns, compile_table, find_all

__all__ = ["detect_case"]


_DELIVERY: Final = compile_table(
    {
        "en": [
            r"\b(?:arrived|came|was delivered|got delivered|turned up|received (?:it|them|the \w+))"
            r"\b.{0,30}\b(?:damaged|broken|cracked|dented|smashed|shattered|scratched|defective|"
            r"faulty|missing|incomplete|wet|crushed)\b",
            r"\b(?:damaged|broken|cracked|dented|smashed|defective|crushed) (?:on|upon) arrival\b",
            r"\b(?:you )?(?:delivered|sent|shipped)\b.{0,30}\b(?:cracked|cracks?|broken|damaged|"
            r"dented|scratched|defective)\b",
            r"\b(?:says|shows|marked|marked as|status is|tracking says)\b.{0,20}\bdelivered\b"
            r".{0,60}\b(?:not|never|nothing|didn'?t|haven'?t|hasn'?t)\b",
            r"\b(?:sent|delivered|shipped|received|got) (?:me |us )?(?:the |a )?wrong "
            r"(?:item|product|part|model|size|colou?r|kit|one)\b",
            r"\bwrong (?:item|product|part|model) (?:arrived|was sent|was delivered|in the box)\b",
            r"\b(?:parts?|pieces?|screws|cables?|items?) (?:are |were |is |was )?missing "
            r"(?:from|in) (?:the |my )?(?:box|package|parcel|order|delivery|kit)\b",
        ],
        "es": [
            r"\b(?:llego|llegaron|ha llegado|han llegado|recibi|he recibido|vino|entregaron)\b"
            r".{0,30}\b(?:roto|rota|rotos|rotas|danad\w*|rajad\w*|agrietad\w*|abollad\w*|"
            r"defectuos\w*|incomplet\w*|mojad\w*)\b",
            r"\b(?:entregado|entregada)\b.{0,60}\b(?:no (?:lo |la |los |las )?(?:he recibido|"
            r"recibi|ha llegado|llego)|nada)\b",
            r"\b(?:producto|articulo|pieza|modelo) (?:equivocad\w*|incorrect\w*)\b",
            r"\bfalta(?:n)? (?:piezas|tornillos|cables|una pieza|un cable)\b",
        ],
        "de": [
            r"\b(?:kam|kamen|ist|sind|wurde|wurden|angekommen|geliefert|erhalten)\b.{0,30}"
            r"\b(?:beschadigt|kaputt|zerbrochen|gebrochen|gesprungen|zerkratzt|defekt|"
            r"unvollstandig|verbeult|nass)\b",
            r"\bzugestellt\b.{0,60}\b(?:nicht (?:erhalten|bekommen|angekommen)|nichts|nie)\b",
            r"\b(?:falsche[nrs]?|verkehrte[nrs]?) (?:artikel|produkt|teil|modell|ware|paket)\b",
            r"\b(?:es )?fehl(?:t|en) (?:teile|schrauben|kabel|ein teil|ein kabel)\b",
        ],
        "id": [
            r"\b(?:datang|sampai|tiba|diterima|terima|dikirim)\b.{0,30}\b(?:rusak|pecah|retak|"
            r"penyok|cacat|tidak lengkap|kurang|basah)\b",
            r"\b(?:diterima|terkirim|delivered|sudah sampai)\b.{0,60}\b(?:belum (?:saya )?"
            r"(?:terima|dapat)|tidak (?:ada|sampai|saya terima))\b",
            r"\b(?:barang|produk|item|model) (?:yang )?salah\b",
            r"\bsalah (?:kirim|barang|produk)\b",
        ],
        "el": [
            r"παραδοθηκε.{0,60}(?:δεν (?:το |τα )?(?:ελαβα|παρελαβα|ηρθε|ηρθαν)|τιποτα)",
            r"(?:ηρθε|ηρθαν|εφτασε|εφτασαν|παρελαβα|ελαβα).{0,30}(?:σπασμεν|χαλασμεν|"
            r"κατεστραμμεν|ραγισμεν|ελαττωματικ|ελλιπ|βρεγμεν)",
            r"(?:λαθος|λανθασμενο) (?:προιον|προϊον|κομματι|μοντελο|δεμα)",
        ],
        "zh": [
            r"(?:显示|已经|已)(?:签收|送达|妥投).{0,20}(?:没|未)(?:有)?(?:收到|到)",
            r"(?:收到|到货|送到|寄来).{0,15}(?:破损|损坏|坏了|裂了|碎了|有裂|缺少|少了|不全|发错)",
            r"(?:发错|寄错|送错)(?:了)?(?:货|商品|型号|东西)?",
        ],
        "th": [
            r"(?:ขึ้นว่า|แจ้งว่า|สถานะ).{0,15}(?:ส่งแล้ว|จัดส่งสำเร็จ|ส่งถึงแล้ว).{0,30}ไม่ได้รับ",
            r"(?:ได้รับ|ส่งมา|มาถึง|ของมา).{0,20}(?:แตก|เสียหาย|ชำรุด|บุบ|ไม่ครบ|ส่งผิด)",
            r"ส่ง(?:ของ|สินค้า)?ผิด",
        ],
    }
)

_BILLING: Final = compile_table(
    {
        "en": [
            r"\b(?:charged|billed|debited|taken|paid)\b.{0,20}\b(?:twice|two times|three times|"
            r"\d times|several times|multiple times|double|"
            r"more than once|too much|the wrong amount)\b",
            r"\b(?:double|duplicate)[- ]?(?:charge|charged|payment|billing|debit)s?\b",
            r"\b(?:two|2|three|3|duplicate|identical) (?:identical |duplicate |same )?(?:charges|"
            r"payments|debits|transactions)\b",
            r"\bovercharg\w*",
            r"\b(?:invoice|bill|charge|statement|receipt)s?\b.{0,40}\b(?:is wrong|are wrong|"
            r"(?:looks|seems|look|seem) wrong|"
            r"wrong (?:name|address|amount|company|vat|total)|incorrect|mistake|an error|"
            r"don'?t recogni[sz]e|not recogni[sz]ed|unknown|isn'?t mine|is not mine)\b",
            r"\b(?:don'?t|do not) recogni[sz]e\b.{0,30}\b(?:charge|payment|amount|invoice|debit)\b",
            r"\bwrong (?:name|address|amount|company|vat number|total) on (?:the |my )?"
            r"(?:invoice|bill|receipt)\b",
        ],
        "es": [
            r"\b(?:cobrado|cobraron|cobrasteis|cargado|cargaron|pagado)\b.{0,20}\b(?:dos veces|"
            r"doble|de mas)\b",
            r"\b(?:cargo|cobro|pago) (?:duplicado|doble)\b",
            r"\b(?:factura|cargo|cobro|recibo)\b.{0,40}\b(?:incorrect\w*|equivocad\w*|erroneo|"
            r"un error|no reconozco|mal)\b",
            r"\bno reconozco\b.{0,30}\b(?:cargo|cobro|importe|factura)\b",
        ],
        "de": [
            r"\b(?:doppelt|zweimal|zu viel) (?:abgebucht|berechnet|belastet|bezahlt|abgerechnet)\b",
            r"\b(?:rechnung|abbuchung|belastung|lastschrift)\b.{0,40}\b(?:falsch\w*|fehlerhaft|"
            r"fehler|doppelt|zweimal|nicht nachvollziehbar|kenne ich nicht|unbekannt)\b",
            r"\b(?:falsche[nrs]?) (?:betrag|name|adresse|firmenname|rechnungsadresse) auf der "
            r"rechnung\b",
        ],
        "id": [
            r"\b(?:ditagih|terpotong|dipotong|didebit|dibayar)\b.{0,20}\b(?:dua kali|ganda|lebih)\b",
            r"\btagihan (?:ganda|dobel|double)\b",
            r"\b(?:tagihan|invoice|faktur|kwitansi)\b.{0,40}\b(?:salah|keliru|tidak sesuai|"
            r"dua kali|tidak (?:saya )?kenali|tidak dikenal)\b",
        ],
        "el": [
            r"χρεωθηκα.{0,20}(?:δυο φορες|διπλα|παραπανω)",
            r"διπλη χρεωση",
            r"(?:τιμολογ|λογαριασμ|χρεωσ)\w*.{0,40}(?:λαθος|λανθασμεν|δυο φορες|διπλ|"
            r"δεν αναγνωριζ|αγνωστ)",
        ],
        "zh": [
            r"(?:发票|账单|扣款|扣费|收费).{0,15}(?:写错|错了|有误|不对|重复|两次|多扣|不认识|不明)",
            r"(?:扣|收|刷)了两次|重复扣|多扣了",
        ],
        "th": [
            r"(?:ใบแจ้งหนี้|บิล|ใบเสร็จ|ใบกำกับภาษี).{0,30}(?:ผิด|ซ้ำ|สองครั้ง|ไม่ถูกต้อง)",
            r"(?:คิดเงิน|ตัดเงิน|เก็บเงิน|หักเงิน|ตัดบัตร).{0,10}(?:ซ้ำ|สองครั้ง|เกิน)",
        ],
    }
)

_VISIT: Final = compile_table(
    {
        "en": [
            r"\b(?:technician|installer|engineer|fitter|electrician|your (?:guy|team|crew))s?\b"
            r".{0,60}\b(?:damaged|broke|cracked|scratched|dented|left (?:a |the |some )?\w+ "
            r"(?:hanging|behind|lying|on)|left (?:a |the )?(?:holes?|mess|scratch\w*|dents?|"
            r"cracks?|marks?)|forgot|didn'?t (?:finish|fix|come|show up)|"
            r"never (?:came|showed up|finished))\b",
            r"\b(?:again|still|back)\b.{0,40}\bafter (?:the |your |a )?(?:technician|installer|"
            r"engineer|repair|service|maintenance)\b",
            r"\bafter (?:the |your |a )?(?:technician|installer|engineer|repair|service|"
            r"maintenance)(?:'?s)? (?:visit|came|was here|left)\b.{0,40}\b(?:again|still|"
            r"stopped|broken|not working)\b",
        ],
        "es": [
            r"\b(?:tecnico|instalador|operario|electricista)s?\b.{0,60}\b(?:dano|danaron|rompio|"
            r"rompieron|rayo|dejo|dejaron|olvido|no termino|no vino)\b",
            r"\b(?:otra vez|de nuevo|sigue|vuelve)\b.{0,40}\bdespues de (?:la visita|que vino|"
            r"la reparacion)\b",
        ],
        "de": [
            r"\b(?:techniker|monteur|installateur|elektriker|handwerker)s?\b.{0,60}"
            r"\b(?:beschadigt|kaputt gemacht|zerbrochen|zerkratzt|liegen lassen|vergessen|"
            r"nicht fertig|nicht gekommen)\b",
            r"\b(?:wieder|immer noch|schon wieder)\b.{0,40}\bnach dem (?:techniker)?(?:besuch|"
            r"termin|einsatz)\b",
            r"\bnach dem (?:techniker)?(?:besuch|einsatz)\b.{0,40}\b(?:wieder|immer noch)\b",
        ],
        "id": [
            r"\b(?:teknisi|tukang|petugas pemasangan|installer)\b.{0,60}\b(?:merusak|rusak|"
            r"memecahkan|pecah|meninggalkan|lupa|tidak datang|tidak selesai)\b",
            r"\b(?:lagi|masih)\b.{0,40}\bsetelah (?:kunjungan|teknisi|perbaikan)\b",
            r"\bsetelah (?:kunjungan )?teknisi\b.{0,40}\b(?:lagi|masih)\b",
        ],
        "el": [
            r"τεχνικ\w*.{0,60}(?:ζημια|εσπασε|χαλασε|γρατζουν|αφησε|ξεχασε|δεν ηρθε|δεν τελειωσε)",
            r"(?:ξανα|παλι|ακομα).{0,40}μετα (?:την επισκεψη|τον τεχνικο|την επισκευη)",
        ],
        "zh": [
            r"(?:师傅|技术员|安装工|安装人员|工程师|维修人员).{0,30}(?:弄坏|损坏|搞坏|刮花|"
            r"弄破|落下|忘了|没来|没装好|没修好)",
            r"(?:上门|维修|检修)(?:之后|以后|后).{0,20}(?:又|还是|仍然)",
        ],
        "th": [
            r"ช่าง.{0,30}(?:ทำ.{0,25}(?:เสียหาย|แตก|พัง)|ทิ้ง|ลืม|ไม่มา|ทำไม่เสร็จ)",
            r"หลัง(?:จาก)?ช่าง.{0,30}(?:อีกแล้ว|อีกครั้ง|ยัง)",
        ],
    }
)

_ACTION: Final = compile_table(
    {
        "en": [
            r"\b(?:can|could|will) (?:someone|somebody|you|a technician) (?:please )?(?:come|"
            r"send someone)(?: back| out| over|\b)",
            r"\bsend (?:someone|somebody|a technician|an engineer|an installer)\b",
            r"\b(?:can|could|would) you (?:please )?(?:check|look into|investigate|fix|correct) "
            r"(?:it|this|that|my (?:invoice|bill|order|account|payment))\b",
            r"\b(?:need|want|like|send me|send us) (?:a |an )?(?:replacement|new one)\b",
            r"\b(?:re-?issue|correct|fix|amend|cancel and reissue) (?:the |my |this )?(?:invoice|"
            r"bill|receipt)\b",
            r"\b(?:need|want|like) (?:a )?(?:new|corrected) invoice\b",
            r"\bwho (?:pays|will pay|is paying|covers|is responsible) for (?:it|this|that|the "
            r"(?:damage|repair))\b",
            r"\bwho (?:will|is going to|should|can) (?:repair|fix|pay for) (?:it|this|that)\b",
        ],
        "es": [
            r"\b(?:me lo|me la|nos lo) (?:podeis|pueden|puedes) (?:revisar|comprobar|mirar|"
            r"corregir|cambiar)\b",
            r"\b(?:mandar|enviar|mandad|enviad) (?:a )?(?:alguien|un tecnico)\b",
            r"\b(?:necesito|quiero) (?:un|una) (?:reemplazo|sustitucion|repuesto|nueva factura|"
            r"factura corregida)\b",
            r"\bquien (?:paga|se hace cargo|cubre)\b",
        ],
        "de": [
            r"\bwer kommt (?:dafur|fur den schaden) auf\b",
            r"\bwer (?:zahlt|bezahlt|haftet) (?:dafur|das|den schaden)\b",
            r"\b(?:jemanden|einen techniker) (?:schicken|vorbeischicken)\b",
            r"\b(?:brauche|mochte|hatte gern) (?:einen )?ersatz\b",
            r"\b(?:neue|korrigierte) rechnung\b",
            r"\bbitte (?:prufen|uberprufen|korrigieren)\b",
        ],
        "id": [
            r"\b(?:tolong|mohon|minta) (?:bantu )?(?:cek|dicek|periksa|diperiksa|pindahkan|"
            r"dipindahkan|perbaiki|diperbaiki|ganti|diganti|koreksi)\b",
            r"\bkirim (?:teknisi|petugas|orang|pengganti|barang pengganti)\b",
            r"\b(?:siapa yang (?:tanggung|bayar|menanggung))\b",
        ],
        "el": [
            r"μπορειτε να (?:το |τα )?(?:ελεγξετε|διορθωσετε|στειλετε)",
            r"στειλτε (?:τεχνικο|καποιον|αντικατασταση)",
            r"(?:χρειαζομαι|θελω) (?:αντικατασταση|νεο τιμολογιο|καινουργιο)",
            r"ποιος (?:πληρωνει|θα πληρωσει|καλυπτει)",
        ],
        "zh": [
            r"(?:重新开|重开|补开|重新出)(?:一张)?(?:发票)?",
            r"(?:帮我|麻烦|请)(?:查一下|查查|核实|核查|处理一下|看一下这)",
            r"(?:派人|派师傅|派技术员|再来一趟|上门处理)",
            r"(?:换一个|换货|补发|寄一个新的)",
            r"谁(?:来)?(?:赔|负责|承担)",
        ],
        "th": [
            r"(?:รบกวน|ช่วย)ตรวจสอบ",
            r"ตรวจสอบให้",
            r"(?:ส่งช่าง|ให้ช่างมา|ช่างมาดู)",
            r"(?:ขอ|ส่ง)(?:ของ|สินค้า|ตัว)?ใหม่(?:ให้)?",
            r"ใคร(?:จะ)?(?:รับผิดชอบ|จ่าย)",
        ],
    }
)

# A question about what *would* happen ("what if my parcel arrives damaged?") is one the help
# center answers: a match after one of these, in the same sentence, does not count. "If" that
# means "whether" ("can you check if I was charged twice?") and the Spanish "sí," (yes) do not.
_HYPOTHETICAL: Final = compile_table(
    {
        "en": [
            r"\b(?<!check )(?<!see )(?<!know )(?<!wonder )(?<!ask )if\b",
            r"\b(?:in case|suppose|supposing)\b",
        ],
        "es": [
            r"\b(?<!mirar )(?<!revisar )(?<!comprobar )(?<!saber )si\b(?!,)",
            r"\ben caso de\b",
        ],
        "de": [r"\b(?:wenn|falls|sollte)\b"],
        "id": [r"\b(?:kalau|jika|apabila|bila|seandainya|andaikan)\b"],
        "el": [r"(?:\bαν\b|\bεαν\b|σε περιπτωση)"],
        "zh": [r"(?:如果|万一|要是|假如|若是)"],
        "th": [r"(?:ถ้า|หาก|กรณี|สมมติ)"],
    }
)
# How to do something ("how do I get a corrected invoice?"): a question, not a request that the
# team act, so it cancels an ``action`` match (the other kinds report what happened).
_HOW_TO: Final = compile_table(
    {
        "en": [r"\bhow (?:do|can|could|should) (?:i|we)\b", r"\bis it possible to\b"],
        "es": [r"\bcomo (?:puedo|se|hago|consigo|pido|obtengo)\b"],
        "de": [r"\bwie (?:kann|bekomme|erhalte|komme|beantrage)\b"],
        "id": [r"\bbagaimana (?:cara|caranya)\b", r"\bcara (?:untuk )?\w+"],
        "el": [r"πως (?:μπορω|θα|να)"],
        "zh": [r"(?:怎么|如何|怎样)"],
        "th": [r"(?:ยังไง|อย่างไร|วิธี)"],
    }
)
_SENTENCE_END: Final = re.compile(r"[.!?;\n。！？]")

KINDS: Final = (
    ("delivery", _DELIVERY),
    ("billing", _BILLING),
    ("visit", _VISIT),
    ("action", _ACTION),
)


def _hypothetical(folded: str, start: int) -> bool:
    """Whether the sentence holding ``start`` says "if" before it."""
    ends = [m.end() for m in _SENTENCE_END.finditer(folded, 0, start)]
    sentence = folded[ends[-1] if ends else 0 : start]
    return any(p.search(sentence) for items in _HYPOTHETICAL.values() for p in items)


def _matches(patterns: Patterns, folded: str) -> list[str]:
    found: list[str] = []
    for items in patterns.values():
        for pattern in items:
            match = pattern.search(folded)
            if match and not _hypothetical(folded, match.start()):
                found.append(match.group(0).strip())
    return found


def detect_case(folded: str) -> tuple[str, list[str]] | None:
    """``(kind, matched phrases)`` when the message is a case only a person can solve."""
    how_to = bool(find_all(_HOW_TO, folded))
    kind: str | None = None
    matched: list[str] = []
    for name, patterns in KINDS:
        if name == "action" and how_to:
            continue
        found = _matches(patterns, folded)
        if found and kind is None:
            kind = name
        matched += found
    return (kind, matched) if kind else None
