"""Keyword filters in the store: kept per destination, matched in SQL by the pick, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from storage.chats import ensure_chat
from storage.db import session_scope
from storage.deliveries import record_deliveries
from storage.ingest import Ingestor
from storage.keywords import (
    MAX_KEYWORDS,
    KeywordLimitError,
    KeywordSpec,
    add_keywords,
    clear_keywords,
    destination_keywords,
    matched_keywords,
    paper_matches,
    remove_keywords,
)
from storage.models import Paper
from storage.papers import pick_unseen_papers

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
CHAT, TOPIC = -100_200, 17
DIGEST = """LG - 机器学习 CV - 计算机视觉 CL - 计算与语言 AS - 音频与语音 RO - 机器人 (*表示值得重点关注)

1、[CV] Diffusion Models for Image Synthesis

A Author
[Vision Lab]
扩散模型用于图像生成。本文研究扩散模型。

We study DIFFUSION models for synthesis.
https://arxiv.org/abs/2611.10001

2、[CV] A Survey of Vision Transformers

B Author
[Vision Lab]
视觉Transformer综述。本文综述视觉模型。

We survey vision transformers.
https://arxiv.org/abs/2611.10002

3、[LG] Graph Neural Networks at 100% Scale

C Author
[Graph Lab]
图神经网络扩展。本文把图神经网络扩展到大规模。

We scale graph neural networks to 100% of the web_graph.
https://arxiv.org/abs/2611.10003

4、[RO] 机器人抓取的强化学习

D Author
[Robot Lab]
机器人抓取。本文用强化学习训练抓取。

We train grasping with reinforcement learning.
https://arxiv.org/abs/2611.10004
"""


@pytest.fixture
def store(engine: Engine) -> Engine:
    """Four papers: two CV (one a survey), one LG about graph networks, one RO with a Chinese title."""
    report = Ingestor(engine).ingest_text(DIGEST, source="keywords.txt", digest_date=date(2026, 11, 19))
    assert (report.new, report.error) == (4, None)
    return engine


def _titles(papers: list[Paper]) -> list[str]:
    return [paper.title_en or paper.title_zh or "" for paper in papers]


def _pick(engine: Engine, categories: list[str], *, thread_id: int = 0) -> list[str]:
    """What the destination gets next, its keywords applied as delivery applies them."""
    with session_scope(engine) as session:
        keywords = destination_keywords(session=session, chat_id=CHAT, thread_id=thread_id)
        return _titles(pick_unseen_papers(session=session, chat_id=CHAT, categories=categories, limit=10,
                                          thread_id=thread_id, keywords=bool(keywords)))


def _add(engine: Engine, *specs: KeywordSpec, thread_id: int = 0) -> None:
    with session_scope(engine) as session:
        add_keywords(session=session, chat_id=CHAT, thread_id=thread_id, keywords=specs, now=NOW)


def test_an_included_keyword_widens_the_digest_beyond_the_categories(store: Engine) -> None:
    assert _pick(store, ["CV"]) == ["Diffusion Models for Image Synthesis", "A Survey of Vision Transformers"]
    _add(store, KeywordSpec("graph neural"))
    assert _pick(store, ["CV"]) == ["Diffusion Models for Image Synthesis", "A Survey of Vision Transformers",
                                    "Graph Neural Networks at 100% Scale"]


def test_an_excluded_keyword_removes_papers_even_in_the_categories(store: Engine) -> None:
    _add(store, KeywordSpec("survey", exclude=True))
    assert _pick(store, ["CV"]) == ["Diffusion Models for Image Synthesis"]


def test_exclusion_beats_inclusion(store: Engine) -> None:
    _add(store, KeywordSpec("graph"), KeywordSpec("web", exclude=True))
    assert "Graph Neural Networks at 100% Scale" not in _pick(store, ["CV"])


def test_matching_ignores_case_and_reads_chinese_titles_and_summaries_as_substrings(store: Engine) -> None:
    _add(store, KeywordSpec("抓取"))  # only in the Chinese title and summary of the RO paper
    assert _pick(store, ["LG"]) == ["Graph Neural Networks at 100% Scale", "机器人抓取的强化学习"]
    with session_scope(store) as session:
        clear_keywords(session=session, chat_id=CHAT, thread_id=0)
    _add(store, KeywordSpec("diffusion"))  # "DIFFUSION" in the abstract, "Diffusion" in the title
    assert _pick(store, ["RO"]) == ["Diffusion Models for Image Synthesis", "机器人抓取的强化学习"]


def test_like_wildcards_in_keywords_are_taken_literally(store: Engine) -> None:
    _add(store, KeywordSpec("100%"), KeywordSpec("web_graph"))
    assert _pick(store, ["RO"]) == ["Graph Neural Networks at 100% Scale", "机器人抓取的强化学习"]
    with session_scope(store) as session:
        clear_keywords(session=session, chat_id=CHAT, thread_id=0)
    _add(store, KeywordSpec("%"), KeywordSpec("_"), KeywordSpec("vision_"), KeywordSpec("a%b"))
    assert _pick(store, ["RO"]) == ["Graph Neural Networks at 100% Scale", "机器人抓取的强化学习"], \
        "'%' and '_' match only themselves: the graph paper has both, no paper has 'vision_' or 'a%b'"


def test_keywords_of_one_destination_do_not_filter_another(store: Engine) -> None:
    _add(store, KeywordSpec("survey", exclude=True), thread_id=TOPIC)
    assert _pick(store, ["CV"]) == ["Diffusion Models for Image Synthesis", "A Survey of Vision Transformers"]
    assert _pick(store, ["CV"], thread_id=TOPIC) == ["Diffusion Models for Image Synthesis"]


def test_seen_papers_are_per_destination(store: Engine) -> None:
    with session_scope(store) as session:
        first = pick_unseen_papers(session=session, chat_id=CHAT, categories=["CV"], limit=1)
        record_deliveries(session=session, chat_id=CHAT, paper_ids=[first[0].id], kind="today", message_id=1,
                          now=NOW, thread_id=TOPIC)
    assert _pick(store, ["CV"]) == ["Diffusion Models for Image Synthesis", "A Survey of Vision Transformers"]
    assert _pick(store, ["CV"], thread_id=TOPIC) == ["A Survey of Vision Transformers"]


def test_the_pick_with_keywords_still_stops_at_the_limit(store: Engine) -> None:
    _add(store, KeywordSpec("we"))
    with session_scope(store) as session:
        picked = pick_unseen_papers(session=session, chat_id=CHAT, categories=["AS"], limit=2, keywords=True)
    assert _titles(picked) == ["Diffusion Models for Image Synthesis", "A Survey of Vision Transformers"]


def test_add_reports_new_switched_and_unchanged_keywords(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = add_keywords(session=session, chat_id=CHAT, thread_id=0, now=NOW,
                             keywords=[KeywordSpec("diffusion"), KeywordSpec("gan", exclude=True)])
        assert (first.added, first.switched, first.unchanged) == (
            [KeywordSpec("diffusion"), KeywordSpec("gan", True)], [], [])
        second = add_keywords(session=session, chat_id=CHAT, thread_id=0, now=NOW,
                              keywords=[KeywordSpec("diffusion"), KeywordSpec("gan"), KeywordSpec("扩散")])
        assert (second.added, second.switched, second.unchanged) == (
            [KeywordSpec("扩散")], [KeywordSpec("gan")], [KeywordSpec("diffusion")])
    with session_scope(engine) as session:
        assert destination_keywords(session=session, chat_id=CHAT, thread_id=0) == [
            KeywordSpec("diffusion"), KeywordSpec("gan"), KeywordSpec("扩散")]


def test_remove_names_the_keywords_that_were_not_there_and_clear_counts(engine: Engine) -> None:
    _add(engine, KeywordSpec("diffusion"), KeywordSpec("survey", exclude=True))
    with session_scope(engine) as session:
        assert remove_keywords(session=session, chat_id=CHAT, thread_id=0, keywords=["survey", "gan"]) == (
            ["survey"], ["gan"])
        assert remove_keywords(session=session, chat_id=CHAT, thread_id=TOPIC, keywords=["diffusion"]) == (
            [], ["diffusion"])
        assert clear_keywords(session=session, chat_id=CHAT, thread_id=0) == 1
        assert clear_keywords(session=session, chat_id=CHAT, thread_id=0) == 0
        assert destination_keywords(session=session, chat_id=CHAT, thread_id=0) == []


def test_the_keyword_limit_is_all_or_nothing(engine: Engine) -> None:
    _add(engine, *(KeywordSpec(f"w{number}") for number in range(MAX_KEYWORDS - 1)))
    with session_scope(engine) as session, pytest.raises(KeywordLimitError) as caught:
        add_keywords(session=session, chat_id=CHAT, thread_id=0, now=NOW,
                     keywords=[KeywordSpec("one"), KeywordSpec("two"), KeywordSpec("w1")])
    assert (caught.value.have, caught.value.adding) == (MAX_KEYWORDS - 1, 2)
    with session_scope(engine) as session:
        assert len(destination_keywords(session=session, chat_id=CHAT, thread_id=0)) == MAX_KEYWORDS - 1
        change = add_keywords(session=session, chat_id=CHAT, thread_id=0, now=NOW,
                              keywords=[KeywordSpec("one"), KeywordSpec("w1")])
        assert change.added == [KeywordSpec("one")]
        assert len(destination_keywords(session=session, chat_id=CHAT, thread_id=0)) == MAX_KEYWORDS


def test_a_new_topic_starts_with_the_groups_settings_and_keywords(engine: Engine) -> None:
    with session_scope(engine) as session:
        group, _created = _subscribe(session, thread_id=0)
        group.categories, group.language, group.ui_language, group.digest_time = "CV", "zh", "zh", "07:30"
        group.timezone = "Europe/Berlin"
        add_keywords(session=session, chat_id=CHAT, thread_id=0, keywords=[KeywordSpec("gan", True)], now=NOW)
    with session_scope(engine) as session:
        topic, created = _subscribe(session, thread_id=TOPIC)
        assert created and (topic.categories, topic.language, topic.ui_language, topic.digest_time,
                            topic.timezone) == ("CV", "zh", "zh", "07:30", "Europe/Berlin")
        assert topic.next_due_at == datetime(2026, 11, 20, 6, 30, tzinfo=UTC), "07:30 in Berlin, its own due time"
        assert destination_keywords(session=session, chat_id=CHAT, thread_id=TOPIC) == [KeywordSpec("gan", True)]
        clear_keywords(session=session, chat_id=CHAT, thread_id=TOPIC)
        assert destination_keywords(session=session, chat_id=CHAT, thread_id=0) == [KeywordSpec("gan", True)]


def test_a_topic_of_a_group_that_never_subscribed_starts_with_defaults(engine: Engine) -> None:
    with session_scope(engine) as session:
        topic, created = _subscribe(session, thread_id=TOPIC)
        assert created and topic.categories == "LG,CV,CL,AS,RO" and topic.thread_id == TOPIC


def _subscribe(session: Session, *, thread_id: int):  # type: ignore[no-untyped-def]
    return ensure_chat(session=session, chat_id=CHAT, kind="supergroup", title="g", ui_language="en",
                       digest_time="09:00", timezone="Asia/Shanghai", now=NOW, thread_id=thread_id)


def test_python_matching_agrees_with_the_card_line() -> None:
    paper = Paper(id=1, title_en="Graph Neural Networks", title_zh="图神经网络", summary_zh="扩散", abstract_en=None)
    assert paper_matches(paper, "graph neural") and paper_matches(paper, "神经") and not paper_matches(paper, "gan")
    keywords = [KeywordSpec("扩散"), KeywordSpec("graph", exclude=True), KeywordSpec("networks"), KeywordSpec("x")]
    assert matched_keywords(paper, keywords) == ["扩散", "networks"]
