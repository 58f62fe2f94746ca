"""Ingest benchmark: papers/s for parse-only and parse+store into SQLite, the store's cost beside a bare insert of
the same rows, the real-digest shapes, one 10 MB document, and peak memory, on one core.

Every phase runs the product's own path: read_document, and Ingestor.ingest_many over BATCH_DIGESTS digests at a
time (what `python -m bot ingest` runs once its files are read: one transaction for the batch, a savepoint for each
digest, on a file store with the bot's SQLite settings).
Rates are given for wall time and for the process's CPU time, as other work on a shared machine slows the
first but hardly the second.

The ratio divides parse+store's time by the time of a bare `executemany` of the very rows that run stored (digest,
paper and link rows, every column, read back), measured in the same process right after: into a fresh store
migrated the same way (same tables, indexes and triggers, so the search queue's trigger fires per paper; the bot's
pragmas), one transaction. It says what ingesting costs beyond writing its rows at all, so machine speed cancels
out. The ratio to the paper rows alone is printed beside it.

Paper vectors (storage/vectors.py) are derived data, like search entries: the product writes them after a batch of
digests is stored (Ingestor.write_vectors, what `python -m bot ingest` and /ingest call next). That pass is timed
apart and printed beside the ratio, with a second ratio counting it against a bare write of every row including
the vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from bench.corpus import REAL_SHAPES, build_corpus, build_large_document, build_shape_corpus

RESULTS = Path(__file__).parent / "results"
TARGETS = {"parse": 20_000, "parse+store": 5_000}
TARGET_RATIO = 4.0
TARGET_LARGE_SECONDS = 10.0
LARGE_BYTES = 10 * 1024 * 1024
BARE_ROUNDS = 5
SHAPE_COPIES = 20
PHASES = (*TARGETS, "shapes", "10 MB")
STORED_TABLES = ("digest", "paper", "digestpaper")  # what ingestion writes (the search queue by trigger)
VECTOR_TABLE = "paper_vector"  # what Ingestor.write_vectors writes after the batch


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


class _Clock:
    """Wall and CPU seconds since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds) so far."""
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def _stored_rows(engine: Any, names: tuple[str, ...]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every row the run stored in these tables, with the INSERT for each table, in key order."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        tables = []
        for table in names:
            columns = [row[1] for row in driver.execute(f"PRAGMA table_info({table})")]
            rows = driver.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
            tables.append((f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           rows))
        return tables
    finally:
        raw.close()


def bare_insert(folder: str, name: str, tables: list[tuple[str, list[tuple[Any, ...]]]]) -> tuple[float, float]:
    """(wall, CPU) seconds of one executemany per table into a fresh migrated store, all in one transaction."""
    from storage.db import open_store

    engine = open_store(f"sqlite:///{folder}/{name}.db")
    raw = engine.raw_connection()  # the bot's connection settings: WAL, synchronous=NORMAL, foreign keys
    try:
        driver = raw.driver_connection
        clock = _Clock()
        for sql, rows in tables:
            driver.executemany(sql, rows)  # the driver opens the transaction before the first INSERT
        driver.commit()
        return clock.read()
    finally:
        raw.close()
        engine.dispose()


def _bare_baseline(folder: str, engine: Any) -> dict[str, Any]:
    """Median (wall, CPU) of BARE_ROUNDS bare inserts of every row ingestion stored, of those and the vectors, and
    of the paper rows alone."""
    tables = _stored_rows(engine, STORED_TABLES)
    vectors = _stored_rows(engine, (VECTOR_TABLE,))
    papers = [table for table in tables if table[0].startswith("INSERT INTO paper ")]
    every = [bare_insert(folder, f"bare-{n}", tables) for n in range(BARE_ROUNDS)]
    with_vectors = [bare_insert(folder, f"bare-vectors-{n}", tables + vectors) for n in range(BARE_ROUNDS)]
    alone = [bare_insert(folder, f"bare-papers-{n}", papers) for n in range(BARE_ROUNDS)]
    return {"bare_rows": {sql.split()[2]: len(rows) for sql, rows in tables + vectors},
            "bare_seconds": round(statistics.median(b[0] for b in every), 4),
            "bare_cpu_seconds": round(statistics.median(b[1] for b in every), 4),
            "bare_vector_cpu_seconds": round(statistics.median(b[1] for b in with_vectors), 4),
            "bare_paper_seconds": round(statistics.median(b[0] for b in alone), 4),
            "bare_paper_cpu_seconds": round(statistics.median(b[1] for b in alone), 4)}


def _stage_costs(corpus: list[str]) -> dict[str, float]:
    """CPU seconds of four stages of parse+store, each run alone over the same corpus after it was stored: what
    storing pays on top of writing its rows, whatever the store does (the product's own functions, in its order)."""
    from storage.classify import seeded_model
    from storage.ingest import classify_papers, digest_hash, new_draft, paper_keys
    from storage.reader.assemble import read_document

    clock = _Clock()
    papers = [paper for text in corpus for paper in read_document(text).papers]
    costs = {"read": clock.read()[1]}
    clock = _Clock()
    for text in corpus:
        digest_hash(text)
    costs["digest hash"] = clock.read()[1]
    clock = _Clock()
    keyed = [(paper, dict(paper_keys(paper))) for paper in papers]
    costs["identity keys"] = clock.read()[1]
    drafts = [new_draft(paper, keys, rank_date=date.today(), rank_digest_id=None) for paper, keys in keyed]
    clock = _Clock()
    classify_papers(seeded_model(), drafts)  # a fresh store's model, as the parse+store phase starts with
    costs["category inference"] = clock.read()[1]
    return {stage: round(cpu, 4) for stage, cpu in costs.items()}


def _measure_rates(phase: str, papers: int, folder: str) -> dict[str, Any]:
    """parse or parse+store over the sample-family corpus; parse+store adds the bare baseline and the ratio."""
    from storage.db import open_store
    from storage.ingest import BATCH_DIGESTS, DigestText, Ingestor
    from storage.reader.assemble import read_document

    corpus = build_corpus(papers)
    extra: dict[str, Any] = {}
    if phase == "parse":
        clock = _Clock()
        found = sum(len(read_document(text).papers) for text in corpus)
        elapsed, cpu = clock.read()
        stored = 0
    else:
        engine = open_store(f"sqlite:///{folder}/bench.db")
        ingestor = Ingestor(engine)
        clock = _Clock()
        digests = [DigestText(text, source=f"copy-{i}") for i, text in enumerate(corpus)]
        reports = [report for start in range(0, len(digests), BATCH_DIGESTS)  # as ingest_sources stores them
                   for report in ingestor.ingest_many(digests[start : start + BATCH_DIGESTS])]
        elapsed, cpu = clock.read()
        clock = _Clock()
        vectors = ingestor.write_vectors()
        vector_elapsed, vector_cpu = clock.read()
        failed = [r.error for r in reports if r.error]
        if failed:
            raise SystemExit(f"bench: ingest failed: {failed[0]}")
        found = sum(r.found for r in reports)
        stored = sum(r.new for r in reports)
        extra = _bare_baseline(folder, engine)
        engine.dispose()
        extra.update(vectors=vectors, vector_seconds=round(vector_elapsed, 3), vector_cpu_seconds=round(vector_cpu, 3),
                     vector_cpu_ratio=round((cpu + vector_cpu) / extra["bare_vector_cpu_seconds"], 2))
        extra["stages"] = _stage_costs(corpus)
        extra.update(ratio=round(elapsed / extra["bare_seconds"], 2),
                     cpu_ratio=round(cpu / extra["bare_cpu_seconds"], 2),
                     paper_ratio=round(elapsed / extra["bare_paper_seconds"], 2),
                     paper_cpu_ratio=round(cpu / extra["bare_paper_cpu_seconds"], 2), target_ratio=TARGET_RATIO)
        extra["ratio_pass"] = extra["cpu_ratio"] <= TARGET_RATIO
    target = TARGETS[phase]
    wall_rate, cpu_rate = round(found / elapsed), round(found / cpu)
    return {"phase": phase, "digests": len(corpus), "papers": found, "new_papers": stored,
            "seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3),
            "papers_per_s": wall_rate, "papers_per_cpu_s": cpu_rate, "target_papers_per_s": target,
            "wall_pass": wall_rate >= target, "cpu_pass": cpu_rate >= target, **extra}


def _measure_shapes(folder: str) -> dict[str, Any]:
    """Parse and store SHAPE_COPIES documents of each real-digest shape; papers found and stored per shape."""
    from storage.db import open_store
    from storage.ingest import Ingestor

    corpus = build_shape_corpus(SHAPE_COPIES)
    engine = open_store(f"sqlite:///{folder}/shapes.db")
    ingestor = Ingestor(engine)
    clock = _Clock()
    reports = [(shape, ingestor.ingest_text(text, source=f"{shape}-{i}")) for i, (shape, text) in enumerate(corpus)]
    elapsed, cpu = clock.read()
    engine.dispose()
    shapes = {shape: {"documents": 0, "read": 0, "papers": 0, "new_papers": 0} for shape in REAL_SHAPES}
    for shape, report in reports:
        counts = shapes[shape]
        counts["documents"] += 1
        counts["read"] += report.ok
        counts["papers"] += report.found
        counts["new_papers"] += report.new
    errors = Counter(report.error.split(" (")[0] for _shape, report in reports if report.error)
    found = sum(report.found for _shape, report in reports)
    return {"phase": "shapes", "digests": len(corpus), "papers": found, "seconds": round(elapsed, 3),
            "cpu_seconds": round(cpu, 3), "shapes": shapes, "errors": dict(errors)}


def _measure_large(folder: str) -> dict[str, Any]:
    """Read (read_document) and then store (ingest_text) one document of LARGE_BYTES."""
    from storage.db import open_store
    from storage.ingest import Ingestor
    from storage.reader.assemble import read_document

    text = build_large_document(LARGE_BYTES)
    clock = _Clock()
    found = len(read_document(text).papers)
    elapsed, cpu = clock.read()
    engine = open_store(f"sqlite:///{folder}/large.db")
    clock = _Clock()
    report = Ingestor(engine).ingest_text(text, source="large")
    store_elapsed, store_cpu = clock.read()
    engine.dispose()
    if report.error:
        raise SystemExit(f"bench: ingesting the large document failed: {report.error}")
    return {"phase": "10 MB", "bytes": len(text.encode("utf-8")), "papers": found, "new_papers": report.new,
            "seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3),
            "store_seconds": round(store_elapsed, 3), "store_cpu_seconds": round(store_cpu, 3),
            "target_seconds": TARGET_LARGE_SECONDS, "wall_pass": elapsed < TARGET_LARGE_SECONDS}


def measure(phase: str, papers: int, core: int | None = None) -> dict[str, Any]:
    """Run one phase in this process and report its figures and peak memory."""
    _pin_to_one_core(core)
    with tempfile.TemporaryDirectory() as folder:
        if phase in TARGETS:
            row = _measure_rates(phase, papers, folder)
        elif phase == "shapes":
            row = _measure_shapes(folder)
        else:
            row = _measure_large(folder)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row["peak_rss_mb"] = round(peak_kib / 1024, 1)
    row["core"] = sorted(os.sched_getaffinity(0))[0] if hasattr(os, "sched_getaffinity") else None
    return row


def _pad(text: str, width: int) -> str:
    """text left-aligned in width terminal columns (a Chinese character takes two)."""
    wide = sum(unicodedata.east_asian_width(char) in "WF" for char in text)
    return text + " " * max(0, width - len(text) - wide)


def _verdict(passed: bool) -> str:
    """PASS or FAIL, for the table."""
    return "PASS" if passed else "FAIL"


def print_tables(rows: list[dict[str, Any]], runs: int) -> None:
    """The rates with the ratio, then the real-digest shapes, then the 10 MB document."""
    print(f"{'run':>3} {'phase':<12} {'digests':>7} {'papers':>7} {'wall s':>7} {'papers/s':>9} {'':4} "
          f"{'cpu s':>6} {'papers/cpu-s':>12} {'':4} {'target':>7} {'bare s':>7} {'ratio':>6} {'cpu ratio':>9} "
          f"{'':4} {'papers only':>11} {'peak MB':>8} {'core':>4}")
    for row in (row for row in rows if row["phase"] in TARGETS):
        ratio = (f"{row['bare_seconds']:>7.3f} {row['ratio']:>5.2f}× {row['cpu_ratio']:>8.2f}× "
                 f"{_verdict(row['ratio_pass']):4} {row['paper_cpu_ratio']:>10.2f}×" if "ratio" in row
                 else f"{'':>7} {'':>6} {'':>9} {'':4} {'':>11}")
        print(f"{row['run']:>3} {row['phase']:<12} {row['digests']:>7} {row['papers']:>7} {row['seconds']:>7.2f} "
              f"{row['papers_per_s']:>9} {_verdict(row['wall_pass']):4} {row['cpu_seconds']:>6.2f} "
              f"{row['papers_per_cpu_s']:>12} {_verdict(row['cpu_pass']):4} {row['target_papers_per_s']:>7} "
              f"{ratio} {row['peak_rss_mb']:>8} {row['core'] if row['core'] is not None else '-':>4}")
    stored = [row for row in rows if "ratio" in row]
    if stored:
        counts = ", ".join(f"{count:,} {table}" for table, count in stored[0]["bare_rows"].items())
        print(f"ratio: parse+store time ÷ the time to write the same rows bare ({counts}: one executemany per table, "
              f"one transaction, into a fresh store migrated the same way, indexes and triggers included; median of "
              f"{BARE_ROUNDS}); target ≤ {TARGET_RATIO:g}×, verdict on CPU time. 'papers only': CPU ratio to the paper "
              f"rows alone.")
        for row in stored:
            bare, stages = row["bare_cpu_seconds"], row["stages"]
            alone = ", ".join(f"{stage} {cpu / bare:.2f}×" for stage, cpu in stages.items())
            print(f"run {row['run']}: each stage alone, CPU ÷ the bare write: {alone}; with the bare write itself "
                  f"{(sum(stages.values()) + bare) / bare:.2f}× before any lookup or statement of its own")
            print(f"run {row['run']}: vectors of {row['vectors']:,} papers written after the batch in "
                  f"{row['vector_seconds']:.2f} s ({row['vector_cpu_seconds']:.2f} cpu-s, "
                  f"{row['vector_cpu_seconds'] / max(row['vectors'], 1) * 1e6:.0f} µs a paper); parse+store and "
                  f"vectors ÷ every row bare, vectors included: {row['vector_cpu_ratio']:.2f}× CPU")
    if runs > 1:
        for phase in TARGETS:
            wall = sorted(row["papers_per_s"] for row in rows if row["phase"] == phase)
            cpu = sorted(row["papers_per_cpu_s"] for row in rows if row["phase"] == phase)
            print(f"{phase}: {wall[0]}–{wall[-1]} papers/s wall, {cpu[0]}–{cpu[-1]} papers/cpu-s "
                  f"over {runs} runs (target {TARGETS[phase]})")
        if stored:
            ratios, cpu_ratios = sorted(row["ratio"] for row in stored), sorted(row["cpu_ratio"] for row in stored)
            print(f"ratio: {ratios[0]}–{ratios[-1]}× wall, {cpu_ratios[0]}–{cpu_ratios[-1]}× CPU over {runs} runs "
                  f"(medians {statistics.median(ratios)}× and {statistics.median(cpu_ratios)}×)")
    shaped = [row for row in rows if row["phase"] == "shapes"]
    for row in shaped[-1:]:  # the counts are the same every run
        seconds = ", ".join(f"{other['seconds']:.2f}" for other in shaped)
        print(f"\nreal-digest shapes, {SHAPE_COPIES} invented documents each, parse+store ({seconds} s)")
        print(f"{'shape':<28} {'documents':>9} {'read':>5} {'papers':>7} {'stored':>7}")
        for shape, counts in row["shapes"].items():
            print(f"{_pad(shape, 28)} {counts['documents']:>9} {counts['read']:>5} {counts['papers']:>7} "
                  f"{counts['new_papers']:>7}")
        for error, count in row["errors"].items():
            print(f"  refused {count}×: {error}")
    for row in (row for row in rows if row["phase"] == "10 MB"):
        print(f"\nrun {row['run']}: one {row['bytes'] / 2**20:.1f} MB document: read {row['papers']:,} papers in "
              f"{row['seconds']:.2f} s ({row['cpu_seconds']:.2f} cpu-s), target < {TARGET_LARGE_SECONDS:g} s "
              f"{_verdict(row['wall_pass'])}; stored in {row['store_seconds']:.2f} s "
              f"({row['store_cpu_seconds']:.2f} cpu-s, parse included), peak {row['peak_rss_mb']} MB")


def main() -> int:
    """Measure each phase in a fresh process (so peak memory is its own), print tables, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=10_000, help="corpus size (default 10,000)")
    parser.add_argument("--runs", type=int, default=1, help="measure each phase this many times (default 1)")
    parser.add_argument("--core", type=int, help="CPU to pin to (default: the idlest one before each phase)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(measure(args.phase, args.papers, args.core), ensure_ascii=False))
        return 0
    rows = []
    for run in range(1, args.runs + 1):
        for phase in PHASES:
            core = args.core if args.core is not None else idlest_core()
            command = [sys.executable, "-m", "bench.ingest", "--phase", phase, "--papers", str(args.papers)]
            out = subprocess.run([*command, *(["--core", str(core)] if core is not None else [])],
                                 check=True, capture_output=True, text=True).stdout
            rows.append({"run": run, **json.loads(out.strip().splitlines()[-1])})
    print_tables(rows, args.runs)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps({"cpu_cores_used": 1, "runs": args.runs, "results": rows},
                                                    indent=2, ensure_ascii=False))
    print(f"written: {RESULTS / 'ingest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
