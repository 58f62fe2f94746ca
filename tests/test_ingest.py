"""Ingesting digests into the store, on SQLite and on PostgreSQL: dedup, merge, re-ingest, atomicity."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlmodel import select

from storage.db import alembic_config, make_engine, migrate, session_scope
from storage.ingest import ABSTRACT_KEY_CHARS, Ingestor, PaperDraft, abstract_key, merge_into, new_draft, paper_keys
from storage.ingest_sql import INSERT_CHUNK, PAPER_COLUMNS, IngestStatements, _json_strings
from storage.models import Digest, DigestPaper, Paper
from storage.papers import EXPORT_KEYS, count_papers, export_rows
from storage.parsing import parse_digest
from tests.conftest import sample_text

ENTRY = """1、[{tag}] {title}

A Author, B Author
[Some Lab]
{zh}

{en}
{link}
"""


def _export(engine: Engine) -> list[dict]:
    """What `python -m bot export` would print, as dicts."""
    with session_scope(engine) as session:
        return list(export_rows(session))


def test_samples_store_46_papers_with_export_keys(engine: Engine, samples_dir) -> None:
    reports = Ingestor(engine).ingest_sources(sorted(str(p) for p in samples_dir.glob("*.txt")))
    assert [(r.found, r.new, r.merged, r.error) for r in reports] == [
        (7, 7, 0, None), (10, 10, 0, None), (9, 9, 0, None), (9, 9, 0, None), (11, 11, 0, None)]
    rows = _export(engine)
    assert len(rows) == 46
    assert all(tuple(row) == EXPORT_KEYS for row in rows)
    tagged = [row for row in rows if not row["category_inferred"]]
    inferred = [row for row in rows if row["category_inferred"]]
    assert len(tagged) == 25 and len(inferred) == 21
    assert all(row["category"] in {"LG", "CV", "CL", "AS", "RO"} for row in inferred)
    adamatch = next(row for row in rows if row["arxiv_id"] == "2106.04732")
    assert adamatch["title_zh"] == "AdaMatch: 半监督学习和域自适应统一方法"
    assert adamatch["digest_ids"] == [reports[2].digest_id]


def test_reingesting_the_same_digest_changes_nothing(engine: Engine) -> None:
    ingestor = Ingestor(engine)
    first = ingestor.ingest_text(sample_text("002"), source="a.txt")
    before = _export(engine)
    again = Ingestor(engine).ingest_text(sample_text("002").replace("\n", "\r\n") + "\n\n", source="b.txt")
    assert again.already_ingested and again.digest_id == first.digest_id and again.new == 0
    assert _export(engine) == before
    with session_scope(engine) as session:
        assert len(session.exec(select(Digest)).all()) == 1


def test_same_paper_in_two_digests_is_one_paper_with_fields_merged(engine: Engine) -> None:
    title = "Ghost-free High Dynamic Range Imaging with Context-aware Transformer"
    bare = "[CV] " + title + "\n\n基于上下文感知Transformer的无重影高动态范围成像\nZ Liu, Y Wang…\n[Megvii]\nhttps://weibo.com/x/1\n"
    richer = ENTRY.format(tag="CV", title=title.upper(), zh="无重影成像。本文提出一种方法。", en="We propose a method.",
                          link="https://arxiv.org/abs/2208.05114v1")
    ingestor = Ingestor(engine)
    one = ingestor.ingest_text(bare, source="one", digest_date=date(2026, 11, 1))
    two = ingestor.ingest_text(richer, source="two", digest_date=date(2026, 11, 2))
    assert (one.new, one.merged) == (1, 0)
    assert (two.new, two.merged) == (0, 1)
    (row,) = _export(engine)
    assert row["title_en"] == title
    assert row["title_zh"] == "基于上下文感知Transformer的无重影高动态范围成像"
    assert row["summary_zh"] == "本文提出一种方法。"
    assert row["abstract_en"] == "We propose a method."
    assert row["arxiv_id"] == "2208.05114"
    assert row["url"] == "https://arxiv.org/abs/2208.05114v1"
    assert row["authors"] == ["A Author", "B Author"], "a complete author list replaces one cut with …"
    assert row["minor"] is False, "a main entry anywhere makes the paper a main entry"
    assert row["digest_ids"] == [one.digest_id, two.digest_id]


def test_arxiv_id_matches_across_different_titles(engine: Engine) -> None:
    ingestor = Ingestor(engine)
    ingestor.ingest_text(ENTRY.format(tag="LG", title="Old Title", zh="旧。", en="Old.",
                                      link="https://arxiv.org/abs/2301.00001"), source="a")
    report = ingestor.ingest_text(ENTRY.format(tag="LG", title="New Title v2", zh="新。", en="New.",
                                               link="https://arxiv.org/pdf/2301.00001v3"), source="b")
    assert (report.new, report.merged) == (0, 1)
    with session_scope(engine) as session:
        assert count_papers(session) == 1


def test_translated_abstract_merges_with_a_titled_copy(engine: Engine) -> None:
    abstract = "Contrastive deep graph clustering, which aims to divide nodes into disjoint groups, is hard."
    ingestor = Ingestor(engine)
    ingestor.ingest_text(f"{abstract}\ntranslated by 谷歌翻译\n", source="translated")
    report = ingestor.ingest_text(ENTRY.format(tag="LG", title="Hard Sample Graph Clustering", zh="图聚类。摘要。",
                                               en=abstract, link="https://arxiv.org/abs/2212.08665"), source="weibo")
    assert (report.new, report.merged) == (0, 1)
    (row,) = _export(engine)
    assert row["title_en"] == "Hard Sample Graph Clustering"
    assert row["category"] == "LG" and row["category_inferred"] is False, "a given tag replaces an inferred one"


def test_one_commentary_for_two_titles_stays_two_papers(engine: Engine) -> None:
    report = Ingestor(engine).ingest_text(sample_text("004"), source="blog")
    assert (report.found, report.new) == (11, 11)


def _fail_linking(engine: Engine, source_suffix: str) -> None:
    """Make the database refuse a digest's links once its papers are written, as a full disk would mid-digest."""
    doomed = (f"(SELECT source FROM digest WHERE id = NEW.digest_id) LIKE '%{source_suffix}' "
              "AND EXISTS (SELECT 1 FROM paper WHERE rank_digest_id = NEW.digest_id)")
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text(f"CREATE TRIGGER fail_links BEFORE INSERT ON digestpaper WHEN {doomed} "
                                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
        else:
            connection.execute(text(f"CREATE FUNCTION fail_links() RETURNS trigger AS $$ BEGIN IF {doomed} THEN "
                                    "RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER fail_links BEFORE INSERT ON digestpaper "
                                    "FOR EACH ROW EXECUTE FUNCTION fail_links()"))


def test_a_failure_mid_digest_stores_nothing_of_it_and_the_batch_goes_on(engine: Engine, tmp_path) -> None:
    good, bad, also_good = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    good.write_text(sample_text("000"), encoding="utf-8")
    bad.write_text(sample_text("003"), encoding="utf-8")
    also_good.write_text(sample_text("002"), encoding="utf-8")
    _fail_linking(engine, "b.txt")  # fires only after digest b's row and papers are written
    reports = Ingestor(engine).ingest_sources([str(good), str(bad), str(also_good)])
    assert [r.ok for r in reports] == [True, False, True]
    assert "disk full" in reports[1].error
    with session_scope(engine) as session:
        sources = session.exec(select(Digest.source)).all()
        titles = set(session.exec(select(Paper.title_en)).all())
    assert sources == [str(good), str(also_good)]
    assert "Compacter: Efficient Low-Rank Hypercomplex Adapter Layers" not in titles
    assert len(titles) == 16


def test_sources_go_in_batch_by_batch_in_order_with_unreadable_ones_reported_between(
        engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.ingest.BATCH_DIGESTS", 2)  # five readable sources: three transactions
    names = ["000", "001", "missing", "002", "003", "004"]
    for name in names:
        if name != "missing":
            (tmp_path / f"{name}.txt").write_text(sample_text(name), encoding="utf-8")
    paths = [str(tmp_path / f"{name}.txt") for name in names]
    ingestor = Ingestor(engine)
    reports = ingestor.ingest_sources(paths)
    assert [report.source for report in reports] == paths
    assert [report.ok for report in reports] == [True, True, False, True, True, True]
    with session_scope(engine) as session:
        assert session.exec(select(Digest.source).order_by(Digest.id)).all() == [p for p in paths if "missing" not in p]
        stored = count_papers(session)
    assert stored == sum(report.new for report in reports) > 0
    again = ingestor.ingest_sources(paths[:2])
    assert [report.already_ingested for report in again] == [True, True]


def test_newest_digest_ranks_first(engine: Engine) -> None:
    ingestor = Ingestor(engine)
    older = ingestor.ingest_text(sample_text("000"), source="old", digest_date=date(2021, 1, 1))
    newer = ingestor.ingest_text(sample_text("003"), source="new", digest_date=date(2021, 6, 1))
    with session_scope(engine) as session:
        ranks = {p.rank_digest_id for p in session.exec(select(Paper)).all()}
        dates = sorted({p.rank_date for p in session.exec(select(Paper)).all()})
    assert ranks == {older.digest_id, newer.digest_id}
    assert dates == [date(2021, 1, 1), date(2021, 6, 1)]


@pytest.mark.parametrize("text", ["", "just some words", "image.png\n"])
def test_unrecognisable_text_is_refused_and_stores_nothing(engine: Engine, text: str) -> None:
    report = Ingestor(engine).ingest_text(text, source="junk")
    assert not report.ok and "no recognisable paper entry" in report.error
    with session_scope(engine) as session:
        assert count_papers(session) == 0


def test_a_digest_too_big_for_one_insert_goes_in_whole_and_only_once(engine: Engine) -> None:
    count = 2 * INSERT_CHUNK + 3
    text = "".join(ENTRY.format(tag="CV", title=f"Paper number {n}", zh=f"论文{n}。摘要。", en=f"Abstract {n}.",
                                link=f"https://arxiv.org/abs/2301.{n:05d}") for n in range(1, count + 1))
    ingestor = Ingestor(engine)
    report = ingestor.ingest_text(text, source="big")
    assert (report.found, report.new, report.error) == (count, count, None)
    assert ingestor.ingest_text(text, source="big again").already_ingested
    rows = _export(engine)
    assert len(rows) == count
    assert {row["arxiv_id"] for row in rows} == {f"2301.{n:05d}" for n in range(1, count + 1)}
    assert all(row["digest_ids"] == [report.digest_id] for row in rows)
    assert rows[-1]["authors"] == ["A Author", "B Author"] and rows[-1]["affiliations"] == ["Some Lab"]


def test_ingest_timestamps_and_dates_read_back_through_the_models(engine: Engine) -> None:
    before = datetime.now(UTC)
    report = Ingestor(engine).ingest_text(sample_text("000"), source="dated", digest_date=date(2026, 11, 1))
    after = datetime.now(UTC)
    with session_scope(engine) as session:
        digest = session.get(Digest, report.digest_id)
        papers = session.exec(select(Paper)).all()
        links = session.exec(select(DigestPaper).order_by(DigestPaper.position)).all()
    slack = timedelta(seconds=1)  # PostgreSQL keeps microseconds, SQLite text too: only clock skew matters
    assert digest.digest_date == date(2026, 11, 1) and before - slack <= digest.ingested_at <= after + slack
    assert all(before - slack <= paper.created_at <= after + slack for paper in papers)
    assert {paper.rank_date for paper in papers} == {date(2026, 11, 1)}
    assert [link.position for link in links] == list(range(1, report.found + 1))
    assert all(isinstance(paper.highlight, bool) and isinstance(paper.authors, list) for paper in papers)


def test_paper_columns_are_the_drafts_fields_and_the_tables_columns() -> None:
    assert set(PAPER_COLUMNS) == set(PaperDraft.__slots__) - {"id"}
    assert set(PAPER_COLUMNS) <= set(Paper.__table__.columns.keys())


def test_an_unsupported_database_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="unsupported database dialect 'mysql'"):
        IngestStatements("mysql", "format")


_NOT_WORD = re.compile(r"[\W_]+")


@given(st.text(max_size=1500) | st.text(alphabet=st.characters(max_codepoint=127), max_size=1500))
def test_abstract_fingerprint_is_letters_and_digits_casefolded(body: str) -> None:
    """Keys stored by earlier versions must still match: the ASCII shortcut gives the general rule's key."""
    folded = _NOT_WORD.sub("", body[:ABSTRACT_KEY_CHARS].casefold())
    expected = hashlib.sha1(folded.encode("utf-8")).hexdigest() if folded else None
    assert abstract_key(PaperDraft(abstract_en=body or None)) == expected


@given(st.lists(st.text(max_size=30), max_size=6))
def test_author_lists_are_stored_as_json_dumps_would_write_them(names: list[str]) -> None:
    assert _json_strings(names) == json.dumps(names)


def test_a_new_paper_is_drafted_as_merging_it_into_an_empty_draft_would() -> None:
    papers = [p for prefix in ("000", "001", "002", "003", "004") for p in parse_digest(sample_text(prefix)).papers]
    for parsed in papers:
        keys = dict(paper_keys(parsed))
        merged = PaperDraft(minor=parsed.minor, title_key=keys.get("title"), abstract_key=keys.get("abstract"))
        merge_into(merged, parsed, rank_date=date(2026, 11, 1), rank_digest_id=7)
        assert new_draft(parsed, keys, rank_date=date(2026, 11, 1), rank_digest_id=7) == merged


def _checked_index_and_plan(engine: Engine) -> tuple[str, str]:
    """The arXiv-checked index's definition, and how a range test on its column is planned."""
    query = "SELECT id FROM paper WHERE arxiv_checked_at >= '2026-01-01'"
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            definition = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_paper_arxiv_checked_at'").scalar_one()
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table is read whole otherwise
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {query}"))
        else:
            definition = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_paper_arxiv_checked_at'").scalar_one()
            plan = " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
    return definition, plan


def test_migration_0008_indexes_only_checked_papers_keeps_them_and_goes_back(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004_search")
        for arxiv_id, checked in (("2601.00001", "2026-11-20 08:00:00"), ("2601.00002", None)):
            connection.execute(text(
                "INSERT INTO paper (category_inferred, title_en, authors, affiliations, arxiv_id, highlight, minor, "
                "created_at, arxiv_checked_at) VALUES (false, 'Kept', '[]', '[]', :arxiv_id, false, false, "
                "CURRENT_TIMESTAMP, :checked)"), {"arxiv_id": arxiv_id, "checked": checked})
    migrate(engine)
    definition, plan = _checked_index_and_plan(engine)
    assert "arxiv_checked_at IS NOT NULL" in definition
    assert "ix_paper_arxiv_checked_at" in plan, "the partial index still serves the range test of seen marks"
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT arxiv_id FROM paper WHERE arxiv_checked_at >= '2026-01-01'")
        assert [row[0] for row in rows] == ["2601.00001"]
        assert connection.exec_driver_sql("SELECT count(*) FROM paper").scalar_one() == 2
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004_search")
    definition, _plan = _checked_index_and_plan(engine)
    assert "WHERE" not in definition.upper()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM paper").scalar_one() == 2
    engine.dispose()
