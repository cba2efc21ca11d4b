"""Bounded exponential backoff with jitter, for every job that retries (webhooks, email)."""

from __future__ import annotations

import random

MAX_BACKOFF_SECONDS = 3600.0


def retry_delay(attempts: int, base: float, *, jitter: random.Random | None = None) -> float:
    """Seconds to wait after ``attempts`` failed attempts: base·2^(n-1), at most an hour,
    scaled by a random factor in [0.5, 1] so that many failed sends do not retry together."""
    rng = jitter or random.Random()  # noqa: S311 - jitter, not security
    exponential = min(MAX_BACKOFF_SECONDS, base * 2.0 ** max(0, attempts - 1))
    return exponential * rng.uniform(0.5, 1.0)
