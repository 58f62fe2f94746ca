"""A broadcast's card cache: each card fitted once for thousands of chats, never a stale card or another chat's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import packing
from bot.card_cache import CardCache, Memo
from bot.emulator import BotApiEmulator
from bot.i18n import translator
from bot.keyboards import star_keyboard
from bot.packing import render_digest
from bot.playground import emulator_settings, running_bot
from storage.keywords import KeywordSpec
from storage.models import Paper
from storage.taste import TasteSource
from tests.test_broadcast import digests_per_chat, make_due_store

DAY = date(2026, 11, 22)
ZH, EN = translator("zh"), translator("en")


def _paper(paper_id: int, **fields: object) -> Paper:
    """A fresh copy of a well-formed paper, as each chat's delivery loads its own."""
    values: dict[str, object] = {
        "id": paper_id, "category": "CV", "title_en": f"Seeing Things {paper_id}", "title_zh": "看见事物",
        "authors": ["A Author", "B Author"], "affiliations": ["Some Lab"],
        "summary_zh": "本文提出一种方法。效果很好。", "abstract_en": "We propose a method. It works well.",
        "url": "https://example.org/paper", "arxiv_id": "2101.00001",
        "created_at": datetime(2026, 11, 21, tzinfo=UTC),  # as stored: a copy loaded again is equal to the first
    }
    return Paper(**(values | fields))


@pytest.fixture
def fitted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many cards were fitted (rendered and measured) rather than found in a cache, by paper id."""
    calls: list[int] = []
    fit_card = packing.fit_card

    def counting(paper: Paper, **kwargs: object) -> tuple[str, int]:
        calls.append(paper.id)
        return fit_card(paper, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(packing, "fit_card", counting)
    yield calls


def test_a_broadcast_fits_each_card_once_and_sends_what_an_uncached_render_would(fitted: list[int]) -> None:
    cache = CardCache()
    expected = render_digest([_paper(i) for i in range(1, 6)], language="both", t=EN, day=DAY)
    fitted.clear()
    for _chat in range(200):
        messages = render_digest([_paper(i) for i in range(1, 6)], language="both", t=EN, day=DAY, cache=cache)
        assert messages == expected
    assert sorted(fitted) == [1, 2, 3, 4, 5]


def test_what_differs_between_chats_is_never_taken_from_another_chats_card() -> None:
    cache = CardCache()
    reason = TasteSource(title_en="Compacter", title_zh=None, favourite=True)
    variants = [
        {"language": "both", "t": EN}, {"language": "zh", "t": ZH}, {"language": "en", "t": ZH},
        {"language": "en", "t": EN, "keywords": [KeywordSpec("method")]},
        {"language": "en", "t": EN, "reasons": {2: reason}},
        {"language": "en", "t": EN, "limit": 600},
    ]
    for variant in variants * 2:
        papers = [_paper(1), _paper(2)]
        uncached = render_digest(papers, day=DAY, **variant)  # type: ignore[arg-type]
        assert render_digest(papers, day=DAY, cache=cache, **variant) == uncached  # type: ignore[arg-type]


def test_a_paper_changed_within_a_broadcast_is_fitted_afresh() -> None:
    cache = CardCache()
    first = render_digest([_paper(1)], language="en", t=EN, day=DAY, cache=cache)[0].text
    again = render_digest([_paper(1)], language="en", t=EN, day=DAY, cache=cache)[0].text
    enriched = _paper(1, abstract_en="We propose a method. Enriched from arXiv.")
    changed = render_digest([enriched], language="en", t=EN, day=DAY, cache=cache)[0].text
    assert again == first
    assert "Enriched from arXiv." in changed and "Enriched from arXiv." not in first


def test_chats_of_a_broadcast_share_keyboards_yet_see_their_own_saved_papers() -> None:
    cache = CardCache()
    [message] = render_digest([_paper(1), _paper(2)], language="en", t=EN, day=DAY, cache=cache)
    unsaved = star_keyboard(message, saved=set(), cache=cache)
    assert star_keyboard(message, saved={99}, cache=cache) is unsaved, "papers of other messages do not count"
    saved = star_keyboard(message, saved={2}, cache=cache)
    assert [b.text for b in saved.inline_keyboard[0]] == ["⭐ 1", "✅ 2"]
    assert [b.text for b in unsaved.inline_keyboard[0]] == ["⭐ 1", "⭐ 2"]
    assert saved == star_keyboard(message, saved={2})


def test_a_full_memo_starts_afresh() -> None:
    memo: Memo[str] = Memo(2)
    memo.keep("a", "A")
    memo.keep("b", "B")
    assert memo.keep("c", "C") == "C"
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (None, None, "C")


async def test_one_scheduled_broadcast_fits_each_card_once_for_all_its_chats(tmp_path: Path,
                                                                              fitted: list[int]) -> None:
    world = make_due_store(tmp_path, private=40)
    async with BotApiEmulator() as emulator:
        for chat_id in world.chat_ids:
            emulator.add_private_chat(chat_id, first_name=f"u{chat_id}", language_code="en")
        settings = emulator_settings(emulator, world.url, tick_seconds=0.05, rate_limit_per_second=100_000,
                                     private_chat_per_second=10_000, delivery_concurrency=8)
        async with running_bot(settings, world.engine, emulator=emulator, with_scheduler=True):
            await emulator.wait_until(lambda: len(digests_per_chat(emulator)) == 40, timeout=60)
    cards_sent = sum(len(message.buttons) // 2 for message in emulator.sent() if message.buttons)
    assert cards_sent == 40 * 5
    assert len(fitted) <= 10, "the chats due in one tick share one cache"
