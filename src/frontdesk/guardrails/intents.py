"""What the message asks for, for the never-automate policy (F5), in every supported language.

Three intents, each a set of patterns per language over the folded text
(:func:`frontdesk.guardrails.text.normalize`):

* **pricing**: prices, quotes, discounts, "how much does … cost". Money questions the help
  center answers are left alone: shipping costs, refunds, referral credit, invoices, feed-in
  payments (a *context* that cancels a weak price word; a quote or a discount always counts).
* **plan change**: a *request* to upgrade or downgrade (or switch to a named plan). A question
  about how plan changes work ("how does upgrading work, is it prorated?") is answerable, so
  the mechanism words ("how does … work", "what happens", "take effect") cancel the match
  unless the customer also says they want it ("I want to upgrade, how does it work?").
* **cancellation**: a *request* to cancel the subscription, plan or contract, with the same
  rule for questions about what happens after cancelling. Cancelling an order or an
  appointment is not a cancellation of the relationship and does not count.

Each detector returns the matched phrases (empty: no match), which become the event's signals.
"""

from __future__ import annotations

import re
from typing import Final

from frontdesk.guardrails.text import NEAR, compile_table, find_all, find_first

__all__ = ["detect_cancellation", "detect_plan_change", "detect_pricing"]


# Pricing ---------------------------------------------------------------------------------------

# Always a pricing question: quotes, offers, discounts.
_PRICE_STRONG: Final = compile_table(
    {
        "en": [
            r"\b(?:quote|quotes|quotation|estimate for|discounts?|promo code|coupon|"
            r"special offer|price list|pricing)\b",
        ],
        "es": [
            r"\b(?:presupuesto|cotizacion|cotizar|descuentos?|oferta especial|lista de precios)\b"
        ],
        "de": [r"\b(?:kostenvoranschlag|angebot|preisliste|rabatt|rabatte|preisnachlass)\b"],
        "id": [r"\b(?:penawaran harga|diskon|potongan harga|daftar harga)\b"],
        "el": [r"(?:προσφορα|εκπτωση|εκπτωσεις|τιμοκαταλογ)"],
        "zh": [r"(?:报价|優惠|优惠|折扣|打折|价目表)"],
        "th": [r"(?:ใบเสนอราคา|ส่วนลด|โปรโมชั่น|เสนอราคา)"],
    }
)

# A price word: counts unless the message is about something the help center answers.
_PRICE_WEAK: Final = compile_table(
    {
        "en": [
            r"\b(?:price|prices|priced|cost|costs|costing|cheaper|cheapest|expensive)\b",
            r"\bhow much (?:does|do|is|are|would|will|for|to)\b",
        ],
        "es": [
            r"\b(?:precio|precios|coste|costo|costos|caro|barato)\b",
            r"\bcuanto (?:cuesta|cuestan|vale|valen|sale|costaria|cobran)\b",
        ],
        "de": [
            r"\b(?:preis|preise|kosten|kostet|teuer|gunstiger|gunstigste)\b",
            r"\bwas (?:kostet|kosten)\b",
        ],
        "id": [
            r"\b(?:harga|harganya|mahal|murah)\b",
            r"\bberapa (?:biaya|biayanya|ongkos|duit|rupiah|bayar)\b",
            r"\bbiaya (?:pemasangan|instalasi|pasang|sistem|paket|panel)\b",
        ],
        "el": [
            r"\b(?:τιμη|τιμες|τιμης|τιμων|κοστος|ακριβο|φθηνοτερο)\b",
            r"ποσο (?:κοστιζ|κανει|θα κοστισ|ειναι η τιμη)",
        ],
        "zh": [
            r"(?:多少钱|多少錢|价格|價格|价钱|价位|售价|收费多少|怎么收费|多少费用|费用是多少|贵不贵)"
        ],
        "th": [r"(?:ราคา|กี่บาท|ค่าใช้จ่าย|ค่าติดตั้ง|แพงไหม)"],
    }
)

# Money topics the help center answers: a weak price word in these is not a pricing question.
_PRICE_ANSWERABLE: Final = compile_table(
    {
        "en": [
            r"\b(?:shipping|delivery|deliver|postage|refund|refunds|money back|referral|refer|"
            r"invoice|invoices|charged|feed-in|grid|sell back)\b",
        ],
        "es": [r"\b(?:envio|entrega|devolucion|reembolso|factura|cobrado|referido)\b"],
        "de": [r"(?:versand|lieferung|erstattung|ruckerstattung|rechnung|zuruck|empfehl)"],
        "id": [r"\b(?:pengiriman|ongkir|dikembalikan|refund|invoice|tagihan|referal)\b"],
        "el": [r"(?:αποστολ|επιστροφ|τιμολογ|συστησ)"],
        "zh": [r"(?:运费|邮费|快递|发货|退|发票|推荐)"],
        "th": [r"(?:ค่าส่ง|จัดส่ง|คืนเงิน|ใบแจ้งหนี้|แนะนำเพื่อน)"],
    }
)


def detect_pricing(folded: str) -> list[str]:
    strong = find_all(_PRICE_STRONG, folded)
    if strong:
        return strong
    weak = find_all(_PRICE_WEAK, folded)
    if weak and find_first(_PRICE_ANSWERABLE, folded) is None:
        return weak
    return []


# Shared: the customer says they want it, or asks how it works -----------------------------------

_VERB = (
    r"(?:cancel|upgrade|downgrade|switch|change|move|stop|end|terminate|quit|close|go|leave|"
    r"cancelar|dar|darme|anular|mejorar|subir|cambiar|cambiarme|pasar|pasarme|bajar|terminar|"
    r"batal|batalkan|membatalkan|berhenti|stop|putus|naik|turun|ganti|pindah|akhiri)"
)

# The customer says they want the change: this wins over the mechanism words below
# ("I want to cancel, what happens to my data?" is a request). The wish must lead to the verb,
# so "I want to know what happens if I cancel" is not one.
_WANT: Final = compile_table(
    {
        "en": [
            r"\b(?:i|we)(?: really| just)?(?: want| wanna| would like|'d like|’d like| wish| need|"
            r" am going| 'm going|'m going| have decided| decided)(?: to)?(?: \w+){0,2}? "
            + _VERB
            + r"\b",
        ],
        "es": [
            r"\b(?:quiero|quisiera|queremos|me gustaria|deseo|necesito|vamos a|voy a)(?: \w+){0,2}? "
            + _VERB
            + r"\b",
        ],
        "de": [
            r"\b(?:ich mochte|ich will|ich wurde gerne?|wir mochten|wir wollen)\b.{0,40}"
            r"\b(?:kundigen|wechseln|upgraden|downgraden|beenden|umsteigen|andern|stornieren|"
            r"upgrade|downgrade|auflosen)\b",
        ],
        "id": [r"\b(?:mau|ingin|pengen|pingin|minta|tolong)(?: \w+){0,2}? " + _VERB + r"\b"],
        "el": [
            r"(?:θελω|θα ηθελα|θελουμε|παρακαλω)(?: \w+){0,3}? (?:ακυρω|διακοψ|σταματησ|αναβαθμ|"
            r"υποβαθμ|αλλαξ|περασ)",
        ],
        "zh": [
            r"(?:我要|我想|我们想|请帮我|帮我|麻烦|请)(?:.{0,3})(?:取消|退订|升级|降级|换|改|终止|停止|解约)"
        ],
        "th": [
            r"(?:ขอ|อยาก|ต้องการ|ช่วย)(?:จะ)?(?:ทำการ)?(?:ยกเลิก|เปลี่ยน|อัปเกรด|อัพเกรด|ดาวน์เกรด|เลิก|หยุด)",
        ],
    }
)

_MECHANISM: Final = compile_table(
    {
        "en": [
            r"\bhow (?:does|do|would|will) (?:\w+ )?(?:cancell?ing|cancell?ation|upgrading|"
            r"downgrading|plan changes?|upgrades?|downgrades?|it) (?:work|happen)",
            r"\bwhat happens\b",
            r"\b(?:if|when|after|once) (?:i|we) (?:cancel|upgrade|downgrade|switch)",
            r"\bafter (?:cancell?ing|cancell?ation|the subscription ends|upgrading|downgrading)\b",
            r"\b(?:take|takes) effect\b",
            r"\bprorat",
            r"\b(?:stop|end)s? (?:right away|immediately)\b",
        ],
        "es": [
            r"\b(?:como funciona|que pasa|que ocurre|si cancelo|despues de cancelar|al cancelar)\b"
        ],
        "de": [
            r"\b(?:wie funktioniert|was passiert|wenn ich kundige|nach der kundigung|ab wann)\b"
        ],
        "id": [
            r"\b(?:bagaimana cara kerja|cara kerjanya|apa yang terjadi|kalau saya|jika saya|"
            r"setelah|sesudah)\b",
        ],
        "el": [r"(?:πως λειτουργ|τι γινεται|τι συμβαινει|αν ακυρωσω|μετα την ακυρωση)"],
        "zh": [r"(?:怎么运作|如何运作|会怎样|会怎么样|之后|以后会|如果取消|如果升级|流程是)"],
        "th": [r"(?:ถ้ายกเลิก|หลังยกเลิก|หลังจากยกเลิก|จะเป็นยังไง|จะเป็นอย่างไร|ทำงานยังไง)"],
    }
)


def _request(hits: list[str], folded: str) -> list[str]:
    """``hits`` when the message asks for the change rather than about how it works."""
    if not hits:
        return []
    wish = find_first(_WANT, folded)
    if wish is not None:
        return [*hits, wish[1]]
    if find_first(_MECHANISM, folded) is None:
        return hits
    return []


# Plan change -----------------------------------------------------------------------------------

_PLAN = (
    r"(?:plan|plans|subscription|tier|package|basic|plus|pro|premium|tarif|tarifa|abo|"
    r"suscripcion|paket|langganan|πακετο|προγραμμα|συνδρομη)"
)

_PLAN_CHANGE: Final = compile_table(
    {
        "en": [
            r"\b(?:upgrade|upgrading|downgrade|downgrading)\b(?! (?:the )?(?:firmware|app|software))",
            rf"\b(?:switch|change|move|go|moving|switching)\b{NEAR}\b(?:to|onto)\b"
            rf"{NEAR}\b(?:basic|plus|pro|premium|a (?:cheaper|smaller|bigger|higher|lower) "
            r"(?:plan|tier|package))\b",
            r"\bchange (?:my|our|the) (?:plan|subscription|tier|package)\b",
        ],
        "es": [
            rf"\b(?:mejorar|subir|cambiar|cambiarme|pasar|pasarme|actualizar|bajar)\b{NEAR}{_PLAN}\b",
        ],
        "de": [
            r"\b(?:upgrade|downgrade|upgraden|downgraden|hochstufen|herabstufen)\b",
            rf"\b(?:wechseln|wechsel|umsteigen|umstellen|andern)\b{NEAR}{_PLAN}",
            rf"{_PLAN}{NEAR}\b(?:wechseln|umsteigen|umstellen|andern)\b",
        ],
        "id": [
            r"\b(?:upgrade|downgrade)\b",
            rf"\b(?:naik|turun|ganti|pindah|ubah)\b{NEAR}\b(?:paket|plan|langganan|basic|plus|pro)\b",
        ],
        "el": [
            r"(?:αναβαθμ|υποβαθμ)",
            rf"(?:αλλαξω|αλλαγη|μεταβω|περασω){NEAR}(?:πακετο|προγραμμα|συνδρομη|basic|plus|pro)",
        ],
        "zh": [
            r"(?:升级|降级|升級|降級)",
            r"(?:换成|改成|换到|切换到|转为|换为)(?:.{0,6})(?:套餐|计划|plan|pro|plus|basic|会员|订阅)",
        ],
        "th": [r"(?:อัปเกรด|อัพเกรด|ดาวน์เกรด|เปลี่ยนแพ็กเกจ|เปลี่ยนแพ็คเกจ|เปลี่ยนแผน|เปลี่ยนเป็นแพ็)"],
    }
)

# Upgrading something else (firmware, the app) is not a plan change.
_NOT_PLAN: Final = compile_table(
    {
        "all": [
            r"(?:firmware|software|app version|update|aktualisierung|固件|软件|เฟิร์มแวร์|υλικολογισμικ)",
        ]
    }
)


def detect_plan_change(folded: str) -> list[str]:
    hits = find_all(_PLAN_CHANGE, folded)
    if hits and find_first(_NOT_PLAN, folded) is not None and not re.search(_PLAN, folded):
        return []
    return _request(hits, folded)


# Cancellation ----------------------------------------------------------------------------------

_CANCEL: Final = compile_table(
    {
        "en": [
            r"\b(?:cancel|cancell?ing|cancell?ation|terminate|unsubscribe)\b",
            r"\b(?:stop|end|close|quit)\b (?:my|the|our|this)\b.{0,30}\b(?:plan|subscription|"
            r"monitoring|membership|service|contract|account)\b",
        ],
        "es": [
            r"\b(?:cancelar|cancelacion|cancelo|anular|rescindir|darme de baja|dar de baja|"
            r"darnos de baja)\b",
            r"\b(?:terminar|finalizar) (?:mi|el|la) (?:contrato|suscripcion|plan)\b",
        ],
        "de": [
            r"(?:kundigen|kundige|kundigung|stornieren|stornierung)",
            r"\b(?:abo|vertrag|tarif|mitgliedschaft|abonnement)\b.{0,20}\b(?:beenden|aufheben|auflosen)\b",
        ],
        "id": [
            r"\b(?:batal|batalkan|membatalkan|pembatalan)\b",
            r"\b(?:berhenti|stop|putus|putuskan|akhiri|mengakhiri|tutup)\b.{0,20}"
            r"\b(?:berlangganan|langganan|kontrak|akun|paket)\b",
        ],
        "el": [r"(?:ακυρω|ακυρωσ|διακοπη (?:της )?συνδρομης|διακοψω|σταματησω)"],
        "zh": [r"(?:取消|退订|退訂|解约|解約|终止|停止订阅|停止服务|不想续|不再续)"],
        "th": [r"(?:ยกเลิก|เลิกใช้|หยุดใช้บริการ|เลิกเป็นสมาชิก)"],
    }
)

# Cancelling an order, a visit or notifications is not ending the relationship.
_NOT_RELATIONSHIP: Final = compile_table(
    {
        "all": [
            r"\b(?:order|orders|appointment|visit|booking|pedido|cita|visita|bestellung|termin|"
            r"pesanan|jadwal|kunjungan|emails?|newsletter|notifications?)\b",
            r"(?:παραγγελια|ραντεβου|επισκεψη|订单|訂單|预约|預約|คำสั่งซื้อ|นัด|การแจ้งเตือน)",
        ]
    }
)


def detect_cancellation(folded: str) -> list[str]:
    hits = find_all(_CANCEL, folded)
    if hits and find_first(_NOT_RELATIONSHIP, folded) is not None:
        return []
    return _request(hits, folded)
