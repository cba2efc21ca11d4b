"""Fixed-window rate limits, in memory for one process or in Redis for several.

``limiter.hit("login:ip:1.2.3.4", limit=10, window=60)`` counts one attempt and raises
:class:`~frontdesk.errors.RateLimited` past the limit. When Redis is unreachable the limiter
fails open (and logs it): a Redis outage must not lock customers out of the chat.
"""

from __future__ import annotations

import logging
import threading
import time

from frontdesk.errors import RateLimited

log = logging.getLogger(__name__)


class RateLimiter:
    def count(self, key: str, window: int) -> tuple[int, int]:
        """Add one hit to ``key``; return (hits in the current window, seconds left in it)."""
        raise NotImplementedError

    def hit(self, key: str, *, limit: int, window: int, what: str = "requests") -> None:
        hits, left = self.count(key, window)
        if hits > limit:
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

    def count(self, key: str, window: int) -> tuple[int, int]:
        now = time.time()
        bucket = int(now // window)
        with self._lock:
            if len(self._counts) > 100_000:  # drop old windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= bucket - 1}
            hits = self._counts.get((key, bucket), 0) + 1
            self._counts[(key, bucket)] = hits
        return hits, int((bucket + 1) * window - now) + 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class RedisRateLimiter(RateLimiter):
    # After a failure, allow requests without asking Redis for this long.
    RETRY_AFTER = 2.0

    def __init__(self, url: str, prefix: str = "frontdesk") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._prefix = f"{prefix}:rl:"
        self._skip_redis_until = 0.0

    def count(self, key: str, window: int) -> tuple[int, int]:
        now = time.time()
        bucket = int(now // window)
        name = f"{self._prefix}{key}:{bucket}"
        if time.monotonic() < self._skip_redis_until:  # Redis just failed: do not wait on it
            return 0, window
        try:
            pipe = self._redis.pipeline()
            pipe.incr(name)
            pipe.expire(name, window + 1)
            hits = int(pipe.execute()[0])
        except Exception as exc:
            self._skip_redis_until = time.monotonic() + self.RETRY_AFTER
            log.warning("rate limiter cannot reach Redis (%s); allowing the request", exc)
            return 0, window
        return hits, int((bucket + 1) * window - now) + 1

    def reset(self) -> None:
        try:
            keys = list(self._redis.scan_iter(f"{self._prefix}*"))
            if keys:
                self._redis.delete(*keys)
        except Exception as exc:
            log.warning("cannot reset rate limits in Redis: %s", exc)
