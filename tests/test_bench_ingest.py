"""The ingest benchmark measures what it says: its baseline writes the rows ingestion stored, its real-digest
shapes hold new invented papers in every copy and no text of the real documents (timings are not tested here)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from bench.corpus import REAL_SHAPES, build_large_document, build_shape_corpus
from bench.ingest import LARGE_BYTES, _measure_rates

TITLE = re.compile(r"Study \d+-\d+")
MARKUP = re.compile(r"<[^>]*>|\{%[^%]*%\}|https?://\S+")  # tags and link targets are a shape's form, not its text


def test_the_bare_baseline_writes_every_row_ingestion_stored(tmp_path: Path) -> None:
    row = _measure_rates("parse+store", 60, str(tmp_path))
    assert row["bare_rows"] == {"digest": row["digests"], "paper": row["new_papers"], "digestpaper": row["papers"],
                                "paper_vector": row["new_papers"]}
    assert row["new_papers"] == row["papers"] == row["vectors"] >= 60, "the vectors are written after the batch"
    assert row["ratio"] > 0 and row["cpu_ratio"] > 0 and row["paper_cpu_ratio"] > 0 and row["vector_cpu_ratio"] > 0
    assert set(row["stages"]) == {"read", "digest hash", "identity keys", "category inference"}


@pytest.mark.parametrize("shape", sorted(REAL_SHAPES))
def test_every_copy_of_a_shape_invents_new_papers(shape: str) -> None:
    first, second = (REAL_SHAPES[shape](copy) for copy in (3, 4))
    first_titles, second_titles = set(TITLE.findall(first)), set(TITLE.findall(second))
    assert first_titles and second_titles and not first_titles & second_titles


def test_the_csv_scrape_keeps_each_post_in_its_column() -> None:
    text = REAL_SHAPES["weibo CSV scrape"](7)
    assert text.startswith("\ufeff")
    posts = [row["微博正文"] for row in csv.DictReader(io.StringIO(text[1:]))]
    assert sum("《" in post and "(2020)" in post for post in posts) == 10
    assert any("微博视频" in post for post in posts)  # a video post between the papers


def test_the_large_document_is_ten_megabytes() -> None:
    assert len(build_large_document(LARGE_BYTES).encode("utf-8")) >= LARGE_BYTES


def test_no_line_of_the_real_digests_is_copied(real_digests_dir: Path) -> None:
    real = "\n".join(path.read_text(encoding="utf-8-sig") for path in real_digests_dir.iterdir()
                     if path.suffix in {".txt", ".md", ".csv"})
    lines = {MARKUP.sub("", line).strip() for _shape, text in build_shape_corpus(2) for line in text.splitlines()}
    copied = [line for line in lines if len(line) >= 20 and line in real]
    assert copied == []
