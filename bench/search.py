"""Search benchmark: /search latency on 100,000 papers, SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Loads the seeded benchmark store (bench/store_fixture.py; its triggers build the search index as the papers go
in), then times what one /search does — the first page of five papers, best first, plus the match count — for a
mix of English words, Chinese words of one to four characters (taken from stored summaries), author names,
quoted phrases and mixed queries. Each query runs --runs times; the table shows median and p99 per query and per
kind. Target: p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench.store_fixture import Scale, create_postgresql_database, drop_postgresql_database, generate, load
from storage.db import open_store, session_scope
from storage.search import index_pending, parse_query, search_papers

RESULTS = Path(__file__).parent / "results"
BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/papers_digest_search_bench"
TARGET_P99_MS = 100.0
PAGE_SIZE = 5  # what /search shows per page
WARMUP_RUNS = 3
ENGLISH = ("diffusion", "transformer", "quantization", "Bayesian", "locomotion", "federated privacy")
AUTHORS = ("Wang", "Müller", "Yuki Tanaka", "Sofia Kowalski")
PHRASES = ('"diffusion transformer"', '"graph neural"', '"Monte Carlo"', '"sample complexity bounds"')
MIXED = ("diffusion 模型", "Wang 学习", '"reward agents" 推理')


def _chinese_words(fixture_papers: Sequence[tuple[Any, ...]], rng: random.Random) -> list[str]:
    """Words of one to four characters cut from stored summaries and Chinese titles, so they occur in the store."""
    words = ["图", "的"]
    for length in (2, 2, 2, 3, 3, 4, 4):
        paper = fixture_papers[rng.randrange(len(fixture_papers))]
        text = paper[7] if length % 2 else paper[4]  # summary_zh or title_zh (COLUMNS order)
        start = rng.randrange(len(text) - length)
        words.append(text[start:start + length])
    return words


def query_mix(fixture_papers: Sequence[tuple[Any, ...]], seed: int) -> dict[str, list[str]]:
    """The queries timed, by kind."""
    rng = random.Random(seed)
    return {"english": list(ENGLISH), "chinese": _chinese_words(fixture_papers, rng), "author": list(AUTHORS),
            "phrase": list(PHRASES), "mixed": list(MIXED)}


def _percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered) - 1e-9) - 1)]


def _summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p99 and max of milliseconds."""
    return {"n": len(values), "median": round(statistics.median(values), 2), "p99": round(_percentile(values, 0.99), 2),
            "max": round(max(values), 2)}


def time_queries(engine: Engine, mix: dict[str, list[str]], runs: int) -> list[dict[str, Any]]:
    """Each query's first page and count, in a fresh transaction per run as the bot does it."""
    rows = []
    for kind, queries in mix.items():
        for text in queries:
            query = parse_query(text)
            timings = []
            for run in range(WARMUP_RUNS + runs):
                started = time.perf_counter_ns()
                with session_scope(engine) as session:
                    results = search_papers(session=session, query=query, offset=0, limit=PAGE_SIZE)
                if run >= WARMUP_RUNS:
                    timings.append((time.perf_counter_ns() - started) / 1e6)
            rows.append({"kind": kind, "query": text, "matches": results.total, **_summary(timings),
                         "samples": timings})
    return rows


@contextmanager
def _store(backend: str, args: argparse.Namespace) -> Iterator[Engine]:
    """A freshly migrated store on the backend, removed afterwards unless --keep."""
    if backend == "postgresql":
        if not args.reuse:
            create_postgresql_database(args.postgres_url)
        engine = open_store(args.postgres_url)
        try:
            yield engine
        finally:
            engine.dispose()
            if not args.keep:
                drop_postgresql_database(args.postgres_url)
        return
    with tempfile.TemporaryDirectory(prefix="search-bench-") as folder:
        engine = open_store(f"sqlite:///{folder}/bench.db")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def _gin_built_after_loading(engine: Engine) -> Iterator[None]:
    """On PostgreSQL, build the GIN index once after the bulk load (as the migration does), not row by row."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.begin() as connection:
        definition = connection.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_paper_search_document'").scalar_one()
        connection.exec_driver_sql("DROP INDEX ix_paper_search_document")
    yield
    with engine.begin() as connection:
        connection.exec_driver_sql(definition)
        connection.exec_driver_sql("ANALYZE paper_search")


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Load the store, then time the query mix."""
    fixture = generate(Scale(papers=round(100_000 * args.scale), chats=0, deliveries=0), seed=args.seed)
    fixture.chats, fixture.deliveries = [], []
    mix = query_mix(fixture.papers, args.seed)
    with _store(backend, args) as engine:
        started = time.perf_counter()
        if args.reuse and backend == "postgresql":
            load_seconds = {}
        else:
            with _gin_built_after_loading(engine):
                load_seconds = load(engine, fixture)
            started_indexing = time.perf_counter()
            with session_scope(engine) as session:
                index_pending(session)  # SQLite's triggers only queued the papers; PostgreSQL's indexed them
            load_seconds["index_pending"] = round(time.perf_counter() - started_indexing, 2)
        loaded = round(time.perf_counter() - started, 1)
        rows = time_queries(engine, mix, args.runs)
    kinds = {kind: _summary([ms for row in rows if row["kind"] == kind for ms in row["samples"]]) for kind in mix}
    everything = [ms for row in rows for ms in row.pop("samples")]
    return {"backend": backend, "papers": len(fixture.papers), "load_seconds": loaded, "load_steps": load_seconds,
            "runs_per_query": args.runs, "queries": rows, "by_kind": kinds,
            "all": _summary(everything), "target_p99_ms": TARGET_P99_MS,
            "met": max(row["p99"] for row in rows) < TARGET_P99_MS}


def print_table(report: dict[str, Any]) -> None:
    """One line per query: matches, median and p99."""
    print(f"\n{report['backend']}: {report['papers']:,} papers (loaded and indexed in {report['load_seconds']} s), "
          f"{report['runs_per_query']} runs per query")
    print(f"{'kind':<8} {'query':<34} {'matches':>8} {'median ms':>10} {'p99 ms':>8}")
    for row in report["queries"]:
        print(f"{row['kind']:<8} {row['query']:<34} {row['matches']:>8,} {row['median']:>10.2f} {row['p99']:>8.2f}")
    overall = report["all"]
    verdict = "met" if report["met"] else "NOT met"
    print(f"{'all':<8} {'(every run of every query)':<34} {'':>8} {overall['median']:>10.2f} {overall['p99']:>8.2f}"
          f"   target p99 < {TARGET_P99_MS:.0f} ms per query: {verdict}")


def main() -> int:
    """Run the benchmark on the chosen backends, print tables and write bench/results/search.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100,000 papers")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="repeatable (default: both)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
                        help="database to create (and drop) for the PostgreSQL run")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per query (default 50)")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL database behind")
    parser.add_argument("--reuse", action="store_true",
                        help="time queries on the PostgreSQL store a --keep run left (same --scale and --seed)")
    args = parser.parse_args()
    reports = [run_backend(backend, args) for backend in (args.backend or BACKENDS)]
    for report in reports:
        print_table(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(reports, indent=2, ensure_ascii=False))
    print(f"\nwritten: {RESULTS / 'search.json'}")
    return 0 if all(report["met"] for report in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
