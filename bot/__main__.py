"""`python -m bot`: ingest digests, export papers, run the bot, or play the offline demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot.config import Settings, SettingsError, load_settings
from storage.db import open_store, session_scope
from storage.ingest import SAMPLE_DIGESTS_DIR, Ingestor, IngestReport
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
    demo = commands.add_parser("demo", help="ingest the bundled sample digests into a fresh SQLite store")
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
    """Offline demo: the bundled samples into a fresh SQLite file, then what was stored."""
    database.unlink(missing_ok=True)
    engine = open_store(f"sqlite:///{database}")
    samples = sorted(str(path) for path in SAMPLE_DIGESTS_DIR.glob("*.txt"))
    for report in Ingestor(engine).ingest_sources(samples):
        print(describe(report))
    with session_scope(engine) as session:
        rows = list(export_rows(session))
    print(f"\n{len(rows)} papers stored in {database}:")
    for row in rows:
        tag = row["category"] or "--"
        mark = "~" if row["category_inferred"] else " "
        title = row["title_en"] or row["title_zh"] or (row["abstract_en"] or row["summary_zh"] or "")[:70]
        print(f"  [{tag}]{mark} {title}")
    print("\n~ marks a category inferred from the text")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; settings problems and bad arguments end in one clear line."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "ingest":
        return run_ingest(settings, args.sources, args.date)
    if args.command == "export":
        return run_export(settings, args.output)
    return run_demo(args.database)


if __name__ == "__main__":
    sys.exit(main())
