"""Start-up of a broadcast: from the bot's start (its scheduled tick) and from /post_now all to the first and the
last digest message, for N chats, against the emulator with Telegram's limits counted in sliding windows.

The bot runs with its default settings (TICK_SECONDS 30, DELIVERY_CONCURRENCY 32), so what an operator waits for
is what is measured. Each Bot API call takes --latency seconds to answer (0.1 by default, a round trip to Telegram
from afar): one digest after another, those round trips add up. Time is the emulator's (real seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.broadcast import RESULTS, TOKEN, _due_store

ADMIN = 9_000_001


def _digest_times(emulator: Any, since: float) -> list[float]:
    """When each digest message (the ones with ⭐ buttons) went out, since `since`."""
    return sorted(m.sent_at for m in emulator.sent() if m.buttons and m.sent_at >= since and m.chat_id != ADMIN)


async def _measure(chats: int, latency: float, folder: str) -> dict[str, Any]:
    """Both runs on one store: the scheduled broadcast at start, then /post_now all."""
    from sqlalchemy import update

    from bot.emulator import BotApiEmulator, RateLimits
    from bot.playground import emulator_settings, running_bot
    from storage.db import session_scope
    from storage.models import Chat

    database_url, engine = _due_store(folder, chats)
    async with BotApiEmulator(TOKEN, rate_limits=RateLimits(sliding_window=True), latency=latency) as emulator:
        for chat_id in range(1, chats + 1):
            emulator.add_private_chat(chat_id, first_name=f"u{chat_id}", language_code="en")
        emulator.add_private_chat(ADMIN, first_name="admin", language_code="en")
        settings = emulator_settings(emulator, database_url, admin_ids=frozenset({ADMIN}), source_poll_minutes=0)
        started = emulator.now()
        wall = time.perf_counter()
        async with running_bot(settings, engine, emulator=emulator, with_scheduler=True):
            await emulator.wait_until(lambda: len(_digest_times(emulator, started)) >= chats, timeout=600)
            scheduled = _digest_times(emulator, started)
            with session_scope(engine) as session:  # nothing due for a while: /post_now alone sends
                session.exec(update(Chat).values(next_due_at=datetime.now(UTC) + timedelta(days=1)))
            asked = emulator.now()
            replies = len(emulator.sent(ADMIN))
            emulator.user_sends(ADMIN, ADMIN, "/post_now all")
            await emulator.wait_until(lambda: len(emulator.sent(ADMIN)) > replies, timeout=600)
            answered = emulator.now()
            manual = _digest_times(emulator, asked)
        wall = time.perf_counter() - wall
    engine.dispose()
    return {
        "chats": chats,
        "latency_s": latency,
        "tick_seconds": settings.tick_seconds,
        "start_to_first_s": round(scheduled[0] - started, 2),
        "start_to_last_s": round(scheduled[-1] - started, 2),
        "post_now_to_first_s": round(manual[0] - asked, 2),
        "post_now_to_last_s": round(manual[-1] - asked, 2),
        "post_now_to_reply_s": round(answered - asked, 2),
        "post_now_msg_per_s": round((len(manual) - 1) / (manual[-1] - manual[0]), 2),
        "too_many_requests": emulator.stats.too_many_requests,
        "wall_s": round(wall, 1),
    }


def main() -> int:
    """Measure, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds each Bot API call takes to answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(_measure(args.chats, args.latency, folder))
    print("broadcast start-up (seconds; limit 30 msg/s, sliding window)")
    print(f"{'chats':>6} {'latency':>8} {'start→first':>12} {'start→last':>11} {'/post_now→first':>16} {'→last':>7} "
          f"{'→reply':>7} {'msg/s':>6} {'429s':>5}")
    print(f"{result['chats']:>6} {result['latency_s']:>8} {result['start_to_first_s']:>12} "
          f"{result['start_to_last_s']:>11} {result['post_now_to_first_s']:>16} {result['post_now_to_last_s']:>7} "
          f"{result['post_now_to_reply_s']:>7} "
          f"{result['post_now_msg_per_s']:>6} {result['too_many_requests']:>5}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(result, indent=2))
    print(f"\nwritten: {RESULTS / 'startup.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
