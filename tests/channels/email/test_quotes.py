"""strip_quotes on replies as the mail clients write them, in the product's languages."""

from __future__ import annotations

import pytest

from frontdesk.channels.email.quotes import strip_quotes

CASES: list[tuple[str, str, str]] = [
    (
        "en-gmail",
        """Thanks, that fixed it!

On Mon, 1 Dec 2026 at 10:00, Northwind Support <support@northwind.example> wrote:
> Hello Ana,
>
> please restart the bike.
""",
        "Thanks, that fixed it!",
    ),
    (
        "en-gmail-wrapped-attribution",
        """It still shows error E05.

On Mon, 1 Dec 2026 at 10:00, Northwind Bikes Customer Support Team <
support+c42-abcdefghij@northwind.example> wrote:

> Please restart the bike.
""",
        "It still shows error E05.",
    ),
    (
        "en-apple-with-mobile-signature",
        """Yes, order 1234.

Sent from my iPhone

> On 1 Dec 2026, at 10:00, Support <support@acme.test> wrote:
>
> Which order?
""",
        "Yes, order 1234.",
    ),
    (
        "en-outlook",
        """Please cancel it.

Best regards,
Ana

________________________________
From: Acme Support <support@acme.test>
Sent: Monday, December 1, 2026 10:00 AM
To: Ana Pérez <ana@customer.test>
Subject: RE: Order 1234

Hello Ana, your order has shipped.
""",
        "Please cancel it.\n\nBest regards,\nAna",
    ),
    (
        "en-original-message",
        """Here is the serial number: NW-88812.

-----Original Message-----
From: support@acme.test
Sent: 1 December 2026 10:00
Subject: serial number?

Could you send the serial number?
""",
        "Here is the serial number: NW-88812.",
    ),
    (
        "en-signature-delimiter",
        """The charger is broken.

--\x20
Ana Pérez
Head of Ops, Customer Ltd
+44 20 7946 0000
""",
        "The charger is broken.",
    ),
    (
        "en-inline-answers",
        """> Which model do you have?
The Urban 3.

> And when did you buy it?
In March.
""",
        "The Urban 3.\n\nIn March.",
    ),
    (
        "en-bottom-posted",
        """On Mon, 1 Dec 2026 at 10:00, Support <support@acme.test> wrote:
> Which model?

The Urban 3, bought in March.
""",
        "The Urban 3, bought in March.",
    ),
    (
        "de-gmail",
        """Danke, das hat geholfen.

Am Mo., 1. Dez. 2026 um 10:00 Uhr schrieb Northwind Support <support@northwind.example>:
> Hallo Ana,
> bitte starten Sie das Rad neu.
""",
        "Danke, das hat geholfen.",
    ),
    (
        "de-outlook-and-mobile",
        """Die Rechnung fehlt noch.

Von meinem iPhone gesendet

Von: Northwind Support <support@northwind.example>
Gesendet: Montag, 1. Dezember 2026 10:00
An: Ana <ana@kunde.example>
Betreff: AW: Rechnung

Hallo Ana, ...
""",
        "Die Rechnung fehlt noch.",
    ),
    (
        "de-original",
        """Bitte um Rückruf.

-----Ursprüngliche Nachricht-----
Von: support@acme.test
Gesendet: Montag, 1. Dezember 2026 10:00
""",
        "Bitte um Rückruf.",
    ),
    (
        "es-gmail",
        """Sí, es el pedido 1234.

El lun, 1 dic 2026 a las 10:00, Soporte Northwind (<support@northwind.example>) escribió:
> ¿Qué pedido?
""",
        "Sí, es el pedido 1234.",
    ),
    (
        "es-outlook-mobile",
        """No funciona la app.

Enviado desde mi Samsung Galaxy

De: Soporte <support@acme.test>
Enviado: lunes, 1 de diciembre de 2026 10:00
Para: Ana
Asunto: RE: app
""",
        "No funciona la app.",
    ),
    (
        "fr-gmail",
        """Merci, c'est réglé.

Le lun. 1 déc. 2026 à 10:00, Support Northwind <support@northwind.example> a écrit :
> Bonjour,
""",
        "Merci, c'est réglé.",
    ),
    (
        "fr-outlook",
        """Toujours pas de livraison.

De : Support <support@acme.test>
Envoyé : lundi 1 décembre 2026 10:00
À : Ana
Objet : RE: livraison
""",
        "Toujours pas de livraison.",
    ),
    (
        "el-gmail",
        """Ευχαριστώ, λειτουργεί τώρα.

Στις Δευ 1 Δεκ 2026 στις 10:00, ο/η Northwind Support <support@northwind.example> έγραψε:
> Γεια σας,
""",
        "Ευχαριστώ, λειτουργεί τώρα.",
    ),
    (
        "el-mobile-and-outlook",
        """Η μπαταρία δεν φορτίζει.

Στάλθηκε από το iPhone μου

Από: Υποστήριξη <support@acme.test>
Στάλθηκε: Δευτέρα, 1 Δεκεμβρίου 2026 10:00
Προς: Άννα
""",
        "Η μπαταρία δεν φορτίζει.",
    ),
    (
        "id-gmail",
        """Terima kasih, sudah bisa.

Pada tanggal Sen, 1 Des 2026 pukul 10.00 Northwind Support <support@northwind.example> menulis:
> Halo,
""",
        "Terima kasih, sudah bisa.",
    ),
    (
        "id-mobile",
        """Pesanan saya belum sampai.

Dikirim dari iPhone saya
""",
        "Pesanan saya belum sampai.",
    ),
    (
        "th-gmail",
        """ขอบคุณครับ ใช้ได้แล้ว

เมื่อ จ. 1 ธ.ค. 2026 เวลา 10:00 Northwind Support <support@northwind.example> เขียนว่า:
> สวัสดีครับ
""",
        "ขอบคุณครับ ใช้ได้แล้ว",
    ),
    (
        "th-mobile",
        """สินค้ายังไม่มาถึงครับ

ส่งจาก iPhone ของฉัน
""",
        "สินค้ายังไม่มาถึงครับ",
    ),
    (
        "zh-gmail",
        """谢谢，已经解决了。

Northwind Support <support@northwind.example> 于2026年12月1日周一 10:00写道：
> 您好，
""",
        "谢谢，已经解决了。",
    ),
    (
        "zh-outlook-and-mobile",
        """订单还没有到。

发自我的iPhone

发件人: Northwind Support <support@northwind.example>
发送时间: 2026年12月1日 10:00
收件人: 王先生
主题: 回复: 订单
""",
        "订单还没有到。",
    ),
    (
        "zh-traditional",
        """我的訂單還沒有到。

從我的 iPhone 傳送

Northwind Support <support@northwind.example> 於 2026年12月1日 週一 上午10:00 寫道：
> 您好
""",
        "我的訂單還沒有到。",
    ),
]


@pytest.mark.parametrize(("name", "reply", "expected"), CASES, ids=[c[0] for c in CASES])
def test_strip_quotes(name: str, reply: str, expected: str) -> None:
    assert strip_quotes(reply) == expected
    assert strip_quotes(reply.replace("\n", "\r\n")) == expected


NOT_QUOTES = [
    "On Monday I wrote to you about my order, no answer yet.",
    "On the app it says: wrote: error",  # no date or address: not an attribution
    "From: my phone I cannot log in",  # no Sent:/Date: after it
    "Sent from the warehouse yesterday, still not here.",
    "The code is -- I think -- E05.",
    "Am I allowed to return it?\nThe box schrieb nothing:",
]


@pytest.mark.parametrize("text", NOT_QUOTES)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert strip_quotes(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "> only a quote\n> and more",
        "Sent from my iPhone",
        "-- \nAna",
        "On Mon, 1 Dec 2026, Ana <a@x.test> wrote:\n> hi",
        "",
        "   ",
    ],
)
def test_nothing_left_returns_the_text_unchanged(text: str) -> None:
    assert strip_quotes(text) == text


def test_an_attribution_without_a_date_counts_when_quoted_lines_follow() -> None:
    reply = "Thanks, that worked!\n\nOn Monday, Northwind wrote:\n> We will reply soon\n> Bye"
    assert strip_quotes(reply) == "Thanks, that worked!"
    # the same words with no quote after them are the customer's own sentence
    own = "On Monday, my neighbour wrote:\nthe panels look dirty. Should I clean them?"
    assert strip_quotes(own) == own


def test_the_first_history_marker_wins_and_later_text_is_dropped() -> None:
    reply = (
        "new text\n\nOn 1 Dec 2026, A <a@x.test> wrote:\n> old\n\n-----Original Message-----\nolder"
    )
    assert strip_quotes(reply) == "new text"
