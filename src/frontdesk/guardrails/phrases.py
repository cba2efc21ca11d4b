"""What the customer is told when a guardrail hands the conversation to a person, in every
supported language (a test checks each language has each phrase)."""

from __future__ import annotations

from typing import Final

from frontdesk.language.detect import SUPPORTED

__all__ = ["GUARDRAIL_PHRASES", "guardrail_phrase"]

# handoff: the usual line; case: a problem with one order, invoice or visit (someone will look
# into it); urgent: safety, said at once and with what to do meanwhile; waiting: a customer
# who asks for a person again while the conversation waits for one. None promises a time: when
# nobody who could take it is online, the waterfall says so next (channels.waterfall).
GUARDRAIL_PHRASES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "handoff": "I'm passing this conversation to a person from our team; they can see everything you wrote.",
        "case": "This needs a person to look into it: I'm passing it to our team, and they can see everything you wrote.",
        "urgent": "We're treating this as urgent and have passed it to our team first. If anything is smoking, sparking or burning, keep away from it and call the emergency services.",
        "account": "We're treating this as urgent and have passed it to our team first, to secure your account.",
        "waiting": "You're in the queue: a person from our team will reply here, and they can see everything you wrote.",
    },
    "th": {
        "handoff": "กำลังส่งต่อบทสนทนานี้ให้เจ้าหน้าที่ของเรา เจ้าหน้าที่จะเห็นทุกข้อความที่คุณเขียนไว้",
        "case": "เรื่องนี้ต้องให้เจ้าหน้าที่ตรวจสอบ กำลังส่งต่อให้ทีมของเรา และเจ้าหน้าที่จะเห็นทุกข้อความที่คุณเขียนไว้",
        "urgent": "เราถือว่าเรื่องนี้เร่งด่วนและส่งต่อให้ทีมของเราเป็นลำดับแรกแล้ว หากมีควัน ประกายไฟ หรือกลิ่นไหม้ โปรดอยู่ห่าง ๆ และโทรแจ้งเหตุฉุกเฉิน",
        "account": "เราถือว่าเรื่องนี้เร่งด่วนและส่งต่อให้ทีมของเราเป็นลำดับแรกแล้ว เพื่อรักษาความปลอดภัยบัญชีของคุณ",
        "waiting": "คุณอยู่ในคิวแล้ว เจ้าหน้าที่ของเราจะตอบกลับที่นี่ และจะเห็นทุกข้อความที่คุณเขียนไว้",
    },
    "el": {
        "handoff": "Μεταφέρω αυτή τη συζήτηση σε ένα άτομο της ομάδας μας· βλέπει όλα όσα γράψατε.",
        "case": "Αυτό χρειάζεται έλεγχο από ένα άτομο: το μεταφέρω στην ομάδα μας, που βλέπει όλα όσα γράψατε.",
        "urgent": "Το θεωρούμε επείγον και το δώσαμε πρώτο στην ομάδα μας. Αν κάτι βγάζει καπνό, σπίθες ή καίγεται, απομακρυνθείτε και καλέστε τις υπηρεσίες έκτακτης ανάγκης.",
        "account": "Το θεωρούμε επείγον και το δώσαμε πρώτο στην ομάδα μας, για να ασφαλίσει τον λογαριασμό σας.",
        "waiting": "Είστε στην ουρά: ένα άτομο της ομάδας μας θα απαντήσει εδώ και βλέπει όλα όσα γράψατε.",
    },
    "zh": {
        "handoff": "正在将这段对话转给我们的工作人员，他们能看到您写的所有内容。",
        "case": "这需要工作人员为您核实处理：正在转给我们的团队，他们能看到您写的所有内容。",
        "urgent": "我们将此视为紧急情况，已优先转给我们的团队。如有冒烟、火花或焦味，请远离设备并拨打紧急电话。",
        "account": "我们将此视为紧急情况，已优先转给我们的团队，以保护您的账户安全。",
        "waiting": "您已在排队中：我们的工作人员会在这里回复您，他们能看到您写的所有内容。",
    },
    "id": {
        "handoff": "Saya teruskan percakapan ini ke petugas dari tim kami; mereka dapat melihat semua yang Anda tulis.",
        "case": "Ini perlu diperiksa oleh petugas: saya teruskan ke tim kami, dan mereka dapat melihat semua yang Anda tulis.",
        "urgent": "Kami menanganinya sebagai hal darurat dan sudah meneruskannya ke tim kami sebagai prioritas utama. Jika ada asap, percikan api, atau bau terbakar, jauhi perangkat dan hubungi layanan darurat.",
        "account": "Kami menanganinya sebagai hal darurat dan sudah meneruskannya ke tim kami sebagai prioritas utama untuk mengamankan akun Anda.",
        "waiting": "Anda sudah dalam antrean: petugas dari tim kami akan menjawab di sini, dan mereka dapat melihat semua yang Anda tulis.",
    },
    "es": {
        "handoff": "Paso esta conversación a una persona de nuestro equipo; puede ver todo lo que has escrito.",
        "case": "Esto necesita que una persona lo revise: se lo paso a nuestro equipo, que puede ver todo lo que has escrito.",
        "urgent": "Lo tratamos como urgente y se lo hemos pasado a nuestro equipo con prioridad. Si algo echa humo, chispas o huele a quemado, aléjate y llama a los servicios de emergencia.",
        "account": "Lo tratamos como urgente y se lo hemos pasado a nuestro equipo con prioridad para proteger tu cuenta.",
        "waiting": "Ya estás en la cola: una persona de nuestro equipo te responderá aquí y puede ver todo lo que has escrito.",
    },
    "de": {
        "handoff": "Ich gebe dieses Gespräch an eine Person aus unserem Team weiter; sie sieht alles, was Sie geschrieben haben.",
        "case": "Das muss sich eine Person ansehen: Ich gebe es an unser Team weiter, das alles sieht, was Sie geschrieben haben.",
        "urgent": "Wir behandeln das als dringend und haben es mit Vorrang an unser Team gegeben. Wenn etwas raucht, Funken sprüht oder verbrannt riecht, halten Sie Abstand und rufen Sie den Notruf.",
        "account": "Wir behandeln das als dringend und haben es mit Vorrang an unser Team gegeben, um Ihr Konto zu sichern.",
        "waiting": "Sie sind in der Warteschlange: Eine Person aus unserem Team antwortet hier und sieht alles, was Sie geschrieben haben.",
    },
}

assert set(GUARDRAIL_PHRASES) == set(SUPPORTED)


def guardrail_phrase(language: str | None, key: str) -> str:
    """The phrase in ``language`` (English when the language is not supported)."""
    table = GUARDRAIL_PHRASES.get(language or "en", GUARDRAIL_PHRASES["en"])
    return table[key]
