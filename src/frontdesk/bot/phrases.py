"""What the bot says, in every supported language (F8). A test checks every language has every
phrase. ``{title}`` and ``{language}`` are filled in by the bot."""

from __future__ import annotations

from typing import Final

from frontdesk.language.detect import SUPPORTED

__all__ = ["LANGUAGE_NAMES", "PHRASES", "phrase"]

PHRASES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "intro": "I'm an automated assistant (a bot).",
        "answer_lead": "This article should help:",
        "other_language": "This article is only available in {language}.",
        "ask_feedback": "Did that answer your question?",
        "yes": "Yes",
        "no": "No",
        "glad": "Great, glad that helped! If you need anything else, just write.",
        "handoff_no": "Sorry about that. I'm passing you to a person from the team; they can see this conversation, so you won't need to repeat yourself.",
        "handoff_request": "Of course. I'm passing you to a person from the team; they can see this conversation.",
        "handoff_repeat": "I still can't answer that, so I'm passing you to a person from the team; they can see this conversation.",
        "dont_know": "I couldn't find an answer to that in our help center. You can rephrase your question, or talk to a person.",
        "talk_to_person": "Talk to a person",
    },
    "th": {
        "intro": "ฉันคือผู้ช่วยอัตโนมัติ (บอท)",
        "answer_lead": "บทความนี้น่าจะช่วยได้:",
        "other_language": "บทความนี้มีเฉพาะภาษา{language}",
        "ask_feedback": "คำตอบนี้ตอบคำถามของคุณหรือไม่?",
        "yes": "ใช่",
        "no": "ไม่ใช่",
        "glad": "ยินดีที่ช่วยได้ค่ะ หากต้องการความช่วยเหลือเพิ่มเติม พิมพ์มาได้เลย",
        "handoff_no": "ขออภัยค่ะ กำลังส่งต่อให้เจ้าหน้าที่ เจ้าหน้าที่จะเห็นบทสนทนานี้ทั้งหมด คุณไม่ต้องเล่าใหม่",
        "handoff_request": "ได้เลยค่ะ กำลังส่งต่อให้เจ้าหน้าที่ เจ้าหน้าที่จะเห็นบทสนทนานี้ทั้งหมด",
        "handoff_repeat": "ขออภัย ฉันยังตอบเรื่องนี้ไม่ได้ จึงส่งต่อให้เจ้าหน้าที่ เจ้าหน้าที่จะเห็นบทสนทนานี้ทั้งหมด",
        "dont_know": "ฉันไม่พบคำตอบในศูนย์ช่วยเหลือ คุณลองถามใหม่อีกแบบ หรือคุยกับเจ้าหน้าที่ได้",
        "talk_to_person": "คุยกับเจ้าหน้าที่",
    },
    "el": {
        "intro": "Είμαι ο αυτόματος βοηθός (bot).",
        "answer_lead": "Αυτό το άρθρο μάλλον θα βοηθήσει:",
        "other_language": "Το άρθρο είναι διαθέσιμο μόνο στα {language}.",
        "ask_feedback": "Απάντησε αυτό στην ερώτησή σας;",
        "yes": "Ναι",
        "no": "Όχι",
        "glad": "Τέλεια, χαίρομαι που βοήθησε! Αν χρειαστείτε κάτι άλλο, γράψτε μας.",
        "handoff_no": "Λυπάμαι γι' αυτό. Σας συνδέω με ένα άτομο της ομάδας· βλέπει όλη τη συζήτηση, δεν χρειάζεται να τα ξαναπείτε.",
        "handoff_request": "Βεβαίως. Σας συνδέω με ένα άτομο της ομάδας· βλέπει όλη τη συζήτηση.",
        "handoff_repeat": "Ακόμη δεν μπορώ να απαντήσω, οπότε σας συνδέω με ένα άτομο της ομάδας· βλέπει όλη τη συζήτηση.",
        "dont_know": "Δεν βρήκα απάντηση στο κέντρο βοήθειας. Μπορείτε να διατυπώσετε αλλιώς την ερώτηση ή να μιλήσετε με έναν άνθρωπο.",
        "talk_to_person": "Μιλήστε με άνθρωπο",
    },
    "zh": {
        "intro": "我是自动助手（机器人）。",
        "answer_lead": "这篇文章应该能帮到您：",
        "other_language": "这篇文章只有{language}版本。",
        "ask_feedback": "这解答了您的问题吗？",
        "yes": "是",
        "no": "否",
        "glad": "太好了，很高兴能帮到您！如还有其他问题，请随时留言。",
        "handoff_no": "抱歉。我正在为您转接人工客服，他们能看到完整对话，您无需重复说明。",
        "handoff_request": "好的，正在为您转接人工客服，他们能看到完整对话。",
        "handoff_repeat": "我仍无法回答这个问题，正在为您转接人工客服，他们能看到完整对话。",
        "dont_know": "我在帮助中心没有找到答案。您可以换个方式提问，或者转人工客服。",
        "talk_to_person": "转人工客服",
    },
    "id": {
        "intro": "Saya asisten otomatis (bot).",
        "answer_lead": "Artikel ini seharusnya membantu:",
        "other_language": "Artikel ini hanya tersedia dalam bahasa {language}.",
        "ask_feedback": "Apakah ini menjawab pertanyaan Anda?",
        "yes": "Ya",
        "no": "Tidak",
        "glad": "Bagus, senang bisa membantu! Kalau ada hal lain, tulis saja.",
        "handoff_no": "Maaf. Saya teruskan ke petugas kami; mereka bisa melihat seluruh percakapan ini, jadi Anda tidak perlu mengulang.",
        "handoff_request": "Tentu. Saya teruskan ke petugas kami; mereka bisa melihat seluruh percakapan ini.",
        "handoff_repeat": "Saya masih belum bisa menjawabnya, jadi saya teruskan ke petugas kami; mereka bisa melihat seluruh percakapan ini.",
        "dont_know": "Saya tidak menemukan jawabannya di pusat bantuan. Anda bisa menanyakannya dengan cara lain, atau bicara dengan petugas.",
        "talk_to_person": "Bicara dengan petugas",
    },
    "es": {
        "intro": "Soy el asistente automático (un bot).",
        "answer_lead": "Este artículo debería ayudarte:",
        "other_language": "Este artículo solo está disponible en {language}.",
        "ask_feedback": "¿Ha respondido esto a tu pregunta?",
        "yes": "Sí",
        "no": "No",
        "glad": "¡Genial, me alegra haberte ayudado! Si necesitas algo más, escríbenos.",
        "handoff_no": "Lo siento. Te paso con una persona del equipo; verá toda la conversación, así que no tendrás que repetir nada.",
        "handoff_request": "Claro. Te paso con una persona del equipo; verá toda la conversación.",
        "handoff_repeat": "Sigo sin poder responder a eso, así que te paso con una persona del equipo; verá toda la conversación.",
        "dont_know": "No encontré la respuesta en nuestro centro de ayuda. Puedes reformular la pregunta o hablar con una persona.",
        "talk_to_person": "Hablar con una persona",
    },
    "de": {
        "intro": "Ich bin der automatische Assistent (ein Bot).",
        "answer_lead": "Dieser Artikel sollte helfen:",
        "other_language": "Diesen Artikel gibt es nur auf {language}.",
        "ask_feedback": "Hat das Ihre Frage beantwortet?",
        "yes": "Ja",
        "no": "Nein",
        "glad": "Prima, das freut mich! Wenn Sie noch etwas brauchen, schreiben Sie einfach.",
        "handoff_no": "Das tut mir leid. Ich verbinde Sie mit einer Person aus dem Team; sie sieht das ganze Gespräch, Sie müssen nichts wiederholen.",
        "handoff_request": "Gern. Ich verbinde Sie mit einer Person aus dem Team; sie sieht das ganze Gespräch.",
        "handoff_repeat": "Das kann ich leider immer noch nicht beantworten, daher verbinde ich Sie mit einer Person aus dem Team; sie sieht das ganze Gespräch.",
        "dont_know": "Dazu habe ich im Hilfe-Center nichts gefunden. Sie können die Frage anders stellen oder mit einem Menschen sprechen.",
        "talk_to_person": "Mit einem Menschen sprechen",
    },
}

# The name of each language, in each language: "only available in English" (th: ภาษาอังกฤษ).
LANGUAGE_NAMES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "en": "English",
        "th": "Thai",
        "el": "Greek",
        "zh": "Chinese",
        "id": "Indonesian",
        "es": "Spanish",
        "de": "German",
    },
    "th": {
        "en": "อังกฤษ",
        "th": "ไทย",
        "el": "กรีก",
        "zh": "จีน",
        "id": "อินโดนีเซีย",
        "es": "สเปน",
        "de": "เยอรมัน",
    },
    "el": {
        "en": "Αγγλικά",
        "th": "Ταϊλανδικά",
        "el": "Ελληνικά",
        "zh": "Κινεζικά",
        "id": "Ινδονησιακά",
        "es": "Ισπανικά",
        "de": "Γερμανικά",
    },
    "zh": {
        "en": "英文",
        "th": "泰文",
        "el": "希腊文",
        "zh": "中文",
        "id": "印尼文",
        "es": "西班牙文",
        "de": "德文",
    },
    "id": {
        "en": "Inggris",
        "th": "Thailand",
        "el": "Yunani",
        "zh": "Mandarin",
        "id": "Indonesia",
        "es": "Spanyol",
        "de": "Jerman",
    },
    "es": {
        "en": "inglés",
        "th": "tailandés",
        "el": "griego",
        "zh": "chino",
        "id": "indonesio",
        "es": "español",
        "de": "alemán",
    },
    "de": {
        "en": "Englisch",
        "th": "Thailändisch",
        "el": "Griechisch",
        "zh": "Chinesisch",
        "id": "Indonesisch",
        "es": "Spanisch",
        "de": "Deutsch",
    },
}

assert set(PHRASES) == set(SUPPORTED) == set(LANGUAGE_NAMES)


def phrase(lang: str | None, name: str, /, **values: str) -> str:
    table = PHRASES.get(lang or "en", PHRASES["en"])
    return table[name].format(**values)
