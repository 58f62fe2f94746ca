"""Pacing every Bot API call that sends or edits a message, close to Telegram's limits and never over them.

Telegram allows about 30 messages a second in all, 1 a second in one private chat (with short bursts) and 20 a
minute in a group. python-telegram-bot's own AIORateLimiter halts *every* request after one 429; this limiter
holds back only the chat that got it, so a broadcast keeps its pace.

Spacing requests evenly at the client is not enough: on the way (several connections, varying latency) they can
arrive bunched, and a server that counts arrivals in any one-second window refuses the bunch. So each limit is
also kept as the server counts it (``_ArrivalWindow``): a message counts from the moment its request starts until
its answer is a window old, and no request starts while a window's worth is counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)
PACED_PREFIXES = ("send", "edit", "copy", "forward")
MAX_RETRIES = 3  # a call refused with 429 is retried this many times after waiting what Telegram asks
_IN_FLIGHT_POLL = 0.005  # seconds between looks while a window's worth of requests awaits its answers


@dataclass(frozen=True, slots=True)
class PaceLimits:
    """The limits the bot keeps; paid broadcasts raise the overall one. The defaults are Telegram's own."""

    per_second: float = 30.0
    paid_per_second: float = 1000.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0


TELEGRAM_LIMITS = PaceLimits()  # the defaults of the settings, of the bot's pacing and of the emulator's limits


class _Gcra:
    """Generic cell rate algorithm: `rate` per second on average, up to `burst` back to back."""

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = self.interval * max(burst - 1, 0)
        self.theoretical_arrival = 0.0

    def reserve(self, now: float) -> float:
        """Book the next slot; returns how long to wait for it (0 when free now)."""
        arrival = max(self.theoretical_arrival, now)
        wait = max(0.0, arrival - self.tolerance - now)
        self.theoretical_arrival = arrival + self.interval
        return wait


class _ArrivalWindow:
    """At most `limit` messages in any `window` seconds as the server counts them, on arrival.

    A message reaches the server between its request's start and its answer; counting it from its start until its
    answer is `window` old covers every server window it can fall in, however the messages bunch on the way.
    """

    def __init__(self, limit: float, window: float) -> None:
        self.limit = max(1, int(limit))
        self.window = window
        self.in_flight = 0
        self._answered: deque[float] = deque()

    def wait(self, now: float) -> float:
        """How long until one more message may start (0 when it may now; a short poll while all are in flight)."""
        while self._answered and self._answered[0] <= now - self.window:
            self._answered.popleft()
        if self.in_flight + len(self._answered) < self.limit:
            return 0.0
        return self._answered[0] + self.window - now if self._answered else _IN_FLIGHT_POLL

    def start(self) -> None:
        """A request is on its way."""
        self.in_flight += 1

    def finish(self, now: float) -> None:
        """Its answer came (or it failed): it counts until this is a window old."""
        self.in_flight -= 1
        self._answered.append(now)


class Pacer(BaseRateLimiter[None]):
    """Token pacing per chat and overall; a 429 delays only the chat it named, then the call is retried."""

    def __init__(self, limits: PaceLimits, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
                 on_too_many_requests: Callable[[], object] | None = None) -> None:
        self.limits = limits
        self._on_too_many_requests = on_too_many_requests  # told of every 429 received, e.g. to count it
        self._clock = clock
        self._sleep = sleep
        self._overall = _Gcra(limits.per_second, 1)
        self._paid = _Gcra(limits.paid_per_second, 1)
        self._chats: dict[int | str, _Gcra] = {}
        self._overall_window = _ArrivalWindow(limits.per_second, 1.0)
        self._paid_window = _ArrivalWindow(limits.paid_per_second, 1.0)
        self._chat_windows: dict[int | str, _ArrivalWindow] = {}
        self._held_until: dict[int | str, float] = {}
        self.retries = 0

    async def initialize(self) -> None:
        """Nothing to set up: all state is in memory and rebuilt on start."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _chat_bucket(self, chat_id: int | str) -> _Gcra:
        """Groups (negative ids, @usernames) get 20 a minute; private chats 1 a second with a small burst."""
        bucket = self._chats.get(chat_id)
        if bucket is None:
            is_group = isinstance(chat_id, str) or chat_id < 0
            bucket = (_Gcra(self.limits.group_per_minute / 60.0, int(self.limits.group_per_minute)) if is_group
                      else _Gcra(self.limits.private_per_second, self.limits.private_burst))
            self._chats[chat_id] = bucket
        return bucket

    def _windows(self, chat_id: int | str | None, *, paid: bool) -> list[_ArrivalWindow]:
        """The server-side windows one message to this chat counts in."""
        windows = [self._paid_window if paid else self._overall_window]
        if chat_id is not None:
            window = self._chat_windows.get(chat_id)
            if window is None:
                is_group = isinstance(chat_id, str) or chat_id < 0
                window = (_ArrivalWindow(self.limits.group_per_minute, 60.0) if is_group else
                          _ArrivalWindow(self.limits.private_burst,
                                         self.limits.private_burst / self.limits.private_per_second))
                self._chat_windows[chat_id] = window
            windows.append(window)
        return windows

    async def _enter(self, windows: list[_ArrivalWindow]) -> None:
        """Wait until every window has room, then count the message in all of them at once."""
        while (delay := max(window.wait(self._clock()) for window in windows)) > 0:
            await self._sleep(delay)
        for window in windows:
            window.start()

    async def wait_turn(self, chat_id: int | str | None, *, paid: bool = False) -> None:
        """Wait until this chat, and the bot as a whole, may send one more message."""
        if chat_id is not None:
            held = self._held_until.get(chat_id, 0.0) - self._clock()
            if held > 0:
                await self._sleep(held)
            delay = self._chat_bucket(chat_id).reserve(self._clock())
            if delay > 0:
                await self._sleep(delay)
        delay = (self._paid if paid else self._overall).reserve(self._clock())
        if delay > 0:
            await self._sleep(delay)

    def hold(self, chat_id: int | str | None, seconds: float) -> None:
        """Telegram asked this chat's sender to wait; other chats go on."""
        if chat_id is not None:
            self._held_until[chat_id] = max(self._held_until.get(chat_id, 0.0), self._clock() + seconds)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Any:
        """Pace message-sending calls; answer 429s by holding that chat and trying again."""
        if not endpoint.lower().startswith(PACED_PREFIXES):
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        paid = bool(data.get("allow_paid_broadcast"))
        windows = self._windows(chat_id, paid=paid)
        for attempt in range(MAX_RETRIES + 1):
            await self.wait_turn(chat_id, paid=paid)
            await self._enter(windows)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if self._on_too_many_requests is not None:
                    self._on_too_many_requests()
                if attempt == MAX_RETRIES:
                    raise
                wait = error.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                self.retries += 1
                log.info("chat=%s 429 on %s, holding it %.1fs", chat_id, endpoint, seconds)
                self.hold(chat_id, seconds)
            finally:
                answered = self._clock()
                for window in windows:
                    window.finish(answered)
        raise AssertionError("unreachable")
