"""Request rate limits shared by every API process through Redis, or kept in memory when alone."""

from __future__ import annotations

import math
import time

from limits import parse, storage, strategies

from dinecard.shared import errors
from dinecard.shared.errors import DomainError


class RateLimiter:
    """A moving-window limiter; `DINECARD_REDIS_URL` makes the windows shared across processes."""

    def __init__(self, redis_url: str | None, namespace: str = "dinecard") -> None:
        self.shared = redis_url is not None
        self._storage = storage.storage_from_string(redis_url) if redis_url else storage.MemoryStorage()
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)
        self._namespace = namespace

    def hit(self, rule: str, *key: str) -> None:
        """Count one event; refuse with 429 and Retry-After when `rule` (e.g. "5/15 minutes") is exceeded."""
        item = parse(rule)
        if not self._limiter.hit(item, self._namespace, *key):
            reset_at, _remaining = self._limiter.get_window_stats(item, self._namespace, *key)
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise DomainError(errors.RATE_LIMITED, {"retry_after": retry_after})

    def check(self, rule: str, *key: str) -> None:
        """Refuse (429) if `rule` is already exhausted for `key`, without counting anything."""
        item = parse(rule)
        if not self._limiter.test(item, self._namespace, *key):
            reset_at, _remaining = self._limiter.get_window_stats(item, self._namespace, *key)
            raise DomainError(errors.RATE_LIMITED, {"retry_after": max(1, math.ceil(reset_at - time.time()))})

    def clear(self, rule: str, *key: str) -> None:
        self._limiter.clear(parse(rule), self._namespace, *key)
