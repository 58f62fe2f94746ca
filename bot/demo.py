"""`python -m bot demo`: the whole bot offline — samples ingested, the real bot against the local emulator,
a subscriber playing /start, /categories, /today and ⭐, printed as a person would read it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.emulator import BotApiEmulator, SentMessage
from bot.playground import Playground, emulator_settings, running_bot
from storage.db import open_store
from storage.ingest import SAMPLE_DIGESTS_DIR, Ingestor
from storage.vocabulary import Category

USER_ID = 1001
WIDTH = 78


def _bubble(message: SentMessage, edited: bool = False) -> str:
    """A bot message as the chat shows it: its text, then its buttons."""
    lines = [f"🤖 {'(edited) ' if edited else ''}{line}" if i == 0 else f"   {line}"
             for i, line in enumerate(message.plain_text.splitlines())]
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    lines.extend("   " + "  ".join(f"[{button['text']}]" for button in row) for row in rows)
    return "\n".join(lines)


async def play(database: Path, out: Callable[[str], None] = print) -> None:
    """Run the scripted conversation and print it."""
    database.unlink(missing_ok=True)
    engine = open_store(f"sqlite:///{database}")
    # The weibo-style samples go in last, so the freshest digest is a bilingual one.
    samples = sorted(SAMPLE_DIGESTS_DIR.glob("*.txt"),
                     key=lambda path: (path.name[:3] not in ("001", "004"), path.name))
    reports = Ingestor(engine).ingest_sources([str(path) for path in samples])
    out(f"Ingested {sum(r.new for r in reports)} papers from {len(reports)} sample digests into {database}.")
    out("Local Bot API emulator on 127.0.0.1; the real bot polls it. Nothing leaves this machine.\n")
    async with BotApiEmulator() as emulator:
        emulator.add_private_chat(USER_ID, first_name="Lin", language_code="zh-hans")
        settings = emulator_settings(emulator, f"sqlite:///{database}", admin_ids=frozenset({USER_ID}))
        async with running_bot(settings, engine, emulator=emulator) as bot:
            await _conversation(bot, out)
    engine.dispose()


async def _conversation(bot: Playground, out: Callable[[str], None]) -> None:
    """The subscriber's steps."""

    async def say(text: str) -> list[SentMessage]:
        out(f"👤 Lin: {text}")
        replies = await bot.say(USER_ID, USER_ID, text)
        for message in replies:
            out(_bubble(message))
        out("")
        return replies

    await say("/start")
    (keyboard,) = await say("/categories")
    out("👤 Lin taps [RO] and [AS] to drop robotics and audio")
    for code in (Category.RO, Category.AS):
        await bot.tap(USER_ID, USER_ID, keyboard.message_id, f"c:{code}")
    out(_bubble(bot.emulator.message(USER_ID, keyboard.message_id), edited=True) + "\n")
    digest = await say("/today")
    first = digest[0]
    star = first.buttons[0]["callback_data"]
    out(f"👤 Lin taps [{first.buttons[0]['text']}]")
    answer = await bot.tap(USER_ID, USER_ID, first.message_id, star)
    out(f"🤖 (toast) {answer['text'] if answer else ''}")
    starred = bot.emulator.message(USER_ID, first.message_id)
    keyboard_rows = len((starred.reply_markup or {}).get("inline_keyboard", []))
    out("\n".join(_bubble(starred, edited=True).split("\n")[-keyboard_rows:]) + "\n")  # just the redrawn buttons
    await say("/favorites")
    await say("/lang en")
    await say("/today")
