"""The reader inside ingestion: the cut-short flag in the store, pages keep their links, the skipped count,
and `ingest --explain` as an operator runs it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from bot.i18n import translator
from bot.views import ingest_text
from storage.db import session_scope
from storage.ingest import Ingestor, IngestReport
from storage.models import Paper
from storage.resolution import merge_papers
from tests.test_cli import run_cli
from tests.test_reader_cases import CASES, load_case

CUT = ("1、[LG] Folding Towels with Transformers\n\nA Ming, B Hua…\n[Towel Lab]\n叠毛巾。本文叠毛巾。\n"
       "https://arxiv.org/abs/2509.00091\n")


def _papers(engine: Engine) -> list[Paper]:
    with session_scope(engine) as session:
        return list(session.exec(select(Paper).order_by(Paper.id)).all())


def test_authors_cut_short_are_a_flag_and_a_complete_list_clears_it(engine: Engine) -> None:
    ingestor = Ingestor(engine)
    assert ingestor.ingest_text(CUT, source="cut", digest_date=date(2026, 9, 1)).new == 1
    (paper,) = _papers(engine)
    assert (paper.authors, paper.authors_truncated) == (["A Ming", "B Hua"], True)
    complete = CUT.replace("A Ming, B Hua…", "A Ming, B Hua, C Lin")
    assert ingestor.ingest_text(complete, source="complete", digest_date=date(2026, 9, 2)).merged == 1
    (paper,) = _papers(engine)
    assert (paper.authors, paper.authors_truncated) == (["A Ming", "B Hua", "C Lin"], False)


def test_a_saved_html_page_keeps_its_link_targets(engine: Engine, tmp_path: Path) -> None:
    _expected, page = load_case(CASES / "html_numbered_links.html")
    path = tmp_path / "weekly.html"
    path.write_text(page, encoding="utf-8")
    (report,) = Ingestor(engine).ingest_sources([str(path)])
    assert (report.found, report.new, report.not_papers) == (2, 2, 1), report
    assert [(p.title_en, p.url, p.highlight) for p in _papers(engine)] == [
        ("Teapots Are All You Need", "http://weibo.example/1", False),
        ("On the Whistling of Kettles", "http://weibo.example/2", True)]


def test_a_scrape_reports_how_many_items_were_not_papers(engine: Engine) -> None:
    _expected, scrape = load_case(CASES / "weibo_posts.txt")
    report = Ingestor(engine).ingest_text(scrape, source="scrape")
    assert (report.found, report.not_papers) == (3, 3)


def test_ingest_reply_says_how_many_items_were_skipped_in_both_languages() -> None:
    one = IngestReport(source="a.csv", found=2, new=2, not_papers=1)
    many = IngestReport(source="a.csv", found=2, new=2, not_papers=5)
    assert ingest_text(one, translator("en")).endswith("1 item was skipped as not a paper.")
    assert ingest_text(many, translator("en")).endswith("5 items were skipped as not papers.")
    assert ingest_text(many, translator("zh")).endswith("另有 5 项不是论文，已跳过。")
    assert "skipped" not in ingest_text(IngestReport(source="a", found=2, new=2), translator("en"))


def test_explain_prints_cues_fields_and_skipped_blocks_and_stores_nothing(tmp_path: Path) -> None:
    _expected, scrape = load_case(CASES / "weibo_posts.txt")
    document = tmp_path / "scrape.txt"
    document.write_text(scrape, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    run = run_cli("ingest", "--explain", str(document), database_url=url)
    assert run.code == 0, run.err
    assert run.lines[0] == f"{document}: text document, read as posts: 3 papers, 3 items skipped as not papers"
    assert "  paper 1 (line 9, cue: 《title》 post)" in run.lines
    assert "      title_en: Counting Sheep with Graphs" in run.lines
    assert "      code_url: http://t.cn/AAAA0003" in run.lines
    assert any(line.startswith("  skipped line 6: scraper metadata: 微博位置：无") for line in run.lines)
    assert any("skipped line 13: no authors with an affiliation" in line for line in run.lines), run.lines
    exported = run_cli("export", database_url=url)
    assert exported.code == 0 and exported.out.strip() == b""


def test_explain_of_an_unreadable_document_lists_what_it_skipped_and_fails(tmp_path: Path) -> None:
    document = tmp_path / "notes.md"
    document.write_text("# Notes\n\n| a | b |\n|---|---|\n| Some Words Here | [x](#local) |\n", encoding="utf-8")
    run = run_cli("ingest", "--explain", str(document), database_url=f"sqlite:///{tmp_path / 's.db'}")
    assert run.code == 1
    assert run.lines[0] == f"{document}: markdown document: no recognisable paper entry"
    assert any("table row without an English title and a paper link" in line for line in run.lines)


def test_merging_two_stored_papers_keeps_the_complete_author_list_and_clears_the_flag(engine: Engine) -> None:
    with session_scope(engine) as session:
        keep = Paper(title_en="Kept", authors=["A Ming"], authors_truncated=True, affiliations=[])
        gone = Paper(title_en="Gone", authors=["A Ming", "B Hua"], affiliations=[])
        session.add_all([keep, gone])
        session.flush()
        merge_papers(session=session, keep=keep, gone=gone)
        session.flush()
        assert (keep.authors, keep.authors_truncated) == (["A Ming", "B Hua"], False)
