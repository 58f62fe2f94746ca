"""The five sample families (storage.parsing), with their variant cues folded and several digests split apart.

`1.【LG】 Title`, `１．(LG) Title`, `No 1. cs.LG Title` read as `1、[LG] Title`; a file holding several digests
is cut where the numbering starts again, so each digest keeps its own shape and its own minor section.
"""

from __future__ import annotations

import re

from storage.parsing import (
    DigestFormatError,
    ParsedDigest,
    ParsedPaper,
    normalise_lines,
    parse_lines,
)

_FULLWIDTH = "０１２３４５６７８９"
_FULLWIDTH_DIGITS = str.maketrans(_FULLWIDTH, "0123456789")
# A header's lead: star, number with its punctuation, star; then a tag in other brackets or as cs.XX.
_VARIANT_HEADER = re.compile(
    r"^(\*?\s*)(?:No\.?\s*)?(?:(\d{1,3})\s*[、.．)）]\s*)?(\*?\s*)(?:[\[【(（]\s*([A-Za-z]{2})\s*[\]】)）]|cs\.([A-Za-z]{2})\b)")
_NUMBERED = re.compile(r"^\*?\s*(\d{1,3})\s*[、.．]\s*(\*?\s*\[[A-Za-z]{2}(?:\.[A-Za-z]{2})?\])?")
_BYLINE = re.compile(r"^By\s+\S", re.IGNORECASE)
_PREAMBLE = re.compile(r"^(?:[A-Z]{2}\s*-\s*\S.*|转自.{1,20}|摘要\s*[:：].*|头图|.{1,40})$")


def fold_variants(text: str) -> list[str]:
    """The text's lines with variant header cues written the way the sample parser reads them."""
    lines = normalise_lines(text)
    # str.translate is slow on Chinese text, and a character class scans slower than ten one-character
    # searches: most digests hold no full-width digit, so this skips translating at all.
    fullwidth = any(digit in text for digit in _FULLWIDTH)
    for index, line in enumerate(lines):  # in place: most lines stay as they are
        if line and (line[0] in "*No０１２３４５６７８９0123456789[【(（c"):
            if fullwidth:
                line = line.translate(_FULLWIDTH_DIGITS)
            match = _VARIANT_HEADER.match(line)
            if match:
                number = f"{match.group(2)}、" if match.group(2) else ""
                tag = match.group(4) or match.group(5)
                line = f"{match.group(1)}{number}{match.group(3)}[{tag}]{line[match.end():]}"
            lines[index] = line
    return lines


def split_digests(lines: list[str]) -> list[list[str]]:
    """Cut where a numbered entry's number does not follow the one before: a second digest starts there."""
    starts = [0]  # where each digest starts; the lines are sliced once at the end, not appended one by one
    last = 0
    bylines: set[int] | None = None  # looked for only when a numbered line without a tag needs them
    for index, line in enumerate(lines):
        match = _NUMBERED.match(line) if line[:1].isdigit() or line[:1] == "*" else None
        if match is None:
            continue
        if not match.group(2):
            if bylines is None:
                bylines = _lines_before_byline(lines)
            if index not in bylines:
                continue  # a numbered line in commentary, not an entry header
        number = int(match.group(1))
        if last and number <= last:
            back = index
            while back > starts[-1] and (not lines[back - 1] or _PREAMBLE.match(lines[back - 1])) \
                    and not lines[back - 1].startswith("http"):
                back -= 1
            starts.append(back)
        last = number
    segments = [lines[start:end] for start, end in zip(starts, [*starts[1:], len(lines)], strict=True)]
    return [segment for segment in segments if any(segment)]


def _lines_before_byline(lines: list[str]) -> set[int]:
    """Indexes of the lines whose next non-empty line is a blog entry's 'By …' line."""
    found: set[int] = set()
    previous = -1
    for index, line in enumerate(lines):
        if not line:
            continue
        if previous >= 0 and line[0] in "bB" and _BYLINE.match(line):  # the first letter rules most lines out
            found.add(previous)
        previous = index
    return found


def read_samples_family(text: str) -> tuple[str, tuple[ParsedPaper, ...], tuple[str, ...]] | None:
    """Read the text as digests of the sample families: (shape, papers, problems); None when it is none."""
    segments = split_digests(fold_variants(text))
    digests: list[ParsedDigest] = []
    papers: list[ParsedPaper] = []
    for segment in segments:
        try:  # its lines are normalised already; each paper is made once, flagged and numbered in the file
            digest = parse_lines(segment, cut_flag=True, first_position=len(papers) + 1)
        except DigestFormatError:
            continue
        digests.append(digest)
        papers.extend(digest.papers)
    if not digests:
        return None
    shape = "+".join(dict.fromkeys(digest.shape.value for digest in digests))
    return shape, tuple(papers), tuple(problem for digest in digests for problem in digest.problems)
