"""/keywords arguments: quotes group words, -word excludes, bad input is refused with the reason."""

from __future__ import annotations

import pytest

from bot.keyword_args import (
    KeywordAction,
    KeywordArgsError,
    KeywordProblem,
    parse_keywords_command,
    split_arguments,
)
from storage.keywords import MAX_KEYWORD_CHARS, MAX_KEYWORDS, KeywordSpec


def _words(text: str) -> list[str]:
    """Labels of the parsed keywords ('-x' for excluded)."""
    return [spec.label for spec in parse_keywords_command(text).keywords]


def test_no_arguments_shows_the_keywords() -> None:
    assert parse_keywords_command("").action is KeywordAction.SHOW
    assert parse_keywords_command("   \n ").action is KeywordAction.SHOW


def test_quotes_group_words_and_a_leading_dash_excludes() -> None:
    command = parse_keywords_command('add diffusion "graph neural" -survey -"large language model"')
    assert command.action is KeywordAction.ADD
    assert command.keywords == (KeywordSpec("diffusion"), KeywordSpec("graph neural"), KeywordSpec("survey", True),
                                KeywordSpec("large language model", True))


def test_curly_and_corner_quotes_from_phones_group_too_and_apostrophes_stay() -> None:
    assert _words("add “graph neural” 「扩散 模型」 Bayes' rule") == ["graph neural", "扩散 模型", "bayes'", "rule"]


def test_chinese_keywords_are_kept_as_written() -> None:
    assert _words("add 扩散模型 -综述 机器人") == ["扩散模型", "-综述", "机器人"]


def test_keywords_are_lower_case_with_single_spaces() -> None:
    assert _words('add "  Graph   NEURAL  " Diffusion') == ["graph neural", "diffusion"]


def test_duplicates_are_ignored_the_first_mention_wins() -> None:
    assert _words("add gan GAN -gan diffusion gan") == ["gan", "diffusion"]


def test_a_dash_inside_a_word_or_in_quotes_is_part_of_the_keyword() -> None:
    assert _words('add self-supervised "-x"') == ["self-supervised", "-x"]
    assert parse_keywords_command('add "-x"').keywords == (KeywordSpec("-x"),)


def test_remove_ignores_the_exclusion_mark() -> None:
    command = parse_keywords_command("remove -survey diffusion")
    assert command.action is KeywordAction.REMOVE
    assert command.keywords == (KeywordSpec("survey"), KeywordSpec("diffusion"))


def test_sub_commands_ignore_case_and_have_aliases() -> None:
    assert parse_keywords_command("ADD x").action is KeywordAction.ADD
    assert parse_keywords_command("rm x").action is KeywordAction.REMOVE
    assert parse_keywords_command("Clear").action is KeywordAction.CLEAR


@pytest.mark.parametrize(("text", "problem"), [
    ("add", KeywordProblem.USAGE),
    ("remove   ", KeywordProblem.USAGE),
    ("clear everything", KeywordProblem.USAGE),
    ("diffusion", KeywordProblem.USAGE),
    ("-add x", KeywordProblem.USAGE),
    ('add "graph neural', KeywordProblem.UNBALANCED_QUOTES),
    ('add graph neural"', KeywordProblem.UNBALANCED_QUOTES),
    ("add “graph neural", KeywordProblem.UNBALANCED_QUOTES),
    ("add graph neural”", KeywordProblem.UNBALANCED_QUOTES),
    ('add ""', KeywordProblem.EMPTY_KEYWORD),
    ("add -", KeywordProblem.EMPTY_KEYWORD),
    ('add "   "', KeywordProblem.EMPTY_KEYWORD),
])
def test_bad_arguments_name_the_problem(text: str, problem: KeywordProblem) -> None:
    with pytest.raises(KeywordArgsError) as caught:
        parse_keywords_command(text)
    assert caught.value.problem is problem


def test_an_unknown_sub_command_is_named() -> None:
    with pytest.raises(KeywordArgsError) as caught:
        parse_keywords_command("show all")
    assert (caught.value.problem, caught.value.detail) == (KeywordProblem.USAGE, "show")


def test_a_too_long_keyword_is_refused_with_its_length() -> None:
    assert _words("add " + "x" * MAX_KEYWORD_CHARS) == ["x" * MAX_KEYWORD_CHARS]
    with pytest.raises(KeywordArgsError) as caught:
        parse_keywords_command("add ok " + "图" * (MAX_KEYWORD_CHARS + 1))
    assert (caught.value.problem, caught.value.count) == (KeywordProblem.TOO_LONG, MAX_KEYWORD_CHARS + 1)


def test_too_many_keywords_at_once_are_refused() -> None:
    words = " ".join(f"w{number}" for number in range(MAX_KEYWORDS + 1))
    with pytest.raises(KeywordArgsError) as caught:
        parse_keywords_command(f"add {words}")
    assert (caught.value.problem, caught.value.count) == (KeywordProblem.TOO_MANY, MAX_KEYWORDS + 1)
    assert len(parse_keywords_command("add " + " ".join(f"w{n}" for n in range(MAX_KEYWORDS))).keywords) == 30


def test_huge_input_is_read_without_trouble() -> None:
    with pytest.raises(KeywordArgsError) as caught:
        parse_keywords_command("add " + '"' + "a" * 100_000)
    assert caught.value.problem is KeywordProblem.UNBALANCED_QUOTES


def test_split_arguments_reports_the_exclusion_mark_only_when_unquoted() -> None:
    assert split_arguments('a -b "-c" -"d e"') == [("a", False), ("b", True), ("-c", False), ("d e", True)]
