"""Keyword filters benchmark: what keywords cost a pick at 100k papers, 10k chats, 1M deliveries.

The same seeded store as bench.picking, on SQLite and PostgreSQL. For a sample of chats, pick_unseen_papers is
timed without keywords (the bot's plain statement) and with keyword filters that run the LIKE probes in SQL:
included words that rarely or often match, excluded words that remove about half the papers, and both at once.
Prints a table and writes bench/results/keywords.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import select

from bench.store_fixture import Scale, create_postgresql_database, drop_postgresql_database, generate, load
from storage.chats import chat_categories
from storage.db import open_store, session_scope
from storage.keywords import KeywordSpec, add_keywords, destination_keywords
from storage.models import Chat, ChatKeyword
from storage.papers import pick_unseen_papers

RESULTS = Path(__file__).parent / "results"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/papers_digest_bench_keywords"
PICK_LIMIT = 5
NOW = datetime(2026, 11, 20, tzinfo=UTC)
# The fixture's abstracts draw from a ~170-word vocabulary, so a vocabulary word occurs in about half the papers;
# "survey" and 扩散模型 occur in none, the worst case for an included word (probed on every paper scanned).
VARIANTS: dict[str, tuple[KeywordSpec, ...]] = {
    "no keywords": (),
    "3 included, never matching": (KeywordSpec("survey"), KeywordSpec("扩散模型"), KeywordSpec("graph neural")),
    "3 included, often matching": (KeywordSpec("diffusion"), KeywordSpec("grasping"), KeywordSpec("模型")),
    "3 excluded (~half the papers)": (KeywordSpec("benchmark", True), KeywordSpec("survey", True),
                                      KeywordSpec("扩散模型", True)),
    "5 included + 3 excluded": (KeywordSpec("diffusion"), KeywordSpec("grasping"), KeywordSpec("survey"),
                                KeywordSpec("扩散模型"), KeywordSpec("模型"), KeywordSpec("benchmark", True),
                                KeywordSpec("privacy", True), KeywordSpec("reward", True)),
}


def _percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered) + 0.5) - 1)]


def _time_variant(engine: Engine, chats: dict[int, list[str]], sample: Sequence[int],
                  keywords: Sequence[KeywordSpec], rounds: int) -> dict[str, Any]:
    """Give every sampled chat these keywords, then time its pick as delivery runs it (keywords read first)."""
    with session_scope(engine) as session:
        session.exec(delete(ChatKeyword))
        for chat_id in sample:
            add_keywords(session=session, chat_id=chat_id, thread_id=0, keywords=keywords, now=NOW)
    timings: list[float] = []
    empty = 0
    for _ in range(rounds):
        for chat_id in sample:
            started = time.perf_counter_ns()
            with session_scope(engine) as session:
                filters = destination_keywords(session=session, chat_id=chat_id, thread_id=0)
                papers = pick_unseen_papers(session=session, chat_id=chat_id, categories=chats[chat_id],
                                            limit=PICK_LIMIT, keywords=bool(filters))
            timings.append((time.perf_counter_ns() - started) / 1e6)
            empty += not papers
    return {"n": len(timings), "median": round(statistics.median(timings), 3),
            "p90": round(_percentile(timings, 0.9), 3), "p99": round(_percentile(timings, 0.99), 3),
            "max": round(max(timings), 3), "empty_picks": empty}


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Load the store, then time each variant over the same chats."""
    engine = open_store(url)
    try:
        started = time.perf_counter()
        load(engine, generate(Scale.times(args.scale), seed=args.seed))
        loaded = round(time.perf_counter() - started, 1)
        with session_scope(engine) as session:
            chats = {chat.id: chat_categories(chat) for chat in session.exec(select(Chat).where(Chat.active))}
        sample = random.Random(args.seed).sample(sorted(chats), min(args.picks, len(chats)))
        _time_variant(engine, chats, sample[: args.picks // 4], (), 1)  # warm the caches
        variants = {label: _time_variant(engine, chats, sample, keywords, args.rounds)
                    for label, keywords in VARIANTS.items()}
        return {"backend": engine.dialect.name, "load_seconds": loaded, "variants": variants}
    finally:
        engine.dispose()


@contextmanager
def _store_url(backend: str, postgres_url: str) -> Iterator[str]:
    """A fresh database for one backend, removed afterwards."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="papers-digest-bench-")
        try:
            yield f"sqlite:///{folder}/keywords.db"
        finally:
            shutil.rmtree(folder)
        return
    create_postgresql_database(postgres_url)
    try:
        yield postgres_url
    finally:
        drop_postgresql_database(postgres_url)


def print_report(rows: Sequence[dict[str, Any]], args: argparse.Namespace) -> None:
    """One line per backend and variant."""
    scale = Scale.times(args.scale)
    print(f"\npick_unseen_papers(limit={PICK_LIMIT}) with keyword filters, ms per pick (keywords read included); "
          f"{scale.papers} papers, {scale.chats} chats, {scale.deliveries} deliveries")
    print(f"{'backend':<11} {'variant':<32} {'n':>5} {'median':>7} {'p90':>7} {'p99':>7} {'max':>7} {'empty':>6}")
    for row in rows:
        for label, stats in row["variants"].items():
            print(f"{row['backend']:<11} {label:<32} {stats['n']:>5} {stats['median']:>7.2f} {stats['p90']:>7.2f} "
                  f"{stats['p99']:>7.2f} {stats['max']:>7.2f} {stats['empty_picks']:>6}")


def main() -> int:
    """Measure on each backend, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100k papers/10k chats/1M deliveries")
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"),
                        help="repeatable (default: both)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--picks", type=int, default=500, help="chats timed per round (default 500)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for backend in args.backend or ("sqlite", "postgresql"):
        with _store_url(backend, args.postgres_url) as url:
            rows.append(measure(url, args))
    print_report(rows, args)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "keywords.json"
    path.write_text(json.dumps({"scale": args.scale, "seed": args.seed, "limit": PICK_LIMIT, "rows": rows},
                               indent=2, ensure_ascii=False))
    print(f"\nwrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
