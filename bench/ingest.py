"""Ingest benchmark: papers/s for parse-only and parse+store into SQLite, and peak memory, on one core.

Both phases run the product's own path: parse_digest, and Ingestor.ingest_text (what `python -m bot ingest`
and /ingest call for every digest: one transaction each, on a file store with the bot's SQLite settings).
Rates are given for wall time and for the process's CPU time, as other work on a shared machine slows the
first but hardly the second.
"""

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


def _cpu_busy() -> dict[int, int]:
    """Busy clock ticks so far per CPU, from /proc/stat (empty where there is none)."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return {}
    busy = {}
    for line in lines:
        name, *ticks = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(t) for t in ticks[:8])
            busy[int(name[3:])] = user + nice + system + irq + softirq + steal
    return busy


def idlest_core() -> int | None:
    """The allowed CPU that was least busy over the last half second: the targets are per core, and on a
    shared machine the first core is not always the free one."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    before = _cpu_busy()
    time.sleep(0.5)
    after = _cpu_busy()
    return min(allowed, key=lambda cpu: (after.get(cpu, 0) - before.get(cpu, 0), cpu))


def _pin_to_one_core(core: int | None) -> None:
    """The targets are per core: keep the measured process on a single CPU."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core if core is not None else sorted(os.sched_getaffinity(0))[0]})


def measure(phase: str, papers: int, core: int | None = None) -> dict[str, float | int | str | bool | None]:
    """Run one phase in this process and report its rates and peak memory."""
    from storage.db import open_store
    from storage.ingest import Ingestor
    from storage.parsing import parse_digest

    _pin_to_one_core(core)
    corpus = build_corpus(papers)
    with tempfile.TemporaryDirectory() as folder:
        if phase == "parse":
            start, cpu_start = time.perf_counter(), time.process_time()
            found = sum(len(parse_digest(text).papers) for text in corpus)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            stored = 0
        else:
            engine = open_store(f"sqlite:///{folder}/bench.db")
            ingestor = Ingestor(engine)
            start, cpu_start = time.perf_counter(), time.process_time()
            reports = [ingestor.ingest_text(text, source=f"copy-{i}") for i, text in enumerate(corpus)]
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            engine.dispose()
            failed = [r.error for r in reports if r.error]
            if failed:
                raise SystemExit(f"bench: ingest failed: {failed[0]}")
            found = sum(r.found for r in reports)
            stored = sum(r.new for r in reports)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    target = TARGETS[phase]
    wall_rate, cpu_rate = round(found / elapsed), round(found / cpu)
    return {"phase": phase, "digests": len(corpus), "papers": found, "new_papers": stored,
            "seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3),
            "papers_per_s": wall_rate, "papers_per_cpu_s": cpu_rate, "target_papers_per_s": target,
            "wall_pass": wall_rate >= target, "cpu_pass": cpu_rate >= target,
            "peak_rss_mb": round(peak_kib / 1024, 1), "core": sorted(os.sched_getaffinity(0))[0]
            if hasattr(os, "sched_getaffinity") else None}


def _verdict(passed: bool) -> str:
    """PASS or FAIL, for the table."""
    return "PASS" if passed else "FAIL"


def main() -> int:
    """Measure each phase in a fresh process (so peak memory is its own), print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=10_000, help="corpus size (default 10,000)")
    parser.add_argument("--runs", type=int, default=1, help="measure each phase this many times (default 1)")
    parser.add_argument("--core", type=int, help="CPU to pin to (default: the idlest one before each phase)")
    parser.add_argument("--phase", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(measure(args.phase, args.papers, args.core)))
        return 0
    rows = []
    for run in range(1, args.runs + 1):
        for phase in TARGETS:
            core = args.core if args.core is not None else idlest_core()
            command = [sys.executable, "-m", "bench.ingest", "--phase", phase, "--papers", str(args.papers)]
            out = subprocess.run([*command, *(["--core", str(core)] if core is not None else [])],
                                 check=True, capture_output=True, text=True).stdout
            rows.append({"run": run, **json.loads(out.strip().splitlines()[-1])})
    print(f"{'run':>3} {'phase':<12} {'digests':>7} {'papers':>7} {'wall s':>7} {'papers/s':>9} {'':4} "
          f"{'cpu s':>6} {'papers/cpu-s':>12} {'':4} {'target':>7} {'peak MB':>8} {'core':>4}")
    for row in rows:
        print(f"{row['run']:>3} {row['phase']:<12} {row['digests']:>7} {row['papers']:>7} {row['seconds']:>7.2f} "
              f"{row['papers_per_s']:>9} {_verdict(row['wall_pass']):4} {row['cpu_seconds']:>6.2f} "
              f"{row['papers_per_cpu_s']:>12} {_verdict(row['cpu_pass']):4} {row['target_papers_per_s']:>7} "
              f"{row['peak_rss_mb']:>8} {row['core'] if row['core'] is not None else '-':>4}")
    if args.runs > 1:
        for phase in TARGETS:
            wall = sorted(row["papers_per_s"] for row in rows if row["phase"] == phase)
            cpu = sorted(row["papers_per_cpu_s"] for row in rows if row["phase"] == phase)
            print(f"{phase}: {wall[0]}–{wall[-1]} papers/s wall, {cpu[0]}–{cpu[-1]} papers/cpu-s "
                  f"over {args.runs} runs (target {TARGETS[phase]})")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps({"cpu_cores_used": 1, "runs": args.runs, "results": rows},
                                                    indent=2))
    print(f"written: {RESULTS / 'ingest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
