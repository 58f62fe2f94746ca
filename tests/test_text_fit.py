"""Text for Telegram HTML: lengths as Telegram counts them, sentence ends, shortening and splitting to fit."""

from __future__ import annotations

import itertools

import pytest

from bot.emulator import parse_html
from bot.packing import MIN_LIMIT
from bot.text_fit import sentence_ends, shorten, split_to_fit, visible_length

# ---------------------------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We use e.g. dropout. It helps.", ["We use e.g. dropout.", " It helps."]),
        ("A 1.5x speedup. Then more.", ["A 1.5x speedup.", " Then more."]),
        ("Smith et al. show this. Good.", ["Smith et al. show this.", " Good."]),
        ("By J. Ren and co. It works!", ["By J. Ren and co. It works!"]),
        ("Is it? Yes (really.) Fine", ["Is it?", " Yes (really.)", " Fine"]),
        ("第一句。第二句!第三句?", ["第一句。", "第二句!", "第三句?"]),
        ("他说“好。”然后走了。", ["他说“好。”", "然后走了。"]),
        ("Accuracy is 93.4 i.e. high. Done", ["Accuracy is 93.4 i.e. high.", " Done"]),
    ],
)
def test_sentence_ends(text: str, expected: list[str]) -> None:
    ends = [0, *sentence_ends(text)]
    if ends[-1] != len(text):
        ends.append(len(text))
    assert [text[start:end] for start, end in itertools.pairwise(ends)] == expected


def test_shorten_cuts_at_sentences_with_an_ellipsis() -> None:
    text = "We use e.g. dropout and a 1.5x larger batch. " * 3 + "x" * 300
    sentence = "We use e.g. dropout and a 1.5x larger batch."
    assert shorten(text, 100) == f"{sentence} {sentence} …"
    assert shorten("深度学习很好。" * 30, 20) == "深度学习很好。深度学习很好。…"
    assert shorten("short.", 280) == "short."
    assert shorten("  spaced\n\nout\ttext ", 280) == "spaced out text"


def test_shorten_falls_back_to_words_then_characters() -> None:
    assert shorten("one two three four five six seven eight", 20) == "one two three four…"
    assert shorten("x" * 50, 10) == "x" * 8 + "…"


def test_split_to_fit_joins_back_and_respects_utf16() -> None:
    text = "😀 emoji sentence here. " * 300
    pieces = split_to_fit(text, MIN_LIMIT)
    assert "".join(pieces) == text
    assert all(visible_length(piece) <= MIN_LIMIT for piece in pieces)
    assert all(piece.endswith("here. ") for piece in pieces[:-1])


# ---------------------------------------------------------------------------------------------------------------
# Length
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markup",
    [
        "plain", "😀 two units", "&amp; &lt; &gt; &quot;", "&amp &lt", "&ampx &foo; & alone", "&#128512; &#x1F600;",
        "&#0; &#1114111; &#0000000065;", '<a href="x>y">link</a>', "<b>bold <i>both</i></b>", "&#X41;",
        "<code>&lt;b&gt;</code>", "tab\tnew\nline",
    ],
)
def test_visible_length_matches_telegrams_parser(markup: str) -> None:
    assert visible_length(markup) == len(parse_html(markup).text.encode("utf-16-le")) // 2
