"""What is never a paper: a scraper's metadata, placeholders, section furniture; and the minor-section headings."""

from __future__ import annotations

import re

# weiboSpider and similar scrapes: "发布时间：2020-06-22 21:37", "点赞数：12", the 用户信息 header block, and a
# retweet's "原始用户:" line (its "转发理由:" line is the retweeter's words, "转发内容:" the post retweeted).
_SCRAPER_META = re.compile(
    r"^(?:用户信息|用户昵称|用户id|微博数|关注数|粉丝数|原创微博内容|转发微博内容|微博内容|原始用户|微博位置|发布时间|发布工具|点赞数"
    r"|转发数|评论数)"
    r"\s*[:：]")
_PLACEHOLDER = ("尚未生成", "暂无摘要", "摘要生成中", "no summary yet")
_MINOR_HEADING = re.compile(r"^(?:更多|另外.{0,6}值得关注|其他.{0,6}值得关注|其他论文|more papers|also worth)",
                            re.IGNORECASE)
_END_SECTIONS = re.compile(r"^(?:参考|参考文献|参考资料|引用|references?|相关阅读|往期推荐|关于)\s*[:：]?\s*$",
                           re.IGNORECASE)


def is_scraper_metadata(text: str) -> bool:
    """A scraper's own line (post location, time, counts, tool), never part of a post."""
    return _SCRAPER_META.match(text) is not None


def is_placeholder(text: str) -> bool:
    """An automated page's 'summary not generated yet' line: not commentary."""
    lowered = text.lower()
    return any(marker in lowered for marker in _PLACEHOLDER)


def is_minor_heading(text: str) -> bool:
    """A heading that opens the minor section (更多, 另外几篇值得关注的论文)."""
    return _MINOR_HEADING.match(text.strip()) is not None


def is_end_section(text: str) -> bool:
    """A heading after which no entries follow (references, related reading)."""
    return _END_SECTIONS.match(text.strip()) is not None
