"""Favourites as files: the Markdown and BibTeX formatters."""

from __future__ import annotations

import re
from datetime import date

from bot.exports import bibtex_entry, bibtex_escape, citation_keys, favourites_bibtex, favourites_markdown, paper_year
from bot.i18n import translator
from storage.models import Paper
from storage.parsing import ET_AL

EN, ZH = translator("en"), translator("zh")


def _paper(**fields: object) -> Paper:
    """A stored-looking paper."""
    return Paper(**{"id": 7, "authors": [], "affiliations": [], "rank_date": date(2026, 11, 1), **fields})


ARXIV = _paper(id=1, category="CV", title_en="Diffusion Models for Depth", title_zh="用于深度估计的扩散模型",
               authors=["Wei Wang", "Anna Müller", ET_AL], affiliations=["Tsinghua University", "ETH Zurich"],
               summary_zh="我们提出了一种方法。", abstract_en="We propose a method.", arxiv_id="2401.01234v2",
               url="https://arxiv.org/abs/2401.01234", code_url="https://github.com/lab/depth")
BLOG = _paper(id=2, category=None, title_en="Notes on 50% of {Everything} & more_things #1 ~ ^ \\ $",
              authors=["Ada Lovelace"], url="https://example.org/post?a=1&b=2")


def test_arxiv_papers_are_articles_with_eprint_fields() -> None:
    entry = bibtex_entry(ARXIV, "wang2024diffusion")
    assert entry.startswith("@article{wang2024diffusion,\n") and entry.endswith("\n}")
    fields = dict(re.findall(r"^  (\w+) = \{(.*)\},$", entry, re.MULTILINE))
    assert fields["eprint"] == "2401.01234" and fields["archivePrefix"] == "arXiv"
    assert fields["primaryClass"] == "cs.CV" and fields["year"] == "2024"
    assert fields["author"] == "Wei Wang and Anna Müller and others"
    assert fields["title"] == "{Diffusion Models for Depth}"
    assert fields["journal"] == "arXiv preprint arXiv:2401.01234"
    assert fields["note"] == "用于深度估计的扩散模型"


def test_other_papers_are_misc_with_their_link_and_special_characters_escaped() -> None:
    entry = bibtex_entry(BLOG, "lovelace2026notes")
    assert entry.startswith("@misc{lovelace2026notes,")
    assert "eprint" not in entry and "archivePrefix" not in entry
    assert r"title = {{Notes on 50\% of \{Everything\} \& more\_things \#1 \textasciitilde{} " \
           r"\textasciicircum{} \textbackslash{} \$}}," in entry
    assert r"howpublished = {\url{https://example.org/post?a=1&b=2}}," in entry
    assert entry.count("{") == entry.count("}") + entry.count(r"\}") - entry.count(r"\{"), "braces balance"


def test_escaping_leaves_plain_text_alone() -> None:
    assert bibtex_escape("Attention Is All You Need") == "Attention Is All You Need"
    assert bibtex_escape("a\nb") == "a b"


def test_citation_keys_are_unique_and_readable() -> None:
    twins = [_paper(id=n, title_en="The Diffusion Paper", authors=["Wei Wang"], arxiv_id="2401.0000" + str(n))
             for n in range(1, 4)]
    nameless = _paper(id=9, title_en=None, title_zh="只有中文标题", authors=["王伟"])
    keys = citation_keys([*twins, nameless, ARXIV])
    assert keys[:3] == ["wang2024diffusion", "wang2024diffusionb", "wang2024diffusionc"]
    assert keys[3] == "paper9" and keys[4] == "wang2024diffusiond"
    assert len(set(keys)) == len(keys)


def test_years_come_from_arxiv_ids_old_and_new_else_the_digest() -> None:
    assert paper_year(_paper(arxiv_id="2401.01234")) == 2024
    assert paper_year(_paper(arxiv_id="hep-th/9901001")) == 1999
    assert paper_year(_paper(arxiv_id=None, rank_date=date(2022, 5, 1))) == 2022


def test_the_bibtex_file_holds_one_entry_per_paper() -> None:
    text = favourites_bibtex([ARXIV, BLOG])
    assert len(re.findall(r"^@(article|misc)\{", text, re.MULTILINE)) == 2 and text.endswith("}\n")


def test_markdown_has_every_field_with_markup_escaped() -> None:
    text = favourites_markdown([ARXIV, BLOG], t=EN, title="Papers saved in ML reading group")
    assert text.startswith("# Papers saved in ML reading group\n\n2 saved papers\n")
    assert "## 1. [CV] Diffusion Models for Depth" in text and "*用于深度估计的扩散模型*" in text
    assert "- **Authors:** Wei Wang, Anna Müller et al." in text
    assert "- **Affiliations:** Tsinghua University & ETH Zurich" in text
    assert "[arXiv:2401.01234](https://arxiv.org/abs/2401.01234)" in text
    assert "[Code](https://github.com/lab/depth)" in text
    assert "**Chinese summary**\n\n我们提出了一种方法。" in text
    assert "**English abstract**\n\nWe propose a method." in text
    assert r"## 2. Notes on 50% of \{Everything\} & more\_things \#1 \~ ^ \\ $" in text
    assert "<https://example.org/post?a=1&b=2>" in text


def test_markdown_labels_follow_the_interface_language() -> None:
    text = favourites_markdown([ARXIV], t=ZH, title="本聊天收藏的论文")
    assert "已收藏 1 篇论文" in text and "- **作者:** Wei Wang, Anna Müller 等" in text and "**中文摘要**" in text


def test_a_paper_resolved_by_title_is_cited_by_its_eprint_not_its_digest_link() -> None:
    paper = Paper(id=3, category="CV", title_en="Visual Prompt Tuning", authors=["Menglin Jia", ET_AL],
                  arxiv_id="2203.12119", url="https://weibo.com/1402400261/Abc", rank_date=date(2022, 4, 20))
    entry = bibtex_entry(paper, "jia2022visual")
    assert entry.startswith("@article{jia2022visual,")
    assert "  eprint = {2203.12119}," in entry and "  primaryClass = {cs.CV}," in entry
    assert "  url = {https://arxiv.org/abs/2203.12119}," in entry and "weibo" not in entry
