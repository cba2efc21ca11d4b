"""The widget's own texts in every supported language, kept here (not in widget.js) so the
server picks the language and a test checks that every language has every text.

``{name}`` is replaced by the workspace name on the server; ``{count}`` is filled in by the
widget.
"""

from __future__ import annotations

from typing import Final

from frontdesk.language.detect import SUPPORTED

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "Chat with {name}",
        "subtitle": "We usually reply in a few minutes.",
        "open": "Open chat",
        "close": "Close chat",
        "placeholder": "Write a message…",
        "send": "Send",
        "sending": "Sending…",
        "failed": "Not sent.",
        "reconnecting": "Connection lost. Reconnecting…",
        "you": "You",
        "team": "Support",
        "bot": "Assistant",
        "welcome": "Hi! How can we help you today?",
        "too_fast": "You are sending messages too quickly. Please wait a moment.",
        "too_long": "This message is too long.",
        "unavailable": "The chat is not available right now.",
        "unread": "{count} new messages",
        "talk_to_person": "Talk to a person",
        "suggested": "Suggested articles",
    },
    "th": {
        "title": "แชทกับ {name}",
        "subtitle": "โดยปกติเราจะตอบกลับภายในไม่กี่นาที",
        "open": "เปิดแชท",
        "close": "ปิดแชท",
        "placeholder": "พิมพ์ข้อความ…",
        "send": "ส่ง",
        "sending": "กำลังส่ง…",
        "failed": "ส่งไม่สำเร็จ",
        "reconnecting": "การเชื่อมต่อขาดหาย กำลังเชื่อมต่อใหม่…",
        "you": "คุณ",
        "team": "ฝ่ายบริการลูกค้า",
        "bot": "ผู้ช่วย",
        "welcome": "สวัสดี มีอะไรให้เราช่วยไหม",
        "too_fast": "คุณส่งข้อความเร็วเกินไป โปรดรอสักครู่",
        "too_long": "ข้อความนี้ยาวเกินไป",
        "unavailable": "แชทไม่พร้อมใช้งานในขณะนี้",
        "unread": "ข้อความใหม่ {count} ข้อความ",
        "talk_to_person": "คุยกับเจ้าหน้าที่",
        "suggested": "บทความแนะนำ",
    },
    "el": {
        "title": "Συνομιλία με {name}",
        "subtitle": "Συνήθως απαντάμε σε λίγα λεπτά.",
        "open": "Άνοιγμα συνομιλίας",
        "close": "Κλείσιμο συνομιλίας",
        "placeholder": "Γράψτε ένα μήνυμα…",
        "send": "Αποστολή",
        "sending": "Αποστολή…",
        "failed": "Δεν στάλθηκε.",
        "reconnecting": "Η σύνδεση χάθηκε. Επανασύνδεση…",
        "you": "Εσείς",
        "team": "Υποστήριξη",
        "bot": "Βοηθός",
        "welcome": "Γεια σας! Πώς μπορούμε να σας βοηθήσουμε;",
        "too_fast": "Στέλνετε μηνύματα πολύ γρήγορα. Περιμένετε λίγο.",
        "too_long": "Το μήνυμα είναι πολύ μεγάλο.",
        "unavailable": "Η συνομιλία δεν είναι διαθέσιμη αυτή τη στιγμή.",
        "unread": "{count} νέα μηνύματα",
        "talk_to_person": "Μιλήστε με άνθρωπο",
        "suggested": "Προτεινόμενα άρθρα",
    },
    "zh": {
        "title": "与 {name} 聊天",
        "subtitle": "我们通常会在几分钟内回复。",
        "open": "打开聊天",
        "close": "关闭聊天",
        "placeholder": "输入消息…",
        "send": "发送",
        "sending": "正在发送…",
        "failed": "未发送。",
        "reconnecting": "连接已断开，正在重新连接…",
        "you": "您",
        "team": "客服",
        "bot": "助手",
        "welcome": "您好！有什么可以帮您？",
        "too_fast": "您发送消息太快了，请稍候。",
        "too_long": "这条消息太长了。",
        "unavailable": "聊天暂时不可用。",
        "unread": "{count} 条新消息",
        "talk_to_person": "转人工客服",
        "suggested": "推荐文章",
    },
    "id": {
        "title": "Chat dengan {name}",
        "subtitle": "Kami biasanya membalas dalam beberapa menit.",
        "open": "Buka chat",
        "close": "Tutup chat",
        "placeholder": "Tulis pesan…",
        "send": "Kirim",
        "sending": "Mengirim…",
        "failed": "Belum terkirim.",
        "reconnecting": "Koneksi terputus. Menyambungkan kembali…",
        "you": "Anda",
        "team": "Dukungan",
        "bot": "Asisten",
        "welcome": "Halo! Ada yang bisa kami bantu?",
        "too_fast": "Anda mengirim pesan terlalu cepat. Mohon tunggu sebentar.",
        "too_long": "Pesan ini terlalu panjang.",
        "unavailable": "Chat sedang tidak tersedia.",
        "unread": "{count} pesan baru",
        "talk_to_person": "Bicara dengan petugas",
        "suggested": "Artikel yang disarankan",
    },
    "es": {
        "title": "Chatea con {name}",
        "subtitle": "Solemos responder en pocos minutos.",
        "open": "Abrir chat",
        "close": "Cerrar chat",
        "placeholder": "Escribe un mensaje…",
        "send": "Enviar",
        "sending": "Enviando…",
        "failed": "No enviado.",
        "reconnecting": "Se perdió la conexión. Reconectando…",
        "you": "Tú",
        "team": "Soporte",
        "bot": "Asistente",
        "welcome": "¡Hola! ¿En qué podemos ayudarte?",
        "too_fast": "Estás enviando mensajes demasiado rápido. Espera un momento.",
        "too_long": "Este mensaje es demasiado largo.",
        "unavailable": "El chat no está disponible en este momento.",
        "unread": "{count} mensajes nuevos",
        "talk_to_person": "Hablar con una persona",
        "suggested": "Artículos sugeridos",
    },
    "de": {
        "title": "Chat mit {name}",
        "subtitle": "Wir antworten meist innerhalb weniger Minuten.",
        "open": "Chat öffnen",
        "close": "Chat schließen",
        "placeholder": "Nachricht schreiben…",
        "send": "Senden",
        "sending": "Wird gesendet…",
        "failed": "Nicht gesendet.",
        "reconnecting": "Verbindung unterbrochen. Neuer Versuch…",
        "you": "Sie",
        "team": "Support",
        "bot": "Assistent",
        "welcome": "Hallo! Wie können wir Ihnen helfen?",
        "too_fast": "Sie senden Nachrichten zu schnell. Bitte warten Sie einen Moment.",
        "too_long": "Diese Nachricht ist zu lang.",
        "unavailable": "Der Chat ist gerade nicht verfügbar.",
        "unread": "{count} neue Nachrichten",
        "talk_to_person": "Mit einem Menschen sprechen",
        "suggested": "Empfohlene Artikel",
    },
}

LANGUAGES: Final = tuple(SUPPORTED)


def pick_language(*candidates: str | None) -> str:
    """The first candidate the widget speaks: ``"pt-BR"`` is skipped, ``"zh-Hant-TW"`` is zh."""
    for candidate in candidates:
        if not candidate or not isinstance(candidate, str):
            continue
        primary = candidate.strip().replace("_", "-").split("-", 1)[0].lower()
        if primary in TEXTS:
            return primary
    return "en"


def widget_texts(language: str, workspace_name: str) -> dict[str, str]:
    table = TEXTS.get(language, TEXTS["en"])
    return {key: value.replace("{name}", workspace_name) for key, value in table.items()}
