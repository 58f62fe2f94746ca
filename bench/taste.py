"""Taste benchmark, offline: do simulated readers get more of what they like in their next five papers?

The papers are real text: the five bundled samples and the annotated real digests in ../shared/real-digests
(titles, authors, the starts of abstracts and Chinese summaries, and a field in `category` or `category_guess`).
A simulated reader likes one field, or one topic picked by a keyword (a title word common enough to be a topic,
rare enough to be one). It was sent some digests (in a random order of the digests), starred STARS papers it
likes and left NEGATIVES others unstarred; its next pool is the next POOL_SIZE unseen papers in today's order.
Precision at five: how many of the next five papers it likes, in today's order and ranked by storage.taste.
Prints a table and writes bench/results/taste.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.corpus import sample_texts
from storage.parsing import parse_digest
from storage.taste import POOL_SIZE, Taste, TasteSource, combine, rank
from storage.vectors import VectorBatch, english_words, paper_vector

RESULTS = Path(__file__).parent / "results"
SHARED = Path(os.environ.get("PAPERS_DIGEST_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FIVE = 5
STARS = 3
NEGATIVES = 10
MIN_INTEREST = 8  # a field or keyword with fewer papers makes no reader
KEYWORDS = 6
KEYWORD_SHARE = 0.2  # a keyword in more titles than this is a field's vocabulary, not a topic


@dataclass(frozen=True, slots=True)
class BenchPaper:
    """One paper of the evaluation: its field, its text (for keywords) and its vector."""

    digest: int
    rank: tuple[int, int, int]  # today's order inside its digest: highlights, then main before minor, then position
    field: str | None
    text: str
    title_words: frozenset[str]
    vector: bytes  # as stored


def _paper(digest: int, rank: tuple[int, int, int], field: str | None, *, title_en: str | None,
           title_zh: str | None, abstract_en: str | None, summary_zh: str | None,
           authors: Sequence[str]) -> BenchPaper:
    text = " ".join(part for part in (title_en, title_zh, abstract_en, summary_zh) if part).lower()
    return BenchPaper(digest, rank, field, text, frozenset(english_words(title_en)), paper_vector(
        title_en=title_en, title_zh=title_zh, abstract_en=abstract_en, summary_zh=summary_zh,
        authors=authors).to_bytes())


def load_papers(real_digests: Path) -> list[BenchPaper]:
    """Every paper of the samples and of the annotated real digests, with its digest and place in it."""
    papers = []
    for digest, text in enumerate(sample_texts()):
        for parsed in parse_digest(text).papers:
            papers.append(_paper(digest, (not parsed.highlight, parsed.minor, parsed.position), parsed.category,
                                 title_en=parsed.title_en, title_zh=parsed.title_zh, abstract_en=parsed.abstract_en,
                                 summary_zh=parsed.summary_zh, authors=parsed.authors))
    for digest, path in enumerate(sorted(real_digests.glob("*.expected.json")), start=len(papers)):
        for position, entry in enumerate(json.loads(path.read_text(encoding="utf-8"))["papers"]):
            papers.append(_paper(
                digest, (not entry.get("highlight"), bool(entry.get("minor")), position),
                entry.get("category") or entry.get("category_guess"), title_en=entry.get("title_en"),
                title_zh=entry.get("title_zh"), abstract_en=entry.get("abstract_en_start"),
                summary_zh=entry.get("summary_zh_start"), authors=entry.get("authors") or ()))
    return papers


def interests(papers: Sequence[BenchPaper]) -> dict[str, Callable[[BenchPaper], bool]]:
    """What readers like: each field with enough papers, and the KEYWORDS most common topic words of titles."""
    found: dict[str, Callable[[BenchPaper], bool]] = {}
    fields = Counter(paper.field for paper in papers if paper.field)
    for field, count in sorted(fields.items()):
        if count >= MIN_INTEREST:
            found[f"field {field}"] = lambda paper, field=field: paper.field == field
    words = Counter(word for paper in papers for word in paper.title_words)
    topics = [word for word, count in words.most_common()
              if MIN_INTEREST <= count <= KEYWORD_SHARE * len(papers) and len(word) > 3][:KEYWORDS]
    for word in topics:
        found[f"keyword {word}"] = lambda paper, word=word: word in paper.text
    return found


def one_reader(papers: Sequence[BenchPaper], likes: Callable[[BenchPaper], bool],
               rng: random.Random) -> tuple[float, float] | None:
    """Precision at five of today's order and of the ranked order for one simulated reader; None if it cannot be."""
    digests = sorted({paper.digest for paper in papers})
    rng.shuffle(digests)
    newest = {digest: place for place, digest in enumerate(digests)}
    stream = sorted(papers, key=lambda paper: (newest[paper.digest], paper.rank))
    liked = [index for index, paper in enumerate(stream) if likes(paper)]
    other = [index for index, paper in enumerate(stream) if not likes(paper)]
    if len(liked) < STARS + 1:
        return None
    starred = set(rng.sample(liked, STARS))
    unstarred = set(rng.sample(other, min(NEGATIVES, len(other))))
    pool = [index for index in range(len(stream)) if index not in starred | unstarred][:POOL_SIZE]
    positives = VectorBatch.from_bytes([stream[index].vector for index in starred])
    negatives = VectorBatch.from_bytes([stream[index].vector for index in unstarred])
    taste = Taste([TasteSource(True, None, None)] * STARS, positives, combine(positives, negatives))
    ranked = rank(taste, pool, VectorBatch.from_bytes([stream[index].vector for index in pool]), FIVE)
    today = sum(likes(stream[index]) for index in pool[:FIVE]) / FIVE
    return today, sum(likes(stream[item.paper_id]) for item in ranked) / FIVE


def evaluate(papers: Sequence[BenchPaper], readers: int, seed: int) -> list[dict[str, Any]]:
    """One row per interest: mean precision at five, today's order against the ranked one."""
    rows = []
    for name, likes in interests(papers).items():
        rng = random.Random(f"{seed}:{name}")
        results = [result for _ in range(readers) if (result := one_reader(papers, likes, rng)) is not None]
        today = statistics.fmean(result[0] for result in results)
        ranked = statistics.fmean(result[1] for result in results)
        rows.append({"interest": name, "papers": sum(map(likes, papers)), "readers": len(results),
                     "today_p5": round(today, 3), "ranked_p5": round(ranked, 3),
                     "ratio": round(ranked / today, 2) if today else None})
    return rows


def print_report(rows: Sequence[dict[str, Any]], overall: dict[str, Any], papers: int) -> None:
    """The table: one line per interest, then all readers together."""
    print(f"\nprecision at {FIVE}, {papers} papers, {STARS} stars + {NEGATIVES} unstarred per reader, "
          f"pool of {POOL_SIZE}; target: ranked ≥ 2× today")
    print(f"{'interest':<24}{'papers':>7}{'readers':>8}{'today':>8}{'ranked':>8}{'ratio':>7}")
    for row in [*rows, overall]:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}×"
        print(f"{row['interest']:<24}{row['papers']:>7}{row['readers']:>8}{row['today_p5']:>8.3f}"
              f"{row['ranked_p5']:>8.3f}{ratio:>7}")


def main() -> None:
    """Run the evaluation, print it, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-digests", type=Path, default=SHARED / "real-digests")
    parser.add_argument("--readers", type=int, default=200, help="simulated readers per interest")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    papers = load_papers(args.real_digests)
    rows = evaluate(papers, args.readers, args.seed)
    today = statistics.fmean(row["today_p5"] for row in rows)
    ranked = statistics.fmean(row["ranked_p5"] for row in rows)
    overall = {"interest": "all (mean)", "papers": len(papers), "readers": sum(row["readers"] for row in rows),
               "today_p5": round(today, 3), "ranked_p5": round(ranked, 3), "ratio": round(ranked / today, 2)}
    print_report(rows, overall, len(papers))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "taste.json"
    path.write_text(json.dumps({"seed": args.seed, "stars": STARS, "negatives": NEGATIVES, "pool": POOL_SIZE,
                                "rows": rows, "overall": overall}, indent=2), encoding="utf-8")
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
