"""`python -m bot`: ingest digests, export papers, run the bot, or play the offline demo."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from telegram import Update

from bot.config import Settings, SettingsError, load_settings
from storage.db import StoreUnavailable, open_store, session_scope
from storage.ingest import Ingestor, IngestReport
from storage.papers import export_rows
from storage.search import index_pending

DEFAULT_LISTEN = "127.0.0.1"  # behind a reverse proxy; pass --listen 0.0.0.0 to face the internet directly
DEFAULT_PORT = 8080
RESOLVE_FAILURES = 3  # `ingest --resolve` gives up after this many arXiv failures in a row


def _iso_date(value: str) -> date:
    """argparse type for --date."""
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date as YYYY-MM-DD") from error


def _webhook_url(value: str) -> str:
    """argparse type for --webhook-url: a typo fails now, not at Telegram's setWebhook."""
    from bot.webhook import webhook_route

    try:
        webhook_route(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s) URL with a host") from error
    return value


def _secret_token(value: str) -> str:
    """argparse type for --secret-token: Telegram's rule, checked up front; the value is never echoed."""
    from bot.webhook import is_valid_secret_token

    if not is_valid_secret_token(value):
        raise argparse.ArgumentTypeError("must be 1-256 characters of A-Z a-z 0-9 _ - (value not shown)")
    return value


def _port(value: str) -> int:
    """argparse type for --port."""
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port (1-65535)")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ingest = commands.add_parser("ingest", help="store digests from files, folders or http(s) URLs")
    ingest.add_argument("sources", nargs="*", metavar="PATH_OR_URL")
    ingest.add_argument("--date", type=_iso_date, help="the digests' date, YYYY-MM-DD (default: today)")
    ingest.add_argument("--resolve", action="store_true",
                        help="then ask arXiv about every stored paper not yet asked: by id, and by title for "
                             "papers without one (paced by ARXIV_REQUEST_INTERVAL; a progress bar on a terminal)")
    ingest.add_argument("--explain", action="store_true",
                        help="store nothing; print how each document was read: its container, each paper with the "
                             "cue that started it and the fields it took, and every skipped block with the reason")
    export = commands.add_parser("export", help="write every stored paper as JSON lines")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    run = commands.add_parser("run", help="run the bot (long polling, or a webhook server with --webhook-url)")
    run.add_argument("--webhook-url", type=_webhook_url, metavar="URL",
                     help="public URL Telegram POSTs updates to; without a path, the local route is appended "
                          "(default: long polling)")
    run.add_argument("--secret-token", type=_secret_token, metavar="TOKEN",
                     help="required with --webhook-url: Telegram echoes it in X-Telegram-Bot-Api-Secret-Token")
    run.add_argument("--listen", metavar="HOST", help=f"address the webhook server binds (default {DEFAULT_LISTEN})")
    run.add_argument("--port", type=_port, help=f"port the webhook server binds (default {DEFAULT_PORT})")
    run.add_argument("--webhook-path", metavar="PATH",
                     help="local route for Telegram's POSTs (default: the URL's path, else /telegram)")
    demo = commands.add_parser("demo", help="offline demo: sample digests, the real bot and a local Telegram emulator")
    demo.add_argument("--database", type=Path, default=Path("data/demo.db"), help="SQLite file (recreated)")
    return parser


def describe(report: IngestReport) -> str:
    """One line per digest, as the operator reads it."""
    if report.error:
        return f"{report.source}: error: {report.error}"
    if report.already_ingested:
        return f"{report.source}: already ingested as digest {report.digest_id}; nothing changed"
    skipped = f"; {report.not_papers} items skipped as not papers" if report.not_papers else ""
    return (f"{report.source}: {report.found} papers found, {report.new} new, {report.merged} merged "
            f"(digest {report.digest_id}){skipped}")


def run_ingest(settings: Settings, sources: Sequence[str], digest_date: date | None, *, resolve: bool = False) -> int:
    """Ingest each source, print a line for each, then resolve on arXiv if asked; exit non-zero if any failed."""
    if resolve and not settings.arxiv_enrichment:
        print("error: --resolve asks arXiv, which ARXIV_ENRICHMENT=false switches off", file=sys.stderr)
        return 2
    if not sources:
        if not resolve:
            print("error: give digest files, folders or URLs to ingest (or --resolve alone)", file=sys.stderr)
            return 2
        return run_resolve(settings, open_store(settings.database_url))
    code = _ingest_sources(settings, sources, digest_date)
    return max(code, run_resolve(settings, open_store(settings.database_url))) if resolve else code


def run_explain(settings: Settings, sources: Sequence[str]) -> int:
    """Print how each document reads, storing nothing; 1 if any could not be read."""
    from bot.http import load_document
    from storage.documents import DocumentError, expand_sources
    from storage.reader.assemble import read_document
    from storage.reader.explain import explain

    failed = 0
    for source in expand_sources(list(sources)):
        try:
            document = load_document(source, max_bytes=settings.max_digest_bytes, timeout=settings.fetch_timeout)
            reading = read_document(document.text, markup=document.markup, strict=False)
            print("\n".join(explain(reading, source)))
            failed += not reading.entries
        except DocumentError as error:
            print(f"{source}: error: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def run_resolve(settings: Settings, engine: Engine) -> int:
    """Ask arXiv about the store's papers not yet asked, with a progress bar on a terminal; 1 if arXiv kept failing."""
    from tqdm import tqdm

    from bot.arxiv import BATCHES_PER_RUN, ArxivClient, enrich_papers
    from bot.resolution import resolve_papers
    from bot.services import Services
    from storage.resolution import count_titles_to_resolve

    async def resolve() -> int:
        services, client = Services(settings=settings, engine=engine), ArxivClient.from_settings(settings)
        by_id = await enrich_papers(services, client, max_batches=BATCHES_PER_RUN * 1000)
        with session_scope(engine) as session:
            waiting = count_titles_to_resolve(session=session)
        with tqdm(total=waiting, unit="paper", desc="arXiv by title", disable=None, file=sys.stderr) as bar:
            run = await resolve_papers(services, client, max_papers=None, max_failures=RESOLVE_FAILURES,
                                       progress=lambda run: bar.update(run.done - bar.n))
        print(f"arXiv: {by_id.asked} papers asked by id ({by_id.enriched} enriched, {by_id.unknown} unknown, "
              f"{by_id.postponed} postponed); {run.asked} asked by title ({run.matched} matched, {run.merged} "
              f"merged into a stored paper, {run.unmatched} unmatched, {run.skipped} skipped, {run.postponed} "
              f"postponed); {by_id.requests + run.asked} requests")
        if run.failure or by_id.postponed:
            print(f"error: arXiv failed ({run.failure or 'id batch postponed'}); run again later for the rest",
                  file=sys.stderr)
            return 1
        return 0

    return asyncio.run(resolve())


def _ingest_sources(settings: Settings, sources: Sequence[str], digest_date: date | None) -> int:
    """Ingest each source, print a line for each, exit non-zero if any failed."""
    from bot.http import load_document
    from storage.documents import expand_sources

    engine = open_store(settings.database_url)
    ingestor = Ingestor(engine)
    load = functools.partial(load_document, max_bytes=settings.max_digest_bytes, timeout=settings.fetch_timeout)
    expanded = expand_sources(list(sources))
    if not expanded:
        print("error: no digest files found in the given folders", file=sys.stderr)
        return 1
    failed = 0
    for report in ingestor.ingest_sources(expanded, digest_date=digest_date, load=load):
        print(describe(report), file=sys.stderr if report.error else sys.stdout)
        for problem in report.problems:
            print(f"  warning: {problem}")
        failed += report.error is not None
    with session_scope(engine) as session:  # so the first /search after a big batch does not pay for its index
        index_pending(session)
    return 1 if failed else 0


def run_export(settings: Settings, output: Path | None) -> int:
    """Write the store as JSON lines."""
    engine = open_store(settings.database_url)
    stream = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        with session_scope(engine) as session:
            for row in export_rows(session):
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    except BrokenPipeError:  # `… export | head` closed the pipe: not an error
        sys.stderr.close()
    finally:
        if output:
            stream.close()
    return 0


def run_demo(database: Path) -> int:
    """Offline demo: the bundled samples, the real bot and a scripted subscriber against the local emulator."""
    from bot.demo import play

    asyncio.run(play(database))
    return 0


def _webhook_flags_problem(args: argparse.Namespace, settings: Settings) -> str | None:
    """Webhook flags only make sense together; polling with a forgotten --webhook-url would fail silently."""
    from bot.webhook import is_valid_secret_token

    configured = settings.webhook_secret_token.get_secret_value() if settings.webhook_secret_token else ""
    if args.secret_token is None and args.webhook_url is not None and configured:
        if not is_valid_secret_token(configured):
            return "WEBHOOK_SECRET_TOKEN must be 1-256 characters of A-Z a-z 0-9 _ -"
        args.secret_token = configured  # kept off the command line, where `ps` would show it
    if args.webhook_url is None:
        given = [flag for flag, value in (("--secret-token", args.secret_token), ("--listen", args.listen),
                                          ("--port", args.port), ("--webhook-path", args.webhook_path))
                 if value is not None]
        return f"{', '.join(given)} only apply with --webhook-url" if given else None
    if args.secret_token is None:
        return ("--secret-token (or WEBHOOK_SECRET_TOKEN) is required with --webhook-url "
                "(Telegram sends it back so forged POSTs are refused)")
    return None


def run_bot(settings: Settings, args: argparse.Namespace) -> int:
    """Long polling until interrupted, or a webhook server with --webhook-url; the scheduler tick runs inside."""
    from telegram.error import InvalidToken, TelegramError

    from bot.app import build_application
    from bot.webhook import serve_webhook, webhook_route

    problem = _webhook_flags_problem(args, settings)
    try:
        webhook_url, path = webhook_route(args.webhook_url, args.webhook_path) if args.webhook_url else ("", "")
    except ValueError as error:
        problem = str(error)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings.require_token()
    engine = open_store(settings.database_url)
    application = build_application(settings, engine)
    log = logging.getLogger(__name__)
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    if not webhook_url:
        log.info("bot: starting long polling (database %s)", database)
        try:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
        except InvalidToken:  # its message quotes the token: say it plainly instead
            print("error: Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)", file=sys.stderr)
            return 2
        return 0
    for handler in logging.getLogger().handlers:  # PTB logs every request's parameters at DEBUG, setWebhook's too
        handler.addFilter(RedactToken(args.secret_token))
    log.info("bot: starting on a webhook (database %s)", database)
    try:
        asyncio.run(serve_webhook(application, webhook_url=webhook_url, listen=args.listen or DEFAULT_LISTEN,
                                  port=args.port or DEFAULT_PORT, path=path, secret_token=args.secret_token))
    except TelegramError as error:  # e.g. setWebhook refused a plain-HTTP URL; logged so both secrets are redacted
        log.error("bot: webhook mode stopped: %s", error)
        return 1
    return 0


class RedactToken(logging.Filter):
    """Keep the bot token out of every log line, whatever library writes it."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token and self.token in record.getMessage():
            record.msg, record.args = record.getMessage().replace(self.token, "<token>"), None
        return True


def configure_logging(settings: Settings, level: str | None = None) -> None:
    """One format for every logger; noisy libraries quieter; the token redacted everywhere."""
    logging.basicConfig(level=level or settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(token))
    for noisy in ("httpx", "httpcore", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; settings problems and bad arguments end in one clear line."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings, level="WARNING" if args.command == "demo" else None)
    try:
        if args.command == "ingest" and args.explain:
            return run_explain(settings, args.sources)
        if args.command == "ingest":
            return run_ingest(settings, args.sources, args.date, resolve=args.resolve)
        if args.command == "export":
            return run_export(settings, args.output)
        if args.command == "run":
            return run_bot(settings, args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StoreUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return run_demo(args.database)


if __name__ == "__main__":
    sys.exit(main())
