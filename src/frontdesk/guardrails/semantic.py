"""An embedding-similarity check for the policy intents, measured against the patterns.

A few multilingual example phrases per intent (and contrast phrases the bot can answer) are
embedded once with the shipped multilingual e5 model (:class:`~frontdesk.knowledge.embedders.
E5Embedder`, loaded once per process); a message whose nearest example belongs to an intent,
above ``threshold`` and ``margin`` over the nearest contrast phrase, triggers it.

It is **not** in the pipeline: on the Helios dev set the patterns already reach every policy
message with no false trigger on answerable questions, and this check only added false
triggers (``benchmarks/guardrails.py --semantic`` prints both). It stays here so the figure can
be measured again when the data grows.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from frontdesk.guardrails.policy import RULE_REASONS, Decision, Policy, Signal
from frontdesk.knowledge.embedders import E5Embedder, Embedder, Vectors

__all__ = ["EXAMPLES", "SemanticIntents"]

EXAMPLES: Final[dict[str, list[str]]] = {
    "pricing": [
        "How much does a solar installation cost?",
        "Can you give me a price for panels and a battery?",
        "ราคาติดตั้งโซลาร์เท่าไหร่",
        "Πόσο κοστίζει ένα σύστημα με μπαταρία;",
        "一套太阳能系统多少钱？",
        "Berapa harga pemasangan panel surya?",
        "¿Cuánto cuesta una instalación solar?",
        "Was kostet eine Solaranlage mit Speicher?",
    ],
    "plan_change": [
        "I want to upgrade my plan",
        "Please downgrade my subscription",
        "อยากเปลี่ยนแพ็กเกจเป็น Pro",
        "Θέλω να αλλάξω πακέτο",
        "我想换成高级套餐",
        "Saya mau ganti paket langganan",
        "Quiero cambiar de plan",
        "Ich möchte den Tarif wechseln",
    ],
    "cancellation": [
        "I want to cancel my subscription",
        "Please end my contract",
        "ขอยกเลิกการเป็นสมาชิก",
        "Θέλω να ακυρώσω τη συνδρομή",
        "我要取消订阅",
        "Saya ingin berhenti berlangganan",
        "Quiero darme de baja",
        "Ich möchte kündigen",
    ],
}
CONTRAST: Final[list[str]] = [
    "How do plan changes work?",
    "What happens to my data after I cancel?",
    "What is included in each plan?",
    "How long does shipping take and what does it cost?",
    "Can I get a refund?",
    "How do I reset my password?",
    "Where can I download my invoice?",
    "Wie funktioniert die Kündigung?",
    "取消订阅后数据会怎样？",
]


class SemanticIntents:
    def __init__(
        self, embedder: Embedder | None = None, *, threshold: float = 0.88, margin: float = 0.02
    ) -> None:
        self.embedder = embedder or E5Embedder(document_prefix="query")
        self.threshold = threshold
        self.margin = margin
        self._labels = [name for name, texts in EXAMPLES.items() for _ in texts]
        self._examples: Vectors | None = None
        self._contrast: Vectors | None = None

    def _vectors(self) -> tuple[Vectors, Vectors]:
        if self._examples is None or self._contrast is None:
            texts = [t for texts in EXAMPLES.values() for t in texts]
            self._examples = self.embedder.embed_documents(texts)
            self._contrast = self.embedder.embed_documents(CONTRAST)
        return self._examples, self._contrast

    def nearest(self, text: str) -> tuple[str, float, float]:
        """(intent, similarity, best contrast similarity) of the nearest example."""
        examples, contrast = self._vectors()
        query = self.embedder.embed_queries([text])[0]
        scores = examples @ query
        best = int(np.argmax(scores))
        return self._labels[best], float(scores[best]), float(np.max(contrast @ query))

    def decide(self, policy: Policy, text: str) -> Decision | None:
        intent, score, against = self.nearest(text)
        rule = policy.message_rule(intent)
        if not rule.enabled or score < self.threshold or score - against < self.margin:
            return None
        teams = tuple(t for t in (rule.team, rule.fallback_team) if t)
        signal = Signal(
            intent, RULE_REASONS[intent], [f"similar: {score:.3f}"], rule.priority, teams
        )
        return Decision(intent, RULE_REASONS[intent], rule.priority, teams, [signal])
