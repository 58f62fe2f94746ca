"""Text for Telegram HTML: escaped, measured as Telegram measures it, shortened or split to fit; pure.

Every length is Telegram's: UTF-16 code units of the text left after HTML entity parsing.
"""

from __future__ import annotations

import html
import re

ELLIPSIS = "…"


def escape(text: str) -> str:
    """Paper text as HTML text; quotes too, so the same helper is safe in attributes."""
    return html.escape(text, quote=True)


# ---------------------------------------------------------------------------------------------------------------
# Telegram's length
# ---------------------------------------------------------------------------------------------------------------

# A tag as Telegram's parser reads it: quoted attribute values may hold '>'.
_TAG = re.compile(r"<(?:\"[^\"]*\"|'[^']*'|[^'\">])*>")
# A character reference as Telegram reads it: the ';' is optional, '&' that starts none stays literal.
_CHARACTER_REFERENCE = re.compile(r"&(?:#(x[0-9A-Fa-f]*|[0-9]*)|([A-Za-z]*));?")
_NAMED_REFERENCES = frozenset({"lt", "gt", "amp", "quot"})
_MAX_REFERENCE_SPAN = 10  # Telegram ignores numeric references of ten or more characters before the ';'


def utf16_length(text: str) -> int:
    """Telegram counts UTF-16 code units: characters beyond the BMP count twice."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def _reference_length(match: re.Match[str]) -> int:
    """UTF-16 length of what one '&…' run shows: the decoded character, or itself when it decodes to nothing."""
    numeric, named = match.group(1), match.group(2)
    if named is not None:
        return 1 if named in _NAMED_REFERENCES else utf16_length(match.group(0))
    hexadecimal = numeric.startswith("x")
    digits = numeric[1:] if hexadecimal else numeric
    code = int(digits, 16 if hexadecimal else 10) if digits else 0
    span = 2 + len(numeric)  # '&#' plus what follows, before any ';'
    if code == 0 or code >= 0x10FFFF or span >= _MAX_REFERENCE_SPAN:
        return utf16_length(match.group(0))
    return 2 if code > 0xFFFF else 1


def visible_length(html_text: str) -> int:
    """Length as Telegram checks it against its limits: UTF-16 units of the text once tags and references go."""
    total = 0
    for chunk in _TAG.split(html_text):
        position = 0
        for match in _CHARACTER_REFERENCE.finditer(chunk):
            total += utf16_length(chunk[position : match.start()]) + _reference_length(match)
            position = match.end()
        total += utf16_length(chunk[position:])
    return total


# ---------------------------------------------------------------------------------------------------------------
# Plain-text helpers: cleaning, sentence cutting, splitting
# ---------------------------------------------------------------------------------------------------------------

# Control characters and lone surrogates: Telegram drops or refuses them, and they cannot be encoded as UTF-8.
UNSENDABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LOOKAHEAD = 8  # characters past a cut that decide whether a dot there ends a sentence
_CJK_SENTENCE_END = re.compile("[。!?!?]+[”’」』)\"']*")
_LATIN_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
# Words whose dot does not end a sentence ("e.g.", "et al.", "Fig. 3").
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "al", "etc", "vs", "cf", "fig", "figs", "eq", "eqs", "no", "sec", "ref", "refs", "approx",
    "resp", "dr", "prof", "mr", "mrs", "ms", "st", "jr", "inc", "ltd", "co", "viz",
})


def _clean(text: str | None) -> str:
    """Field text Telegram can take: no control characters, no lone surrogates."""
    return UNSENDABLE.sub(" ", text or "")


def one_line(text: str | None) -> str:
    """A field as one line of single-spaced words, as a card shows it."""
    return " ".join(_clean(text).split())


def _word_before(text: str, end: int) -> str:
    """The run of ASCII letters and dots that ends at end ("e.g" before the last dot of "e.g.")."""
    begin = end
    while begin > 0 and text[begin - 1].isascii() and (text[begin - 1].isalpha() or text[begin - 1] == "."):
        begin -= 1
    return text[begin:end].lstrip(".")


def _is_initial(text: str, word: str, end: int) -> bool:
    """A lone capital after a space, like the "J" of "J. Ren" (but not the "x" of "1.5x")."""
    begin = end - len(word)
    return len(word) == 1 and word.isupper() and (begin == 0 or not text[begin - 1].isalnum())


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """A Latin '.', '!' or '?' ends a sentence unless it closes an abbreviation or lowercase text follows."""
    if match.group(0).startswith("."):
        word = _word_before(text, match.start())
        if word.lower() in _ABBREVIATIONS or _is_initial(text, word, match.start()):
            return False
    following = text[match.end() : match.end() + 2].lstrip()
    return not (following and following[0].islower())


def sentence_ends(text: str) -> list[int]:
    """Offsets just past each sentence end, Chinese (。!?) or English (. ! ? but not "e.g.", "1.5", "et al.")."""
    ends = {match.end() for match in _CJK_SENTENCE_END.finditer(text)}
    ends.update(match.end() for match in _LATIN_SENTENCE_END.finditer(text) if _ends_sentence(text, match))
    return sorted(ends)


def _with_ellipsis(kept: str) -> str:
    """Mark a cut: a space before '…' after Latin punctuation reads better than "training.…"."""
    kept = kept.rstrip()
    return f"{kept} {ELLIPSIS}" if kept and kept[-1] in ".!?" else f"{kept}{ELLIPSIS}"


def shorten(text: str, limit: int) -> str:
    """At most limit characters of text, cut after the last whole sentence that fits (else a word), marked '…'."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    room = max(limit - 2, 1)  # leave space for " …"
    ends = [end for end in sentence_ends(text[: room + _LOOKAHEAD]) if end <= room]
    if ends:
        return _with_ellipsis(text[: ends[-1]])
    space = text.rfind(" ", 0, room + 1)
    cut = space if space >= room // 2 else room
    return _with_ellipsis(text[:cut])


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters of text fit in limit UTF-16 units."""
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > limit:
            return index
    return len(text)


def _best_cut(text: str, fit: int) -> int:
    """Where to end a piece of at most fit characters: a sentence end in its second half, else a space, else fit."""
    ends = [end for end in sentence_ends(text[: fit + _LOOKAHEAD]) if fit // 2 <= end <= fit]
    if ends:
        cut = ends[-1]
        while cut < fit and text[cut].isspace():
            cut += 1
        return cut
    space = text.rfind(" ", 0, fit)
    return space + 1 if space > 0 else max(fit, 1)


def split_to_fit(text: str, limit: int) -> list[str]:
    """Pieces of text, each at most limit UTF-16 units, cut at sentences where possible; they join back to text."""
    pieces = []
    while utf16_length(text) > limit:
        cut = _best_cut(text, _fitting_prefix(text, limit))
        pieces.append(text[:cut])
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def split_paragraphs(text: str | None) -> list[str]:
    """Blank-line separated paragraphs, each on one line."""
    return [line for part in _PARAGRAPH_BREAK.split(_clean(text)) if (line := one_line(part))]


