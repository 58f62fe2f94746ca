"""Cards: every message Telegram's own HTML rules accept, within its length limit, in every language."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.callbacks import MAX_CALLBACK_BYTES, Action, decode
from bot.cards import ABSTRACT_LIMIT, HIGHLIGHT_MARK, SUMMARY_LIMIT, render_card
from bot.details import render_paper_details
from bot.emulator import EntityParseError, FormattedText, parse_html
from bot.i18n import Translator, translator
from bot.keyboards import star_keyboard
from bot.packing import CARD_SEPARATOR, MESSAGE_LIMIT, MIN_LIMIT, DigestMessage, render_digest
from bot.text_fit import visible_length
from storage.db import open_store, session_scope
from storage.ingest import SAMPLE_DIGESTS_DIR, Ingestor
from storage.keywords import KeywordSpec
from storage.models import DigestPaper, Paper

DAY = date(2026, 11, 22)
LANGUAGES = ("zh", "en", "both")
ZH, EN = translator("zh"), translator("en")
HOSTILE_URL = "https://example.org/?q=\"<b>&amp;</b>'<script>\"&x=&#0;"
HOSTILE = '<b>&amp; & < > " \' </b> <script>alert("x")</script> &lt; &#0; &#xD800; <a href="javascript:x">'


def _parsed(message: str) -> FormattedText:
    """Telegram's reading of a message, after checking it would be sent at all."""
    formatted = parse_html(message, strict=True)  # strict: a bare '&' means something was not escaped
    length = len(formatted.text.encode("utf-16-le")) // 2
    assert length == visible_length(message)
    assert 0 < length <= MESSAGE_LIMIT
    return formatted


def _text(message: str) -> str:
    """The plain text a reader sees."""
    return _parsed(message).text


def make_paper(**fields: object) -> Paper:
    """A complete, well-formed paper; tests override what they are about."""
    values: dict[str, object] = {
        "id": 1, "category": "CV", "title_en": "Seeing Things", "title_zh": "看见事物",
        "authors": ["A Author", "B Author"], "affiliations": ["Some Lab"],
        "summary_zh": "本文提出一种方法。效果很好。", "abstract_en": "We propose a method. It works well.",
        "url": "https://example.org/paper", "arxiv_id": "2101.00001",
    }
    values.update(fields)
    return Paper(**values)


@pytest.fixture(scope="module")
def digests(tmp_path_factory: pytest.TempPathFactory) -> list[list[Paper]]:
    """The five sample digests as stored papers (categories inferred where untagged), in digest order."""
    engine = open_store(f"sqlite:///{Path(tmp_path_factory.mktemp('cards')) / 'store.db'}")
    reports = Ingestor(engine).ingest_sources(sorted(str(path) for path in SAMPLE_DIGESTS_DIR.glob("*.txt")))
    with session_scope(engine) as session:
        result = [
            list(session.exec(select(Paper).join(DigestPaper, DigestPaper.paper_id == Paper.id)
                              .where(DigestPaper.digest_id == report.digest_id).order_by(DigestPaper.position)))
            for report in reports
        ]
    engine.dispose()
    return result


@pytest.fixture(scope="module")
def papers(digests: list[list[Paper]]) -> list[Paper]:
    """All 46 sample papers."""
    return [paper for digest in digests for paper in digest]


def _all_renderings(papers: list[Paper]) -> Iterator[str]:
    """Every card, digest message and details message of papers, in every card and interface language."""
    for language, t in itertools.product(LANGUAGES, (ZH, EN)):
        for number, paper in enumerate(papers, start=1):
            yield render_card(paper, number=number, language=language, t=t)
        yield from (message.text for message in render_digest(papers, language=language, t=t, day=DAY))
    for paper, t in itertools.product(papers, (ZH, EN)):
        yield from render_paper_details(paper, t=t)


# ---------------------------------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------------------------------


def test_every_sample_rendering_is_valid_telegram_html_within_the_limit(digests: list[list[Paper]]) -> None:
    count = 0
    for digest in digests:
        for message in _all_renderings(digest):
            _parsed(message)
            count += 1
    assert count >= 46 * 6 + 5 * 6 + 46 * 2  # cards, digest messages, details


def test_a_normal_day_of_five_papers_is_one_message(digests: list[list[Paper]]) -> None:
    for language, t in itertools.product(LANGUAGES, (ZH, EN)):
        [message] = render_digest(digests[2][:5], language=language, t=t, day=DAY)
        assert message.numbers == (1, 2, 3, 4, 5)
        assert message.paper_ids == tuple(paper.id for paper in digests[2][:5])


def test_a_whole_digest_of_samples_is_one_message(digests: list[list[Paper]]) -> None:
    for digest in digests:
        assert len(render_digest(digest, language="both", t=ZH, day=DAY)) == 1


@pytest.mark.parametrize(("language", "t"), [("both", ZH), ("both", EN), ("zh", ZH), ("en", EN)])
def test_forty_papers_pack_into_several_whole_cards_numbered_on(
        papers: list[Paper], language: str, t: Translator) -> None:
    chosen = papers[:40]
    messages = render_digest(chosen, language=language, t=t, day=DAY)
    assert len(messages) > 1
    assert [n for message in messages for n in message.numbers] == list(range(1, 41))
    assert [i for message in messages for i in message.paper_ids] == [paper.id for paper in chosen]
    header = _text(render_digest(chosen, language=language, t=t, day=DAY)[0].text).split("\n")[0]
    assert header.endswith("40 new papers" if t is EN else "40 篇新论文")
    for index, message in enumerate(messages):
        text = _text(message.text)
        assert (header in text) == (index == 0)
        cards = [render_card(chosen[n - 1], number=n, language=language, t=t) for n in message.numbers]
        head = [f"<b>{t.format_date(DAY)} · "] if index == 0 else []
        assert message.text.startswith(head[0]) if head else message.text.startswith(f"{message.numbers[0]}. ")
        assert message.text.endswith(CARD_SEPARATOR.join(cards))  # whole cards, none split or cut
    # Greedy: each message is full enough that the next card would not have fitted.
    for message, following in itertools.pairwise(messages):
        first_card = render_card(chosen[following.numbers[0] - 1], number=following.numbers[0], language=language,
                                 t=t)
        assert visible_length(message.text) + 2 + visible_length(first_card) > MESSAGE_LIMIT


def test_a_small_limit_shortens_cards_instead_of_splitting_them(papers: list[Paper]) -> None:
    messages = render_digest(papers[:10], language="both", t=EN, day=DAY, limit=MIN_LIMIT)
    assert [n for message in messages for n in message.numbers] == list(range(1, 11))
    for message in messages:
        assert visible_length(message.text) <= MIN_LIMIT
        _parsed(message.text)


def test_no_papers_means_no_messages() -> None:
    assert render_digest([], language="both", t=EN, day=DAY) == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        render_card(make_paper(), number=1, language="fr", t=EN)
    with pytest.raises(ValueError, match="limit"):
        render_digest([make_paper()], language="en", t=EN, day=DAY, limit=100)
    with pytest.raises(ValueError, match="no id"):
        render_digest([make_paper(id=None)], language="en", t=EN, day=DAY)


# ---------------------------------------------------------------------------------------------------------------
# Hostile and huge content
# ---------------------------------------------------------------------------------------------------------------


def _hostile_paper() -> Paper:
    """Markup-breaking text in every field and a 20,000-character abstract."""
    abstract = " ".join(f"Word{index} {HOSTILE}." for index in range(400))
    assert len(abstract) > 20_000
    return make_paper(
        category=HOSTILE[:2], category_inferred=True, title_en=HOSTILE, title_zh=HOSTILE + "标题",
        authors=[HOSTILE] * 6, affiliations=[HOSTILE] * 4, summary_zh=HOSTILE * 30, abstract_en=abstract,
        url=HOSTILE_URL, code_url='https://github.com/a/b?x=1&y="2"', highlight=True,
        arxiv_id=HOSTILE,
    )


def test_hostile_fields_render_literally_in_cards() -> None:
    paper = _hostile_paper()
    for language, t in itertools.product(LANGUAGES, (ZH, EN)):
        text = _text(render_card(paper, number=1, language=language, t=t))
        assert "<script>alert(\"x\")</script>" in text
        assert "</b>" in text and "&amp; &" in text and "&lt;" in text
        for message in render_digest([paper] * 3, language=language, t=t, day=DAY):
            assert "<script>" in _text(message.text)


def test_hostile_links_keep_their_exact_urls() -> None:
    paper = _hostile_paper()
    entities = _parsed(render_card(paper, number=1, language="en", t=EN)).entities
    urls = [entity["url"] for entity in entities if entity["type"] == "text_link"]
    assert urls == [HOSTILE_URL, 'https://github.com/a/b?x=1&y="2"']


def test_hostile_paper_details_are_valid_and_lose_nothing() -> None:
    paper = _hostile_paper()
    messages = render_paper_details(paper, t=EN)
    assert len(messages) >= 6
    text = "".join(_text(message) for message in messages)
    assert all(f"Word{index} " in text for index in range(400))
    assert text.count("<script>") >= 400 + 30 + 6 + 4


def test_details_split_a_huge_abstract_at_sentences_keeping_every_word() -> None:
    abstract = " ".join(f"Sentence number {index} says e.g. 1.5x more than the last one." for index in range(500))
    paper = make_paper(abstract_en=abstract, summary_zh="很长的摘要。" * 2000)
    for t in (ZH, EN):
        messages = render_paper_details(paper, t=t)
        assert len(messages) > 5
        texts = [_text(message) for message in messages]
        joined = " ".join(texts)
        assert joined.count("很长的摘要。") == 2000
        assert joined.split().count("Sentence") == 500
        assert all(f"number {index} says" in joined for index in range(500))
        for text in texts[1:-1]:
            assert text.rstrip().endswith(("。", "one.", "摘要", "abstract")), text[-40:]


def test_details_show_everything_of_a_normal_paper(papers: list[Paper]) -> None:
    paper = next(paper for paper in papers if len(paper.authors) == 8)
    [message] = render_paper_details(paper, t=ZH)
    text = _text(message)
    assert ", ".join(paper.authors) in text
    assert paper.abstract_en in text and paper.summary_zh in text
    assert "中文摘要" in text and "英文摘要" in text


# ---------------------------------------------------------------------------------------------------------------
# Card content
# ---------------------------------------------------------------------------------------------------------------


def test_both_card_layout() -> None:
    paper = make_paper(authors=["A One", "B Two", "C Three", "D Four"], affiliations=["Lab X", "Univ Y"])
    card = render_card(paper, number=3, language="both", t=EN)
    assert card.split("\n") == [
        "3. <b>[CV]</b> <b>Seeing Things</b>",
        "看见事物",
        "A One, B Two, C Three et al. · <i>Lab X &amp; Univ Y</i>",
        "本文提出一种方法。效果很好。",
        "We propose a method. It works well.",
        '🔗 <a href="https://arxiv.org/abs/2101.00001">arXiv:2101.00001</a>',
    ]


@pytest.mark.parametrize(
    ("fields", "language", "shown", "hidden"),
    [
        ({}, "zh", ["看见事物", "本文提出一种方法"], ["Seeing Things", "We propose"]),
        ({}, "en", ["Seeing Things", "We propose"], ["看见事物", "本文提出一种方法"]),
        ({"summary_zh": None, "title_zh": None}, "zh", ["Seeing Things", "We propose"], []),
        ({"abstract_en": None, "title_en": None}, "en", ["看见事物", "本文提出一种方法"], []),
        ({"abstract_en": "", "title_en": " "}, "both", ["看见事物", "本文提出一种方法"], ["We propose"]),
    ],
)
def test_language_choice_and_fallbacks(fields: dict, language: str, shown: list[str], hidden: list[str]) -> None:
    text = _text(render_card(make_paper(**fields), number=1, language=language, t=EN))
    assert all(part in text for part in shown)
    assert not any(part in text for part in hidden)


def test_untitled_papers_get_their_opening_words_marked_as_a_stand_in() -> None:
    paper = make_paper(title_en=None, title_zh=None, summary_zh="分布式训练很重要。" * 20, abstract_en=None)
    first_line = _text(render_card(paper, number=1, language="zh", t=ZH)).split("\n")[0]
    assert first_line.startswith("1. [CV] 分布式训练很重要。")
    assert first_line.endswith("(无标题)")
    empty = make_paper(title_en=None, title_zh=None, summary_zh=None, abstract_en=None, authors=[], url=None,
                       arxiv_id=None, affiliations=[])
    assert _text(render_card(empty, number=2, language="en", t=EN)) == "2. [CV] (untitled)"


def test_inferred_category_and_highlight_are_marked() -> None:
    paper = make_paper(category_inferred=True, highlight=True)
    assert _text(render_card(paper, number=1, language="en", t=EN)).startswith(
        f"1. [CV?] (category inferred) {HIGHLIGHT_MARK} Seeing Things")
    assert _text(render_card(paper, number=1, language="zh", t=ZH)).startswith(
        f"1. [CV?] (分类为推断) {HIGHLIGHT_MARK} 看见事物")
    plain = _text(render_card(make_paper(), number=1, language="en", t=EN))
    assert plain.startswith("1. [CV] Seeing Things") and HIGHLIGHT_MARK not in plain and "⭐" not in plain


@pytest.mark.parametrize(
    ("authors", "t", "expected"),
    [
        (["A", "B", "C", "D", "E"], EN, "A, B, C et al."),
        (["A", "B", "C", "D", "E"], ZH, "A, B, C 等"),
        (["A", "B", "et al."], EN, "A, B et al."),
        (["A", "B", "C"], EN, "A, B, C"),
        (["A", "B", "C", "et al."], ZH, "A, B, C 等"),
    ],
)
def test_authors_are_cut_to_three(authors: list[str], t: Translator, expected: str) -> None:
    lines = _text(render_card(make_paper(authors=authors, affiliations=[]), number=1, language="en", t=t))
    assert lines.split("\n")[1] == expected


def test_long_affiliation_lists_keep_whole_names() -> None:
    affiliations = [f"University of Somewhere Far Away Number {index}" for index in range(10)]
    line = _text(render_card(make_paper(affiliations=affiliations), number=1, language="en", t=EN)).split("\n")[1]
    assert line.endswith(" & …")
    assert all(name.startswith("University of Somewhere") for name in line.split(" · ")[1].split(" & ")[:-1])
    assert len(line) < 200


def test_links_prefer_arxiv_and_add_code() -> None:
    paper = make_paper(code_url="https://github.com/a/b")
    entities = _parsed(render_card(paper, number=1, language="zh", t=ZH)).entities
    assert [entity["url"] for entity in entities if entity["type"] == "text_link"] == [
        "https://arxiv.org/abs/2101.00001", "https://github.com/a/b"]
    no_arxiv = _text(render_card(make_paper(arxiv_id=None), number=1, language="en", t=EN))
    assert no_arxiv.endswith("🔗 example.org")
    unusable = make_paper(arxiv_id=None, url="javascript:alert(1)", code_url="ftp://x")
    assert "🔗" not in _text(render_card(unusable, number=1, language="en", t=EN))


def test_card_snippets_stay_short() -> None:
    paper = make_paper(summary_zh="这是一句话。" * 100, abstract_en="This is one sentence. " * 100)
    lines = _text(render_card(paper, number=1, language="both", t=EN)).split("\n")
    assert lines[3].endswith("。…") and len(lines[3]) <= SUMMARY_LIMIT
    assert lines[4].endswith("sentence. …") and len(lines[4]) <= ABSTRACT_LIMIT


# ---------------------------------------------------------------------------------------------------------------
# Keyboards
# ---------------------------------------------------------------------------------------------------------------


def test_star_keyboard_labels_data_and_rows() -> None:
    message = DigestMessage(text="x", paper_ids=tuple(range(101, 113)), numbers=tuple(range(6, 18)))
    rows = star_keyboard(message, saved={103, 112}).inline_keyboard
    assert [len(row) for row in rows] == [5, 5, 5, 5, 2, 2], "each row of stars has its row of details below"
    stars = [button for row in rows[::2] for button in row]
    details = [button for row in rows[1::2] for button in row]
    assert [button.text for button in stars][:4] == ["⭐ 6", "⭐ 7", "✅ 8", "⭐ 9"]
    assert stars[-1].text == "✅ 17" and [button.text for button in details][:2] == ["📄 6", "📄 7"]
    for action, buttons in ((Action.FAVOURITE, stars), (Action.PAPER_DETAILS, details)):
        for paper_id, button in zip(message.paper_ids, buttons, strict=True):
            assert len(button.callback_data.encode()) <= MAX_CALLBACK_BYTES
            callback = decode(button.callback_data)
            assert callback is not None and callback.action is action and callback.value == str(paper_id)


def test_star_keyboard_for_a_digest_message(digests: list[list[Paper]]) -> None:
    [message] = render_digest(digests[0], language="both", t=EN, day=DAY)
    buttons = [button for row in star_keyboard(message, saved=set()).inline_keyboard for button in row]
    numbers = range(1, len(digests[0]) + 1)
    expected = [f"⭐ {n}" for n in numbers] + [f"📄 {n}" for n in numbers]
    assert sorted(button.text for button in buttons) == sorted(expected)
    assert all(len(button.callback_data.encode()) <= MAX_CALLBACK_BYTES for button in buttons)


def test_a_digest_message_never_carries_more_cards_than_telegram_allows_buttons() -> None:
    bare = [make_paper(id=index, title_en="T", title_zh=None, summary_zh=None, abstract_en=None, authors=[],
                       affiliations=[], url=None, arxiv_id=None) for index in range(1, 251)]
    messages = render_digest(bare, language="en", t=EN, day=DAY)
    assert [len(message.paper_ids) for message in messages] == [50] * 5
    assert all(sum(map(len, star_keyboard(message, saved=set()).inline_keyboard)) == 100 for message in messages)


# ---------------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------------

_PIECE = st.one_of(st.characters(), st.sampled_from([*"<>&\"';#. 。\n", "</b>", "<b>", "&amp;", "&#", "😀", "e.g. "]))
_TEXT = st.lists(_PIECE, max_size=300).map("".join)
_MAYBE_TEXT = st.one_of(st.none(), _TEXT)
_PAPERS = st.builds(
    Paper,
    id=st.integers(min_value=1, max_value=10**12 - 1),
    category=st.one_of(st.none(), st.text(max_size=3)),
    category_inferred=st.booleans(),
    title_en=_MAYBE_TEXT,
    title_zh=_MAYBE_TEXT,
    authors=st.lists(_TEXT, max_size=8),
    affiliations=st.lists(_TEXT, max_size=5),
    summary_zh=_MAYBE_TEXT,
    abstract_en=st.one_of(_MAYBE_TEXT, _TEXT.map(lambda text: text * 20)),
    url=st.one_of(_MAYBE_TEXT, st.just('https://example.org/?a=1&b="<x>"')),
    arxiv_id=st.one_of(_MAYBE_TEXT, st.just("2101.00001")),
    code_url=_MAYBE_TEXT,
    highlight=st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(papers=st.lists(_PAPERS, min_size=1, max_size=6), language=st.sampled_from(LANGUAGES),
       t=st.sampled_from((ZH, EN)), limit=st.integers(min_value=MIN_LIMIT, max_value=MESSAGE_LIMIT))
def test_random_papers_always_give_valid_messages_within_the_limit(
        papers: list[Paper], language: str, t: Translator, limit: int) -> None:
    messages = render_digest(papers, language=language, t=t, day=DAY, limit=limit)
    assert [n for message in messages for n in message.numbers] == list(range(1, len(papers) + 1))
    for message in messages:
        assert visible_length(message.text) <= limit
        _parsed(message.text)
        star_keyboard(message, saved=set(message.paper_ids[:1]))
    for details in render_paper_details(papers[0], t=t, limit=limit):
        assert visible_length(details) <= limit
        _parsed(details)


def test_the_parser_really_rejects_unescaped_markup() -> None:
    """Guards the guard: the checks above would be empty if the emulator accepted anything."""
    with pytest.raises(EntityParseError):
        parse_html(HOSTILE)


def test_details_list_each_link_once(papers: list[Paper]) -> None:
    paper = next(paper for paper in papers if paper.arxiv_id == "2106.04732")
    [message] = render_paper_details(paper, t=EN)
    links = [entity["url"] for entity in _parsed(message).entities if entity["type"] == "text_link"]
    assert links == ["https://arxiv.org/abs/2106.04732", "https://arxiv.org/pdf/2106.04732"]
    other = make_paper(code_url="https://github.com/a/b")
    links = [entity["url"] for entity in _parsed(render_paper_details(other, t=ZH)[0]).entities
             if entity["type"] == "text_link"]
    assert links == ["https://arxiv.org/abs/2101.00001", "https://arxiv.org/pdf/2101.00001",
                     "https://example.org/paper", "https://github.com/a/b"]


def test_a_paper_resolved_on_arxiv_links_there_and_keeps_its_digest_link_as_the_source() -> None:
    paper = Paper(id=9, category="CV", title_en="Visual Prompt Tuning", arxiv_id="2203.12119",
                  url="https://weibo.com/1402400261/Abc")
    card_links = [entity["url"] for entity in _parsed(render_card(paper, number=1, language="both", t=EN)).entities
                  if entity["type"] == "text_link"]
    assert card_links == ["https://arxiv.org/abs/2203.12119"]
    [details] = render_paper_details(paper, t=EN)
    parsed = _parsed(details)
    assert [entity["url"] for entity in parsed.entities if entity["type"] == "text_link"] == [
        "https://arxiv.org/abs/2203.12119", "https://arxiv.org/pdf/2203.12119", "https://weibo.com/1402400261/Abc"]
    assert "🔗 arXiv:2203.12119 · PDF · weibo.com" in parsed.text
    unresolved = Paper(id=10, category="CV", title_en="Invertible Attention", url="https://weibo.com/1/Xyz")
    assert [entity["url"] for entity in _parsed(render_card(unresolved, number=1, language="both", t=EN)).entities
            if entity["type"] == "text_link"] == ["https://weibo.com/1/Xyz"]


def test_a_card_says_which_included_keywords_the_paper_matched() -> None:
    paper = Paper(id=7, category="LG", title_en="Diffusion on <Graphs>", title_zh="图上的扩散模型",
                  abstract_en="We study diffusion & graph neural networks.", url="https://arxiv.org/abs/2611.00001")
    keywords = [KeywordSpec("扩散"), KeywordSpec("graph neural"), KeywordSpec("diffusion", exclude=True),
                KeywordSpec("<graphs>"), KeywordSpec("gan")]
    card = render_card(paper, number=1, language="both", t=EN, keywords=keywords)
    lines = _parsed(card).text.splitlines()
    assert lines[2] == "🔑 扩散 · graph neural · <graphs>", "under the titles; excluded and unmatched ones not shown"
    assert "🔑" not in render_card(paper, number=1, language="both", t=EN)
    assert "🔑" not in render_card(paper, number=1, language="en", t=EN, keywords=[KeywordSpec("gan")])
    [message] = render_digest([paper], language="en", t=ZH, day=DAY, keywords=keywords[:2])
    assert "🔑 扩散 · graph neural" in _parsed(message.text).text


def test_a_paper_changed_since_its_last_digest_is_rendered_afresh() -> None:
    """Cards are remembered across chats, but an abstract arXiv filled in since shows in the next digest."""
    before = make_paper(abstract_en="We propose a method.")
    after = make_paper(abstract_en="We propose a method. Enriched from arXiv.")
    first = render_digest([before], language="en", t=EN, day=DAY)[0].text
    again = render_digest([make_paper(abstract_en="We propose a method.")], language="en", t=EN, day=DAY)[0].text
    changed = render_digest([after], language="en", t=EN, day=DAY)[0].text
    assert again == first
    assert "Enriched from arXiv." in changed and "Enriched from arXiv." not in first


def test_a_shared_keyboard_still_shows_each_chats_own_saved_papers() -> None:
    """Chats share keyboards, yet a chat that saved paper 2 sees ✅ 2 and the next chat sees ⭐ 2."""
    [message] = render_digest([make_paper(id=1), make_paper(id=2)], language="en", t=EN, day=DAY)
    saved = [b.text for row in star_keyboard(message, saved={2, 99}).inline_keyboard for b in row]
    unsaved = [b.text for row in star_keyboard(message, saved=set()).inline_keyboard for b in row]
    assert saved[:2] == ["⭐ 1", "✅ 2"] and unsaved[:2] == ["⭐ 1", "⭐ 2"]
