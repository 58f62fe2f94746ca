"""Reading /keywords arguments: sub-command, then words, with double quotes grouping several words into one.

Pure: text in, a command or a problem out. Phones turn typed quotes into curly ones, so “…” and 「…」 group too;
a single quote is an apostrophe (Bayes' rule), not a quote. A leading unquoted ``-`` marks an excluded keyword.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.keywords import MAX_KEYWORD_CHARS, MAX_KEYWORDS, KeywordSpec, normalise_keyword
from storage.vocabulary import TYPED_QUOTES

_STRAY_CLOSERS = frozenset(TYPED_QUOTES.values()) - frozenset(TYPED_QUOTES)  # ” and 」


class KeywordAction(StrEnum):
    """What /keywords was asked to do."""

    SHOW = "show"
    ADD = "add"
    REMOVE = "remove"
    CLEAR = "clear"


class KeywordProblem(StrEnum):
    """Why arguments were refused; the handler words each one for the user."""

    USAGE = "usage"  # no words for add/remove, words after clear, or an unknown sub-command
    UNBALANCED_QUOTES = "unbalanced_quotes"
    EMPTY_KEYWORD = "empty_keyword"  # "" or a lone -
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"


@dataclass(frozen=True, slots=True)
class KeywordCommand:
    """A well-formed /keywords: the action and its keywords, duplicates dropped (the first mention wins)."""

    action: KeywordAction
    keywords: tuple[KeywordSpec, ...] = ()


class KeywordArgsError(ValueError):
    """Arguments that cannot be used, with what the message to the user needs."""

    def __init__(self, problem: KeywordProblem, *, detail: str = "", count: int = 0) -> None:
        super().__init__(f"keywords: {problem.value} {detail!r} {count}")
        self.problem = problem
        self.detail = detail  # the offending keyword, or the sub-command
        self.count = count  # the keyword's length, or how many keywords were given


_ACTIONS = {"add": KeywordAction.ADD, "remove": KeywordAction.REMOVE, "rm": KeywordAction.REMOVE,
            "delete": KeywordAction.REMOVE, "clear": KeywordAction.CLEAR}
SUB_COMMANDS = frozenset(_ACTIONS)


def split_arguments(text: str) -> list[tuple[str, bool]]:
    """Whitespace-separated tokens, quotes grouping; each with whether it began with an unquoted '-'."""
    tokens: list[tuple[str, bool]] = []
    current: list[str] = []
    started = excluded = False
    closer: str | None = None
    for char in text:
        if closer is not None:
            if char == closer:
                closer = None
            else:
                current.append(char)
        elif char in TYPED_QUOTES:
            closer, started = TYPED_QUOTES[char], True
        elif char in _STRAY_CLOSERS:
            raise KeywordArgsError(KeywordProblem.UNBALANCED_QUOTES)
        elif char.isspace():
            if started:
                tokens.append(("".join(current), excluded))
            current, started, excluded = [], False, False
        elif char == "-" and not started:
            started = excluded = True
        else:
            current.append(char)
            started = True
    if closer is not None:
        raise KeywordArgsError(KeywordProblem.UNBALANCED_QUOTES)
    if started:
        tokens.append(("".join(current), excluded))
    return tokens


def parse_keywords_command(text: str) -> KeywordCommand:
    """The /keywords arguments (the text after the command) as a command, or KeywordArgsError saying why not."""
    tokens = split_arguments(text)
    if not tokens:
        return KeywordCommand(KeywordAction.SHOW)
    (verb, verb_excluded), words = tokens[0], tokens[1:]
    action = None if verb_excluded else _ACTIONS.get(verb.lower())
    if action is None:
        raise KeywordArgsError(KeywordProblem.USAGE, detail=verb[:MAX_KEYWORD_CHARS])
    if action is KeywordAction.CLEAR:
        if words:
            raise KeywordArgsError(KeywordProblem.USAGE, detail=verb)
        return KeywordCommand(action)
    if not words:
        raise KeywordArgsError(KeywordProblem.USAGE, detail=verb)
    specs: dict[str, KeywordSpec] = {}
    for word, excluded in words:
        keyword = normalise_keyword(word)
        if not keyword:
            raise KeywordArgsError(KeywordProblem.EMPTY_KEYWORD)
        if len(keyword) > MAX_KEYWORD_CHARS:
            raise KeywordArgsError(KeywordProblem.TOO_LONG, detail=keyword[:MAX_KEYWORD_CHARS], count=len(keyword))
        specs.setdefault(keyword, KeywordSpec(keyword, exclude=excluded and action is KeywordAction.ADD))
    if len(specs) > MAX_KEYWORDS:
        raise KeywordArgsError(KeywordProblem.TOO_MANY, count=len(specs))
    return KeywordCommand(action, tuple(specs.values()))
