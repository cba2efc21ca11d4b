"""What the customer is told when a guardrail hands the conversation to a person, in every
supported language (a test checks each language has each phrase)."""

from __future__ import annotations

from typing import Final

from frontdesk.language.detect import SUPPORTED

__all__ = ["GUARDRAIL_PHRASES", "guardrail_phrase"]

# handoff: the usual line; case: a problem with one order, invoice or visit (someone will look
# into it); urgent: safety, said at once and with what to do meanwhile.
GUARDRAIL_PHRASES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "handoff": "A person from our team will take over this conversation shortly; they can see everything you wrote.",
        "case": "This needs a person to look into it: someone from our team will take over shortly and can see everything you wrote.",
        "urgent": "We're treating this as urgent: a person from our team is taking over now. If anything is smoking, sparking or burning, keep away from it and call the emergency services.",
        "account": "We're treating this as urgent: a person from our team is taking over now to secure your account.",
    },
    "th": {
        "handoff": "เจ้าหน้าที่ของเราจะดูแลบทสนทนานี้ต่อในไม่ช้า และจะเห็นทุกข้อความที่คุณเขียนไว้",
        "case": "เรื่องนี้ต้องให้เจ้าหน้าที่ตรวจสอบ เจ้าหน้าที่ของเราจะเข้ามาดูแลในไม่ช้า และจะเห็นทุกข้อความที่คุณเขียนไว้",
        "urgent": "เราถือว่าเรื่องนี้เร่งด่วน เจ้าหน้าที่กำลังเข้ามาดูแลทันที หากมีควัน ประกายไฟ หรือกลิ่นไหม้ โปรดอยู่ห่าง ๆ และโทรแจ้งเหตุฉุกเฉิน",
        "account": "เราถือว่าเรื่องนี้เร่งด่วน เจ้าหน้าที่กำลังเข้ามาช่วยรักษาความปลอดภัยบัญชีของคุณทันที",
    },
    "el": {
        "handoff": "Ένα άτομο της ομάδας μας θα αναλάβει σύντομα αυτή τη συζήτηση· βλέπει όλα όσα γράψατε.",
        "case": "Αυτό χρειάζεται έλεγχο από ένα άτομο της ομάδας μας: θα το αναλάβει σύντομα και βλέπει όλα όσα γράψατε.",
        "urgent": "Το θεωρούμε επείγον: ένα άτομο της ομάδας μας αναλαμβάνει τώρα. Αν κάτι βγάζει καπνό, σπίθες ή καίγεται, απομακρυνθείτε και καλέστε τις υπηρεσίες έκτακτης ανάγκης.",
        "account": "Το θεωρούμε επείγον: ένα άτομο της ομάδας μας αναλαμβάνει τώρα για να ασφαλίσει τον λογαριασμό σας.",
    },
    "zh": {
        "handoff": "我们的工作人员将很快接手这段对话，他们能看到您写的所有内容。",
        "case": "这需要工作人员为您核实处理：我们的工作人员将很快接手，他们能看到您写的所有内容。",
        "urgent": "我们将此视为紧急情况，工作人员正在立即接手。如有冒烟、火花或焦味，请远离设备并拨打紧急电话。",
        "account": "我们将此视为紧急情况，工作人员正在立即接手，帮助您保护账户安全。",
    },
    "id": {
        "handoff": "Seorang petugas dari tim kami akan segera mengambil alih percakapan ini; mereka dapat melihat semua yang Anda tulis.",
        "case": "Ini perlu diperiksa oleh petugas: seseorang dari tim kami akan segera mengambil alih dan dapat melihat semua yang Anda tulis.",
        "urgent": "Kami menanganinya sebagai hal darurat: petugas kami mengambil alih sekarang. Jika ada asap, percikan api, atau bau terbakar, jauhi perangkat dan hubungi layanan darurat.",
        "account": "Kami menanganinya sebagai hal darurat: petugas kami mengambil alih sekarang untuk mengamankan akun Anda.",
    },
    "es": {
        "handoff": "Una persona de nuestro equipo se hará cargo de esta conversación en breve; puede ver todo lo que has escrito.",
        "case": "Esto necesita que una persona lo revise: alguien de nuestro equipo se hará cargo en breve y puede ver todo lo que has escrito.",
        "urgent": "Lo tratamos como urgente: una persona de nuestro equipo se hace cargo ahora. Si algo echa humo, chispas o huele a quemado, aléjate y llama a los servicios de emergencia.",
        "account": "Lo tratamos como urgente: una persona de nuestro equipo se hace cargo ahora para proteger tu cuenta.",
    },
    "de": {
        "handoff": "Eine Person aus unserem Team übernimmt dieses Gespräch in Kürze und sieht alles, was Sie geschrieben haben.",
        "case": "Das muss sich eine Person ansehen: Jemand aus unserem Team übernimmt in Kürze und sieht alles, was Sie geschrieben haben.",
        "urgent": "Wir behandeln das als dringend: Eine Person aus unserem Team übernimmt jetzt. Wenn etwas raucht, Funken sprüht oder verbrannt riecht, halten Sie Abstand und rufen Sie den Notruf.",
        "account": "Wir behandeln das als dringend: Eine Person aus unserem Team übernimmt jetzt, um Ihr Konto zu sichern.",
    },
}

assert set(GUARDRAIL_PHRASES) == set(SUPPORTED)


def guardrail_phrase(language: str | None, key: str) -> str:
    """The phrase in ``language`` (English when the language is not supported)."""
    table = GUARDRAIL_PHRASES.get(language or "en", GUARDRAIL_PHRASES["en"])
    return table[key]
