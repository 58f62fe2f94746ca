"""Search: the term text, query parsing, and ranked lookups on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, text, update
from sqlmodel import Session, select

from bot.i18n import translator
from bot.views import search_page
from storage.db import alembic_config, make_engine, migrate, open_store, session_scope
from storage.ingest import Ingestor
from storage.models import DigestPaper, Paper
from storage.search import (
    MAX_QUERY_LENGTH,
    MAX_QUERY_TERMS,
    MAX_RESULTS,
    Phrase,
    QueryError,
    QueryProblem,
    get_saved_search,
    parse_query,
    save_search,
    search_papers,
    search_terms,
    word_pairs,
)
from tests.conftest import sample_text

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------------
# The term text and queries (pure)
# ---------------------------------------------------------------------------------------------------------------


def test_chinese_runs_become_overlapping_bigrams_ending_with_the_last_character() -> None:
    assert search_terms("扩散模型") == "扩散 散模 模型 型"
    assert search_terms("图") == "图"
    assert search_terms("基于Transformer的扩散模型。") == "基于 于 transformer 的扩 扩散 散模 模型 型"


def test_latin_words_are_lowercased_and_split_at_punctuation() -> None:
    assert search_terms("Self-Supervised ViT-B/16, e.g. 2401.01234", None, "Müller") == \
        "self supervised vit b 16 e g 2401 01234 müller"
    assert search_terms(None, "") == ""


def test_a_query_is_words_and_quoted_phrases() -> None:
    query = parse_query('diffusion "language model" 扩散模型 图')
    assert query.phrases == (Phrase(("diffusion",)), Phrase(("language", "model")),
                             Phrase(("扩散", "散模", "模型")), Phrase(("图",), prefix=True))
    assert query.fts5() == '"diffusion" AND "language model" AND "扩散 散模 模型" AND "图"*'
    assert query.tsquery() == "('diffusion') & 'languageǂmodel' & ('扩散' <-> '散模' <-> '模型') & ('图':*)"
    assert query.rank_tsquery() == "'diffusion' & 'language' & 'model' & '扩散' & '散模' & '模型' & '图':*"
    assert parse_query('"Wei Müller Wang"').tsquery() == \
        "('wei' <-> 'müller' <-> 'wang') & 'weiǂmüller' & 'müllerǂwang'", "longer or non-ASCII: checked as a phrase"


def test_smart_quotes_from_phone_keyboards_work_like_straight_ones() -> None:
    assert parse_query("“graph neural”") == parse_query('"graph neural"')


def test_a_cjk_run_inside_a_phrase_keeps_its_run_end() -> None:
    """In the index every CJK run ends with its last character, so a phrase going on after one must expect it."""
    assert parse_query('"扩散 model"').phrases == (Phrase(("扩散", "散", "model")),)


@pytest.mark.parametrize(("query", "problem"), [
    ("", QueryProblem.EMPTY),
    ("   ", QueryProblem.EMPTY),
    ("x" * (MAX_QUERY_LENGTH + 1), QueryProblem.TOO_LONG),
    ('"diffusion model', QueryProblem.UNBALANCED_QUOTES),
    ("“扩散模型", QueryProblem.UNBALANCED_QUOTES),
    (" ".join(f"w{n}" for n in range(MAX_QUERY_TERMS + 1)), QueryProblem.TOO_MANY_TERMS),
    ("!!! ??? — …", QueryProblem.NOTHING_SEARCHABLE),
    ('""', QueryProblem.NOTHING_SEARCHABLE),
])
def test_bad_queries_are_refused_with_a_reason(query: str, problem: QueryProblem) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.problem is problem


HOSTILE = "NEAR(a b) OR title:x* ' & | ! <-> ^"


def test_hostile_query_syntax_is_only_words() -> None:
    """FTS5 and tsquery operators typed by a user are punctuation, never syntax."""
    query = parse_query(HOSTILE)
    assert query.fts5() == '"near a" AND "b" AND "or" AND "title x"', "a word with punctuation inside is a phrase"
    assert query.tsquery() == "'nearǂa' & ('b') & ('or') & 'titleǂx'"


# ---------------------------------------------------------------------------------------------------------------
# The store, on SQLite and PostgreSQL
# ---------------------------------------------------------------------------------------------------------------


def _paper(**fields: object) -> Paper:
    """A paper with just the fields a test cares about."""
    return Paper(**{"authors": [], "affiliations": [], "rank_date": date(2026, 11, 1), **fields})


def _add(engine: Engine, *papers: Paper) -> list[int]:
    """Store papers (through the ORM, as any writer would) and return their ids."""
    with session_scope(engine) as session:
        session.add_all(papers)
        session.flush()
        return [paper.id for paper in papers]


def _find(engine: Engine, query: str, *, offset: int = 0, limit: int = 10) -> tuple[list[int], int]:
    """Ids of one page of results, and the match count."""
    with session_scope(engine) as session:
        results = search_papers(session=session, query=parse_query(query), offset=offset, limit=limit)
        return [paper.id for paper in results.papers], results.total


@pytest.fixture
def samples(engine: Engine) -> Engine:
    """The five bundled digests in the store."""
    ingestor = Ingestor(engine)
    for prefix in ("000", "001", "002", "003", "004"):
        assert ingestor.ingest_text(sample_text(prefix), source=prefix, digest_date=date(2026, 11, 1)).ok
    return engine


def _ids_where(engine: Engine, predicate: object) -> set[int]:
    with session_scope(engine) as session:
        return set(session.exec(select(Paper.id).where(predicate)).all())


def test_english_chinese_author_and_phrase_queries_find_the_sample_papers(samples: Engine) -> None:
    diffusion, total = _find(samples, "Diffusion")
    assert total >= 1 and diffusion[0] in _ids_where(samples, Paper.title_en.contains("Diffusion"))
    ids, _total = _find(samples, "强化学习")
    assert ids and set(ids) == _ids_where(samples, Paper.summary_zh.contains("强化学习"))
    two_characters = _ids_where(samples, Paper.summary_zh.contains("模型") | Paper.title_zh.contains("模型"))
    assert set(_find(samples, "模型", limit=100)[0]) == two_characters and len(two_characters) > 5
    with session_scope(samples) as session:
        author = next(paper.authors[0] for paper in session.exec(select(Paper).order_by(Paper.id))
                      if paper.authors and " " in paper.authors[0])
    assert _find(samples, f'"{author}"')[1] >= 1
    phrase, _total = _find(samples, '"language model"')
    words, _total = _find(samples, "language model", limit=100)
    assert phrase and set(phrase) < set(words), "a phrase is stricter than its words"


def test_one_chinese_character_matches_wherever_it_stands(engine: Engine) -> None:
    start, middle, end = _add(engine, _paper(summary_zh="图像生成。"), _paper(summary_zh="用于图的学习"),
                              _paper(summary_zh="知识图"))
    _add(engine, _paper(summary_zh="语言模型"))
    assert set(_find(engine, "图")[0]) == {start, middle, end}


def test_title_matches_rank_above_abstract_matches(engine: Engine) -> None:
    in_title, in_abstract, newer_in_abstract = _add(
        engine,
        _paper(title_en="Sparse Attention at Scale", abstract_en="We study long contexts."),
        _paper(title_en="Long Contexts", abstract_en="We study sparse attention and sparse attention again."),
        _paper(title_en="Memory", abstract_en="Sparse attention helps."))
    assert _find(engine, "sparse attention")[0][0] == in_title
    assert set(_find(engine, "sparse attention")[0][1:]) == {in_abstract, newer_in_abstract}


def test_results_page_in_a_stable_order(engine: Engine) -> None:
    ids = _add(engine, *[_paper(title_en=f"Robot number {n}", abstract_en="A robot.") for n in range(12)])
    first, total = _find(engine, "robot", limit=5)
    second, _ = _find(engine, "robot", offset=5, limit=5)
    third, _ = _find(engine, "robot", offset=10, limit=5)
    assert total == 12 and len(first) == 5 and len(third) == 2
    assert sorted(first + second + third) == sorted(ids)
    assert _find(engine, "robot", offset=15, limit=5) == ([], 12)
    assert _find(engine, "nonexistentword") == ([], 0)
    assert _find(engine, HOSTILE) == ([], 0), "operators typed by a user run as plain words"


def test_the_index_follows_merges_edits_and_deletes(engine: Engine) -> None:
    digest = ("1、[CV] Dense Depth from Diffusion\n\nA Author, B Author\n[Depth Lab]\n\n"
              "We estimate depth with diffusion.\nhttps://arxiv.org/abs/2611.00001\n")
    assert Ingestor(engine).ingest_text(digest, source="first", digest_date=date(2026, 11, 1)).ok
    assert _find(engine, "深度估计") == ([], 0)
    later = ("1、[CV] Dense Depth from Diffusion\n\nA Author, B Author\n[Depth Lab]\n"
             "基于扩散的深度估计。我们用扩散模型做深度估计。\n\nWe estimate depth with diffusion.\n"
             "https://arxiv.org/abs/2611.00001\n")
    assert Ingestor(engine).ingest_text(later, source="second", digest_date=date(2026, 11, 2)).ok
    (paper_id,), total = _find(engine, "深度估计")
    assert total == 1 and _find(engine, "diffusion")[0] == [paper_id], "a merge re-indexes the paper, once"
    with session_scope(engine) as session:
        session.exec(update(Paper).where(Paper.id == paper_id).values(title_en="Renamed Work"))
    assert _find(engine, "renamed")[0] == [paper_id] and _find(engine, "dense")[0] == []
    with session_scope(engine) as session:
        session.exec(delete(DigestPaper).where(DigestPaper.paper_id == paper_id))
        session.exec(delete(Paper).where(Paper.id == paper_id))
    assert _find(engine, "renamed") == ([], 0) and _find(engine, "深度估计") == ([], 0)


def test_sqlite_queues_stored_papers_and_the_next_search_indexes_them(sqlite_url: str) -> None:
    """Ingesting only queues papers on SQLite (writing the entries would halve the ingest rate)."""
    engine = open_store(sqlite_url)
    first, second = _add(engine, _paper(title_en="Queued Graph Paper"), _paper(title_en="Another Graph Paper"))
    with session_scope(engine) as session:
        queued = session.connection().execute(text("SELECT paper_id FROM search_queue ORDER BY paper_id")).scalars()
        assert list(queued) == [first, second]
    assert sorted(_find(engine, "graph")[0]) == [first, second]
    with session_scope(engine) as session:
        assert session.connection().execute(text("SELECT count(*) FROM search_queue")).scalar_one() == 0
        session.exec(update(Paper).where(Paper.id == first).values(title_en="Renamed Tree Paper"))
    assert _find(engine, "graph")[0] == [second] and _find(engine, "tree")[0] == [first], "no stale entry left"
    engine.dispose()


def test_saved_searches_belong_to_their_chat_and_old_ones_expire(engine: Engine) -> None:
    with session_scope(engine) as session:
        ids = [save_search(session=session, chat_id=7, query=f"q{n}", now=NOW).id for n in range(25)]
        other = save_search(session=session, chat_id=8, query="other", now=NOW).id
    with session_scope(engine) as session:
        assert get_saved_search(session=session, chat_id=7, search_id=ids[-1]).query == "q24"
        assert get_saved_search(session=session, chat_id=7, search_id=ids[0]) is None, "only the newest 20 stay"
        assert get_saved_search(session=session, chat_id=7, search_id=other) is None, "another chat's search"
        assert get_saved_search(session=session, chat_id=8, search_id=other).query == "other"


TRICKY_TEXTS = [
    "扩散模型 Diffusion-Models 2401.01234v2",
    "Müller & Łukasz, École Polytechnique; ÉCOLE",
    "カタカナ・テスト ひらがな 漢字かな混じり",
    "x_y __init__ snake_case CamelCase ΑΒΓ αβγ",
    "基于Transformer的图神经网络(GNN)。",
    "tabs\tand\nnewlines  and   spaces",
    "",
]


def test_postgresql_splits_text_exactly_like_python(postgres_url: str) -> None:
    """The SQL twins that feed PostgreSQL's index must agree with the Python that splits queries."""
    engine = open_store(postgres_url)
    with Session(engine) as session:
        for value in TRICKY_TEXTS:
            stored, pairs = session.connection().execute(
                text("SELECT search_terms(:value), search_pairs(search_terms(:value))"), {"value": value}).one()
            assert stored == search_terms(value), value
            assert pairs == " ".join(word_pairs(stored.split())), value
    engine.dispose()


def test_upgrading_a_store_indexes_the_papers_already_in_it(database_url: str) -> None:
    """Migration 0004 on a store that has papers: they are searchable at once; downgrading keeps them."""
    engine = make_engine(database_url)
    before = ScriptDirectory.from_config(alembic_config(engine)).get_revision("0004_search").down_revision
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, before)
    with engine.begin() as connection:
        # The columns as they were at that revision: the model may have grown since.
        connection.execute(text(
            "INSERT INTO paper (title_en, title_zh, authors, affiliations, category_inferred, highlight, minor,"
            " created_at, summary_zh) VALUES (:title_en, :title_zh, '[]', '[]', false, false, false, :created_at,"
            " :summary_zh)"),
            {"title_en": "Old Paper About Graphs", "title_zh": "旧论文", "created_at": NOW, "summary_zh": "图神经网络"})
    migrate(engine)
    assert len(_find(engine, "graphs")[0]) == 1 and len(_find(engine, "神经网络")[0]) == 1
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, before)
    with session_scope(engine) as session:
        assert session.exec(select(Paper.title_en)).all() == ["Old Paper About Graphs"]
    migrate(engine)
    assert len(_find(engine, "graphs")[0]) == 1
    engine.dispose()


# ---------------------------------------------------------------------------------------------------------------
# The results page (pure)
# ---------------------------------------------------------------------------------------------------------------


def test_a_results_page_numbers_results_across_pages_with_stars_details_and_paging() -> None:
    papers = [_paper(id=100 + n, category="CV", title_en=f"Paper <{n}>", authors=["Wei Wang", "Li Chen"])
              for n in range(5)]
    page = search_page(papers, query="vision & <b>", total=12, page=1, search_id=33, saved={101}, t=translator("en"))
    assert page.text.startswith("<b>12 papers</b> match <b>vision &amp; &lt;b&gt;</b> · 2/3\n6. <b>[CV]</b> ")
    assert "Paper &lt;0&gt; — Wei Wang et al. · <code>#100</code>" in page.text
    rows = [[(button.text, button.callback_data) for button in row] for row in page.keyboard.inline_keyboard]
    assert rows[0][:2] == [("⭐ 6", "f:100"), ("✅ 7", "f:101")] and rows[1][0] == ("📄 6", "d:100")
    assert rows[2] == [("◀", "s:33:0"), ("▶", "s:33:2")]


def test_a_query_matching_more_than_the_window_says_only_the_newest_are_ranked() -> None:
    page = search_page([_paper(id=1, title_en="A")], query="learning", total=MAX_RESULTS, page=0, search_id=1,
                       saved=set(), t=translator("zh"))
    assert page.text.startswith(f"<b>{MAX_RESULTS}+ 篇论文</b>匹配 <b>learning</b>;只对最新的 {MAX_RESULTS} 篇排序")
    nothing = search_page([], query="zzz", total=0, page=0, search_id=0, saved=set(), t=translator("en"))
    assert nothing.keyboard is None and "No papers match <b>zzz</b>" in nothing.text
