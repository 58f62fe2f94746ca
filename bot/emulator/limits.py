"""Telegram's flood limits (token buckets or sliding windows), so the bot's pacing meets real 429 answers."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.emulator.errors import BotApiError
from bot.emulator.state import _Chat
from bot.pacing import PaceLimits

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class RateLimits(PaceLimits):
    """Telegram's flood limits as the server keeps them, in messages per emulator second (or minute for groups):
    the same figures the bot paces itself by, plus how the server counts."""

    sliding_window: bool = False  # count arrivals in a sliding window instead of token buckets (package docstring)


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Refills, then returns emulator seconds until a token is free (0 if one is)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 - _EPSILON else (1 - self.tokens) / self.rate


class _RateLimiter:
    """Token buckets per key; a call passes only if every bucket it touches has a token."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[Any, ...], _Bucket] = {}

    def acquire(self, limits: Iterable[tuple[tuple[Any, ...], float, float]], now: float) -> float:
        """Takes a token from each (key, rate, capacity) bucket, or returns the wait without taking any."""
        buckets = [
            self._buckets.setdefault(key, _Bucket(rate, capacity, capacity, now)) for key, rate, capacity in limits
        ]
        wait = max((bucket.wait(now) for bucket in buckets), default=0.0)
        if wait <= 0:
            for bucket in buckets:
                bucket.tokens -= 1
        return wait


class _SlidingWindows:
    """Arrival times per key; a call passes only if each of its windows holds fewer than its limit."""

    def __init__(self) -> None:
        self._arrivals: dict[tuple[Any, ...], deque[float]] = {}

    def acquire(self, limits: Iterable[tuple[tuple[Any, ...], float, float]], now: float) -> float:
        """Records the arrival under each (key, limit, window), or returns the wait without recording any."""
        windows = []
        wait = 0.0
        for key, limit, window in limits:
            arrivals = self._arrivals.setdefault(key, deque())
            while arrivals and arrivals[0] <= now - window:
                arrivals.popleft()
            if len(arrivals) >= max(1, int(limit + _EPSILON)):
                wait = max(wait, arrivals[0] + window - now)
            windows.append(arrivals)
        if wait <= 0:
            for arrivals in windows:
                arrivals.append(now)
        return wait


class FloodControl:
    """The emulator's 429 answers: sends counted against ``rate_limits`` in emulator seconds (package docstring)."""

    def _throttle(self, chat: _Chat, *, paid: bool) -> None:
        """Flood control: 429 with retry_after in whole emulator seconds, rounded up."""
        limits = self.rate_limits
        if limits is None:
            return
        if limits.sliding_window:
            self._throttle_in_windows(limits, chat, paid=paid)
            return
        overall = (
            (("paid",), limits.paid_per_second, limits.paid_per_second)
            if paid
            else (("global",), limits.per_second, limits.per_second)
        )
        if chat.type == "private":
            per_chat = (("chat", chat.id), limits.private_per_second, float(limits.private_burst))
        else:
            per_chat = (("chat", chat.id), limits.group_per_minute / 60, limits.group_per_minute)
        wait = self._limiter.acquire([overall, per_chat], self.now())
        if wait > 0:
            retry_after = max(1, math.ceil(wait - _EPSILON))
            raise BotApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def _throttle_in_windows(self, limits: RateLimits, chat: _Chat, *, paid: bool) -> None:
        """Flood control as a strict server counts: arrivals in sliding windows (see the package docstring)."""
        overall = (("paid",), limits.paid_per_second, 1.0) if paid else (("global",), limits.per_second, 1.0)
        if chat.type == "private":
            per_chat = (("chat", chat.id), float(limits.private_burst),
                        limits.private_burst / limits.private_per_second)
        else:
            per_chat = (("chat", chat.id), limits.group_per_minute, 60.0)
        wait = self._windows.acquire([overall, per_chat], self.now())
        if wait > 0:
            retry_after = max(1, math.ceil(wait - _EPSILON))
            raise BotApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
