"""The emulator itself: an aiohttp server on loopback routing each Bot API call to its method, failing as Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Self

import aiohttp
from aiohttp import web

from bot.emulator.control import ControlApi
from bot.emulator.errors import BotApiError
from bot.emulator.limits import FloodControl, RateLimits, _RateLimiter, _SlidingWindows
from bot.emulator.methods import BotApiMethods
from bot.emulator.params import _Params, _read_params
from bot.emulator.state import (
    ChatState,
    EmulatedFile,
    EmulatedUser,
    EmulatorStats,
    RequestRecord,
    SentMessage,
    _CallbackQuery,
    _Chat,
    _Fault,
    _Webhook,
)
from bot.emulator.updates import UpdateDelivery

MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)


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


class BotApiEmulator(ControlApi, BotApiMethods, UpdateDelivery, ChatState, FloodControl):
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
