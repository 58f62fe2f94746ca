"""The emulator on its own event loop in a daemon thread, for bots that run in another thread or process."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

from bot.emulator.server import BotApiEmulator

_T = TypeVar("_T")


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
