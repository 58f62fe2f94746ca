"""The reader on real digests published by others, scored against their careful annotations (Done-when figures)."""

from __future__ import annotations

from pathlib import Path

from tests.real_digest_score import FIELDS, Score, documents, score_document


def _total(folder: Path) -> tuple[Score, dict[str, Score]]:
    """Every document's score and their sum."""
    total, per_file = Score(), {}
    for document, expected in documents(folder):
        per_file[document.name] = score = score_document(document, expected)
        total.merge(score)
    return total, per_file


def test_papers_are_found_with_their_exact_english_title(real_digests_dir: Path) -> None:
    total, per_file = _total(real_digests_dir)
    assert total.annotated == 126
    assert total.found_percent >= 95, {name: score.misses for name, score in per_file.items()}


def test_no_paper_is_stored_that_the_annotation_does_not_list(real_digests_dir: Path) -> None:
    _total_score, per_file = _total(real_digests_dir)
    assert {name: score.extra for name, score in per_file.items() if score.extra} == {}


def test_fields_match_for_nine_in_ten_papers_that_have_them(real_digests_dir: Path) -> None:
    total, _per_file = _total(real_digests_dir)
    assert {name: round(total.percent(name), 1) for name in FIELDS if total.percent(name) < 90} == {}


def test_highlight_and_minor_flags_match(real_digests_dir: Path) -> None:
    total, per_file = _total(real_digests_dir)
    misses = {name: [miss for miss in score.misses if miss.startswith(("highlight", "minor"))]
              for name, score in per_file.items()}
    assert total.percent("highlight") == 100 and total.percent("minor") == 100, misses
