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
two token buckets: the overall bucket (``global_per_second``, or ``paid_per_second`` when the call passes
``allow_paid_broadcast``) and the target chat's bucket (``private_per_second`` with ``private_burst`` capacity for
private chats, ``group_per_minute`` with the same capacity for groups). Rejected calls take no token.

With ``RateLimits(sliding_window=True)`` the emulator counts instead as a strict server does: each send is
stamped on arrival, and it is refused when the last window already holds the limit: ``global_per_second`` (or
``paid_per_second``) in any one second, ``private_burst`` in any ``private_burst / private_per_second`` seconds
for a private chat, ``group_per_minute`` in any minute for a group. Requests spaced evenly by the client but
bunched on the way (several connections, varying latency) are refused here where a token bucket lets them pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.emulator.control import ControlApi
from bot.emulator.errors import BotApiError, EntityParseError, _bad_request
from bot.emulator.html_check import FormattedText, _trimmed, _utf16_len, parse_html, validate_html
from bot.emulator.limits import FloodControl, RateLimits, _RateLimiter, _SlidingWindows
from bot.emulator.markup import _parse_reply_markup
from bot.emulator.state import (
    BlockReason,
    ChatState,
    ChatType,
    EmulatedFile,
    EmulatedUser,
    EmulatorStats,
    MessageVersion,
    RequestRecord,
    SentMessage,
    UploadedFile,
    _CallbackQuery,
    _Chat,
    _commands_key,
    _Fault,
    _Webhook,
)

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

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_COMMANDS = 100
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
CALLBACK_QUERY_TTL = 15.0  # emulator seconds a callback query stays answerable
WEBHOOK_RETRY_DELAY = 1.0  # emulator seconds between failed webhook deliveries

_T = TypeVar("_T")

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")

class _Signal:
    """Wakes every current waiter on fire(); safe to fire from plain functions on the loop's thread."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake all waiters."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> None:
        """Return on the next fire() or after timeout seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


class _Params:
    """Typed access to parameters that arrive as JSON values or as form/query strings."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def text(self, name: str) -> str | None:
        """A String parameter."""
        value = self.raw.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int | None:
        """An Integer parameter; a malformed one is a 400."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request(f'field "{name}" must be of type Integer') from None

    def flag(self, name: str) -> bool:
        """A Boolean parameter (PTB sends JSON 'true', forms may say 'True' or '1')."""
        return self.raw.get(name) in (True, 1, "true", "True", "1")

    def json(self, name: str) -> Any:
        """An object/array parameter, sent by PTB as a JSON string inside forms."""
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {name} JSON object") from None


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus urlencoded, multipart (files become UploadedFile) or JSON body."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise _bad_request("can't parse JSON object")
        params.update(body)
        return params
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise BotApiError(413, "Request Entity Too Large") from None
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
        else:
            params[key] = value
    return params


# ---------------------------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------------------------


class BotApiEmulator(ControlApi, ChatState, FloodControl):
    """In-memory Telegram Bot API served over HTTP on loopback, failing the way Telegram does."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "papers_digest_bot",
        rate_limits: RateLimits | None = None,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        seed: int = 0,
        random_error_rate: float = 0.0,
        latency: float = 0.0,
        strict_html: bool = False,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        bot_id = int(token.split(":", 1)[0])
        self.token = token
        self.bot_user = EmulatedUser(bot_id, "Papers Digest", bot_username, is_bot=True)
        self.rate_limits = rate_limits
        self.time_scale = time_scale
        self.random_error_rate = random_error_rate
        self.latency = latency
        self.strict_html = strict_html
        self.stats = EmulatorStats()
        self.requests: list[RequestRecord] = []
        self._clock = clock
        self._rng = random.Random(seed)
        self._limiter = _RateLimiter()
        self._windows = _SlidingWindows()
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, EmulatedUser] = {bot_id: self.bot_user}
        self._sent: dict[tuple[int, int], SentMessage] = {}
        self._user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._files: dict[str, EmulatedFile] = {}
        self._queries: dict[str, _CallbackQuery] = {}
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self.last_update_id = 0  # the newest update queued for the bot
        self._ids = itertools.count(1)
        self._allowed_updates: set[str] | None = None
        self._poll_generation = 0
        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._updates_signal = _Signal()
        self._changed = _Signal()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._url: str | None = None
        self._closing = False
        handlers: dict[str, Callable[[_Params], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
        }
        self._api = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # -- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on host:port (0 = ephemeral); read the address from ``url``."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._url = f"http://{host}:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession()
        self._closing = False

    async def stop(self) -> None:
        """Release pending long polls, stop webhook delivery and close the server."""
        self._closing = True
        self._updates_signal.fire()
        await self._stop_webhook_task()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT once started."""
        if self._url is None:
            raise RuntimeError("emulator is not started")
        return self._url

    @property
    def api_base_url(self) -> str:
        """What PTB's base_url must be (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        """What PTB's base_file_url must be."""
        return f"{self.url}/file/bot"

    def now(self) -> float:
        """Emulator seconds: clock() × time_scale."""
        return self._clock() * self.time_scale

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue an update; updates of a kind excluded by allowed_updates are dropped, as on Telegram."""
        if self._allowed_updates is not None and kind not in self._allowed_updates:
            return
        self.last_update_id = next(self._update_ids)
        self._updates.append({"update_id": self.last_update_id, kind: payload})
        self._updates_signal.fire()
        self._changed.fire()


    # -- HTTP ----------------------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        description: str | None = None
        try:
            if request.match_info["token"] != self.token:
                raise BotApiError(401, "Unauthorized")
            if method.lower() not in self._api:
                raise BotApiError(404, "Not Found")
            method, handler = self._api[method.lower()]
            self.stats.requests[method] += 1
            params = await _read_params(request)
            fault = self._take_fault(method)
            if fault is not None:
                raise fault
            if self.random_error_rate > 0 and self._rng.random() < self.random_error_rate:
                # Telegram's front end answers 502 as an nginx HTML page, not JSON.
                response = web.Response(status=502, text=_NGINX_502, content_type="text/html")
                description = "Bad Gateway"
            else:
                response = web.json_response({"ok": True, "result": await handler(_Params(params))})
        except BotApiError as error:
            response = web.json_response(error.body(), status=error.status)
            description = error.description
        if response.status >= 400:
            self.stats.errors[response.status] += 1
        self.requests.append(RequestRecord(method, params, response.status, self.now(), description))
        self._changed.fire()
        return response

    async def _handle_file(self, request: web.Request) -> web.Response:
        file = next((f for f in self._files.values() if f.file_path == request.match_info["path"]), None)
        if request.match_info["token"] != self.token or file is None:
            return web.json_response(BotApiError(404, "Not Found").body(), status=404)
        return web.Response(body=file.content, content_type="application/octet-stream")

    # -- Bot API methods -----------------------------------------------------------------------------------------

    async def _get_me(self, p: _Params) -> dict[str, Any]:
        return {
            **self.bot_user.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: _Params) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm_updates(p.integer("offset"))
        self._set_allowed_updates(p)
        limit = min(max(p.integer("limit") or 100, 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.fire()  # an older long poll still waiting gets terminated below
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(p.integer("timeout") or 0, 0)
        while not self._updates and not self._closing and loop.time() < deadline:
            await self._updates_signal.wait(deadline - loop.time())
            if generation != self._poll_generation:
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
        return self._updates[:limit]

    def _confirm_updates(self, offset: int | None) -> None:
        """offset confirms every update below it; a negative one keeps only the last -offset updates."""
        if offset is None:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]

    def _set_allowed_updates(self, p: _Params) -> None:
        allowed = p.json("allowed_updates")
        if allowed is not None:
            self._allowed_updates = set(allowed) or None

    async def _set_webhook(self, p: _Params) -> bool:
        url = p.text("url") or ""
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self._set_allowed_updates(p)
        if not url:
            await self._stop_webhook_task()
            return True
        # Telegram demands HTTPS on ports 443/80/88/8443; plain HTTP is allowed here for local receivers.
        if urlsplit(url).scheme not in ("http", "https"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook = _Webhook(url, p.text("secret_token"), p.integer("max_connections") or 40)
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook())
        return True

    async def _delete_webhook(self, p: _Params) -> bool:
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        await self._stop_webhook_task()
        return True

    async def _stop_webhook_task(self) -> None:
        self._webhook = None
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _get_webhook_info(self, p: _Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        hook = self._webhook
        if hook is not None:
            info.update(url=hook.url, max_connections=hook.max_connections, ip_address="127.0.0.1")
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
            if hook.last_error_date is not None:
                info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
        return info

    async def _deliver_webhook(self) -> None:
        """POST queued updates to the webhook one at a time, in order, retrying failures."""
        while (hook := self._webhook) is not None:
            if not self._updates:
                await self._updates_signal.wait(None)
                continue
            update = self._updates[0]
            error = await self._post_update(hook, update)
            if error is None:
                if self._updates and self._updates[0] is update:
                    self._updates.pop(0)
                self._changed.fire()
                continue
            hook.last_error_date, hook.last_error_message = int(time.time()), error
            self._changed.fire()
            await asyncio.sleep(WEBHOOK_RETRY_DELAY / self.time_scale)

    async def _post_update(self, hook: _Webhook, update: dict[str, Any]) -> str | None:
        """Deliver one update; returns Telegram's last_error_message wording on failure."""
        assert self._session is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        try:
            async with self._session.post(
                hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientError as error:
            return str(error)

    async def _set_my_commands(self, p: _Params) -> bool:
        commands = p.json("commands") or []
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            for key in ("command", "description"):
                if not isinstance(command, dict) or not isinstance(command.get(key), str):
                    raise _bad_request(f"can't parse BotCommand: Can't find field \"{key}\"")
            if not _COMMAND_NAME.fullmatch(command["command"]):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not command["description"].strip():
                raise _bad_request("command description must be non-empty")
        key = _commands_key(p.json("scope"), p.text("language_code"))
        if commands:
            self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: _Params) -> list[dict[str, str]]:
        return self.commands(p.text("language_code"), scope=p.json("scope"))

    async def _delete_my_commands(self, p: _Params) -> bool:
        self._commands.pop(_commands_key(p.json("scope"), p.text("language_code")), None)
        return True

    async def _send_message(self, p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p, writing=True)
        text, formatted = self._message_text(p)
        return self._store(self._new_message(chat, p, text, formatted))

    async def _send_document(self, p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p, writing=True)
        source = self._document_source(p)
        caption = p.text("caption")
        formatted = self._format(caption or "", p.text("parse_mode"), p.json("caption_entities"))
        if _utf16_len(formatted.text) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        message = self._new_message(chat, p, caption, formatted)
        if isinstance(source, UploadedFile):
            source = self._store_file(source.file_name, source.content, source.mime_type)
        message.document = source
        return self._store(message)

    def _document_source(self, p: _Params) -> EmulatedFile | UploadedFile:
        """The document parameter: a fresh upload, an attach:// reference or an existing file_id."""
        value = p.raw.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.raw.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _bad_request("file must be non-empty")
            return value
        if value is None:
            raise _bad_request("there is no document in the request")
        file = self._files.get(str(value))
        if file is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return file

    def _new_message(self, chat: _Chat, p: _Params, text: str | None, formatted: FormattedText) -> SentMessage:
        """Validates the common send parameters, then applies flood control (rejected sends cost nothing)."""
        markup = _parse_reply_markup(p.raw.get("reply_markup"))
        reply_to = self._reply_target(p, chat)
        thread_id = p.integer("message_thread_id")
        if chat.is_forum and thread_id is not None:
            self._check_topic(chat, thread_id)
        preview = self._link_preview(p)
        self._throttle(chat, paid=p.flag("allow_paid_broadcast"))
        return SentMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id(),
            text=text,
            parse_mode=p.text("parse_mode"),
            plain_text=formatted.text,
            entities=formatted.entities,
            reply_markup=markup,
            message_thread_id=thread_id,
            reply_to_message_id=reply_to,
            link_preview_options=preview,
            document=None,
            sent_at=self.now(),
            date=int(time.time()),
        )

    def _store(self, message: SentMessage) -> dict[str, Any]:
        self._sent[(message.chat_id, message.message_id)] = message
        return self._sent_json(message)

    async def _edit_message_text(self, p: _Params) -> dict[str, Any]:
        return self._edit(p, new_text=True)

    async def _edit_message_reply_markup(self, p: _Params) -> dict[str, Any]:
        return self._edit(p, new_text=False)

    def _edit(self, p: _Params, *, new_text: bool) -> dict[str, Any]:
        chat = self._target_chat(p, writing=True)
        key = (chat.id, p.integer("message_id") or 0)
        message = self._sent.get(key)
        if message is None or message.deleted:
            if key in self._user_messages:
                raise _bad_request("message can't be edited")
            raise _bad_request("message to edit not found")
        text, parse_mode = message.text, message.parse_mode
        formatted = FormattedText(message.plain_text, message.entities)
        if new_text:
            if message.document is not None:
                raise _bad_request("there is no text in the message to edit")
            text, formatted = self._message_text(p)
            parse_mode = p.text("parse_mode")
        # Leaving reply_markup out of an edit removes the inline keyboard.
        markup = _parse_reply_markup(p.raw.get("reply_markup"))
        if (formatted.text, formatted.entities, markup) == (message.plain_text, message.entities, message.reply_markup):
            raise _bad_request(_NOT_MODIFIED)
        message.history.append(message.version())
        message.text, message.parse_mode, message.reply_markup = text, parse_mode, markup
        message.plain_text, message.entities = formatted.text, formatted.entities
        if new_text:
            message.link_preview_options = self._link_preview(p)
        message.edited_at, message.edit_date = self.now(), int(time.time())
        return self._sent_json(message)

    async def _delete_message(self, p: _Params) -> bool:
        chat = self._target_chat(p, writing=True)
        key = (chat.id, p.integer("message_id") or 0)
        message = self._sent.get(key)
        if message is not None and not message.deleted:
            message.deleted = True
        elif self._user_messages.pop(key, None) is None:
            raise _bad_request("message to delete not found")
        return True

    async def _answer_callback_query(self, p: _Params) -> bool:
        query = self._queries.get(p.text("callback_query_id") or "")
        if query is None or query.answer is not None or self.now() - query.created_at > CALLBACK_QUERY_TTL:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        query.answer = {
            "text": p.text("text"),
            "show_alert": p.flag("show_alert"),
            "url": p.text("url"),
            "cache_time": p.integer("cache_time") or 0,
        }
        return True

    async def _send_chat_action(self, p: _Params) -> bool:
        self._target_chat(p, writing=True)
        if p.text("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _get_file(self, p: _Params) -> dict[str, Any]:
        file = self._files.get(p.text("file_id") or "")
        if file is None:
            raise _bad_request("invalid file_id")
        if len(file.content) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(file.content),
            "file_path": file.file_path,
        }

    async def _get_chat(self, p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p, writing=False)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")
        return {
            **chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }

    async def _get_chat_member(self, p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p, writing=False)
        user_id = p.integer("user_id")
        user = self._users.get(user_id) if user_id is not None else None
        if user is None or (chat.type == "private" and user.id not in (chat.id, self.bot_user.id)):
            raise _bad_request("user not found")
        if chat.type == "channel" and self.bot_user.id not in chat.admins and user.id != self.bot_user.id:
            raise _bad_request("member list is inaccessible")
        return self._member_json(chat, user)

    async def _get_chat_administrators(self, p: _Params) -> list[dict[str, Any]]:
        chat = self._target_chat(p, writing=False)
        if chat.type == "private":
            raise _bad_request("there are no administrators in the private chat")
        if chat.type == "channel" and self.bot_user.id not in chat.admins:
            raise _bad_request("member list is inaccessible")
        ids = sorted(chat.admins | ({chat.creator} if chat.creator is not None else set()))
        return [self._member_json(chat, self._users[user_id]) for user_id in ids]

    # -- helpers -------------------------------------------------------------------------------------------------

    def _target_chat(self, p: _Params, *, writing: bool) -> _Chat:
        """Resolve chat_id and fail like Telegram for unknown, kicked, blocked, deactivated or migrated chats."""
        ref = p.raw.get("chat_id")
        if ref is None or ref == "":
            raise _bad_request("chat_id is empty")
        chat = self._lookup_chat(ref)
        if chat is None:
            raise _bad_request("chat not found")
        if chat.blocked == "kicked":
            raise BotApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        if not writing:
            return chat
        if chat.migrated_to is not None:
            raise BotApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "channel" and self.bot_user.id not in chat.members:
            raise BotApiError(403, "Forbidden: bot is not a member of the channel chat")
        if chat.type == "channel" and self.bot_user.id not in chat.posters:
            raise _bad_request("need administrator rights in the channel chat")
        if chat.blocked == "blocked":
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        if chat.blocked == "deactivated":
            raise BotApiError(403, "Forbidden: user is deactivated")
        return chat

    def _lookup_chat(self, ref: Any) -> _Chat | None:
        if isinstance(ref, str) and ref.startswith("@"):
            name = ref[1:].lower()
            return next(
                (c for c in self._chats.values() if c.type != "private" and (c.username or "").lower() == name),
                None,
            )
        try:
            return self._chats.get(int(ref))
        except (TypeError, ValueError):
            return None

    def _format(self, text: str, parse_mode: str | None, entities: Any) -> FormattedText:
        """Entity parsing then trimming, as Telegram does before any length check."""
        mode = (parse_mode or "").lower()
        if mode == "html":
            formatted = parse_html(text, strict=self.strict_html)
        elif mode in ("", "markdown", "markdownv2"):  # Markdown is accepted unvalidated: the bot uses HTML
            formatted = FormattedText(text, entities if mode == "" and isinstance(entities, list) else [])
        else:
            raise _bad_request("unsupported parse_mode")
        return _trimmed(formatted)

    def _message_text(self, p: _Params) -> tuple[str, FormattedText]:
        text = p.text("text") or ""
        formatted = self._format(text, p.text("parse_mode"), p.json("entities"))
        if not formatted.text:
            raise _bad_request("message text is empty")
        if _utf16_len(formatted.text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text, formatted

    def _reply_target(self, p: _Params, chat: _Chat) -> int | None:
        """reply_parameters (or legacy reply_to_message_id) must name an existing message."""
        params = p.json("reply_parameters")
        if isinstance(params, dict):
            message_id, allow_missing = params.get("message_id"), bool(params.get("allow_sending_without_reply"))
        else:
            message_id, allow_missing = p.integer("reply_to_message_id"), p.flag("allow_sending_without_reply")
        if message_id is None:
            return None
        if self._message_json(chat.id, int(message_id)) is None:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        return int(message_id)

    def _check_topic(self, chat: _Chat, thread_id: int) -> None:
        """Telegram's answers for a deleted (or never created) topic and for a closed one."""
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise _bad_request("message thread not found")
        if topic.closed:
            raise _bad_request("TOPIC_CLOSED")

    def _link_preview(self, p: _Params) -> dict[str, Any] | None:
        options = p.json("link_preview_options")
        if options is None and p.flag("disable_web_page_preview"):
            options = {"is_disabled": True}
        return options


# ---------------------------------------------------------------------------------------------------------------
# Running in a background thread
# ---------------------------------------------------------------------------------------------------------------


class EmulatorThread:
    """Runs an emulator on its own event loop in a daemon thread, for bots in other threads or processes."""

    def __init__(self, emu: BotApiEmulator | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emu = emu or BotApiEmulator()
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="bot-api-emulator", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The emulator's base URL."""
        return self.emu.url

    def start(self) -> Self:
        """Start the thread and wait until the server listens."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def call(self, fn: Callable[..., _T | Awaitable[_T]], *args: Any, **kwargs: Any) -> _T:
        """Run a control method (sync or async) on the emulator's loop and return its result."""

        async def run() -> _T:
            result = fn(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        if self._loop is None:
            raise RuntimeError("emulator thread is not started")
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def stop(self) -> None:
        """Stop the server and the thread."""
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.emu.start(self._host, self._port))
        except BaseException as error:  # handed to start() in the caller's thread
            self._error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self.emu.stop())
        loop.close()
