from __future__ import annotations

import pytest

from frontdesk.guardrails.human_request import is_human_request


@pytest.mark.parametrize(
    "text",
    [
        "talk to a human",
        "Can I speak to a real person please?",
        "agent",
        "Human please!",
        "connect me with someone from support",
        "ขอคุยกับพนักงาน",
        "ขอคุยกับเจ้าหน้าที่ค่ะ",
        "θέλω να μιλήσω με άνθρωπο",
        "Μπορώ να μιλήσω με έναν εκπρόσωπο;",
        "转人工",
        "我要人工客服",
        "mau bicara dengan orang",
        "tolong hubungkan saya dengan petugas",
        "quiero hablar con una persona",
        "¿Puedo hablar con un agente?",
        "Ich möchte mit einem Mitarbeiter sprechen",
        "Bitte verbinden Sie mich mit einem Menschen",
        # asked for outright, with no verb of talking
        "I need a human",
        "I want a real person, not a bot",
        "Ich brauche die Rechnung für meine Inspektion, bitte einen Menschen",
        "einen Mitarbeiter bitte",
        "quiero una persona",
        "saya butuh petugas",
        "Θέλω άνθρωπο παρακαλώ",
    ],
)
def test_requests_for_a_person_in_every_language(text: str) -> None:
    assert is_human_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "How do I reset my password?",
        "my inverter shows error E04",
        "Can I change the name on my account?",
        "ต้องชาร์จแบตนานแค่ไหน",
        "电池要充多久？",
        "Wie lade ich den Akku?",
        "¿Cuánto tarda la entrega?",
        "Berapa lama pengiriman?",
        "Πόσο κοστίζει η αποστολή;",
        "I need someone to come and fix my panel",
        "I want a refund for my order",
        "Ich brauche eine neue Rechnung",
        "Necesito una factura",
        "Do I need an agent to install the app?",
    ],
)
def test_ordinary_questions_are_not_requests(text: str) -> None:
    assert not is_human_request(text)
