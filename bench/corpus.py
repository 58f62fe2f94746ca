"""A large digest corpus made by varying the bundled samples, so every copy's papers are distinct."""

from __future__ import annotations

import re

from storage.ingest import SAMPLE_DIGESTS_DIR

_WEIBO_HEADER = re.compile(r"^((?:\d+、)?\*?\[[A-Z]{2}\]\*?\s*)(\S)", re.MULTILINE)
_BLOG_HEADER = re.compile(r"^(\d+、)(\S)", re.MULTILINE)
_SECOND_TITLE = re.compile(r" and ([A-Z][\w\-]*): ")
_ARXIV = re.compile(r"arxiv\.org/abs/\d{4}\.\d{5}")
_PROSE_LINE = re.compile(r"^(?![\d\[*]|https?:|By |translated by)(.{40,})$", re.MULTILINE)
_TRANSLATED_PARAGRAPH = re.compile(r"^(?!translated by)(.+)$", re.MULTILINE)


def sample_texts() -> list[str]:
    """The five bundled samples, in file-name order."""
    return [path.read_text(encoding="utf-8") for path in sorted(SAMPLE_DIGESTS_DIR.glob("*.txt"))]


def vary(text: str, copy: int) -> str:
    """One more digest of the same shape whose titles, abstracts and arXiv ids are new."""
    serials = iter(range(copy * 100, copy * 100 + 100))

    def new_id(_match: re.Match[str]) -> str:
        serial = next(serials)
        return f"arxiv.org/abs/{1000 + serial // 99_999:04d}.{serial % 99_999:05d}"

    text = _ARXIV.sub(new_id, text)
    if "translated by" in text:
        return _TRANSLATED_PARAGRAPH.sub(lambda m: f"Variant {copy}: {m.group(1)}", text)
    text = _PROSE_LINE.sub(lambda m: f"V{copy} {m.group(1)}".replace(". ", f". V{copy} ", 1), text)
    text = _WEIBO_HEADER.sub(lambda m: f"{m.group(1)}V{copy} {m.group(2)}", text)
    if "[LG]" not in text and "[CV]" not in text:
        text = _BLOG_HEADER.sub(lambda m: f"{m.group(1)}V{copy} {m.group(2)}", text)
        text = _SECOND_TITLE.sub(lambda m: f" and {m.group(1)}-V{copy}: ", text)
    return text


def build_corpus(min_papers: int) -> list[str]:
    """Enough varied digests to hold at least min_papers papers (46 per round of the five samples)."""
    samples = sample_texts()
    rounds = -(-min_papers // 46)
    return [vary(text, copy) for copy in range(rounds) for text in samples]
