"""Is this arXiv record the paper a digest named? Titles compared once normalised, authors as the tie-breaker. Pure.

A digest gives a title as someone typed or copied it; arXiv gives it as the authors wrote it, LaTeX and folded
lines included. Equal once normalised is the same paper. Nearly equal (a typo, a hyphen, a plural, an acronym in
brackets, a subtitle one side left out) is the same paper only when an author of the digest is an author on arXiv
too. Everything else is a look-alike: a follow-up ("…: Extended Version"), a "Towards …" built from the same
words, a version or number that differs ("Tensor Programs IV" / "V"), or another paper sharing most words.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from storage.enrichment import ArxivRecord

NEAR_RATIO = 0.9  # character similarity of two normalised titles that differ by a typo or a small word
SIMILAR_WORD_RATIO = 0.75  # a word replaced by this similar a word is a spelling ("modelling" / "modeling")
QUERY_WORDS = 24  # a title phrase this long finds the paper; longer ones only make the URL longer
# LaTeX commands whose argument is the text (\emph{Deep} → Deep); others are dropped, Greek letters spelt out.
_LATEX_TEXT = re.compile(r"\\(?:emph|textbf|textit|texttt|textrm|textsc|textsf|mathrm|mathbf|mathit|mathcal|"
                         r"mathbb|mathsf|mathtt|operatorname|text|bm|boldsymbol)\s*\{([^{}]*)\}")
_LATEX_ACCENT = re.compile(r"\\[`'^\"~=.uvHc]\s*\{?([A-Za-z])\}?")
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+)")
_LATEX_ESCAPED = re.compile(r"\\([&%$#_{}])")
_ASIDE = re.compile(r"\s*\([^()]*\)")  # "(SayCan)": an acronym or remark in brackets
_WORD = re.compile(r"[^\W_]+")
_ROMAN = re.compile(r"^(?:i{1,3}|iv|vi{0,3}|ix|x{1,3})$")
_SUBTITLE = re.compile(r"\s*[:–—]\s+|\s+-\s+|\.\s+(?=[A-Z])")  # "Main: Sub", "Main — Sub", "Main - Sub", "Main. Sub"
# Words that make a title another paper: its follow-up, its critique, its precursor.
_FOLLOW_UP = re.compile(r"\b(?:extended (?:version|abstract)|long version|full version|journal version|"
                        r"supplementary(?: materials?)?|supplemental materials?|appendix|appendices|erratum|errata|"
                        r"corrigendum|addendum|comments? on|reply to|response to|rebuttal|technical report|"
                        r"part [ivx\d]+|revisited|version \d+|v\d+)\b")
_LEADING = frozenset({"towards", "toward", "on", "revisiting", "rethinking", "beyond", "understanding", "improving",
                      "improved", "exploring", "learning"})
_MEANINGFUL = frozenset({"not", "no", "non", "without", "beyond", "towards", "toward", "versus", "vs", "against",
                         "only", "more", "less", "extended", "revisited", "rethinking", "revisiting"})
_DROPPABLE = frozenset({"a", "an", "the"})


class Verdict(enum.StrEnum):
    """How a record's title relates to the digest's, and whether that makes it the same paper."""

    EQUAL = "equal"  # the same title once normalised: the same paper
    NEAR = "near"  # nearly equal, and an author in common: the same paper
    SUBTITLE = "subtitle"  # one side left the subtitle out, and an author in common: the same paper
    NEEDS_AUTHORS = "needs_authors"  # nearly equal, but no author in common (or the digest named none)
    FOLLOW_UP = "follow_up"  # "…: Extended Version", "…, Part II", "Reply to …"
    TOWARDS = "towards"  # "Towards …" (or "On …", "Rethinking …") built from the same words
    NUMBER = "number"  # a number or version that differs: "Tensor Programs IV" / "V", "YOLOv3" / "YOLOv4"
    DIFFERENT = "different"  # another paper, however many words it shares
    NOT_A_PAPER = "not_a_paper"  # an arXiv error entry, or an entry without id or title

    @property
    def same_paper(self) -> bool:
        """Whether the record may be taken as the digest's paper."""
        return self in (Verdict.EQUAL, Verdict.NEAR, Verdict.SUBTITLE)


def _latex_free(title: str) -> str:
    """Title text as it reads: LaTeX commands, math dollars, braces and escapes gone, Greek letters spelt out."""
    text = title
    for _ in range(3):  # nested \emph{\textbf{…}}
        text = _LATEX_TEXT.sub(r"\1", text)
    text = _LATEX_ACCENT.sub(r"\1", text)
    text = _LATEX_ESCAPED.sub(r"\1", text)
    text = _LATEX_COMMAND.sub(r" \1 ", text)  # \alpha → alpha; \cite-like commands leave their name, harmlessly
    return text.replace("$", "").replace("{", "").replace("}", "").replace("&", " and ")


def _folded(text: str) -> str:
    """Accents and compatibility forms folded ('Müller' → 'Muller', 'ﬁ' → 'fi'), line breaks to spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(char for char in decomposed if not unicodedata.combining(char)).split())


def title_words(title: str | None, *, asides: bool = True) -> list[str]:
    """A title as lower-case words: case, punctuation, white space, LaTeX and folded lines normalised away."""
    if not title:
        return []
    text = _folded(_latex_free(title))
    if not asides:
        text = _ASIDE.sub(" ", text)
    return _WORD.findall(text.casefold())


def normalise_title(title: str | None) -> str:
    """The title as one comparable string of words."""
    return " ".join(title_words(title))


def is_english_title(title: str | None) -> bool:
    """Worth asking arXiv about: Latin words, at least two letters' worth, no Chinese or Japanese characters."""
    if not title:
        return False
    words = title_words(title)
    return bool(words) and all(word.isascii() for word in words) and sum(map(len, words)) >= 4


def title_query(title: str) -> str:
    """arXiv's search_query for a title: the title's words as one phrase in the title field (ti:"…")."""
    words = title_words(title, asides=False) or title_words(title)
    return 'ti:"' + " ".join(words[:QUERY_WORDS]) + '"'


def _name_keys(name: str) -> set[tuple[str, str]]:
    """(family name, first initial) either way round: 'J Ren', 'Jian Ren' and 'Ren Jian' share ('ren', 'j')."""
    parts = [part for part in _WORD.findall(_folded(name).casefold()) if part]
    if len(parts) < 2:
        return {(parts[0], "")} if parts else set()
    return {(parts[-1], parts[0][0]), (parts[0], parts[-1][0])}


def authors_overlap(digest_authors: Sequence[str], arxiv_authors: Sequence[str]) -> bool:
    """Whether a named author of the digest is an author on arXiv (family name and first initial)."""
    theirs = set().union(*(_name_keys(name) for name in arxiv_authors)) if arxiv_authors else set()
    families = {family for family, initial in theirs}
    for name in digest_authors:
        for family, initial in _name_keys(name):
            if (family, initial) in theirs or (not initial and family in families and len(family) > 2):
                return True
    return False


def _is_number(word: str) -> bool:
    """Digits anywhere ('v2', 'resnet50', '3d') or a Roman numeral: a version, never a spelling."""
    return any(char.isdigit() for char in word) or bool(_ROMAN.match(word))


def _main_title(title: str) -> list[str]:
    """The words before the first subtitle separator, asides in brackets left out."""
    head = _SUBTITLE.split(_folded(_latex_free(title)), maxsplit=1)[0]
    return title_words(head, asides=False)


def _word_changes(ours: list[str], theirs: list[str]) -> list[tuple[list[str], list[str]]]:
    """The (removed, added) word runs that turn one title into the other."""
    matcher = SequenceMatcher(None, ours, theirs, autojunk=False)
    return [(ours[a1:a2], theirs[b1:b2]) for tag, a1, a2, b1, b2 in matcher.get_opcodes() if tag != "equal"]


def _small_changes(ours: list[str], theirs: list[str]) -> bool:
    """Only spelling-sized differences: articles, a word respelt, a hyphen; no number, negation or extra words."""
    if SequenceMatcher(None, " ".join(ours), " ".join(theirs), autojunk=False).ratio() < NEAR_RATIO:
        return False
    for removed, added in _word_changes(ours, theirs):
        if any(_is_number(word) or word in _MEANINGFUL for word in (*removed, *added)):
            return False
        if "".join(removed) == "".join(added):
            continue  # "pre training" / "pretraining"
        if set(removed) | set(added) <= _DROPPABLE:
            continue
        if len(removed) != len(added):
            return False
        pairs = zip(removed, added, strict=True)
        if any(SequenceMatcher(None, old, new).ratio() < SIMILAR_WORD_RATIO for old, new in pairs):
            return False
    return True


def _shape(ours: list[str], theirs: list[str]) -> Verdict | None:
    """What kind of look-alike one title is of the other, if it is one."""
    for longer, shorter in ((theirs, ours), (ours, theirs)):
        extra = len(longer) - len(shorter)
        if extra > 0 and longer[extra:] == shorter and all(word in _LEADING for word in longer[:extra]):
            return Verdict.TOWARDS
    if sorted(ours) == sorted(theirs):
        return Verdict.TOWARDS  # the same words in another order: another paper built from them
    numbers = [word for removed, added in _word_changes(ours, theirs) for word in (*removed, *added)]
    if any(_is_number(word) for word in numbers):
        return Verdict.NUMBER
    return None


def judge(title: str, authors: Sequence[str], record: ArxivRecord) -> Verdict:
    """Whether `record` is the paper a digest called `title` by `authors` (authors may be empty)."""
    if not record.arxiv_id or not record.title or record.title.strip().casefold() == "error":
        return Verdict.NOT_A_PAPER
    ours, theirs = normalise_title(title), normalise_title(record.title)
    if not ours or not theirs:
        return Verdict.DIFFERENT
    follow_ups = {bool(_FOLLOW_UP.search(side)) for side in (ours, theirs)}
    if ours == theirs or ours.replace(" ", "") == theirs.replace(" ", ""):
        return Verdict.EQUAL
    if len(follow_ups) == 2:
        return Verdict.FOLLOW_UP
    our_words, their_words = title_words(title), title_words(record.title)
    bare_ours, bare_theirs = title_words(title, asides=False), title_words(record.title, asides=False)
    if (shape := _shape(our_words, their_words)) is not None:
        return shape
    overlap = authors_overlap([name for name in authors if not name.strip().endswith("al.")], record.authors)
    if bare_ours == bare_theirs or _small_changes(bare_ours, bare_theirs):
        return Verdict.NEAR if overlap else Verdict.NEEDS_AUTHORS
    if _main_title(title) == _main_title(record.title) and len(_main_title(title)) >= 2 and (
            _main_title(title) in (bare_ours, bare_theirs)):
        return Verdict.SUBTITLE if overlap else Verdict.NEEDS_AUTHORS
    return Verdict.DIFFERENT


@dataclass(frozen=True, slots=True)
class Judged:
    """A candidate with its verdict."""

    record: ArxivRecord
    verdict: Verdict


def pick_match(title: str, authors: Sequence[str], records: Sequence[ArxivRecord]) -> ArxivRecord | None:
    """The one record that is the digest's paper, or None (none is, or two different papers are equally likely)."""
    judged = [Judged(record, judge(title, authors, record)) for record in records]
    for verdict in (Verdict.EQUAL, Verdict.NEAR, Verdict.SUBTITLE):
        found = {item.record.arxiv_id: item.record for item in judged if item.verdict is verdict}
        if len(found) > 1 and authors:
            found = {arxiv_id: record for arxiv_id, record in found.items()
                     if authors_overlap(authors, record.authors)}
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            return None  # two papers of that title and nothing to tell them apart
    return None
