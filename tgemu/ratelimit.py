"""Flood control modelled on Telegram's documented limits.

Telegram allows a bot about 30 messages per second overall and about one message per second
to a single chat (short bursts are tolerated).  Going faster yields ``429 Too Many Requests``
with ``retry_after``.  A bot that ignores this in tests will be throttled in production, so the
limits are on by default, at Telegram's numbers; benchmarks switch them off and the test
fixtures set a faster pace (``EmulatorConfig.per_chat_rate`` and its neighbours, the bot's
limiter given the same one), except for the tests that check the pacing itself.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from tgemu.errors import too_many_requests


class RateLimiter:
    """Global sliding window per bot plus a token bucket per chat."""

    def __init__(
        self,
        *,
        global_per_second: int = 30,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.global_per_second = global_per_second
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self._clock = clock
        self._recent: deque[float] = deque()
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, last refill)

    def acquire(self, chat_id: int) -> None:
        """Count one outgoing message to ``chat_id`` or raise the 429 Telegram would send."""
        now = self._clock()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.global_per_second:
            raise too_many_requests(math.ceil(1.0 - (now - self._recent[0])))
        tokens, last = self._buckets.get(chat_id, (float(self.per_chat_burst), now))
        tokens = min(float(self.per_chat_burst), tokens + (now - last) * self.per_chat_rate)
        if tokens < 1.0:
            self._buckets[chat_id] = (tokens, now)
            raise too_many_requests(math.ceil((1.0 - tokens) / self.per_chat_rate))
        self._buckets[chat_id] = (tokens - 1.0, now)
        self._recent.append(now)
