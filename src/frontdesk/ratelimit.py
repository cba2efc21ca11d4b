"""Sliding-window rate limits, in memory for one process or in Redis for several.

``limiter.hit("login:ip:1.2.3.4", limit=10, window=60)`` counts one attempt and raises
:class:`~frontdesk.errors.RateLimited` past the limit. When Redis is unreachable the limiter
fails open (and logs it): a Redis outage must not lock customers out of the chat.

The count is the sliding-window estimate (as in nginx's and Cloudflare's limiters): the hits of
the current fixed window plus those of the previous one weighted by how much of it still lies
within the last ``window`` seconds. A fixed window alone lets twice the limit through around
its boundary (the limit at the end of one window and again at the start of the next); this
keeps any ``window`` seconds near the limit with two counters per key. Checking and counting
are one step (under a lock in memory, one Lua script in Redis), so a burst from several
processes admits exactly the limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import NamedTuple

from frontdesk.errors import RateLimited

log = logging.getLogger(__name__)


class Counts(NamedTuple):
    """One key's hits in the current fixed window (this one included) and the previous one,
    and the seconds elapsed in the current window."""

    current: int
    previous: int
    elapsed: float


def estimate(counts: Counts, window: int) -> float:
    """Hits in the last ``window`` seconds, the previous window's spread evenly over it."""
    return counts.current + counts.previous * (1 - counts.elapsed / window)


def retry_after(counts: Counts, limit: int, window: int) -> int:
    """Whole seconds until one more hit fits under ``limit`` (``counts`` without it)."""
    current, previous, elapsed = counts
    if limit < 1:  # a limit of 0 refuses everything: nothing ever fits
        return window
    room = limit - 1 - current  # what the previous window's share may still weigh
    if room >= 0:
        # in this window: previous * (1 - (elapsed + t) / window) <= room
        wait = window * (1 - room / previous) - elapsed if previous else 0.0
    else:
        # in the next one, where this window's hits are the previous ones
        wait = (window - elapsed) + window * (1 - (limit - 1) / current)
    return max(1, math.ceil(wait))


class RateLimiter:
    def take(self, key: str, limit: int, window: int, now: float) -> tuple[bool, Counts]:
        """Count one hit on ``key`` if it fits under ``limit``, in one atomic step (a refused
        hit is not counted). Return whether it was counted, and the counts then."""
        raise NotImplementedError

    def hit(self, key: str, *, limit: int, window: int, what: str = "requests") -> None:
        """Count one hit, or refuse it (uncounted: a client that waits ``retry_after`` as told
        gets in, one that keeps trying still gets only ``limit`` per ``window``)."""
        counted, counts = self.take(key, limit, window, time.time())
        if not counted:
            left = retry_after(counts, limit, window)
            raise RateLimited(
                f"Too many {what}: at most {limit} in {window} seconds. "
                f"Try again in {left} seconds.",
                retry_after=left,
            )

    def reset(self) -> None:
        """Forget every counter (tests)."""


class MemoryRateLimiter(RateLimiter):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def take(self, key: str, limit: int, window: int, now: float) -> tuple[bool, Counts]:
        bucket = int(now // window)
        elapsed = now - bucket * window
        with self._lock:
            if len(self._counts) > 100_000:  # drop old windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= bucket - 1}
            current = self._counts.get((key, bucket), 0)
            previous = self._counts.get((key, bucket - 1), 0)
            if estimate(Counts(current + 1, previous, elapsed), window) > limit:
                return False, Counts(current, previous, elapsed)
            self._counts[(key, bucket)] = current + 1
        return True, Counts(current + 1, previous, elapsed)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class RedisRateLimiter(RateLimiter):
    # After a failure, allow requests without asking Redis for this long.
    RETRY_AFTER = 2.0
    # RateLimiter.take in one round trip, atomic across processes: KEYS the current and the
    # previous window's counters; ARGV the limit, the previous window's weight (1 - elapsed /
    # window, as in ``estimate``) and the counter's lifetime (still read as the previous one).
    TAKE = """
    local current = tonumber(redis.call('GET', KEYS[1]) or '0')
    local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
    if current + 1 + previous * tonumber(ARGV[2]) > tonumber(ARGV[1]) then
        return {0, current, previous}
    end
    current = redis.call('INCR', KEYS[1])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return {1, current, previous}
    """

    def __init__(self, url: str, prefix: str = "frontdesk") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._prefix = f"{prefix}:rl:"
        self._skip_redis_until = 0.0
        self._take = self._redis.register_script(self.TAKE)

    def take(self, key: str, limit: int, window: int, now: float) -> tuple[bool, Counts]:
        bucket = int(now // window)
        elapsed = now - bucket * window
        if time.monotonic() < self._skip_redis_until:  # Redis just failed: do not wait on it
            return True, Counts(0, 0, elapsed)
        try:
            counted, current, previous = self._take(
                keys=[f"{self._prefix}{key}:{bucket}", f"{self._prefix}{key}:{bucket - 1}"],
                args=[limit, repr(1 - elapsed / window), 2 * window + 1],
            )
        except Exception as exc:
            self._skip_redis_until = time.monotonic() + self.RETRY_AFTER
            log.warning("rate limiter cannot reach Redis (%s); allowing the request", exc)
            return True, Counts(0, 0, elapsed)
        return bool(counted), Counts(int(current), int(previous), elapsed)

    def reset(self) -> None:
        try:
            keys = list(self._redis.scan_iter(f"{self._prefix}*"))
            if keys:
                self._redis.delete(*keys)
        except Exception as exc:
            log.warning("cannot reset rate limits in Redis: %s", exc)
