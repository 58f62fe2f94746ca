"""The Bot API emulator, exercised through the real python-telegram-bot client over HTTP."""

import asyncio
import contextlib
import datetime as dt
import html
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.emulator import (
    BotApiEmulator,
    EmulatorThread,
    EntityParseError,
    RateLimits,
    parse_html,
    validate_html,
)

TOKEN = "123456:TEST-TOKEN"
USER = 1001
OTHER = 1002
GROUP = -4001
FORUM = -1004002


class FakeClock:
    """Injectable clock so flood-control tests are deterministic and instant."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_bot(emu: BotApiEmulator, *, pool: int = 1) -> Bot:
    """A real PTB Bot talking to the emulator."""
    # Plain HTTP on loopback: skipping the CA bundle saves ~30 ms per client.
    no_tls = {"verify": False}
    return Bot(
        TOKEN,
        base_url=emu.api_base_url,
        base_file_url=emu.file_base_url,
        request=HTTPXRequest(connection_pool_size=pool, httpx_kwargs=no_tls),
        get_updates_request=HTTPXRequest(httpx_kwargs=no_tls),
    )


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's future RetryAfter.retry_after type; PTB 22 warns on every RetryAfter otherwise."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def retry_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    assert isinstance(value, dt.timedelta)
    return value.total_seconds()


def keyboard(*callback_data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(data, callback_data=data)] for data in callback_data])


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(TOKEN) as emu:
        emu.add_private_chat(USER, first_name="Alice", language_code="en")
        yield emu


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with make_bot(emu) as bot:
        yield bot


# -- HTML parse mode, unit level (vectors from tdlib's own parse_html tests) -------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        ("🏟 🏟&lt;<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ('<span class="x">a</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="abc">a</tg-emoji>', "Invalid custom emoji identifier specified"),
        (
            "&#xDFDF;",
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units",
        ),
    ],
)
def test_parse_html_rejects_like_telegram(text: str, detail: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(text)
    assert caught.value.detail == detail
    assert caught.value.description == f"Bad Request: can't parse entities: {detail}"
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("text", "plain", "entities"),
    [
        ("&lt;&gt;&amp;&quot;&laquo;&#12345678;", '<>&"&laquo;&#12345678;', []),
        ("Tom & Jerry &amp co", "Tom & Jerry & co", []),
        ("🏟 🏟<i>🏟 &lt🏟</i>", "🏟 🏟🏟 <🏟", [("italic", 5, 6)]),
        ("🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>", "🏟 🏟🏟 ><🏟", [("italic", 5, 7), ("bold", 9, 3)]),
        ("🏟 🏟&lt;<i    aba  =  '&lt;&gt;&quot;'>a</>", "🏟 🏟<a", [("italic", 6, 1)]),
        ("<code><i><b> </b></i></code>", " ", [("code", 0, 1), ("bold", 0, 1), ("italic", 0, 1)]),
        ("<b></b>x", "x", []),
        ("<a>telegram.org</a>", "telegram.org", [("text_link", 0, 12)]),
        ("<a> </a>", " ", []),
        ("<pre><code>x</code></pre>", "x", [("pre", 0, 1), ("code", 0, 1)]),
        ('<pre><code class="language-py">x</code></pre>', "x", [("pre", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st", [("spoiler", 0, 1), ("spoiler", 1, 1)]),
        ("<U>x</u><STRONG>y</STRONG>", "xy", [("underline", 0, 1), ("bold", 1, 1)]),
    ],
)
def test_parse_html_accepts_like_telegram(text: str, plain: str, entities: list[tuple[str, int, int]]) -> None:
    parsed = parse_html(text)
    assert parsed.text == plain
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


def test_parse_html_entity_arguments() -> None:
    link = parse_html("<a href='telegram.org?&lt;'>x</a>").entities[0]
    assert link["url"] == "http://telegram.org/?<"
    assert parse_html('<pre><code class="language-python">x</code></pre>').entities[0]["language"] == "python"
    assert parse_html('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>').entities[0] == {
        "type": "custom_emoji",
        "offset": 0,
        "length": 2,
        "custom_emoji_id": "5368324170671202286",
    }


def test_validate_html_returns_plain_text_and_strict_mode_catches_unescaped_ampersand() -> None:
    raw = 'a < b & "c"'
    assert validate_html(f"<b>{html.escape(raw)}</b>") == raw
    assert validate_html("R&D") == "R&D"
    with pytest.raises(EntityParseError, match=r'Unescaped "&" at byte offset 1'):
        validate_html("R&D", strict=True)
    assert validate_html("R&amp;D &#x27;", strict=True) == "R&D '"


# -- sending and reading back ------------------------------------------------------------------------------------


async def test_send_html_message_and_read_it_back(emu: BotApiEmulator, bot: Bot) -> None:
    title = html.escape('Attention <is> "all" you need & more')
    first = await bot.send_message(USER, f"<b>Digest</b>\n{title}", parse_mode=ParseMode.HTML)
    second = await bot.send_message(USER, "  plain\n")

    assert (first.message_id, second.message_id) == (1, 2)
    assert first.text == 'Digest\nAttention <is> "all" you need & more'
    assert first.text_html.startswith("<b>Digest</b>\n")
    assert first.from_user is not None and first.from_user.username == "papers_digest_bot"
    sent = emu.sent(USER)
    assert [m.plain_text for m in sent] == [first.text, "plain"]
    assert sent[0].text == f"<b>Digest</b>\n{title}"
    assert sent[0].parse_mode == "HTML"
    assert sent[0].entities == [{"type": "bold", "offset": 0, "length": 6}]
    assert emu.message(USER, 2).plain_text == "plain"
    assert sent[0].sent_at <= sent[1].sent_at
    assert emu.stats.requests["sendMessage"] == 2


async def test_send_options_are_recorded(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_group(FORUM, title="ML papers", supergroup=True, is_forum=True, members={USER})
    topic = emu.create_forum_topic(FORUM, "news", by=USER)
    asked = emu.user_sends(FORUM, USER, "any news?", message_thread_id=topic)
    reply = await bot.send_message(
        FORUM,
        "yes",
        message_thread_id=topic,
        reply_parameters=ReplyParameters(message_id=asked),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_markup=keyboard("more"),
    )
    legacy = await bot.send_message(USER, "old style", disable_web_page_preview=True)

    assert reply.message_thread_id == topic and reply.is_topic_message
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "any news?"
    assert reply.reply_markup == keyboard("more")
    sent = emu.message(FORUM, reply.message_id)
    assert (sent.message_thread_id, sent.reply_to_message_id) == (topic, asked)
    assert sent.link_preview_options == {"is_disabled": True}
    assert sent.buttons == [{"text": "more", "callback_data": "more"}]
    assert emu.message(USER, legacy.message_id).link_preview_options == {"is_disabled": True}
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(FORUM, "x", reply_parameters=ReplyParameters(message_id=999))
    lenient = ReplyParameters(message_id=999, allow_sending_without_reply=True)
    assert (await bot.send_message(FORUM, "x", reply_parameters=lenient)).reply_to_message is None


async def test_bad_html_is_rejected_and_nothing_is_sent(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(USER, "score <0.5 is bad", parse_mode=ParseMode.HTML)
    assert "can't parse entities" in caught.value.message.lower()
    assert 'unsupported start tag "0.5" at byte offset 6' in caught.value.message.lower()
    assert emu.sent() == []
    assert emu.stats.errors[400] == 1
    assert emu.requests[-1].description == (
        'Bad Request: can\'t parse entities: Unsupported start tag "0.5" at byte offset 6'
    )


async def test_text_length_is_counted_after_parsing_in_utf16(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(USER, "😀" * 2048)
    for too_long in ("x" * 4097, "😀" * 2048 + "x", "&amp;" * 4097):
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER, too_long, parse_mode=ParseMode.HTML)
    for empty in (" \n ", "<b></b>"):
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(USER, empty, parse_mode=ParseMode.HTML)
    assert len(emu.sent(USER)) == 2


async def test_inline_keyboard_limits(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.send_message(USER, "ok", reply_markup=keyboard("x" * 64, "й" * 32))
    for data in ("x" * 65, "й" * 33):
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(USER, "no", reply_markup=keyboard(data))
    with pytest.raises(BadRequest, match="Can't parse inline keyboard button"):
        await bot.send_message(USER, "no", reply_markup={"inline_keyboard": [[{"text": "bare"}]]})
    too_many = InlineKeyboardMarkup([[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)])
    with pytest.raises(BadRequest, match="Reply markup is too long"):
        await bot.send_message(USER, "no", reply_markup=too_many)
    with pytest.raises(BadRequest, match="Inline keyboard button url 'http:// x' is invalid"):
        await bot.send_message(USER, "no", reply_markup={"inline_keyboard": [[{"text": "a", "url": "http:// x"}]]})
    assert len(emu.sent(USER)) == 1


# -- chats that fail ---------------------------------------------------------------------------------------------


async def test_unknown_blocked_deactivated_and_kicked_chats(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hi")
    emu.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    emu.add_private_chat(OTHER)
    emu.block(OTHER, reason="deactivated")
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_chat_action(OTHER, ChatAction.TYPING)
    emu.add_group(GROUP, title="Readers", members={USER})
    emu.block(GROUP, reason="kicked")
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.get_chat(GROUP)
    with pytest.raises(ValueError, match="does not apply"):
        emu.block(GROUP, reason="blocked")
    emu.forget_chat(GROUP)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(GROUP)

    [update] = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    emu.unblock(USER)
    assert (await bot.send_message(USER, "welcome back")).text == "welcome back"


async def test_migrated_group_raises_chat_migrated(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_group(GROUP, title="Readers", admins={USER})
    emu.migrate(GROUP, -1009001)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP, "hi")
    assert caught.value.new_chat_id == -1009001
    assert (await bot.send_message(-1009001, "hi")).chat.type == "supergroup"
    assert (await bot.get_chat(-1009001)).title == "Readers"
    assert (await bot.get_chat_member(-1009001, USER)).status == "administrator"
    updates = await bot.get_updates()
    assert [(u.message.migrate_to_chat_id, u.message.migrate_from_chat_id) for u in updates if u.message] == [
        (-1009001, None),
        (None, GROUP),
    ]


CHANNEL = -1009100


async def test_a_channel_has_posting_administrators_posts_and_forwarded_posts(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_channel(CHANNEL, title="Daily papers", username="daily_papers", creator=USER, admins={OTHER})
    me = (await bot.get_me()).id
    assert (await bot.get_chat("@daily_papers")).type == "channel"
    creator, bot_member = await bot.get_chat_member(CHANNEL, USER), await bot.get_chat_member(CHANNEL, me)
    assert creator.status == "creator"
    assert bot_member.status == "administrator" and bot_member.can_post_messages
    assert {member.user.id for member in await bot.get_chat_administrators(CHANNEL)} == {USER, OTHER, me}
    sent = await bot.send_message(CHANNEL, "digest")
    assert sent.sender_chat.id == CHANNEL and sent.from_user is None, "channel posts come from the channel"

    post = emu.channel_post(CHANNEL, "hello followers")
    emu.user_forwards(USER, CHANNEL, post)
    [channel_post, forwarded] = await bot.get_updates()
    assert channel_post.channel_post.text == "hello followers" and channel_post.channel_post.sender_chat.id == CHANNEL
    origin = forwarded.message.forward_origin
    assert forwarded.message.chat.id == USER and origin.type == "channel"
    assert (origin.chat.id, origin.message_id) == (CHANNEL, post)
    with pytest.raises(ValueError, match="do not write in a channel"):
        emu.user_sends(CHANNEL, USER, "/start")


async def test_a_channel_tells_the_bot_when_it_is_demoted_promoted_or_removed(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_channel(CHANNEL, title="Daily papers", creator=USER)
    me = (await bot.get_me()).id
    emu.set_channel_admin(CHANNEL, me, can_post=False, by=USER)
    with pytest.raises(BadRequest, match=r"(?i)need administrator rights in the channel chat"):
        await bot.send_message(CHANNEL, "digest")
    emu.set_channel_admin(CHANNEL, me, can_post=True)
    assert (await bot.send_message(CHANNEL, "digest")).chat.id == CHANNEL
    emu.remove_from_channel(CHANNEL, me)
    with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
        await bot.send_message(CHANNEL, "digest")
    with pytest.raises(BadRequest, match=r"(?i)member list is inaccessible"):
        await bot.get_chat_member(CHANNEL, USER)
    changes = [update.my_chat_member for update in await bot.get_updates()]
    assert [(c.old_chat_member.status, c.new_chat_member.status, getattr(c.new_chat_member, "can_post_messages",
                                                                          None)) for c in changes] == [
        ("administrator", "administrator", False), ("administrator", "administrator", True),
        ("administrator", "left", None)]
    assert {c.from_user.id for c in changes} == {USER} and {c.chat.type for c in changes} == {"channel"}


async def test_a_channel_the_bot_is_not_in_can_be_looked_up_but_not_written_to(emu: BotApiEmulator,
                                                                               bot: Bot) -> None:
    emu.add_channel(CHANNEL, title="Elsewhere", username="elsewhere", creator=USER, bot_can_post=None)
    assert (await bot.get_chat("@elsewhere")).id == CHANNEL
    me = (await bot.get_me()).id
    assert (await bot.get_chat_member(CHANNEL, me)).status == "left"
    with pytest.raises(Forbidden, match="not a member"):
        await bot.send_message(CHANNEL, "digest")
    assert await bot.get_updates() == (), "registering a channel sends no update"


# -- faults ------------------------------------------------------------------------------------------------------


async def test_injected_faults_map_to_ptb_exceptions(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next(
        "sendmessage",
        status=429,
        description="Too Many Requests: retry after 7",
        parameters={"retry_after": 7},
    )
    emu.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user", count=2)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "a")
    assert retry_seconds(caught.value) == 7
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(USER, "a")
    emu.fail_next("getMe", status=500, description="Internal Server Error")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_me()
    await bot.send_message(USER, "finally")
    assert [m.plain_text for m in emu.sent()] == ["finally"]
    assert emu.stats.too_many_requests == 1
    assert emu.stats.errors == {429: 1, 403: 2, 500: 1}


async def test_random_bad_gateway_is_an_nginx_page(emu: BotApiEmulator, bot: Bot) -> None:
    emu.random_error_rate = 1.0
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{emu.api_base_url}{TOKEN}/getMe")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in response.text
    emu.random_error_rate = 0.0
    assert (await bot.send_message(USER, "x")).text == "x"
    assert emu.stats.errors[502] == 2


async def test_random_errors_are_reproducible_from_the_seed() -> None:
    async def statuses(seed: int) -> list[int]:
        async with BotApiEmulator(TOKEN, seed=seed, random_error_rate=0.5) as emu, httpx.AsyncClient() as client:
            return [(await client.get(f"{emu.api_base_url}{TOKEN}/getMe")).status_code for _ in range(12)]

    first = await statuses(7)
    assert first == await statuses(7)
    assert {200, 502} == set(first)


async def test_latency_delays_every_answer(emu: BotApiEmulator, bot: Bot) -> None:
    emu.latency = 0.05
    started = time.perf_counter()
    await bot.get_me()
    assert time.perf_counter() - started >= 0.05


async def test_raw_http_contract(emu: BotApiEmulator) -> None:
    base = f"{emu.api_base_url}{TOKEN}"
    async with httpx.AsyncClient() as client:
        by_query = await client.get(f"{base}/GETME")
        by_json = await client.post(f"{base}/sendmessage", json={"chat_id": USER, "text": "json"})
        by_form = await client.post(f"{base}/sendMessage", data={"chat_id": str(USER), "text": "form"})
        missing = await client.post(f"{base}/sendMessage", json={"chat_id": 5, "text": "x"})
        unauthorized = await client.get(f"{emu.api_base_url}1:WRONG/getMe")
        unknown = await client.get(f"{base}/fooBar")
    assert by_query.json()["result"]["username"] == "papers_digest_bot"
    assert by_json.json()["result"]["text"] == "json"
    assert by_form.json()["result"]["text"] == "form"
    assert missing.status_code == 400
    assert missing.json() == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    assert (unauthorized.status_code, unauthorized.json()["description"]) == (401, "Unauthorized")
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")
    assert [r.method for r in emu.requests] == ["getMe", "sendMessage", "sendMessage", "sendMessage", "getMe", "fooBar"]


async def test_ptb_maps_bad_token_and_unknown_method(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("1:WRONG", base_url=emu.api_base_url):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")


# -- updates -----------------------------------------------------------------------------------------------------


async def test_long_polling_returns_command_update_and_offset_confirms(emu: BotApiEmulator, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    emu.user_sends(USER, USER, "/start@papers_digest_bot now")
    [update] = await poll
    assert time.perf_counter() - started < 1
    message = update.message
    assert message is not None and message.text == "/start@papers_digest_bot now"
    assert message.chat.id == USER and message.from_user is not None and message.from_user.language_code == "en"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 24)]
    assert (await bot.get_updates(timeout=0))[0].update_id == update.update_id
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()

    started = time.perf_counter()
    assert await bot.get_updates(offset=update.update_id + 1, timeout=1) == ()
    assert 0.9 < time.perf_counter() - started < 2


async def test_allowed_updates_and_negative_offset(emu: BotApiEmulator, bot: Bot) -> None:
    for text in ("one", "two", "three"):
        emu.user_sends(USER, USER, text)
    [last] = await bot.get_updates(offset=-1)
    assert last.message is not None and last.message.text == "three"
    assert await bot.get_updates(offset=last.update_id + 1, allowed_updates=[Update.CALLBACK_QUERY]) == ()
    emu.user_sends(USER, USER, "dropped: only callback queries are wanted now")
    assert await bot.get_updates() == ()


async def test_second_poller_terminates_the_first(emu: BotApiEmulator) -> None:
    async with make_bot(emu) as first, make_bot(emu) as second:
        waiting = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting


async def test_callback_tap_and_answer(emu: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Paper 1", reply_markup=keyboard("save:1", "skip:1"))
    query_id = emu.user_taps(USER, USER, sent.message_id, "save:1")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.id == query_id and query.data == "save:1"
    assert isinstance(query.message, Message) and query.message.text == "Paper 1"
    assert query.message.reply_markup == keyboard("save:1", "skip:1")
    assert emu.callback_answer(query_id) is None

    assert await bot.answer_callback_query(query_id, text="Saved", show_alert=True)
    assert emu.callback_answer(query_id) == {"text": "Saved", "show_alert": True, "url": None, "cache_time": 0}
    with pytest.raises(BadRequest, match="Query is too old and response timeout expired or query id is invalid"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(ValueError, match="no button"):
        emu.user_taps(USER, USER, sent.message_id, "missing")


async def test_callback_query_expires() -> None:
    clock = FakeClock()
    async with BotApiEmulator(TOKEN, clock=clock) as emu, make_bot(emu) as bot:
        emu.add_private_chat(USER)
        sent = await bot.send_message(USER, "Paper", reply_markup=keyboard("save"))
        query_id = emu.user_taps(USER, USER, sent.message_id, "save")
        clock.advance(16)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query(query_id)


async def test_webhook_delivery_with_secret_token(emu: BotApiEmulator, bot: Bot) -> None:
    received: list[tuple[int, str | None]] = []
    answer = {"status": 200}

    async def receive(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(status=answer["status"])

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        assert await bot.set_webhook(url, secret_token="s3cret")
        emu.user_sends(USER, USER, "hello")
        await emu.wait_until(lambda: len(received) == 1)
        assert received == [(1, "s3cret")]
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (url, 0)
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates()

        answer["status"] = 500
        emu.user_sends(USER, USER, "again")
        await emu.wait_until(lambda: len(received) == 2)
        info = await bot.get_webhook_info()
        while info.last_error_message is None:  # the emulator records the failure right after the POST returns
            await asyncio.sleep(0.01)
            info = await bot.get_webhook_info()
        assert info.pending_update_count == 1
        assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        assert await bot.delete_webhook()
        [update] = await bot.get_updates()
        assert update.message is not None and update.message.text == "again"
    finally:
        await runner.cleanup()


# -- editing, deleting -------------------------------------------------------------------------------------------


async def test_edit_text_and_markup(emu: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER, "<b>v1</b>", parse_mode=ParseMode.HTML, reply_markup=keyboard("a"))
    edited = await bot.edit_message_text(
        "<b>v2</b>", chat_id=USER, message_id=sent.message_id, parse_mode=ParseMode.HTML, reply_markup=keyboard("a")
    )
    assert isinstance(edited, Message) and edited.text == "v2" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>v2</b>", chat_id=USER, message_id=sent.message_id, parse_mode=ParseMode.HTML, reply_markup=keyboard("a")
        )
    # Same characters without the bold entity is a real change.
    await bot.edit_message_text("v2", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("a"))
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("b"))
    # Leaving reply_markup out of an edit drops the keyboard, as on Telegram.
    await bot.edit_message_text("v3", chat_id=USER, message_id=sent.message_id)

    message = emu.message(USER, sent.message_id)
    assert (message.plain_text, message.reply_markup, message.entities) == ("v3", None, [])
    assert [(v.plain_text, v.reply_markup == keyboard("b").to_dict()) for v in message.history] == [
        ("v1", False),
        ("v2", False),
        ("v2", False),
        ("v2", True),
    ]
    assert message.edited_at is not None and message.edited_at >= message.sent_at
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=99)
    user_message = emu.user_sends(USER, USER, "mine")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=user_message)


async def test_delete_message(emu: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER, "temporary")
    assert await bot.delete_message(USER, sent.message_id)
    assert emu.message(USER, sent.message_id).deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id)


# -- files -------------------------------------------------------------------------------------------------------


async def test_send_document_get_file_and_download(emu: BotApiEmulator, bot: Bot) -> None:
    content = "论文摘要 digest\n".encode()
    sent = await bot.send_document(
        USER,
        document=content,
        filename="digest.txt",
        caption="<i>today</i>",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard("more"),
    )
    assert sent.document is not None and sent.document.file_name == "digest.txt"
    assert sent.caption == "today" and sent.caption_entities[0].type == "italic"
    recorded = emu.message(USER, sent.message_id)
    assert recorded.document is not None and recorded.document.content == content
    assert recorded.plain_text == "today" and recorded.buttons[0]["callback_data"] == "more"

    file = await bot.get_file(sent.document.file_id)
    assert file.file_size == len(content)
    assert bytes(await file.download_as_bytearray()) == content
    again = await bot.send_document(USER, document=sent.document.file_id)
    assert again.document is not None and again.document.file_unique_id == sent.document.file_unique_id

    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(USER, document=b"x", filename="a.txt", caption="c" * 1025)
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_user_document_can_be_downloaded(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user_sends_document(USER, USER, "papers.txt", b"2401.00001\n", caption="please digest")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.document is not None
    assert update.message.caption == "please digest"
    file = await bot.get_file(update.message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"2401.00001\n"


# -- chats, members, commands ------------------------------------------------------------------------------------


async def test_chat_members_and_admins(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_group(GROUP, title="Readers", creator=7, admins={USER}, members={OTHER})
    assert (await bot.get_chat_member(GROUP, USER)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, OTHER)).status == "member"
    assert (await bot.get_chat_member(GROUP, 7)).status == "creator"
    assert (await bot.get_chat_member(GROUP, emu.bot_user.id)).status == "member"
    emu.set_admin(GROUP, USER, admin=False)
    emu.set_admin(GROUP, OTHER)
    assert (await bot.get_chat_member(GROUP, USER)).status == "member"
    assert sorted(m.user.id for m in await bot.get_chat_administrators(GROUP)) == [7, OTHER]
    emu.add_private_chat(555)
    assert (await bot.get_chat_member(GROUP, 555)).status == "left"
    with pytest.raises(BadRequest, match="User not found"):
        await bot.get_chat_member(GROUP, 123456789)
    chat = await bot.get_chat(USER)
    assert (chat.type, chat.first_name) == ("private", "Alice")
    with pytest.raises(BadRequest, match="There are no administrators in the private chat"):
        await bot.get_chat_administrators(USER)


async def test_commands_per_language_and_scope(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("digest", "Today's digest")])
    await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh")
    await bot.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeAllPrivateChats())
    assert emu.commands("zh") == [{"command": "start", "description": "开始"}]
    assert [c["command"] for c in emu.commands()] == ["start", "digest"]
    assert emu.commands(scope={"type": "all_private_chats"}) == [{"command": "help", "description": "Help"}]
    assert emu.commands("en") == []
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Digest", "camelCase is rejected")])
    await bot.delete_my_commands(language_code="zh")
    assert emu.commands("zh") == []


async def test_chat_action_validation(emu: BotApiEmulator, bot: Bot) -> None:
    assert await bot.send_chat_action(USER, ChatAction.UPLOAD_DOCUMENT)
    with pytest.raises(BadRequest, match="Wrong parameter action in request"):
        await bot.send_chat_action(USER, "dancing")


# -- flood control -----------------------------------------------------------------------------------------------


async def test_global_limit_yields_429_and_retrying_client_gets_through() -> None:
    clock = FakeClock()
    async with BotApiEmulator(TOKEN, rate_limits=RateLimits(per_second=30), clock=clock) as emu:
        for chat_id in range(1, 41):
            emu.add_private_chat(chat_id)
        async with make_bot(emu) as bot:
            waits: dict[int, float] = {}
            for chat_id in range(1, 41):
                try:
                    await bot.send_message(chat_id, "digest")
                except RetryAfter as error:
                    waits[chat_id] = retry_seconds(error)
            assert list(waits) == list(range(31, 41)) and set(waits.values()) == {1}
            clock.advance(1)
            for chat_id in waits:
                await bot.send_message(chat_id, "digest")
    assert len(emu.sent()) == 40
    assert emu.stats.too_many_requests == 10
    assert emu.requests[-1].description is None


async def test_concurrent_broadcast_honouring_scaled_retry_after_respects_the_limit() -> None:
    # 10/s at time_scale 2 is 20 sends per real second: 40 concurrent sends exhaust the burst of 10 unless they
    # take over 1.5 s to arrive (even on a loaded machine they don't), so some calls are refused and retried
    # after retry_after / time_scale.
    scale, rate, chats = 2.0, 10, range(1, 41)
    async with BotApiEmulator(TOKEN, rate_limits=RateLimits(per_second=rate), time_scale=scale) as emu:
        for chat_id in chats:
            emu.add_private_chat(chat_id)
        async with make_bot(emu, pool=len(chats)) as bot:

            async def deliver(chat_id: int) -> None:
                while True:
                    try:
                        await bot.send_message(chat_id, "digest")
                        return
                    except RetryAfter as error:
                        await asyncio.sleep(retry_seconds(error) / scale)

            await asyncio.gather(*(deliver(chat_id) for chat_id in chats))
    times = sorted(message.sent_at for message in emu.sent())
    assert len(times) == len(chats)
    assert emu.stats.too_many_requests >= 1
    # Token bucket invariant: never more than the burst plus the refill since the first send.
    assert all(count <= rate + rate * (at - times[0]) + 0.01 for count, at in enumerate(times, start=1))


async def test_private_chat_burst_limit_in_real_time() -> None:
    scale = 5.0
    limits = RateLimits(private_per_second=1, private_burst=1)
    async with BotApiEmulator(TOKEN, rate_limits=limits, time_scale=scale) as emu, make_bot(emu) as bot:
        emu.add_private_chat(USER)
        for text in ("a", "b", "c"):
            while True:
                try:
                    await bot.send_message(USER, text)
                    break
                except RetryAfter as error:
                    assert retry_seconds(error) == 1
                    await asyncio.sleep(retry_seconds(error) / scale)
    assert [m.plain_text for m in emu.sent(USER)] == ["a", "b", "c"]
    assert emu.stats.too_many_requests >= 1


async def test_group_limit_and_paid_broadcast() -> None:
    clock = FakeClock()
    async with BotApiEmulator(TOKEN, rate_limits=RateLimits(), clock=clock) as emu, make_bot(emu) as bot:
        emu.add_group(GROUP, title="Readers")
        for _ in range(20):
            await bot.send_message(GROUP, "news")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(GROUP, "news")
        assert retry_seconds(caught.value) == 3
        clock.advance(3)
        await bot.send_message(GROUP, "news")

        clock.advance(60)
        for chat_id in range(1, 41):
            emu.add_private_chat(chat_id)
            await bot.send_message(chat_id, "paid", allow_paid_broadcast=True)
    assert len(emu.sent()) == 61
    assert emu.stats.too_many_requests == 1


async def test_sliding_window_refuses_a_bunch_that_a_token_bucket_lets_through() -> None:
    """Sends spaced evenly for a second, then a bunch: the bucket has refilled, the window still holds them."""

    async def refusals(limits: RateLimits) -> int:
        clock = FakeClock()
        async with BotApiEmulator(TOKEN, rate_limits=limits, clock=clock) as emu, make_bot(emu) as bot:
            for chat_id in range(1, 41):
                emu.add_private_chat(chat_id)
            for chat_id in range(1, 21):  # 20 in the first second, evenly
                await bot.send_message(chat_id, "digest")
                clock.advance(0.05)
            clock.advance(0.02)
            for chat_id in range(21, 41):  # 20 more at once, 0.02 s after that second ended
                with contextlib.suppress(RetryAfter):
                    await bot.send_message(chat_id, "digest")
            return emu.stats.too_many_requests

    assert await refusals(RateLimits(per_second=30)) == 0
    assert await refusals(RateLimits(per_second=30, sliding_window=True)) == 9, \
        "19 of the even sends are less than a second old: only 11 more fit"


async def test_sliding_window_per_chat_limits_and_retry_after() -> None:
    clock = FakeClock()
    limits = RateLimits(private_per_second=1, private_burst=3, group_per_minute=20, sliding_window=True)
    async with BotApiEmulator(TOKEN, rate_limits=limits, clock=clock) as emu, make_bot(emu) as bot:
        emu.add_private_chat(USER)
        emu.add_group(GROUP, title="Readers")
        for _ in range(3):
            await bot.send_message(USER, "hi")
        clock.advance(1.5)
        with pytest.raises(RetryAfter) as private:
            await bot.send_message(USER, "too soon")
        for _ in range(20):
            await bot.send_message(GROUP, "news")
        with pytest.raises(RetryAfter) as group:
            await bot.send_message(GROUP, "news")
        clock.advance(60)
        await bot.send_message(GROUP, "news")
        await bot.send_message(USER, "later")
    assert retry_seconds(private.value) == 2, "the window of 3 s frees its first slot 1.5 s later, rounded up"
    assert retry_seconds(group.value) == 60
    assert len(emu.sent()) == 3 + 20 + 2


# -- PTB Application end to end ----------------------------------------------------------------------------------


async def test_application_polling_replies_to_start(emu: BotApiEmulator) -> None:
    emu.add_group(FORUM, title="ML papers", supergroup=True, is_forum=True, members={USER})

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        name = html.escape(update.effective_user.first_name)
        await update.effective_message.reply_html(f"<b>Hello</b>, {name} &amp; welcome")

    app = ApplicationBuilder().token(TOKEN).base_url(emu.api_base_url).base_file_url(emu.file_base_url).build()
    app.add_handler(CommandHandler("start", start))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        emu.user_sends(USER, USER, "/start")
        thread = emu.create_forum_topic(FORUM, "papers")
        emu.user_sends(FORUM, USER, "/start@papers_digest_bot", message_thread_id=thread)
        [private] = await emu.wait_for_messages(USER, 1)
        [topic] = await emu.wait_for_messages(FORUM, 1)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert private.plain_text == "Hello, Alice & welcome"
    assert private.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert topic.message_thread_id == thread
    assert emu.stats.requests["getUpdates"] >= 1


async def test_wait_until_times_out(emu: BotApiEmulator) -> None:
    with pytest.raises(TimeoutError):
        await emu.wait_for_messages(USER, 1, timeout=0.05)


# -- running in a thread -----------------------------------------------------------------------------------------


def test_emulator_thread_serves_a_bot_on_another_loop() -> None:
    with EmulatorThread(BotApiEmulator(TOKEN)) as thread:
        thread.call(thread.emu.add_private_chat, USER)
        assert thread.url.startswith("http://127.0.0.1:")

        async def use_bot() -> str:
            async with make_bot(thread.emu) as bot:
                return (await bot.send_message(USER, "from another loop")).text or ""

        assert asyncio.run(use_bot()) == "from another loop"
        sent = thread.call(thread.emu.wait_for_messages, USER, 1)
        assert sent[0].plain_text == "from another loop"
        assert thread.call(thread.emu.user_sends, USER, USER, "/start") == 2


# -- forum topics ------------------------------------------------------------------------------------------------


async def test_forum_topics_open_close_and_delete_like_telegram(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_group(FORUM, title="ML papers", supergroup=True, is_forum=True, members={USER})
    papers = emu.create_forum_topic(FORUM, "papers", by=USER)
    robots = emu.create_forum_topic(FORUM, "robots")
    [created, _other] = (update for update in await bot.get_updates())
    assert created.message.forum_topic_created.name == "papers" and created.message.is_topic_message
    assert created.message.message_thread_id == papers == created.message.message_id
    assert (await bot.send_message(FORUM, "hi", message_thread_id=papers)).message_thread_id == papers
    assert (await bot.send_message(FORUM, "general")).message_thread_id is None

    emu.close_forum_topic(FORUM, papers, by=USER)
    with pytest.raises(BadRequest, match=r"(?i)topic_closed"):
        await bot.send_message(FORUM, "closed", message_thread_id=papers)
    emu.reopen_forum_topic(FORUM, papers)
    await bot.send_message(FORUM, "open again", message_thread_id=papers)

    emu.delete_forum_topic(FORUM, papers)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(FORUM, "gone", message_thread_id=papers)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(FORUM, "never was", message_thread_id=999)
    await bot.send_message(FORUM, "other topic", message_thread_id=robots)
    with pytest.raises(KeyError):
        emu.user_sends(FORUM, USER, "into the void", message_thread_id=papers)
    with pytest.raises(ValueError, match="not a forum"):
        emu.create_forum_topic(USER, "dm")
    assert [m.plain_text for m in emu.sent(FORUM)] == ["hi", "general", "open again", "other topic"]


# -- who imports the emulator ------------------------------------------------------------------------------------


def test_the_running_bot_never_imports_the_emulator() -> None:
    """Only tests, benches and the demo load bot.emulator; the modules `python -m bot run` starts from do not."""
    probe = (
        "import sys, bot.__main__, bot.app, bot.webhook, handlers; "
        "print(sorted(m for m in sys.modules if m.startswith(('bot.emulator', 'bot.demo', 'bot.playground'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
