"""The pacer keeps Telegram's limits per chat and overall, and a 429 holds back only its chat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.pacing import PaceLimits, Pacer


class VirtualTime:
    """A clock that only moves when the pacer sleeps, so pacing is measured exactly and instantly."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def _send_many(pacer: Pacer, time: VirtualTime, chat_ids: list[int]) -> list[float]:
    """Send one message per entry (sequentially, as one task would) and return when each went out."""
    sent = []

    async def deliver() -> bool:
        sent.append(time.now)
        return True

    for chat_id in chat_ids:
        await pacer.process_request(deliver, (), {}, "sendMessage", {"chat_id": chat_id}, None)
    return sent


async def test_overall_rate_is_kept_exactly() -> None:
    time = VirtualTime()
    pacer = Pacer(PaceLimits(per_second=30), clock=time.clock, sleep=time.sleep)
    sent = await _send_many(pacer, time, list(range(1, 301)))
    rate = (len(sent) - 1) / (sent[-1] - sent[0])
    assert rate == pytest.approx(30, rel=1e-6)


async def test_private_chat_gets_a_short_burst_then_one_a_second() -> None:
    time = VirtualTime()
    pacer = Pacer(PaceLimits(per_second=1000, private_per_second=1, private_burst=3), clock=time.clock,
                  sleep=time.sleep)
    sent = await _send_many(pacer, time, [7] * 7)
    assert sent[2] - sent[0] < 0.01, "three back to back"
    # A server counting any 3-second window would refuse a fourth before the first is 3 s old.
    assert sent[3:] == pytest.approx([3.0, 3.0, 3.0, 6.0], abs=0.01)


async def test_group_gets_twenty_a_minute() -> None:
    time = VirtualTime()
    pacer = Pacer(PaceLimits(per_second=1000, group_per_minute=20), clock=time.clock, sleep=time.sleep)
    sent = await _send_many(pacer, time, [-100] * 23)
    # Twenty at once, then the minute's window must pass: a server counting any minute refuses the 21st sooner.
    assert sent[19] < 0.1 and sent[20] == pytest.approx(60.0, abs=0.05) and sent[22] == pytest.approx(60.0, abs=0.1)


async def test_a_429_holds_only_that_chat_and_the_call_is_retried() -> None:
    time = VirtualTime()
    pacer = Pacer(PaceLimits(per_second=1000, private_burst=10), clock=time.clock, sleep=time.sleep)
    attempts: list[tuple[int, float]] = []

    def sender(chat_id: int, fail_first: bool) -> Any:
        async def deliver() -> bool:
            attempts.append((chat_id, time.now))
            if fail_first and len([a for a in attempts if a[0] == chat_id]) == 1:
                raise RetryAfter(timedelta(seconds=5))
            return True
        return deliver

    assert await pacer.process_request(sender(1, True), (), {}, "sendMessage", {"chat_id": 1}, None) is True
    assert [t for c, t in attempts if c == 1] == pytest.approx([0.0, 5.0], abs=0.01)
    held_at = time.now
    pacer.hold(1, 30)
    await pacer.process_request(sender(2, False), (), {}, "sendMessage", {"chat_id": 2}, None)
    assert attempts[-1] == (2, pytest.approx(held_at, abs=0.01)), "another chat is not held back"
    assert pacer.retries == 1


async def test_reading_calls_are_never_paced() -> None:
    time = VirtualTime()
    pacer = Pacer(PaceLimits(per_second=1), clock=time.clock, sleep=time.sleep)

    async def call() -> bool:
        return True

    for _ in range(50):
        await pacer.process_request(call, (), {}, "getChatMember", {"chat_id": 1}, None)
        await pacer.process_request(call, (), {}, "answerCallbackQuery", {}, None)
    assert time.now == 0.0
