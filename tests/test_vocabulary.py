"""The domain's vocabulary: fields and their arXiv categories both ways, arXiv ids, times, zones, links, quotes."""

from __future__ import annotations

from datetime import time

import pytest

from storage.vocabulary import (
    ARXIV_CLASS_OF_CATEGORY,
    CATEGORIES,
    CATEGORY_OF_ARXIV_CLASS,
    TYPED_QUOTES,
    Category,
    arxiv_id_year,
    is_arxiv_id,
    is_time_zone,
    time_of_day,
    web_link_problem,
)


def test_fields_keep_their_order_names_and_arxiv_categories_both_ways() -> None:
    assert CATEGORIES == ("LG", "CV", "CL", "AS", "RO") and all(type(code) is str for code in CATEGORIES)
    assert (Category("AS").chinese, Category("AS").english) == ("音频与语音", "Audio & speech")
    assert ARXIV_CLASS_OF_CATEGORY == {"LG": "cs.LG", "CV": "cs.CV", "CL": "cs.CL", "AS": "eess.AS", "RO": "cs.RO"}
    assert all(CATEGORY_OF_ARXIV_CLASS[cited] == code for code, cited in ARXIV_CLASS_OF_CATEGORY.items())
    assert CATEGORY_OF_ARXIV_CLASS["stat.ML"] == "LG" and CATEGORY_OF_ARXIV_CLASS["cs.SD"] == "AS"


@pytest.mark.parametrize(("text", "year"), [
    ("2401.01234", 2024), ("2401.1234v3", 2024), ("hep-th/9901001", 1999), ("math.AG/0601001v2", 2006),
    ("2401.123", None), ("2401.01234 ", None), ("arXiv:2401.01234", None), ("HEP-TH/9901001", None), ("", None),
])
def test_an_arxiv_id_is_new_or_old_style_and_tells_its_year(text: str, year: int | None) -> None:
    assert is_arxiv_id(text) is (year is not None)
    assert arxiv_id_year(text) == year


@pytest.mark.parametrize(("text", "expected"), [
    ("9:05", time(9, 5)), (" 23:59 ", time(23, 59)), ("00:00", time(0, 0)),
    ("24:00", None), ("12:60", None), ("12:5", None), ("1205", None), ("", None),
])
def test_time_of_day_reads_a_24_hour_clock(text: str, expected: time | None) -> None:
    assert time_of_day(text) == expected


def test_a_time_zone_is_one_the_tz_database_knows() -> None:
    assert is_time_zone("Asia/Shanghai") and is_time_zone("UTC")
    assert not any(is_time_zone(name) for name in ("America", "", "Mars/Olympus", "../etc/passwd"))


@pytest.mark.parametrize(("url", "problem"), [
    ("https://example.org/digest", None), ("HTTP://example.org", None),
    ("https://example.org/" + "a" * 20, "too long (40 characters; at most 30)"),
    ("ftp://example.org/x", "not an http(s) URL with a host"), ("https://", "not an http(s) URL with a host"),
    ("http://[::1", "not a well-formed URL"), ("https://example.org/a b", "contains spaces or control characters"),
    ("https://example.org/\x7f", "contains spaces or control characters"),
])
def test_a_web_link_is_http_with_a_host_within_the_callers_length(url: str, problem: str | None) -> None:
    assert web_link_problem(url, max_length=30) == problem


def test_every_typed_quote_closes_and_an_apostrophe_is_no_quote() -> None:
    assert "'" not in TYPED_QUOTES and TYPED_QUOTES['"'] == '"' and TYPED_QUOTES["「"] == "」"
