"""Score the reader against ../shared/real-digests: `python -m tests.real_digest_score -v` prints the figures.

A paper is found when a read paper has exactly the annotated English title; fields are scored over the
annotated papers that have them (a missing paper misses all its fields); highlight and minor over all.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

from storage.documents import decode_bytes
from storage.parsing import ParsedPaper
from storage.reader.assemble import read_document

FIELDS = ("title_zh", "authors", "authors_truncated", "affiliations", "url", "arxiv_id", "code_url")
FLAGS = ("highlight", "minor")
TEXTS = (("summary_zh", "has_summary_zh", "summary_zh_start"), ("abstract_en", "has_abstract_en", "abstract_en_start"))
DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "real-digests"


@dataclass
class Score:
    """Hits and totals for one document or for all of them."""

    annotated: int = 0
    found: int = 0
    extra: list[str] = field(default_factory=list)
    fields: dict[str, list[int]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def add(self, name: str, hit: bool, what: str) -> None:
        """Count one field comparison."""
        pair = self.fields.setdefault(name, [0, 0])
        pair[0] += hit
        pair[1] += 1
        if not hit:
            self.misses.append(f"{name}: {what}")

    def merge(self, other: Score) -> None:
        """Add another document's counts."""
        self.annotated += other.annotated
        self.found += other.found
        self.extra += other.extra
        for name, (hits, total) in other.fields.items():
            pair = self.fields.setdefault(name, [0, 0])
            pair[0] += hits
            pair[1] += total

    def percent(self, name: str) -> float:
        """Share of hits for one field (100 when no paper has it)."""
        hits, total = self.fields.get(name, [0, 0])
        return 100.0 * hits / total if total else 100.0

    @property
    def found_percent(self) -> float:
        """Share of the annotated papers found with their exact English title."""
        return 100.0 * self.found / self.annotated if self.annotated else 100.0


def documents(folder: Path) -> list[tuple[Path, Path]]:
    """Each document beside its annotation."""
    pairs = []
    for expected in sorted(folder.glob("*.expected.json")):
        stem = expected.name.removesuffix(".expected.json")
        document = next(p for p in folder.glob(f"{stem}.*") if not p.name.endswith((".expected.json", ".source.txt")))
        pairs.append((document, expected))
    return pairs


def _value(paper: ParsedPaper, name: str) -> object:
    """A read paper's field in the annotation's form."""
    if name == "authors":
        return list(paper.authors)
    if name == "affiliations":
        return " & ".join(paper.affiliations) or None
    return getattr(paper, name)


def _expected(annotated: dict, name: str) -> object:
    """An annotated field, with the defaults the annotation leaves out."""
    value = annotated.get(name)
    if name == "authors":
        return value or []
    if name in FLAGS or name == "authors_truncated":
        return bool(value)
    return value


def score_document(document: Path, expected: Path) -> Score:
    """Compare one document's reading with its annotation."""
    annotation = json.loads(expected.read_text(encoding="utf-8"))
    papers = read_document(decode_bytes(document.read_bytes())).papers
    by_title = {paper.title_en: paper for paper in papers}
    score = Score(annotated=len(annotation["papers"]))
    annotated_titles = {item["title_en"] for item in annotation["papers"]}
    score.extra = [paper.title_en or "?" for paper in papers if paper.title_en not in annotated_titles]
    for item in annotation["papers"]:
        paper = by_title.get(item["title_en"])
        score.found += paper is not None
        if paper is None:
            score.misses.append(f"missing: {item['title_en']}")
        for name in FIELDS:
            want = _expected(item, name)
            if name != "authors_truncated" and not want:
                continue
            if name == "authors_truncated" and not item.get("authors"):
                continue
            got = _value(paper, name) if paper is not None else None
            score.add(name, got == want, f"{item['title_en'][:40]}: want {want!r} got {got!r}")
        for name in FLAGS:
            got = _value(paper, name) if paper is not None else None
            score.add(name, got == _expected(item, name), f"{item['title_en'][:40]}")
        for name, has, start in TEXTS:
            text = getattr(paper, name) if paper is not None else None
            want_start = item.get(start) or ""
            hit = bool(text) == bool(item.get(has)) and (text or "").startswith(want_start)
            score.add(name, hit, f"{item['title_en'][:40]}: want {want_start!r} got {(text or '')[:20]!r}")
    return score


def main() -> None:
    """Print per-file and overall percentages."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    total = Score()
    scored = (*FIELDS, *FLAGS, *(name for name, _has, _start in TEXTS))
    columns = ("found", *scored)
    print(f"{'document':52} {'papers':>7} " + " ".join(f"{name[:9]:>9}" for name in columns) + "  extra")
    for document, expected in documents(args.folder):
        score = score_document(document, expected)
        total.merge(score)
        cells = [f"{score.found_percent:9.1f}"] + [f"{score.percent(name):9.1f}" for name in scored]
        print(f"{document.name[:52]:52} {score.found:>3}/{score.annotated:<3} " + " ".join(cells)
              + f"  {len(score.extra)}")
        if args.verbose:
            for line in score.misses + [f"extra: {title}" for title in score.extra]:
                print(f"    {line}")
    cells = [f"{total.found_percent:9.1f}"] + [f"{total.percent(name):9.1f}" for name in scored]
    print(f"{'ALL':52} {total.found:>3}/{total.annotated:<3} " + " ".join(cells) + f"  {len(total.extra)}")


if __name__ == "__main__":
    main()
