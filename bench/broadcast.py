"""Broadcast benchmark: the morning digest to thousands of chats against the local Bot API emulator.

a. With Telegram's limits on: achieved messages/s as a fraction of the limit, and 429s, under both of the
   emulator's limiters side by side: token buckets, and sliding windows that count arrivals as a strict server
   does (requests bunched on the way are refused there). The emulator's clock can be scaled (--scale) and the
   bot's limits are scaled by the same factor, so rates are compared in emulator seconds; the bot keeps its
   server-side windows in real seconds, so only --scale 1 (the default) holds the sliding limiter exactly.
b. With the emulator unlimited: the bot's own ceiling (digests/s, CPU ms per delivered digest) beside a bare
   python-telegram-bot send_message loop sending the same texts, measured in the same run: alternating rounds
   (--rounds, each on a fresh store), the median ratio reported, so a busy machine skews both sides alike.

The emulator runs in its own process, so the CPU measured is the bot's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
TOKEN = "123456:BENCH-TOKEN"


@dataclass(frozen=True)
class EmulatorConfig:
    """What the emulator process serves."""

    chats: int
    limited: bool
    scale: float
    sliding_window: bool = False


def _emulator_main(config: EmulatorConfig, conn: Connection) -> None:
    """Child process: serve the emulator until asked for a report."""
    from bot.emulator import BotApiEmulator, RateLimits

    async def serve() -> None:
        limits = RateLimits(sliding_window=config.sliding_window) if config.limited else None
        emulator = BotApiEmulator(TOKEN, rate_limits=limits, time_scale=config.scale)
        await emulator.start()
        for chat_id in range(1, config.chats + 1):
            emulator.add_private_chat(chat_id, first_name=f"u{chat_id}", language_code="en")
        conn.send(emulator.url)
        loop = asyncio.get_running_loop()
        since = 0.0  # emulator time of the last "clear": what came before belongs to another measurement
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            if command == "report":
                sends = sorted(r.at for r in emulator.requests
                               if r.method == "sendMessage" and r.status == 200 and r.at >= since)
                digests = Counter(m.chat_id for m in emulator.sent() if m.buttons and m.sent_at >= since)
                conn.send({"sends": sends, "too_many_requests": emulator.stats.too_many_requests,
                           "digests": dict(digests)})
            elif command == "count":
                conn.send(len({m.chat_id for m in emulator.sent() if m.buttons and m.sent_at >= since}))
            elif command == "clear":
                since = emulator.now()
                conn.send("ok")
        await emulator.stop()

    asyncio.run(serve())


class EmulatorProcess:
    """The emulator in another process, with the little control this benchmark needs."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=_emulator_main, args=(config, child),
                                                                     daemon=True)

    def __enter__(self) -> str:
        self._process.start()
        return self._conn.recv()

    def report(self) -> dict[str, Any]:
        """Every successful send's time (emulator seconds), the 429 count, digests per chat."""
        self._conn.send("report")
        return self._conn.recv()

    def digested_chats(self) -> int:
        """How many chats got a digest so far: the cheap question the bot's run polls with."""
        self._conn.send("count")
        return self._conn.recv()

    def clear(self) -> None:
        """Start counting afresh (the earlier messages stay, but are left out of reports)."""
        self._conn.send("clear")
        self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=30)


def _due_store(folder: str, chats: int) -> tuple[str, Any]:
    """The samples plus `chats` subscribers, all due now; enough papers that each gets a full digest."""
    from sqlalchemy import update

    from bench.corpus import build_corpus
    from storage.chats import ensure_chat
    from storage.db import open_store, session_scope
    from storage.ingest import Ingestor
    from storage.models import Chat

    url = f"sqlite:///{folder}/broadcast.db"
    engine = open_store(url)
    ingestor = Ingestor(engine)
    for index, text in enumerate(build_corpus(200)):
        ingestor.ingest_text(text, source=f"bench-{index}")
    ingestor.write_vectors()
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for chat_id in range(1, chats + 1):
            ensure_chat(session=session, chat_id=chat_id, kind="private", title=None, ui_language="en",
                        digest_time="09:00", timezone="Asia/Shanghai", now=now)
        session.exec(update(Chat).values(next_due_at=now - timedelta(minutes=1)))
    return url, engine


async def _run_bot_broadcast(url: str, database_url: str, engine: Any, emulator: EmulatorProcess, chats: int,
                             scale: float, limited: bool) -> dict[str, float]:
    """Start the real bot (scheduler on), wait until every chat has its digest; CPU and wall time of this process."""
    from bot.app import build_application
    from bot.config import Settings

    settings = Settings(telegram_bot_token=TOKEN, telegram_api_base_url=f"{url}/bot",
                        telegram_api_file_url=f"{url}/file/bot", database_url=database_url, tick_seconds=0.05,
                        rate_limit_per_second=30 * scale if limited else 100_000,
                        private_chat_per_second=1 * scale if limited else 10_000,
                        group_per_minute=20 * scale if limited else 100_000, delivery_concurrency=32,
                        # Measured offline and with no sources configured: no asking arxiv.org during the
                        # broadcast, and no polling an empty sources table every 50 ms tick.
                        arxiv_enrichment=False, source_poll_minutes=0)
    application = build_application(settings, engine)
    cpu, wall = time.process_time(), time.perf_counter()
    async with application:
        await application.start()
        while emulator.digested_chats() < chats:
            await asyncio.sleep(0.25)
        elapsed_cpu, elapsed_wall = time.process_time() - cpu, time.perf_counter() - wall
        await application.stop()
    return {"cpu_s": elapsed_cpu, "wall_s": elapsed_wall}


async def _run_bare_loop(url: str, messages: list[tuple[str, Any]], chats: int) -> dict[str, float]:
    """The baseline: python-telegram-bot's Bot sending the same messages (text and ⭐ keyboard), 32 at a time."""
    from telegram import Bot, LinkPreviewOptions
    from telegram.constants import ParseMode

    gate = asyncio.Semaphore(32)
    bot = Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot")
    no_preview = LinkPreviewOptions(is_disabled=True)

    async def send(chat_id: int) -> None:
        text, keyboard = messages[chat_id % len(messages)]
        async with gate:
            await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard,
                                   link_preview_options=no_preview)

    async with bot:
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(send(chat_id) for chat_id in range(1, chats + 1)))
        return {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}


def _digest_messages(engine: Any, count: int) -> list[tuple[str, Any]]:
    """Rendered digests with their keyboards, exactly as the bot sends them, for the bare loop."""
    from bot.i18n import translator
    from bot.keyboards import star_keyboard
    from bot.packing import render_digest
    from storage.db import session_scope
    from storage.papers import pick_unseen_papers
    from storage.vocabulary import CATEGORIES

    texts = []
    with session_scope(engine) as session:
        for chat_id in range(1, count + 1):
            papers = pick_unseen_papers(session=session, chat_id=chat_id, categories=list(CATEGORIES),
                                        limit=5)
            texts.extend((m.text, star_keyboard(m, saved=set()))
                         for m in render_digest(papers, language="both", t=translator("en"),
                                                day=datetime.now(UTC).date()))
    return texts


def limited_run(chats: int, scale: float, sliding_window: bool) -> dict[str, Any]:
    """a. Telegram's limits on, under one of the emulator's limiters: fraction of the limit achieved, 429s."""
    with tempfile.TemporaryDirectory() as folder:
        database_url, engine = _due_store(folder, chats)
        emulator = EmulatorProcess(EmulatorConfig(chats=chats, limited=True, scale=scale,
                                                  sliding_window=sliding_window))
        with emulator as url:
            timing = asyncio.run(_run_bot_broadcast(url, database_url, engine, emulator, chats, scale, True))
            report = emulator.report()
    sends = report["sends"]
    rate = (len(sends) - 1) / (sends[-1] - sends[0])
    return {"limiter": "sliding window" if sliding_window else "token bucket", "chats": chats, "scale": scale,
            "limit_msg_per_s": 30.0, "achieved_msg_per_s": round(rate, 2),
            "fraction_of_limit": round(rate / 30.0, 4), "too_many_requests": report["too_many_requests"],
            "digests_exactly_once": set(report["digests"].values()) == {1}, "wall_s": round(timing["wall_s"], 2)}


def ceiling_run(chats: int, rounds: int) -> dict[str, Any]:
    """b. Emulator unlimited: the full path against a bare send loop, CPU per message, in alternating rounds.

    Each round times the bare loop and the bot on a fresh store, back to back, so both see the same machine (which
    goes first alternates between rounds); the ratio is reported per round and as the median over the rounds.
    """
    measured = []
    emulator = EmulatorProcess(EmulatorConfig(chats=chats, limited=False, scale=1.0))
    with emulator as url:
        for number in range(rounds):
            with tempfile.TemporaryDirectory() as folder:
                database_url, engine = _due_store(folder, chats)
                texts = _digest_messages(engine, 50)
                timed = {}
                for side in ("bare", "bot") if number % 2 == 0 else ("bot", "bare"):  # neither always goes first
                    emulator.clear()
                    timed[side] = asyncio.run(
                        _run_bare_loop(url, texts, chats) if side == "bare"
                        else _run_bot_broadcast(url, database_url, engine, emulator, chats, 1.0, False))
                bare, full = timed["bare"], timed["bot"]
                engine.dispose()
            bare_ms, full_ms = bare["cpu_s"] * 1000 / chats, full["cpu_s"] * 1000 / chats
            measured.append({"bare_send_msgs_per_s": round(chats / bare["wall_s"], 1),
                             "bare_send_cpu_ms_per_msg": round(bare_ms, 3),
                             "bot_digests_per_s": round(chats / full["wall_s"], 1),
                             "bot_cpu_ms_per_digest": round(full_ms, 3),
                             "cpu_ratio_bot_to_bare": round(full_ms / bare_ms, 2)})
    median = {key: statistics.median(round_[key] for round_ in measured) for key in measured[0]}
    return {"chats": chats, "rounds": measured, **median, "target_ratio": 1.5,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> int:
    """Run both measurements, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="emulator clock speed-up for the limited run (the bot's limits are scaled alike)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating bare/bot rounds of the ceiling run")
    args = parser.parse_args()
    limited = [limited_run(args.chats, args.scale, sliding_window) for sliding_window in (False, True)]
    ceiling = ceiling_run(args.chats, args.rounds)
    print("a. broadcast with Telegram's limits on (rates in emulator seconds), under each emulator limiter")
    print(f"{'limiter':>15} {'chats':>6} {'scale':>6} {'limit/s':>8} {'achieved/s':>11} {'fraction':>9} {'429s':>5} "
          f"{'once':>5} {'wall s':>7}")
    for run in limited:
        print(f"{run['limiter']:>15} {run['chats']:>6} {run['scale']:>6} {run['limit_msg_per_s']:>8} "
              f"{run['achieved_msg_per_s']:>11} {run['fraction_of_limit']:>9} {run['too_many_requests']:>5} "
              f"{run['digests_exactly_once']!s:>5} {run['wall_s']:>7}")
    print(f"\nb. ceiling with the emulator unlimited (bot process CPU only), median of {args.rounds} alternating "
          "rounds")
    print(f"{'chats':>6} {'bare msg/s':>11} {'bare cpu ms':>12} {'bot digests/s':>14} {'bot cpu ms':>11} "
          f"{'ratio':>6} {'target':>7} {'peak MB':>8}")
    print(f"{ceiling['chats']:>6} {ceiling['bare_send_msgs_per_s']:>11} {ceiling['bare_send_cpu_ms_per_msg']:>12} "
          f"{ceiling['bot_digests_per_s']:>14} {ceiling['bot_cpu_ms_per_digest']:>11} "
          f"{ceiling['cpu_ratio_bot_to_bare']:>6} {ceiling['target_ratio']:>7} {ceiling['peak_rss_mb']:>8}")
    print("   per round (bare cpu ms / bot cpu ms = ratio): " + ",  ".join(
        f"{r['bare_send_cpu_ms_per_msg']} / {r['bot_cpu_ms_per_digest']} = {r['cpu_ratio_bot_to_bare']}"
        for r in ceiling["rounds"]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "broadcast.json").write_text(json.dumps({"limited": limited, "ceiling": ceiling}, indent=2))
    print(f"\nwritten: {RESULTS / 'broadcast.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
