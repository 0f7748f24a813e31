"""A token bucket per client address for the routes anyone may call without a token.

Public verification answered as fast as it was asked: forty anonymous calls walked the
sequential certificate numbers. Each address now has ``public_calls_burst`` calls in
hand, refilled at ``public_calls_per_minute``; past that the answer is 429 with
``Retry-After``. Refusals are logged (the address, never what was asked) and counted for
the operator overview.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

log = logging.getLogger("skillflow.api")

# Buckets kept at most; past it, the buckets already full again are dropped.
MAX_TRACKED_ADDRESSES = 100_000


@dataclass
class _Bucket:
    tokens: float
    checked_at: float
    refusing: bool = False


@dataclass
class PublicRateLimit:
    per_minute: int
    burst: int
    clock: Callable[[], float] = time.monotonic
    refused: int = 0
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    @property
    def _rate(self) -> float:
        return self.per_minute / 60.0

    def take(self, address: str) -> float | None:
        """Spend one call of ``address``: None if allowed, else the seconds to wait."""
        now = self.clock()
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED_ADDRESSES:
                self._forget_full(now)
            bucket = self._buckets[address] = _Bucket(tokens=self.burst, checked_at=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.checked_at) * self._rate)
        bucket.checked_at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.refusing = False
            return None
        self.refused += 1
        if not bucket.refusing:
            # One line when an address starts being refused, not one per refusal.
            bucket.refusing = True
            log.warning(
                "public calls from %s refused by the rate limit (%d refused in all)",
                address,
                self.refused,
            )
        return (1 - bucket.tokens) / self._rate

    def _forget_full(self, now: float) -> None:
        full_after = self.burst / self._rate
        for address, bucket in list(self._buckets.items()):
            if now - bucket.checked_at >= full_after:
                del self._buckets[address]


def public_rate_limit(request: Request) -> PublicRateLimit:
    limit: PublicRateLimit = request.app.state.public_rate_limit
    return limit


def anonymous_call(
    request: Request, limit: Annotated[PublicRateLimit, Depends(public_rate_limit)]
) -> None:
    """A dependency of every route open to anyone: one call from the caller's bucket."""
    address = request.client.host if request.client else "unknown"
    wait = limit.take(address)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many calls from this address: try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )


AnonymousCall = Depends(anonymous_call)
