"""Ingest benchmark: papers/s for parse-only and parse+store into SQLite, and peak memory, on one core."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import build_corpus

RESULTS = Path(__file__).parent / "results"
TARGETS = {"parse": 20_000, "parse+store": 5_000}


def _pin_to_one_core() -> None:
    """The targets are per core: keep the measured process on a single CPU."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def measure(phase: str, papers: int) -> dict[str, float | int | str]:
    """Run one phase in this process and report its rate and peak memory."""
    from storage.db import open_store
    from storage.ingest import Ingestor
    from storage.parsing import parse_digest

    _pin_to_one_core()
    corpus = build_corpus(papers)
    if phase == "parse":
        start = time.perf_counter()
        found = sum(len(parse_digest(text).papers) for text in corpus)
        elapsed = time.perf_counter() - start
        stored = 0
    else:
        with tempfile.TemporaryDirectory() as folder:
            engine = open_store(f"sqlite:///{folder}/bench.db")
            ingestor = Ingestor(engine)
            start = time.perf_counter()
            reports = [ingestor.ingest_text(text, source=f"copy-{i}") for i, text in enumerate(corpus)]
            elapsed = time.perf_counter() - start
            failed = [r.error for r in reports if r.error]
            if failed:
                raise SystemExit(f"bench: ingest failed: {failed[0]}")
            found = sum(r.found for r in reports)
            stored = sum(r.new for r in reports)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"phase": phase, "digests": len(corpus), "papers": found, "new_papers": stored,
            "seconds": round(elapsed, 3), "papers_per_s": round(found / elapsed), "target_papers_per_s": TARGETS[phase],
            "peak_rss_mb": round(peak_kib / 1024, 1)}


def main() -> int:
    """Measure each phase in a fresh process (so peak memory is its own), print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=10_000, help="corpus size (default 10,000)")
    parser.add_argument("--phase", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(measure(args.phase, args.papers)))
        return 0
    rows = []
    for phase in TARGETS:
        out = subprocess.run([sys.executable, "-m", "bench.ingest", "--phase", phase, "--papers", str(args.papers)],
                             check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"{'phase':<12} {'digests':>8} {'papers':>8} {'new':>8} {'seconds':>8} {'papers/s':>9} {'target':>8} "
          f"{'peak MB':>8}")
    for row in rows:
        print(f"{row['phase']:<12} {row['digests']:>8} {row['papers']:>8} {row['new_papers']:>8} "
              f"{row['seconds']:>8.2f} {row['papers_per_s']:>9} {row['target_papers_per_s']:>8} "
              f"{row['peak_rss_mb']:>8}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps({"cpu_cores_used": 1, "results": rows}, indent=2))
    print(f"written: {RESULTS / 'ingest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
