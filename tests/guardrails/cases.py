"""Messages written for the guardrail tests (not taken from the Helios data): per intent and
language, ones that must trigger the rule and ones that must not. The benchmark reads them too
(``benchmarks/guardrails.py --cases``) as a check beyond the dev set."""

from __future__ import annotations

from typing import Final

# intent -> language -> (must trigger, must not trigger)
CASES: Final[dict[str, dict[str, tuple[list[str], list[str]]]]] = {
    "pricing": {
        "en": (
            [
                "What would a 8 kW installation set me back, roughly what's the price?",
                "Could I get a quotation for a battery?",
            ],
            [
                "How much does shipping to Austria cost?",
                "How much credit do I get when a friend signs up?",
            ],
        ),
        "th": (
            ["แผงโซลาร์ 10 แผง ราคาประมาณเท่าไหร่", "ขอใบเสนอราคาติดตั้งแบตเตอรี่"],
            ["ค่าส่งไปเชียงใหม่กี่วัน", "ขอคืนเงินได้ไหม"],
        ),
        "el": (
            ["Ποσο κοστίζει μια μπαταρία 10 kWh;", "Θα ήθελα μια προσφορά για φωτοβολταϊκά"],
            ["Πού βρίσκω το τιμολόγιο του Μαρτίου;", "Πόσο καιρό κρατάει η μπαταρία;"],
        ),
        "zh": (
            ["家用储能电池的价格是多少？", "能给我报价吗，屋顶大概80平米"],
            ["运费是多少？", "订阅费用可以退吗"],
        ),
        "id": (
            ["berapa harga paket panel 5 kWp?", "ada diskon untuk pemasangan bulan ini?"],
            ["berapa lama garansi inverter?", "biaya langganan bisa dikembalikan?"],
        ),
        "es": (
            [
                "¿Cuánto cuesta instalar paneles en un tejado de 60 m2?",
                "Me gustaría un presupuesto para una batería",
            ],
            ["¿Cuánto tarda el envío a Valencia?", "¿Cómo pido un reembolso?"],
        ),
        "de": (
            [
                "Was kostet eine Anlage mit Speicher?",
                "Ich hätte gern einen Kostenvoranschlag für 12 Module",
            ],
            ["Wie hoch sind die Versandkosten nach Österreich?", "Wo finde ich meine Rechnung?"],
        ),
    },
    "plan_change": {
        "en": (
            ["Please move me onto the Plus plan", "I'd like to downgrade my subscription to Basic"],
            ["How do upgrades work, is it prorated?", "What's included in the Plus plan?"],
        ),
        "th": (
            ["อยากอัปเกรดเป็นแพ็กเกจ Pro", "ขอดาวน์เกรดเป็น Basic ค่ะ"],
            ["แพ็กเกจ Plus มีอะไรบ้าง", "ถ้าอัปเกรดจะเป็นยังไง"],
        ),
        "el": (
            ["Θέλω να αναβαθμίσω το πακέτο μου σε Pro", "Παρακαλώ να αλλάξω το πρόγραμμα σε Basic"],
            [
                "Τι περιλαμβάνει το πακέτο Plus;",
                "Πώς λειτουργεί η αναβάθμιση; τι γίνεται με την χρέωση;",
            ],
        ),
        "zh": (
            ["我想升级到Pro套餐", "请帮我把套餐降级成Basic"],
            ["Plus套餐包括什么？", "升级之后会怎样计费？"],
        ),
        "id": (
            ["saya mau upgrade ke paket Pro", "tolong ganti paket saya ke Basic"],
            [
                "paket Plus isinya apa saja?",
                "bagaimana cara kerja upgrade paket, apa yang terjadi dengan tagihan?",
            ],
        ),
        "es": (
            ["Quiero pasarme al plan Pro", "Por favor, cambiar mi suscripción a Basic"],
            [
                "¿Qué incluye el plan Plus?",
                "¿Cómo funciona el cambio de plan? ¿Qué pasa con el pago?",
            ],
        ),
        "de": (
            ["Ich möchte auf den Pro-Tarif wechseln", "Bitte mein Abo auf Basic downgraden"],
            [
                "Was ist im Plus-Tarif enthalten?",
                "Wie funktioniert ein Upgrade, was passiert mit der Abrechnung?",
            ],
        ),
    },
    "cancellation": {
        "en": (
            ["I want to cancel my subscription", "Please terminate our monitoring contract"],
            ["What happens to my data if I cancel?", "Can I cancel my order for the cleaning kit?"],
        ),
        "th": (
            ["ขอยกเลิกสมาชิกค่ะ", "อยากยกเลิกแพ็กเกจรายเดือน"],
            ["ถ้ายกเลิกแล้วข้อมูลจะเป็นยังไง", "ยกเลิกคำสั่งซื้อได้ไหม"],
        ),
        "el": (
            [
                "Θέλω να ακυρώσω τη συνδρομή μου",
                "Παρακαλώ ακύρωση της συνδρομής από τον επόμενο μήνα",
            ],
            ["Τι γίνεται με τα δεδομένα μου αν ακυρώσω;", "Μπορώ να ακυρώσω την παραγγελία μου;"],
        ),
        "zh": (
            ["我要取消订阅", "帮我退订监控服务"],
            ["取消之后我的数据会怎样？", "可以取消订单吗？"],
        ),
        "id": (
            ["saya mau berhenti berlangganan", "tolong batalkan langganan saya bulan depan"],
            ["kalau saya batal, data saya bagaimana?", "bisa batalkan pesanan saya?"],
        ),
        "es": (
            ["Quiero cancelar mi suscripción", "Deseo darme de baja del servicio"],
            ["¿Qué pasa con mis datos si cancelo?", "¿Puedo cancelar mi pedido?"],
        ),
        "de": (
            ["Ich möchte mein Abo kündigen", "Hiermit kündige ich den Monitoring-Vertrag"],
            [
                "Was passiert mit meinen Daten, wenn ich kündige?",
                "Kann ich meine Bestellung stornieren?",
            ],
        ),
    },
    "frustration": {
        "en": (
            [
                "Fourth time I write about this and still no reply. Ridiculous.",
                "WHY IS NOBODY ANSWERING ME",
            ],
            [
                "The app shows E02 again, what should I do?",
                "Where do I change the email address my invoices go to?",
            ],
        ),
        "th": (
            ["แจ้งมาสามครั้งแล้ว ยังไม่มีใครตอบเลย", "บริการห่วยมาก ไม่พอใจอย่างแรง"],
            ["แอปไม่แสดงข้อมูล ต้องทำยังไง", "ดูใบแจ้งหนี้ย้อนหลังได้ที่ไหน"],
        ),
        "el": (
            [
                "Είναι η τρίτη φορά που γράφω, απαράδεκτο!",
                "Ακόμα δεν έχει διορθωθεί το πρόβλημα, κανείς δεν απαντά",
            ],
            ["Η εφαρμογή δεν δείχνει δεδομένα, τι να κάνω;", "Πότε έρχεται ο τεχνικός;"],
        ),
        "zh": (
            ["我已经联系你们好几次了，还是没人回复！", "什么破服务，太差劲了"],
            ["应用里没有数据，怎么办？", "怎么修改发票抬头？"],
        ),
        "id": (
            [
                "sudah tiga kali saya komplain, masih belum juga diperbaiki",
                "pelayanan kalian parah, sangat mengecewakan",
            ],
            [
                "aplikasi tidak menampilkan data, bagaimana?",
                "bagaimana cara mengubah alamat di tagihan?",
            ],
        ),
        "es": (
            [
                "Es la tercera vez que escribo y sigue sin funcionar",
                "Servicio pésimo, esto es una estafa",
            ],
            ["La app no muestra datos, ¿qué hago?", "¿Me podéis revisar la factura?"],
        ),
        "de": (
            [
                "Ich schreibe zum dritten Mal, das ist eine Frechheit!",
                "Immer noch nicht repariert, niemand meldet sich",
            ],
            ["Die App zeigt keine Daten, was tun?", "Können Sie meine Rechnung prüfen?"],
        ),
    },
    "safety": {
        "en": (
            [
                "There is smoke coming out of the inverter",
                "The power went out and the battery is not giving us any backup",
            ],
            [
                "How long can the battery power my house in a blackout?",
                "How do I clean the panels?",
            ],
        ),
        "th": (
            ["อินเวอร์เตอร์มีควันออกมา", "มีกลิ่นไหม้ที่ตู้ไฟ"],
            ["ถ้าไฟดับ แบตใช้ได้กี่ชั่วโมง", "ทำความสะอาดแผงยังไง"],
        ),
        "el": (
            ["Βγαίνει καπνός από τον inverter", "Μυρίζει καμένο κοντά στην μπαταρία"],
            ["Πόσες ώρες κρατάει η μπαταρία σε διακοπή ρεύματος;", "Πώς καθαρίζω τα πάνελ;"],
        ),
        "zh": (
            ["逆变器冒烟了", "有人登录了我的账户，不是我"],
            ["停电时电池能用几个小时？", "怎么清洁太阳能板？"],
        ),
        "id": (
            ["inverter mengeluarkan percikan api", "akun saya diretas, email sudah diganti"],
            ["kalau mati listrik baterai tahan berapa jam?", "bagaimana cara membersihkan panel?"],
        ),
        "es": (
            ["Sale humo del inversor", "El diferencial salta cada vez que enciendo el sistema"],
            ["¿Cuántas horas dura la batería en un apagón?", "¿Cómo limpio los paneles?"],
        ),
        "de": (
            [
                "Aus dem Wechselrichter kommt Rauch",
                "Stromausfall und der Speicher liefert keinen Notstrom",
            ],
            [
                "Wie lange hält der Akku bei einem Stromausfall?",
                "Wie funktioniert die Gebrauchsanweisung für die App?",
            ],
        ),
    },
    "case": {
        "en": (
            [
                "The battery I ordered came with a dented casing, what now?",
                "I was billed twice for November, please sort it out",
                "The installer scratched our front door when carrying the inverter in",
                "Tracking says delivered yesterday but there is nothing at my door",
                "My invoice looks wrong, could you check it?",
                "I see two identical charges on my card for the same invoice",
                "The installer left a hole in the roof, who will repair it?",
            ],
            [
                "How do I track my order?",
                "Where can I download last month's invoice?",
                "What does the technician do during a maintenance visit?",
                "My order hasn't arrived yet, how long does shipping usually take?",
                "What should I do if my parcel arrives damaged?",
                "How do I get a corrected invoice with my company name?",
                "Is there a fee if the technician has to come back?",
                "Why is my bill higher in winter?",
            ],
        ),
        "th": (
            [
                "สั่งแบตเตอรี่มา ได้รับแล้วกล่องบุบและตัวเครื่องเสียหาย",
                "ช่างมาติดตั้งแล้วทำกระเบื้องหลังคาแตก",
                "ใบแจ้งหนี้ผิด รบกวนตรวจสอบ",
            ],
            [
                "ติดตามคำสั่งซื้อได้ที่ไหน",
                "ดาวน์โหลดใบแจ้งหนี้ได้อย่างไร",
                "ถ้าได้รับสินค้าเสียหายต้องทำอย่างไร",
                "ทำไมบิลเดือนนี้สูงกว่าปกติ",
            ],
        ),
        "el": (
            [
                "Το δέμα έφτασε σπασμένο, τι κάνω;",
                "Χρεώθηκα δύο φορές αυτόν τον μήνα",
            ],
            [
                "Πώς παρακολουθώ την παραγγελία μου;",
                "Πού κατεβάζω το τιμολόγιο;",
                "Τι κάνω αν το δέμα έρθει σπασμένο;",
            ],
        ),
        "zh": (
            [
                "这个月被扣了两次费用",
                "快递显示已签收，但是我没有收到",
                "发票抬头写错了，麻烦改一下",
            ],
            [
                "怎么查询订单物流？",
                "在哪里下载发票？",
                "如果收到的货物破损怎么办？",
                "维修师傅上门保养会做什么？",
            ],
        ),
        "id": (
            [
                "paket datang dalam keadaan rusak, baterainya retak",
                "saya ditagih dua kali bulan ini",
                "tagihan saya salah, mohon dicek",
            ],
            [
                "bagaimana cara melacak pesanan?",
                "di mana saya bisa unduh tagihan?",
                "kalau barang datang rusak bagaimana?",
            ],
        ),
        "es": (
            [
                "Me cobraron dos veces la suscripción este mes",
                "El inversor llegó roto en la caja",
                "El técnico rompió una teja del tejado",
            ],
            [
                "¿Cómo sigo mi pedido?",
                "¿Dónde descargo mis facturas?",
                "¿Qué hago si el pedido llega roto?",
            ],
        ),
        "de": (
            [
                "Das Paket kam beschädigt an, der Akku ist verbeult",
                "Sie haben mir den Monatsbeitrag doppelt abgebucht",
                "Der Monteur hat die Fassade zerkratzt",
            ],
            [
                "Wie verfolge ich meine Bestellung?",
                "Wo finde ich meine Rechnungen?",
                "Wie bekomme ich eine neue Rechnung mit meiner Firmenadresse?",
                "Warum ist meine Rechnung im Winter höher?",
            ],
        ),
    },
    "human_request": {
        "en": (
            ["Can I talk to someone from your team?", "human please"],
            ["Is the inverter covered by warranty?", "How do I add my wife to the app?"],
        ),
        "th": (["ขอคุยกับเจ้าหน้าที่หน่อย", "ติดต่อพนักงานได้ไหมคะ"], ["แบตเตอรี่รับประกันกี่ปี", "เปลี่ยนรหัสผ่านยังไง"]),
        "el": (
            ["Μπορώ να μιλήσω με έναν υπάλληλο;", "Θέλω να μιλήσω με άνθρωπο παρακαλώ"],
            ["Πώς αλλάζω τον κωδικό μου;", "Πόσα χρόνια εγγύηση έχουν τα πάνελ;"],
        ),
        "zh": (["转人工", "我要找人工客服"], ["怎么修改密码？", "电池保修几年？"]),
        "id": (
            ["saya mau bicara dengan petugas", "tolong hubungkan ke CS"],
            ["bagaimana cara ganti password?", "garansi baterai berapa tahun?"],
        ),
        "es": (
            ["Quiero hablar con una persona", "¿Me pasas con un agente?"],
            ["¿Cómo cambio mi contraseña?", "¿Cuántos años de garantía tiene la batería?"],
        ),
        "de": (
            [
                "Ich möchte mit einem Mitarbeiter sprechen",
                "Bitte verbinden Sie mich mit einem Menschen",
            ],
            ["Wie ändere ich mein Passwort?", "Wie lange ist die Garantie auf den Akku?"],
        ),
    },
}
