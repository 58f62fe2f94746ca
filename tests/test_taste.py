"""A chat's taste: paper vectors stored with papers, ranking by similarity, today's order when ranking is off."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, text
from sqlmodel import Session, select

from storage.db import alembic_config, make_engine, migrate, session_scope
from storage.deliveries import record_deliveries
from storage.favourites import remove_favourite, save_favourite
from storage.ingest import Ingestor
from storage.models import Paper, PaperVector, TasteMode
from storage.papers import pick_for_destination, pick_unseen_papers
from storage.taste import combine, dot_many, ranking_is_on, read_taste, set_taste_mode, top_words
from storage.vectors import (
    PaperFields,
    SparseVector,
    VectorBatch,
    author_key,
    backfill_paper_vectors,
    chinese_bigrams,
    chinese_slots,
    english_words,
    paper_vector,
    slot_of,
    vectors_of,
)
from tests.conftest import ingest_samples
from tests.taste_fixtures import GRASPING, REASONING, newer_digest, older_digest

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
ALL = ["LG", "CV", "CL", "AS", "RO"]


def _vector(entry: tuple[str, str, str, str, str]) -> SparseVector:
    _tag, title, authors, summary, abstract = entry
    return paper_vector(title_en=title, title_zh=None, abstract_en=abstract, summary_zh=summary,
                        authors=authors.split(", "))


def test_words_bigrams_and_authors_are_features() -> None:
    assert english_words("The Chain-of-Thought of LLMs, a survey") == ["chain-of-thought", "llms", "survey"]
    assert chinese_bigrams("机械手抓取 ok 触觉") == ["机械", "械手", "手抓", "抓取", "触觉"]
    assert author_key("Jie Ren") == author_key("J Ren") == "@ren_j"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="机械手抓取触觉学习 ab,。\n\u4e00\u9fff\u4dff\ua000", max_size=30), max_size=6))
def test_chinese_features_found_in_arrays_are_the_bigrams_and_their_slots(texts: list[str]) -> None:
    slots, owners = chinese_slots(texts)
    found = sorted(zip(owners.tolist(), slots.tolist(), strict=True))
    expected = sorted((index, slot_of(gram)) for index, text in enumerate(texts) for gram in chinese_bigrams(text))
    assert found == expected


def test_vectors_of_a_batch_are_the_vectors_of_each_paper() -> None:
    papers = [PaperFields(None, title, None, abstract, summary, authors.split(", "))
              for _tag, title, authors, summary, abstract in GRASPING + REASONING]
    for alone, batched in zip([vectors_of([paper])[0] for paper in papers], vectors_of(papers), strict=True):
        assert np.array_equal(alone.slots, batched.slots) and np.allclose(alone.weights, batched.weights)


def test_a_vector_survives_storage_and_has_length_one() -> None:
    vector = _vector(GRASPING[0])
    back = SparseVector.from_bytes(vector.to_bytes())
    assert np.array_equal(back.slots, vector.slots)
    assert abs(float(np.dot(back.weights, back.weights)) - 1.0) < 0.01
    assert list(back.slots) == sorted(back.slots)


def test_papers_of_one_kind_are_closer_to_each_other_than_to_the_other_kind() -> None:
    grasping = [_vector(entry).to_bytes() for entry in GRASPING]
    reasoning = [_vector(entry).to_bytes() for entry in REASONING]
    taste = combine(VectorBatch.from_bytes(grasping[:3]), VectorBatch.from_bytes([]))
    near = dot_many(taste, VectorBatch.from_bytes(grasping[3:]))
    far = dot_many(taste, VectorBatch.from_bytes(reasoning[3:]))
    assert near.min() > far.max() and len(near) == len(far) == 3
    pushed_away = combine(VectorBatch.from_bytes(grasping[:3]), VectorBatch.from_bytes(reasoning[:3]))
    assert dot_many(pushed_away, VectorBatch.from_bytes(reasoning[3:])).max() < far.min()
    chinese_only = paper_vector(title_en=None, title_zh=None, abstract_en=None, summary_zh=GRASPING[1][3], authors=())
    one = combine(VectorBatch.from_bytes(grasping[:1]), VectorBatch.from_bytes([]))
    assert dot_many(one, VectorBatch.from_bytes([chinese_only.to_bytes()]))[0] > 0  # Chinese text alone matches


def test_ranking_starts_at_three_sources_unless_switched() -> None:
    assert not ranking_is_on(TasteMode.AUTO, 2)
    assert ranking_is_on(TasteMode.AUTO, 3)
    assert ranking_is_on(TasteMode.ON, 1)
    assert not ranking_is_on(TasteMode.ON, 0)
    assert not ranking_is_on(TasteMode.OFF, 10)


def _store(engine: Engine) -> dict[str, int]:
    """The two fixture digests, older first; paper ids by title."""
    ingestor = Ingestor(engine)
    assert ingestor.ingest_text(older_digest(), source="older", digest_date=date(2026, 11, 1)).ok
    assert ingestor.ingest_text(newer_digest(), source="newer", digest_date=date(2026, 11, 2)).ok
    ingestor.write_vectors()
    with session_scope(engine) as session:
        return {paper.title_en: paper.id for paper in session.exec(select(Paper))}


def _star(engine: Engine, chat_id: int, ids: list[int]) -> None:
    with session_scope(engine) as session:
        for paper_id in ids:
            save_favourite(session=session, chat_id=chat_id, paper_id=paper_id, now=NOW)


def _deliver(session: Session, chat_id: int, paper_ids: list[int]) -> None:
    record_deliveries(session=session, chat_id=chat_id, paper_ids=paper_ids, kind="today", message_id=1, now=NOW)


def test_every_stored_paper_gets_its_vector_and_old_ones_are_backfilled(engine: Engine) -> None:
    ingest_samples(engine)
    with session_scope(engine) as session:
        papers = session.exec(select(func.count()).select_from(Paper)).one()
        assert session.exec(select(func.count()).select_from(PaperVector)).one() == papers > 40
        session.exec(delete(PaperVector).where(PaperVector.paper_id % 2 == 0))
    with engine.begin() as connection:
        assert backfill_paper_vectors(connection, batch=7) == papers // 2
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(PaperVector)).one() == papers


def test_a_chat_that_starred_grasping_papers_gets_grasping_first_with_reasons(engine: Engine) -> None:
    ids = _store(engine)
    older = [ids[title] for _tag, title, *_rest in GRASPING[:3] + REASONING[:3]]
    with session_scope(engine) as session:
        for chat_id in (1, 2):
            _deliver(session, chat_id, older)  # both were sent the older digest; chat 1 starred its grasping papers
    _star(engine, 1, older[:3])
    with session_scope(engine) as session:
        pick = pick_for_destination(session=session, chat_id=1, categories=ALL, limit=3)
        today = pick_unseen_papers(session=session, chat_id=2, categories=ALL, limit=3)
    assert {paper.title_en for paper in pick.papers} == {title for _tag, title, *_rest in GRASPING[3:]}
    assert [paper.category for paper in today] == ["CL", "CL", "CL"]
    assert set(pick.reasons) == {paper.id for paper in pick.papers}
    assert {reason.title_en for reason in pick.reasons.values()} <= {title for _tag, title, *_rest in GRASPING[:3]}
    assert all(reason.favourite for reason in pick.reasons.values())


def test_ranking_off_or_too_few_favourites_gives_exactly_todays_order(engine: Engine) -> None:
    ingest_samples(engine)
    ids = _store(engine)
    _star(engine, 1, [ids[title] for _tag, title, *_rest in GRASPING[:3]])
    _star(engine, 3, [ids[title] for _tag, title, *_rest in GRASPING[:2]])  # two: not yet
    with session_scope(engine) as session:
        set_taste_mode(session=session, chat_id=1, mode=TasteMode.OFF, now=NOW)
    for _round in range(3):  # the seen marks move the same way too
        with session_scope(engine) as session:
            today = [paper.id for paper in pick_unseen_papers(session=session, chat_id=2, categories=ALL, limit=5)]
            switched_off = pick_for_destination(session=session, chat_id=1, categories=ALL, limit=5)
            two_stars = pick_for_destination(session=session, chat_id=3, categories=ALL, limit=5)
            nothing = pick_for_destination(session=session, chat_id=4, categories=ALL, limit=5)
            for chat_id, pick in ((1, switched_off), (3, two_stars), (4, nothing)):
                assert [paper.id for paper in pick.papers] == today
                assert pick.reasons == {}
                _deliver(session, chat_id, today)
            _deliver(session, 2, today)


def test_switching_on_ranks_with_a_single_favourite(engine: Engine) -> None:
    ids = _store(engine)
    _star(engine, 1, [ids[GRASPING[0][1]]])
    with session_scope(engine) as session:
        assert read_taste(session=session, chat_id=1) is None
        set_taste_mode(session=session, chat_id=1, mode=TasteMode.ON, now=NOW)
    with session_scope(engine) as session:
        taste = read_taste(session=session, chat_id=1)
        assert taste is not None and "grasping" in top_words(taste)
        pick = pick_for_destination(session=session, chat_id=1, categories=ALL, limit=2)
    assert {paper.category for paper in pick.papers} == {"RO"}


def test_migration_0015_backfills_vectors_of_stored_papers_and_goes_back(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0012_channels")
        connection.execute(text(
            "INSERT INTO paper (id, category_inferred, title_en, authors, affiliations, highlight, minor, created_at) "
            "VALUES (1, false, 'Tactile Grasping', '[\"Mei Lin\"]', '[]', false, false, CURRENT_TIMESTAMP)"))
    migrate(engine)
    with engine.connect() as connection:
        (features,) = connection.exec_driver_sql("SELECT features FROM paper_vector WHERE paper_id = 1").one()
    assert len(SparseVector.from_bytes(bytes(features)).slots) == 3  # two title words and the author
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0012_channels")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM paper").scalar_one() == 1
    migrate(engine)
    engine.dispose()


def test_unstarring_takes_a_paper_out_of_the_taste(engine: Engine) -> None:
    ids = _store(engine)
    starred = [ids[title] for _tag, title, *_rest in GRASPING[:3]]
    _star(engine, 1, starred)
    with session_scope(engine) as session:
        taste = read_taste(session=session, chat_id=1)
        assert taste is not None and len(taste.sources) == 3
        remove_favourite(session=session, chat_id=1, paper_id=starred[0])
    with session_scope(engine) as session:
        assert read_taste(session=session, chat_id=1) is None, "two favourites: below the automatic start"
        assert len(read_taste(session=session, chat_id=1, when_off=True).sources) == 2


def test_a_ranking_chat_is_not_offered_what_it_already_starred(engine: Engine) -> None:
    ids = _store(engine)
    starred = [ids[title] for _tag, title, *_rest in GRASPING[:3]]
    _star(engine, 1, starred)  # starred from /search, say: never sent to this chat
    with session_scope(engine) as session:
        pick = pick_for_destination(session=session, chat_id=1, categories=ALL, limit=6)
    assert {paper.title_en for paper in pick.papers[:3]} == {title for _tag, title, *_rest in GRASPING[3:]}
    assert not {paper.id for paper in pick.papers} & set(starred)
