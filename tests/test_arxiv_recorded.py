"""The Atom parser and the client on the five answers recorded from arXiv's real API (../shared/arxiv-responses):
old and current format, an affiliation per author, a 10-entry search, an empty result, and a 400 error feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.arxiv import ArxivClient, parse_feed
from storage.title_match import normalise_title
from tests.local_http import Response, local_server


def test_the_old_format_with_a_folded_title(arxiv_responses_dir: Path) -> None:
    (record,) = parse_feed((arxiv_responses_dir / "old_api_id_list_1111.2011v2.xml").read_bytes()).records
    assert record.arxiv_id == "1111.2011", "the version is dropped"
    assert record.title == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    assert record.authors == ("James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic")
    assert record.abstract.startswith("Theoretical description of anisotropic systems, such as layered superconductors")
    assert "\n" not in record.abstract
    assert (record.primary_category, record.category, record.affiliations) == ("cond-mat.str-el", None, ())


def test_the_current_format_with_an_affiliation_per_author(arxiv_responses_dir: Path) -> None:
    answer = parse_feed((arxiv_responses_dir / "new_api_id_list_astro-ph_0601001_affiliations.xml").read_bytes())
    (record,) = answer.records
    assert record.arxiv_id == "astro-ph/0601001" and record.primary_category == "astro-ph"
    assert record.authors == ("Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski")
    assert record.affiliations == ("Ohio State", "CfA", "Warsaw University Observatory"), "each once, in order"
    assert record.title.startswith("Frequency of Hot Jupiters") and answer.errors == ()


def test_a_ten_entry_search(arxiv_responses_dir: Path) -> None:
    answer = parse_feed((arxiv_responses_dir / "new_api_search_testing_10_entries.xml").read_bytes())
    assert len(answer.records) == 10 and len({record.arxiv_id for record in answer.records}) == 10
    first, second = answer.records[:2]
    assert (first.arxiv_id, first.primary_category, first.category) == ("2202.12139", "cs.SE", None)
    assert normalise_title(second.title) == "towards explainable test case prioritisation with learning to rank models"
    assert second.authors[0] == "Aurora RamÃ\xadrez", "kept as arXiv sent it"
    assert {record.primary_category for record in answer.records} == {"cs.SE", "cs.AR"}
    assert all(record.abstract and record.authors for record in answer.records)


def test_an_empty_result_and_a_400_error_feed(arxiv_responses_dir: Path) -> None:
    empty = parse_feed((arxiv_responses_dir / "new_api_id_list_0000.0000_empty.xml").read_bytes())
    assert (empty.records, empty.rejected_ids, empty.errors) == ((), (), ())
    error = parse_feed((arxiv_responses_dir / "new_api_id_list_abc_http400_error.xml").read_bytes())
    assert error.records == (), "the Error entry is not a paper"
    assert error.rejected_ids == ("abc",)


@pytest.mark.parametrize(("name", "status", "records", "rejected"), [
    ("new_api_search_testing_10_entries.xml", 200, 10, ()),
    ("new_api_id_list_0000.0000_empty.xml", 200, 0, ()),
    ("new_api_id_list_abc_http400_error.xml", 400, 0, ("abc",)),
])
async def test_the_client_reads_them_as_served_with_their_status(arxiv_responses_dir: Path, name: str, status: int,
                                                                 records: int, rejected: tuple[str, ...]) -> None:
    body = (arxiv_responses_dir / name).read_bytes()
    with local_server() as server:
        server.routes["/api/query"] = lambda request: Response(status, body, {"Content-Type": "application/atom+xml"})
        client = ArxivClient(server.url("/api/query"), interval=0.01, timeout=2)
        answer = await client.search('ti:"testing"')
        again = await client.fetch(["abc"])
    assert len(answer.records) == records and answer.rejected_ids == rejected
    assert again == answer
