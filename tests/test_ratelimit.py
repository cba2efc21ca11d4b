"""The rate limiter, through one fixture over both backends."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time

import pytest

from frontdesk import ratelimit
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
    assert 1 <= info.value.retry_after <= 120  # at most two windows (see the tests below)


def test_keys_are_counted_separately(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.hit("widget:visitor:a", limit=3, window=60)
    limiter.hit("widget:visitor:b", limit=3, window=60)  # another visitor is not affected
    with pytest.raises(RateLimited):
        limiter.hit("widget:visitor:a", limit=3, window=60)


class Clock:
    """The limiter's clock, moved by the test (the Redis keys follow it too)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(1_800_000_000.0)  # the start of a 60-second window
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


def test_no_double_burst_across_a_window_boundary(limiter: RateLimiter, clock: Clock) -> None:
    clock.now += 59.5  # the limit at the very end of one window ...
    for _ in range(5):
        limiter.hit("k", limit=5, window=60)
    clock.now += 1  # ... and again just after the next one starts: refused
    with pytest.raises(RateLimited):
        limiter.hit("k", limit=5, window=60)


def test_the_previous_window_fades_out(limiter: RateLimiter, clock: Clock) -> None:
    for _ in range(6):  # 5 counted, the sixth refused and not counted
        with contextlib.suppress(RateLimited):
            limiter.hit("k", limit=5, window=60)
    clock.now += 90  # half of the last window still lies within the last 60 s: 2.5 hits
    limiter.hit("k", limit=5, window=60)
    limiter.hit("k", limit=5, window=60)
    with pytest.raises(RateLimited):
        limiter.hit("k", limit=5, window=60)
    clock.now += 60  # two windows on, nothing of the first is left
    for _ in range(3):
        limiter.hit("k", limit=5, window=60)


def test_retry_after_is_when_the_next_hit_fits(limiter: RateLimiter, clock: Clock) -> None:
    clock.now += 30
    for _ in range(5):
        limiter.hit("k", limit=5, window=60)
    clock.now += 40  # 10 s into the next window: 5 * 50/60 of the last one remains
    with pytest.raises(RateLimited) as info:
        limiter.hit("k", limit=5, window=60)
    wait = info.value.retry_after
    assert wait == 2  # 5 * (1 - (10 + t) / 60) <= 4 from t = 2
    clock.now += wait - 1
    with pytest.raises(RateLimited):
        limiter.hit("k", limit=5, window=60)
    clock.now += 1  # told to wait this long, it gets in
    limiter.hit("k", limit=5, window=60)


def test_refusals_do_not_extend_the_wait(limiter: RateLimiter, clock: Clock) -> None:
    for _ in range(3):
        limiter.hit("k", limit=3, window=60)
    for _ in range(100):  # hammering is refused and not counted ...
        with pytest.raises(RateLimited):
            limiter.hit("k", limit=3, window=60)
    clock.now += 120  # ... so it does not lock the key out any longer
    limiter.hit("k", limit=3, window=60)


def test_a_zero_limit_refuses_everything(limiter: RateLimiter) -> None:
    with pytest.raises(RateLimited) as info:
        limiter.hit("k", limit=0, window=60)
    assert info.value.retry_after == 60


def test_a_concurrent_burst_admits_exactly_the_limit(limiter: RateLimiter) -> None:
    admitted: list[bool] = []

    def one() -> None:
        try:
            limiter.hit("burst", limit=10, window=60)
            admitted.append(True)
        except RateLimited:
            admitted.append(False)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 10 and len(admitted) == 40


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


def test_redis_down_fails_open_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")  # nothing listens there
    with caplog.at_level("WARNING", logger="frontdesk.ratelimit"):
        for _ in range(3):  # over the limit, yet allowed: an outage must not lock people out
            limiter.hit("k", limit=1, window=60)
    assert [r.message for r in caplog.records if "cannot reach Redis" in r.message][:1]
    assert len(caplog.records) == 1  # then it stops asking for a moment instead of waiting
