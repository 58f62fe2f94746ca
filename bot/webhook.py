"""Webhook mode: an aiohttp server that feeds Telegram's POSTs into the application, with a /healthz route."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from http import HTTPStatus
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.metrics import EXPOSITION_CONTENT_TYPE
from storage.db import unreachable_reason

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
MAX_UPDATE_BYTES = 1024 * 1024  # updates carry file ids, never file contents
DATABASE_CHECK_TIMEOUT = 5.0  # seconds /healthz waits for `SELECT 1` before calling the database down
SHUTDOWN_TIMEOUT = 5.0  # seconds the server waits for requests in flight when stopping
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

APPLICATION = web.AppKey("application", Application)
SECRET_TOKEN = web.AppKey("secret_token", str)

log = logging.getLogger(__name__)


def is_valid_secret_token(secret_token: str) -> bool:
    """Telegram's setWebhook rule: 1–256 characters of A-Z a-z 0-9 _ -."""
    return _SECRET_TOKEN.fullmatch(secret_token) is not None


def webhook_route(webhook_url: str, path: str | None = None) -> tuple[str, str]:
    """(URL to register, local route): one flag suffices in the common case, and a proxy may still rewrite paths."""
    # The URL is registered as given when it has a path, else with the route appended. The local route is
    # `path` when given, else the URL's path, else /telegram.
    parts = urlsplit(webhook_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook: {webhook_url!r} is not an http(s) URL with a host")
    url_has_path = parts.path not in ("", "/")
    route = path or (parts.path if url_has_path else DEFAULT_PATH)
    if not route.startswith("/") or route in (HEALTH_PATH, METRICS_PATH):
        raise ValueError(f"webhook: the local route {route!r} must start with / and differ from {HEALTH_PATH} "
                         f"and {METRICS_PATH}")
    public_url = webhook_url if url_has_path else parts._replace(path=route).geturl()
    return public_url, route


def _refusal(status: HTTPStatus, reason: str) -> web.Response:
    """A short JSON answer for whoever probes the route by hand; Telegram itself only records the status."""
    return web.json_response({"error": reason}, status=status)


async def receive_update(request: web.Request) -> web.Response:
    """Queue one update and answer at once: without a quick 2xx, Telegram times out and sends the update again."""
    application = request.app[APPLICATION]
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not hmac.compare_digest(given, request.app[SECRET_TOKEN].encode()):
        log.warning("webhook: refused a POST from %s without the right secret token", request.remote)
        return _refusal(HTTPStatus.FORBIDDEN, "wrong or missing secret token")
    if not application.running:  # Telegram retries non-2xx answers, so nothing is lost while we start or stop
        return _refusal(HTTPStatus.SERVICE_UNAVAILABLE, "the bot is not running")
    try:
        data = json.loads(await request.read())
    except ValueError:
        return _refusal(HTTPStatus.BAD_REQUEST, "body is not JSON")
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        return _refusal(HTTPStatus.BAD_REQUEST, "body is not a Telegram Update")
    try:
        update = Update.de_json(data, application.bot)
    except Exception:  # PTB raises whatever the malformed field provokes; any of them means "not an Update"
        log.warning("webhook: update %d could not be parsed", data["update_id"], exc_info=True)
        return _refusal(HTTPStatus.BAD_REQUEST, "body is not a Telegram Update")
    if isinstance(application.bot, ExtBot):  # resolves arbitrary callback data, as PTB's own webhook server does
        application.bot.insert_callback_data(update)
    await application.update_queue.put(update)
    return web.Response(status=HTTPStatus.OK)


async def database_problem(engine: Engine, timeout: float = DATABASE_CHECK_TIMEOUT) -> str | None:
    """None when the database answers `SELECT 1` in time, else a reason short enough to show publicly."""

    def select_one() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        async with asyncio.timeout(timeout):
            await asyncio.to_thread(select_one)
    except TimeoutError:
        return f"database: no answer within {timeout:g} s"
    except OperationalError as error:  # refused, reset, file gone: delivery waits and resumes when it is back
        log.warning("healthz: database unreachable: %s", unreachable_reason(error))
        return "database: unreachable"
    except Exception as error:  # a health check reports every failure instead of answering 500
        log.warning("healthz: database check failed: %s", error)
        return f"database: {type(error).__name__}"
    return None


async def report_health(request: web.Request) -> web.Response:
    """For load balancers and orchestrators: ok only while updates get handled and the database answers."""
    application = request.app[APPLICATION]
    if not application.running:
        return web.json_response({"status": "unavailable", "reason": "application is not running"},
                                 status=HTTPStatus.SERVICE_UNAVAILABLE)
    problem = await database_problem(application.bot_data.services.engine)
    if problem is not None:
        return web.json_response({"status": "unavailable", "reason": problem}, status=HTTPStatus.SERVICE_UNAVAILABLE)
    return web.json_response({"status": "ok", "application": "running", "database": "ok",
                              "queued_updates": application.update_queue.qsize()})


async def report_metrics(request: web.Request) -> web.Response:
    """Prometheus scrapes this: the running bot's counters and histograms in the text exposition format."""
    metrics = request.app[APPLICATION].bot_data.services.metrics
    return web.Response(body=metrics.exposition(), headers={"Content-Type": EXPOSITION_CONTENT_TYPE})


def build_web_app(application: Application, *, path: str, secret_token: str) -> web.Application:  # type: ignore[type-arg]
    """Pure wiring, so tests can serve it in-process: POST path → update queue, GET /healthz and /metrics."""
    if not is_valid_secret_token(secret_token):
        raise ValueError("webhook: the secret token must be 1–256 characters of A-Z a-z 0-9 _ -")
    web_app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    web_app[APPLICATION] = application
    web_app[SECRET_TOKEN] = secret_token
    web_app.router.add_post(path, receive_update)
    web_app.router.add_get(HEALTH_PATH, report_health)
    web_app.router.add_get(METRICS_PATH, report_metrics)
    return web_app


@asynccontextmanager
async def serving(web_app: web.Application, *, listen: str, port: int) -> AsyncIterator[int]:
    """Serve web_app on listen:port for the block; yields the bound port, which matters when port is 0."""
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        await web.TCPSite(runner, listen, port).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM (what systemd and docker send), so shutdown runs in order."""
    stop, loop = asyncio.Event(), asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def serve_webhook(application: Application, *, webhook_url: str, listen: str, port: int,  # type: ignore[type-arg]
                        path: str, secret_token: str, stop: asyncio.Event | None = None) -> None:
    """Run the bot on a webhook until `stop` is set (default: SIGINT/SIGTERM), in the order PTB's run_* would."""
    # The webhook stays registered on exit: another instance may be serving it, and Telegram keeps updates
    # (for up to 24 hours) until someone answers.
    web_app = build_web_app(application, path=path, secret_token=secret_token)
    with stop_on_signals() if stop is None else nullcontext(stop) as stopping:
        async with application:  # initialize() now, shutdown() at the end
            if application.post_init is not None:  # run_polling() would call these hooks; here we run by hand
                await application.post_init(application)
            await application.start()  # also starts the job queue, hence the scheduler tick
            try:
                async with serving(web_app, listen=listen, port=port) as bound_port:
                    # Only once we listen: Telegram starts POSTing as soon as the webhook is set.
                    await application.bot.set_webhook(url=webhook_url, secret_token=secret_token,
                                                      allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
                    log.info("webhook: listening on %s:%d%s, registered as %s", listen, bound_port, path, webhook_url)
                    await stopping.wait()
                    log.info("webhook: stopping; the webhook stays registered")
            finally:
                await application.stop()  # handles every update already answered with 200 before returning
                if application.post_stop is not None:
                    await application.post_stop(application)
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
