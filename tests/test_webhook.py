"""Webhook mode: only Telegram (it holds the secret) reaches the bot, /healthz tells the truth, `run` serves it."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.__main__ import build_parser, run_bot
from bot.app import build_application
from bot.config import Settings
from bot.emulator import BotApiEmulator, EmulatorThread
from bot.playground import emulator_settings
from bot.webhook import SECRET_HEADER, build_web_app, serve_webhook, serving, webhook_route
from storage.db import open_store

ROOT = Path(__file__).resolve().parent.parent
USER = 4343
SECRET = "s3cr3t"


def _free_port() -> int:
    """A port nobody listens on right now: serve_webhook must know its URL before it binds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_update(update_id: int, text: str = "/start") -> dict[str, Any]:
    """What Telegram POSTs when USER sends a command in their private chat."""
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": USER, "type": "private", "first_name": "Ada"},
        "from": {"id": USER, "is_bot": False, "first_name": "Ada", "language_code": "en"},
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}}


@asynccontextmanager
async def started(application: Application) -> AsyncIterator[None]:  # type: ignore[type-arg]
    """The application running as serve_webhook runs it, for tests that serve the web app themselves."""
    async with application:
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        try:
            yield
        finally:
            await application.stop()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """Telegram, with USER having opened a private chat with the bot."""
    async with BotApiEmulator() as emu:
        emu.add_private_chat(USER, first_name="Ada", language_code="en")
        yield emu


@pytest.fixture
async def application(emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """The real bot on a fresh SQLite store in tmp_path/store, scheduler off."""
    url = f"sqlite:///{tmp_path / 'store' / 'bot.db'}"
    engine = open_store(url)
    yield build_application(emulator_settings(emulator, url), engine, with_scheduler=False)
    engine.dispose()


@pytest.mark.parametrize(("given", "path", "expected"), [
    ("https://bot.example.com", None, ("https://bot.example.com/telegram", "/telegram")),
    ("https://bot.example.com/", "/hook", ("https://bot.example.com/hook", "/hook")),
    ("https://example.com/papers/telegram", None, ("https://example.com/papers/telegram", "/papers/telegram")),
    ("https://example.com/papers/telegram", "/telegram", ("https://example.com/papers/telegram", "/telegram")),
])
def test_webhook_route_uses_a_url_with_a_path_as_given(given: str, path: str | None,
                                                       expected: tuple[str, str]) -> None:
    assert webhook_route(given, path) == expected


@pytest.mark.parametrize(("given", "path"), [("ftp://example.com/t", None), ("https:///t", None),
                                             ("https://example.com", "telegram"), ("https://example.com", "/healthz"),
                                             ("https://example.com", "/metrics")])
def test_webhook_route_refuses_what_cannot_work(given: str, path: str | None) -> None:
    with pytest.raises(ValueError, match="webhook:"):
        webhook_route(given, path)


async def test_forged_and_malformed_posts_are_refused_and_never_reach_the_bot(
        emulator: BotApiEmulator, application: Application) -> None:  # type: ignore[type-arg]
    handled: list[int] = []
    good_one_handled = asyncio.Event()

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs after the real handlers, in update order (PTB handles one update at a time)."""
        handled.append(update.update_id)
        good_one_handled.set()

    application.add_handler(TypeHandler(Update, record), group=10_000)
    web_app = build_web_app(application, path="/telegram", secret_token=SECRET)
    async with (started(application), serving(web_app, listen="127.0.0.1", port=0) as port,
                aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client):
        refused = []
        for headers, body in [({SECRET_HEADER: "wrong"}, json.dumps(_start_update(900))),
                              ({}, json.dumps(_start_update(901))),
                              ({SECRET_HEADER: SECRET + "x"}, "{not json"),
                              ({SECRET_HEADER: SECRET}, "{not json"),
                              ({SECRET_HEADER: SECRET}, "[1, 2]"),
                              ({SECRET_HEADER: SECRET}, '{"update_id": "7"}'),
                              ({SECRET_HEADER: SECRET}, '{"update_id": 902, "message": 5}')]:
            async with client.post("/telegram", data=body, headers=headers) as response:
                refused.append(response.status)
        async with client.post("/telegram", json=_start_update(903), headers={SECRET_HEADER: SECRET}) as response:
            accepted = response.status
        async with asyncio.timeout(5):
            await good_one_handled.wait()
    assert refused == [403, 403, 403, 400, 400, 400, 400]
    assert accepted == 200
    assert handled == [903], "a refused update would have been handled before the accepted one"
    assert [m.plain_text.startswith("Welcome") for m in emulator.sent(USER)] == [True]


async def test_healthz_says_ok_only_while_running_with_a_database_that_answers(
        application: Application, tmp_path: Path) -> None:  # type: ignore[type-arg]
    web_app = build_web_app(application, path="/telegram", secret_token=SECRET)
    async with (serving(web_app, listen="127.0.0.1", port=0) as port,
                aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client):

        async def health() -> tuple[int, dict[str, Any]]:
            async with client.get("/healthz") as response:
                return response.status, await response.json()

        before = await health()
        async with client.post("/telegram", json=_start_update(1), headers={SECRET_HEADER: SECRET}) as response:
            posted_before_start = response.status  # non-2xx, so Telegram keeps the update and retries
        async with started(application):
            running = await health()
            shutil.rmtree(tmp_path / "store")  # the disk went away: a new connection cannot open the file
            application.bot_data.services.engine.dispose()  # so the check cannot reuse an open connection
            broken = await health()
        stopped = await health()
    assert before == (503, {"status": "unavailable", "reason": "application is not running"})
    assert posted_before_start == 503
    assert running == (200, {"status": "ok", "application": "running", "database": "ok", "queued_updates": 0})
    assert broken == (503, {"status": "unavailable", "reason": "database: unreachable"})
    assert stopped[0] == 503


async def test_serve_webhook_registers_itself_and_answers_what_telegram_posts(
        emulator: BotApiEmulator, application: Application) -> None:  # type: ignore[type-arg]
    port, stop = _free_port(), asyncio.Event()
    url = f"http://127.0.0.1:{port}/telegram"
    serving_task = asyncio.create_task(serve_webhook(application, webhook_url=url, listen="127.0.0.1", port=port,
                                                     path="/telegram", secret_token=SECRET, stop=stop))
    try:
        await emulator.wait_until(lambda: serving_task.done() or any(
            r.method == "setWebhook" for r in emulator.requests))
        emulator.user_sends(USER, USER, "/start")  # the emulator POSTs it to our server, with the secret header
        replies = await emulator.wait_for_messages(USER, 1)
        async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as response:
            health = await response.json()
    finally:
        stop.set()
        await asyncio.wait_for(serving_task, 10)
    (registration,) = [r for r in emulator.requests if r.method == "setWebhook"]
    assert registration.params["url"] == url and registration.params["secret_token"] == SECRET
    assert json.loads(registration.params["allowed_updates"]) == list(Update.ALL_TYPES)
    assert "Welcome" in replies[0].plain_text
    assert health["status"] == "ok"
    assert not any(r.method == "deleteWebhook" for r in emulator.requests), "another instance may serve the hook"
    assert not application.running


async def test_serve_webhook_cleans_up_when_telegram_refuses_the_webhook(
        emulator: BotApiEmulator, application: Application) -> None:  # type: ignore[type-arg]
    emulator.fail_next("setWebhook", status=400, description="Bad Request: bad webhook: Failed to resolve host")
    port = _free_port()
    with pytest.raises(BadRequest, match=r"(?i)failed to resolve host"):
        await serve_webhook(application, webhook_url=f"https://nowhere.invalid:{port}/telegram", listen="127.0.0.1",
                            port=port, path="/telegram", secret_token=SECRET, stop=asyncio.Event())
    assert not application.running
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the server let go of its port


def test_build_web_app_refuses_a_secret_telegram_would_refuse(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secret token"):
        build_web_app(Application.builder().token("1:x").build(), path="/telegram", secret_token="two words")


def _env(**values: str) -> dict[str, str]:
    """The parent's environment minus bot settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "ADMIN_"))}
    return env | {"PYTHONPATH": str(ROOT)} | values


def _wait_until_healthy(url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, Any]:
    """Poll /healthz until it says ok; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.05)
    raise AssertionError(f"/healthz never said ok (exit code {process.poll()})")


def test_run_with_webhook_url_answers_and_stops_on_sigterm_without_logging_secrets(tmp_path: Path) -> None:
    port = _free_port()
    with EmulatorThread() as server:
        emulator = server.emu
        server.call(emulator.add_private_chat, USER, first_name="Op", language_code="en")
        token = emulator.token
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--webhook-url", f"http://127.0.0.1:{port}/telegram",
             "--listen", "127.0.0.1", "--port", str(port), "--secret-token", SECRET],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=_env(TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=emulator.api_base_url,
                     TELEGRAM_API_FILE_URL=emulator.file_base_url, LOG_LEVEL="DEBUG",
                     DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}"))
        try:
            health = _wait_until_healthy(f"http://127.0.0.1:{port}/healthz", process)
            server.call(emulator.user_sends, USER, USER, "/start")
            replies = server.call(emulator.wait_for_messages, USER, 1, 15.0)
            process.send_signal(signal.SIGTERM)
            asked_to_stop = time.monotonic()
            output, _ = process.communicate(timeout=15)
            stopping_took = time.monotonic() - asked_to_stop
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert health["status"] == "ok"
    assert "Welcome" in replies[0].plain_text
    assert process.returncode == 0, output[-2000:]
    assert stopping_took < 5
    assert "webhook: listening on 127.0.0.1" in output
    assert "setWebhook" in output, "DEBUG shows the call whose parameters hold the secret"
    assert token not in output and token.split(":")[1] not in output
    assert SECRET not in output


def test_run_with_webhook_url_but_no_secret_token_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--webhook-url", "https://bot.example.com"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env=_env(TELEGRAM_BOT_TOKEN="123:abc", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --secret-token (or WEBHOOK_SECRET_TOKEN) is required with --webhook-url "
        "(Telegram sends it back so forged POSTs are refused)"]
    assert not (tmp_path / "x.db").exists(), "flags are checked before anything starts"


@pytest.mark.parametrize(("flags", "expected"), [
    (["--secret-token", "has spaces"], "argument --secret-token: must be 1-256 characters of A-Z a-z 0-9 _ -"),
    (["--secret-token", "x" * 257], "argument --secret-token: must be 1-256 characters of A-Z a-z 0-9 _ -"),
    (["--secret-token", ""], "argument --secret-token: must be 1-256 characters of A-Z a-z 0-9 _ -"),
    (["--webhook-url", "bot.example.com/telegram"], "argument --webhook-url: 'bot.example.com/telegram' is not"),
    (["--port", "70000"], "argument --port: '70000' is not a TCP port"),
])
def test_run_refuses_malformed_webhook_flags_without_echoing_the_secret(
        capsys: pytest.CaptureFixture[str], flags: list[str], expected: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["run", *flags])
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert expected in stderr
    assert "has spaces" not in stderr and "x" * 257 not in stderr


def test_run_refuses_webhook_flags_without_a_webhook_url(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    settings = Settings(telegram_bot_token="123:abc", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    code = run_bot(settings, build_parser().parse_args(["run", "--listen", "0.0.0.0", "--port", "8443"]))
    assert code == 2
    assert capsys.readouterr().err == "error: --listen, --port only apply with --webhook-url\n"
    assert not (tmp_path / "x.db").exists()
