"""`python -m bot`: ingest digests, export papers, run the bot, or play the offline demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy.engine import make_url
from telegram import Update

from bot.config import Settings, SettingsError, load_settings
from storage.db import open_store, session_scope
from storage.ingest import Ingestor, IngestReport
from storage.papers import export_rows


def _iso_date(value: str) -> date:
    """argparse type for --date."""
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date as YYYY-MM-DD") from error


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ingest = commands.add_parser("ingest", help="store digests from files, folders or http(s) URLs")
    ingest.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
    ingest.add_argument("--date", type=_iso_date, help="the digests' date, YYYY-MM-DD (default: today)")
    export = commands.add_parser("export", help="write every stored paper as JSON lines")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    commands.add_parser("run", help="run the bot (long polling)")
    demo = commands.add_parser("demo", help="offline demo: sample digests, the real bot and a local Telegram emulator")
    demo.add_argument("--database", type=Path, default=Path("data/demo.db"), help="SQLite file (recreated)")
    return parser


def describe(report: IngestReport) -> str:
    """One line per digest, as the operator reads it."""
    if report.error:
        return f"{report.source}: error: {report.error}"
    if report.already_ingested:
        return f"{report.source}: already ingested as digest {report.digest_id}; nothing changed"
    return (f"{report.source}: {report.found} papers found, {report.new} new, {report.merged} merged "
            f"(digest {report.digest_id})")


def run_ingest(settings: Settings, sources: Sequence[str], digest_date: date | None) -> int:
    """Ingest each source, print a line for each, exit non-zero if any failed."""
    from storage.documents import expand_sources

    engine = open_store(settings.database_url)
    ingestor = Ingestor(engine, max_bytes=settings.max_digest_bytes, timeout=settings.fetch_timeout)
    expanded = expand_sources(list(sources))
    if not expanded:
        print("error: no digest files found in the given folders", file=sys.stderr)
        return 1
    failed = 0
    for report in ingestor.ingest_sources(expanded, digest_date=digest_date):
        print(describe(report), file=sys.stderr if report.error else sys.stdout)
        for problem in report.problems:
            print(f"  warning: {problem}")
        failed += report.error is not None
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


def run_bot(settings: Settings) -> int:
    """Long polling until interrupted; the scheduler tick runs inside."""
    from bot.app import build_application

    settings.require_token()
    engine = open_store(settings.database_url)
    application = build_application(settings, engine)
    logging.getLogger(__name__).info("bot: starting long polling (database %s)",
                                     make_url(settings.database_url).render_as_string(hide_password=True))
    application.run_polling(allowed_updates=Update.ALL_TYPES)
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
    for noisy in ("httpx", "alembic", "apscheduler"):
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
    if args.command == "ingest":
        return run_ingest(settings, args.sources, args.date)
    if args.command == "export":
        return run_export(settings, args.output)
    if args.command == "run":
        try:
            return run_bot(settings)
        except SettingsError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return run_demo(args.database)


if __name__ == "__main__":
    sys.exit(main())
