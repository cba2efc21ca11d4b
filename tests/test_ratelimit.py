"""The rate limiter, through one fixture over both backends."""

from __future__ import annotations

import secrets
import time

import pytest

from frontdesk.errors import RateLimited
from frontdesk.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter()
    url: str = request.getfixturevalue("redis_url")
    return RedisRateLimiter(url, f"fdtest-{secrets.token_hex(4)}")


def test_allows_up_to_the_limit_then_refuses(limiter: RateLimiter) -> None:
    for _ in range(5):
        limiter.hit("login:ip:1.2.3.4", limit=5, window=60, what="login attempts")
    with pytest.raises(RateLimited) as info:
        limiter.hit("login:ip:1.2.3.4", limit=5, window=60, what="login attempts")
    assert info.value.status == 429
    assert "Too many login attempts: at most 5 in 60 seconds" in info.value.message
    assert 1 <= info.value.retry_after <= 61


def test_keys_are_counted_separately(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.hit("widget:visitor:a", limit=3, window=60)
    limiter.hit("widget:visitor:b", limit=3, window=60)  # another visitor is not affected
    with pytest.raises(RateLimited):
        limiter.hit("widget:visitor:a", limit=3, window=60)


def test_a_new_window_starts_afresh(limiter: RateLimiter) -> None:
    # Align to the start of a one-second window so both hits land in the same one.
    time.sleep(1 - time.time() % 1 + 0.01)
    limiter.hit("k", limit=1, window=1)
    with pytest.raises(RateLimited):
        limiter.hit("k", limit=1, window=1)
    time.sleep(1.05)
    limiter.hit("k", limit=1, window=1)


def test_reset_forgets_every_counter(limiter: RateLimiter) -> None:
    limiter.hit("k", limit=1, window=60)
    limiter.reset()
    limiter.hit("k", limit=1, window=60)


def test_two_processes_share_counts_through_redis(redis_url: str) -> None:
    prefix = f"fdtest-{secrets.token_hex(4)}"
    a, b = RedisRateLimiter(redis_url, prefix), RedisRateLimiter(redis_url, prefix)
    a.hit("ip:9.9.9.9", limit=2, window=60)
    b.hit("ip:9.9.9.9", limit=2, window=60)
    with pytest.raises(RateLimited):
        a.hit("ip:9.9.9.9", limit=2, window=60)
    a.reset()


def test_redis_down_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", "fdtest-down")
    started = time.monotonic()
    for _ in range(50):
        limiter.hit("login:ip:1.2.3.4", limit=1, window=60)  # never refused
    assert time.monotonic() - started < 5
    assert "allowing the request" in caplog.text
