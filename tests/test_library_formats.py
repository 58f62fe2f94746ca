"""Reading imported libraries: BibTeX, RIS and Zotero CSV, one small fixture per quirk, and what is refused."""

from __future__ import annotations

import pytest

from storage.library_formats import (
    MAX_LIBRARY_BYTES,
    MAX_LIBRARY_ENTRIES,
    LibraryFormat,
    LibraryFormatError,
    LibraryProblem,
    parse_library,
    read_library,
)
from tests.taste_fixtures import GRASPING, grasping_bibtex

RIS = """TY  - JOUR
TI  - Learning Grasp Poses for Cluttered Bins
AU  - Ott, Karl
AU  - Ruiz, Ana
AB  - We learn grasp poses for robot picking.
UR  - https://arxiv.org/abs/2611.00102v2
ER  -

TY  - CONF
T1  - Tactile Sensing for Robust Robotic Grasping
DO  - 10.48550/arXiv.2611.00103
ER  -

TY  - JOUR
AU  - Nobody, A
ER  -
"""

ZOTERO_CSV = ('"Key","Item Type","Publication Year","Author","Title","Abstract Note","Url","DOI","Extra"\n'
              '"AB12","journalArticle","2026","Lin, Mei; Ott, Karl","Dexterous Grasping of Deformable Objects",'
              '"A robot hand, learning.","","","arXiv: 2611.00101"\n'
              '"CD34","preprint","2026","Chen, Lia","Grasp Affordances from Human Videos","","","",""\n'
              '"EF56","note","2026","","","","","",""\n')


def test_bibtex_titles_authors_abstracts_and_arxiv_ids() -> None:
    library = parse_library(grasping_bibtex(), "My Library.bib")
    assert library.format is LibraryFormat.BIBTEX
    assert [item.title for item in library.items] == [title for _tag, title, *_rest in GRASPING[:3]]
    assert library.items[0].authors == ("Mei Lin", "Karl Ott"), "'Family, Given' read as digests write names"
    assert library.items[0].arxiv_id == "2611.00101" and library.items[1].arxiv_id is None
    assert library.items[0].abstract and library.items[0].abstract.startswith("A robot hand")
    assert library.untitled == 1


def test_bibtex_latex_and_arxiv_in_a_journal_field() -> None:
    text = ("@inproceedings{k, title={Learning {\\em Fast} Grasps with {\\\"U}ber Nets},\n"
            " journal={arXiv preprint arXiv:2106.04647}}\n")
    (item,) = parse_library(text).items
    assert item.title == "Learning Fast Grasps with Uber Nets" and item.arxiv_id == "2106.04647"


def test_ris_records_with_either_title_tag() -> None:
    library = parse_library(RIS, "export.ris")
    assert library.format is LibraryFormat.RIS
    assert [item.title for item in library.items] == ["Learning Grasp Poses for Cluttered Bins",
                                                      "Tactile Sensing for Robust Robotic Grasping"]
    assert [item.arxiv_id for item in library.items] == ["2611.00102", "2611.00103"]
    assert library.items[0].authors == ("Karl Ott", "Ana Ruiz") and library.untitled == 1


def test_zotero_csv_rows() -> None:
    library = parse_library(ZOTERO_CSV, "Exported Items.csv")
    assert library.format is LibraryFormat.ZOTERO_CSV
    assert [item.arxiv_id for item in library.items] == ["2611.00101", None]
    assert library.items[0].authors == ("Mei Lin", "Karl Ott") and library.untitled == 1


@pytest.mark.parametrize(("data", "problem"), [
    (b"Just some notes about grasping.\nNothing to import.", LibraryProblem.UNKNOWN_FORMAT),
    (b'{"items": [{"title": "A"}]}', LibraryProblem.UNKNOWN_FORMAT),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", LibraryProblem.UNKNOWN_FORMAT),
    (b"", LibraryProblem.EMPTY),
    (b"  \n\n ", LibraryProblem.EMPTY),
    (b"% only a comment\n@comment{nothing here}\n", LibraryProblem.EMPTY),
    (b'"Key","Title","Author"\n', LibraryProblem.EMPTY),
    ("".join(f"@misc{{x{n}, title={{A}}}}\n" for n in range(MAX_LIBRARY_ENTRIES + 1)).encode(),
     LibraryProblem.TOO_MANY),
    (b"%" * (MAX_LIBRARY_BYTES + 1), LibraryProblem.TOO_LARGE),
])
def test_what_is_not_a_library_is_refused_with_its_reason(data: bytes, problem: LibraryProblem) -> None:
    with pytest.raises(LibraryFormatError) as raised:
        read_library(data, "library.bib")
    assert raised.value.problem is problem


def test_a_library_in_utf16_with_chinese_titles_reads() -> None:
    text = "@article{z, title={基于触觉的机械手抓取}, author={林, 美}}\n"
    (item,) = read_library(text.encode("utf-16")).items
    assert item.title == "基于触觉的机械手抓取"
