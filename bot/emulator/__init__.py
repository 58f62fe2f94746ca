"""Local Telegram Bot API emulator that the real python-telegram-bot client talks to over HTTP.

Tests, benchmarks and demos point PTB at it instead of api.telegram.org::

    async with BotApiEmulator("123:ABC") as emu:
        emu.add_private_chat(42, language_code="en")
        builder = ApplicationBuilder().token("123:ABC").base_url(emu.api_base_url)
        app = builder.base_file_url(emu.file_base_url).build()
        ...
        emu.user_sends(42, 42, "/start")
        [reply] = await emu.wait_for_messages(42, 1)

It answers the way Telegram does (same JSON shapes, HTTP statuses and error descriptions) so the bot's error
handling is exercised for real: HTML entity parsing, length limits, inline keyboard checks, blocked/kicked/
migrated chats, flood control and injected faults.

Time and flood control
----------------------
All timestamps the emulator records (``SentMessage.sent_at``, ``RequestRecord.at``) and all rate-limit windows
are in *emulator seconds*: ``clock() * time_scale``, where ``clock`` defaults to ``time.monotonic``. With
``time_scale=10`` every window is ten times shorter in real time. ``retry_after`` in a 429 answer is in emulator
seconds, rounded up to a whole number ≥ 1 as Telegram does; a client that sleeps ``retry_after / time_scale``
real seconds is then guaranteed a free slot (unless other traffic takes it first), and one that sleeps the full
``retry_after`` also succeeds, just later. With the default ``time_scale=1.0`` both readings coincide.

Flood control is off unless ``rate_limits`` is given. Each send (sendMessage, sendDocument) takes one token from
two token buckets: the overall bucket (``per_second``, or ``paid_per_second`` when the call passes
``allow_paid_broadcast``) and the target chat's bucket (``private_per_second`` with ``private_burst`` capacity for
private chats, ``group_per_minute`` with the same capacity for groups). Rejected calls take no token.

With ``RateLimits(sliding_window=True)`` the emulator counts instead as a strict server does: each send is
stamped on arrival, and it is refused when the last window already holds the limit: ``per_second`` (or
``paid_per_second``) in any one second, ``private_burst`` in any ``private_burst / private_per_second`` seconds
for a private chat, ``group_per_minute`` in any minute for a group. Requests spaced evenly by the client but
bunched on the way (several connections, varying latency) are refused here where a token bucket lets them pass.

Modules
-------
``server`` (the aiohttp server and ``BotApiEmulator``, built from the parts below), ``control`` (what tests call:
chats, users, faults, reading replies), ``methods`` (the Bot API methods), ``updates`` (getUpdates and the webhook),
``state`` (chat state and its Bot API JSON), ``limits`` (flood control), ``html_check`` (HTML parse mode),
``markup`` (reply markup), ``params`` (reading request parameters), ``errors`` (Telegram's error answers) and
``thread`` (``EmulatorThread``).
"""

from __future__ import annotations

from bot.emulator.errors import BotApiError, EntityParseError
from bot.emulator.html_check import FormattedText, parse_html, validate_html
from bot.emulator.limits import RateLimits
from bot.emulator.server import BotApiEmulator
from bot.emulator.state import (
    BlockReason,
    ChatType,
    EmulatedFile,
    EmulatedUser,
    EmulatorStats,
    MessageVersion,
    RequestRecord,
    SentMessage,
    UploadedFile,
)
from bot.emulator.thread import EmulatorThread

__all__ = [
    "BlockReason",
    "BotApiEmulator",
    "BotApiError",
    "ChatType",
    "EmulatedFile",
    "EmulatedUser",
    "EmulatorStats",
    "EmulatorThread",
    "EntityParseError",
    "FormattedText",
    "MessageVersion",
    "RateLimits",
    "RequestRecord",
    "SentMessage",
    "UploadedFile",
    "parse_html",
    "validate_html",
]
