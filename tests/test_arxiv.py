"""arXiv enrichment: the Atom parser on recorded-looking answers, the client's pace, and enrichment runs against
a local arXiv look-alike that answers, refuses ids, fails with 5xx, stalls and sends oversized bodies."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.arxiv import (
    MAX_RESPONSE_BYTES,
    RETRY_AFTER,
    ArxivClient,
    ArxivFeedError,
    ArxivUnavailable,
    bare_id,
    enrich_papers,
    parse_feed,
)
from bot.config import SettingsError, load_settings
from bot.emulator import BotApiEmulator
from bot.playground import emulator_settings, running_bot
from bot.services import Services
from storage.db import open_store, session_scope
from storage.enrichment import claim_papers_for_arxiv, count_papers_waiting_for_arxiv
from storage.models import Paper
from tests.local_http import LocalServer, Request, Response, local_server

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
ATOM_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3D%26id_list%3D{ids}" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=&amp;id_list={ids}&amp;start=0&amp;max_results=10</title>
  <id>http://arxiv.org/api/5ZSBvzSXbfMTZeLzIrsdRdGUs7M</id>
  <updated>2026-11-22T00:00:00-05:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{count}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
"""
ENTRY = """  <entry>
    <id>http://arxiv.org/abs/{id}v2</id>
    <updated>2026-01-05T18:59:59Z</updated>
    <published>2026-01-02T10:00:00Z</published>
    <title>{title}</title>
    <summary>  {abstract}
</summary>
{authors}    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">12 pages, 5 figures</arxiv:comment>
    <link href="http://arxiv.org/abs/{id}v2" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{id}v2" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{primary}" scheme="http://arxiv.org/schemas/atom"/>
    <category term="{primary}" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.AI" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
"""
AUTHOR = """    <author>
      <name>{name}</name>{affiliation}
    </author>
"""
ERROR_ENTRY = """  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_{id}</id>
    <title>Error</title>
    <summary>incorrect id format for {id}</summary>
    <updated>2026-11-22T00:00:00-05:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_{id}" rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
"""
WELL_FORMED = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})$")


def entry(arxiv_id: str, title: str, abstract: str, authors: list[tuple[str, str | None]], primary: str) -> str:
    """One <entry> as arXiv writes it: wrapped title and abstract, versioned id, affiliations inside authors."""
    people = "".join(AUTHOR.format(name=escape(name), affiliation="" if not where else
                                   f'\n      <arxiv:affiliation xmlns:arxiv="http://arxiv.org/schemas/atom">'
                                   f"{escape(where)}</arxiv:affiliation>") for name, where in authors)
    return ENTRY.format(id=arxiv_id, title=escape(title), abstract=escape(abstract), authors=people, primary=primary)


def feed(ids: list[str], entries: list[str]) -> bytes:
    """A whole answer."""
    return (ATOM_HEAD.format(ids=",".join(ids), count=len(entries)) + "".join(entries) + "</feed>\n").encode()


KNOWN = {
    "2601.00001": ("Learning to Fold:\n  Robots and Laundry", "We fold laundry\n  with a robot arm.",
                   [("Ada Lovelace", "Analytical Engines Ltd"), ("Alan Turing", None)], "cs.RO"),
    "2601.00002": ("Seeing Twice", "Stereo vision for everyone.", [("Grace Hopper", None)], "cs.LG"),
    "2601.00003": ("Talking Machines", "Language models talk.", [("Karen Spärck Jones", "Cambridge")], "cs.CL"),
    "2601.00004": ("Hearing Aids", "Speech enhancement.", [("Bell", None)], "eess.AS"),
    "2601.00005": ("Proving Things", "A theorem about provers.", [("Emmy Noether", None)], "cs.LO"),
}


class FakeArxiv:
    """The API's behaviour: known ids get entries, unknown well-formed ids nothing, a malformed id only an error."""

    def __init__(self, known: dict[str, tuple[str, str, list[tuple[str, str | None]], str]]) -> None:
        self.known = known
        self.mode = "ok"

    def __call__(self, request: Request) -> Response:
        if self.mode == "5xx":
            return Response(503, b"<html>Service Unavailable</html>")
        if self.mode == "stall":
            return Response(200, b"", stall=5)
        if self.mode == "huge":
            return Response(200, b"<feed>" + b" " * (MAX_RESPONSE_BYTES + 1024))
        if self.mode == "garbage":
            return Response(200, b"<html><body>Rate exceeded.</body></html>", {"Content-Type": "text/html"})
        ids = request.query.get("id_list", [""])[0].split(",")
        bad = [arxiv_id for arxiv_id in ids if not WELL_FORMED.match(arxiv_id)]
        if bad:
            return Response(200, feed(ids, [ERROR_ENTRY.format(id=bad[0])]))
        entries = [entry(arxiv_id, *self.known[arxiv_id]) for arxiv_id in ids if arxiv_id in self.known]
        return Response(200, feed(ids, entries), {"Content-Type": "application/atom+xml; charset=utf-8"})


# --- the parser ----------------------------------------------------------------------------------------


def test_parse_reads_a_recorded_answer() -> None:
    answer = parse_feed(feed(["2601.00001", "2601.00002"], [entry("2601.00001", *KNOWN["2601.00001"]),
                                                             entry("2601.00002", *KNOWN["2601.00002"])]))
    first, second = answer.records
    assert first.arxiv_id == "2601.00001" and first.title == "Learning to Fold: Robots and Laundry"
    assert first.abstract == "We fold laundry with a robot arm."
    assert first.authors == ("Ada Lovelace", "Alan Turing") and first.affiliations == ("Analytical Engines Ltd",)
    assert (first.primary_category, first.category) == ("cs.RO", "RO")
    assert (second.primary_category, second.category) == ("cs.LG", "LG")
    assert answer.rejected_ids == () and answer.errors == ()


@pytest.mark.parametrize(("primary", "field"), [
    ("cs.LG", "LG"), ("stat.ML", "LG"), ("cs.CV", "CV"), ("eess.IV", "CV"), ("cs.CL", "CL"), ("cs.SD", "AS"),
    ("eess.AS", "AS"), ("cs.RO", "RO"), ("cs.AI", None), ("math.OC", None), ("cs.LO", None),
])
def test_primary_categories_map_to_our_fields(primary: str, field: str | None) -> None:
    (record,) = parse_feed(feed(["2601.00009"], [entry("2601.00009", "T", "A", [("X", None)], primary)])).records
    assert record.category == field


def test_parse_reports_refused_ids_and_skips_empty_entries() -> None:
    refused = parse_feed(feed(["2601.1"], [ERROR_ENTRY.format(id="2601.1")]))
    assert refused.records == () and refused.rejected_ids == ("2601.1",)
    odd_error = ERROR_ENTRY.format(id="x").replace("incorrect id format for x", "internal error")
    assert parse_feed(feed([], [odd_error])).errors == ("internal error",)
    empty = '<entry><id>http://arxiv.org/abs/2601.77777</id><title/><summary/></entry>'
    assert parse_feed(feed(["2601.77777"], [empty])).records == ()


@pytest.mark.parametrize("answer", [b"", b"not xml at all", b"<html><body>busy</body></html>", b"<feed"])
def test_parse_refuses_what_is_not_an_atom_feed(answer: bytes) -> None:
    with pytest.raises(ArxivFeedError):
        parse_feed(answer)


@pytest.mark.parametrize(("entry_id", "expected"), [
    ("http://arxiv.org/abs/2601.00001v2", "2601.00001"), ("http://arxiv.org/abs/2601.00001", "2601.00001"),
    ("http://arxiv.org/abs/cs/0112017v1", "cs/0112017"), ("http://arxiv.org/api/errors#x", None),
])
def test_bare_id_drops_the_version(entry_id: str, expected: str | None) -> None:
    assert bare_id(entry_id) == expected


def test_the_real_arxiv_api_cannot_be_asked_faster_than_every_three_seconds() -> None:
    with pytest.raises(SettingsError, match="ARXIV_REQUEST_INTERVAL must be at least 3 s"):
        load_settings(arxiv_request_interval=1)
    local = load_settings(arxiv_request_interval=0.05, arxiv_api_url="http://127.0.0.1:8000/api")
    assert local.arxiv_request_interval == 0.05, "a local server (tests) may be asked faster"


# --- against a local server ----------------------------------------------------------------------------


@pytest.fixture
def arxiv() -> Iterator[tuple[LocalServer, FakeArxiv]]:
    fake = FakeArxiv(dict(KNOWN))
    with local_server() as server:
        server.routes["/api/query"] = fake
        yield server, fake


async def test_the_client_spaces_requests_by_the_configured_interval(arxiv: tuple[LocalServer, FakeArxiv]) -> None:
    server, _fake = arxiv
    client = ArxivClient(server.url("/api/query"), interval=0.3, timeout=2)
    await client.fetch(["2601.00001"])
    await asyncio.gather(*(client.fetch([f"2601.0000{n}"]) for n in (2, 3, 4)))  # concurrent callers queue up
    arrivals = [request.at for request in server.requests]
    assert len(arrivals) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert all(gap >= 0.3 for gap in gaps), gaps
    assert all(gap < 1.0 for gap in gaps), "and not much slower"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _services(engine: Engine, server: LocalServer, clock: Clock) -> Services:
    settings = load_settings(database_url="sqlite://", arxiv_api_url=server.url("/api/query"),
                             arxiv_request_interval=0.01)
    return Services(settings=settings, engine=engine, clock=clock)


def _paper(session: Session, **fields: Any) -> None:
    session.add(Paper(**({"authors": [], "affiliations": []} | fields)))


def _papers(engine: Engine) -> dict[str, Paper]:
    with session_scope(engine) as session:
        return {paper.arxiv_id or f"#{paper.id}": paper for paper in session.exec(select(Paper)).all()}


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = open_store(database_url)
    with session_scope(engine) as session:
        # from a digest that only had a Chinese summary and an untagged entry: title, authors, abstract missing
        _paper(session, arxiv_id="2601.00001", title_zh="叠衣服", summary_zh="用机器人叠衣服。", category="CV",
               category_inferred=True)
        # a tagged digest entry with its own text: arXiv must not overwrite any of it
        _paper(session, arxiv_id="2601.00002", title_en="Seeing Twice (digest title)", category="CV",
               authors=["G. Hopper"], abstract_en="The digest's own abstract.")
        # inferred category, arXiv's primary category maps to none of ours: the guess stays
        _paper(session, arxiv_id="2601.00005", title_en="Proving Things", category="LG", category_inferred=True)
        # unknown to arXiv, and a paper without an arXiv id
        _paper(session, arxiv_id="2601.99999", title_en="Ghost Paper", category="RO", category_inferred=True)
        _paper(session, title_en="No arXiv id", category="CL")
    yield engine
    engine.dispose()


async def test_enrichment_fills_only_what_digests_left_empty(store: Engine,
                                                            arxiv: tuple[LocalServer, FakeArxiv]) -> None:
    server, _fake = arxiv
    run = await enrich_papers(_services(store, server, Clock(NOW)), ArxivClient(server.url("/api/query"),
                                                                                interval=0.01, timeout=2))
    assert (run.requests, run.asked, run.enriched, run.unknown) == (1, 4, 2, 1)
    (request,) = server.requests
    assert request.query["id_list"] == ["2601.00001,2601.00002,2601.00005,2601.99999"]
    papers = _papers(store)
    filled = papers["2601.00001"]
    assert filled.title_en == "Learning to Fold: Robots and Laundry" and filled.title_zh == "叠衣服"
    assert filled.authors == ["Ada Lovelace", "Alan Turing"] and filled.affiliations == ["Analytical Engines Ltd"]
    assert filled.abstract_en == "We fold laundry with a robot arm." and filled.summary_zh == "用机器人叠衣服。"
    assert (filled.category, filled.category_inferred) == ("RO", False), "arXiv's field replaces a guess"
    assert filled.title_key == "learning to fold robots and laundry"
    kept = papers["2601.00002"]
    assert (kept.title_en, kept.authors, kept.abstract_en, kept.category, kept.category_inferred) == (
        "Seeing Twice (digest title)", ["G. Hopper"], "The digest's own abstract.", "CV", False)
    assert kept.affiliations == [], "arXiv gave no affiliation for it"
    guessed = papers["2601.00005"]
    assert (guessed.category, guessed.category_inferred) == ("LG", True), "cs.LO is none of our fields"
    assert guessed.authors == ["Emmy Noether"] and guessed.abstract_en == "A theorem about provers."
    assert papers["2601.99999"].title_en == "Ghost Paper" and papers["2601.99999"].arxiv_checked_at == NOW
    assert all(paper.arxiv_checked_at == NOW for key, paper in papers.items() if not key.startswith("#"))
    assert papers["#5"].arxiv_checked_at is None

    again = await enrich_papers(_services(store, server, Clock(NOW + timedelta(days=1))),
                                ArxivClient(server.url("/api/query"), interval=0.01, timeout=2))
    assert again.requests == 0 and len(server.requests) == 1, "a checked paper is never asked about again"


async def test_batches_hold_at_most_the_batch_size(sqlite_url: str, arxiv: tuple[LocalServer, FakeArxiv]) -> None:
    server, fake = arxiv
    engine = open_store(sqlite_url)
    ids = [f"2602.{number:05d}" for number in range(250)]
    fake.known.update({arxiv_id: ("T " + arxiv_id, "Abstract.", [("A", None)], "cs.CV") for arxiv_id in ids})
    with session_scope(engine) as session:
        for arxiv_id in ids:
            _paper(session, arxiv_id=arxiv_id, summary_zh="摘要", category="LG", category_inferred=True)
    run = await enrich_papers(_services(engine, server, Clock(NOW)),
                              ArxivClient(server.url("/api/query"), interval=0.01, timeout=2))
    sizes = [len(request.query["id_list"][0].split(",")) for request in server.requests]
    assert sizes == [100, 100, 50]
    assert [request.query["max_results"] for request in server.requests] == [["100"], ["100"], ["50"]]
    assert run.enriched == 250
    assert {paper.category for paper in _papers(engine).values()} == {"CV"}
    engine.dispose()


async def test_a_refused_id_is_dropped_and_the_rest_of_its_batch_asked_again(
        sqlite_url: str, arxiv: tuple[LocalServer, FakeArxiv]) -> None:
    server, _fake = arxiv
    engine = open_store(sqlite_url)
    with session_scope(engine) as session:
        _paper(session, arxiv_id="2601.00003", summary_zh="语言模型。", category="LG", category_inferred=True)
        _paper(session, arxiv_id="2601.1", summary_zh="格式错误的编号。", category="LG", category_inferred=True)
    run = await enrich_papers(_services(engine, server, Clock(NOW)),
                              ArxivClient(server.url("/api/query"), interval=0.01, timeout=2))
    assert [request.query["id_list"][0] for request in server.requests] == ["2601.00003,2601.1", "2601.00003"]
    assert (run.enriched, run.unknown) == (1, 1)
    papers = _papers(engine)
    assert papers["2601.00003"].title_en == "Talking Machines" and papers["2601.00003"].category == "CL"
    assert papers["2601.1"].arxiv_checked_at == NOW and papers["2601.1"].title_en is None
    engine.dispose()


@pytest.mark.parametrize(("mode", "reason"), [("5xx", "HTTP 503"), ("stall", "did not answer within 0.3 s"),
                                              ("huge", "larger than"), ("garbage", "expected an Atom feed"),
                                              ("refused", "cannot reach arXiv")])
async def test_when_arxiv_fails_the_papers_wait_an_hour_and_nothing_else_changes(
        sqlite_url: str, arxiv: tuple[LocalServer, FakeArxiv], mode: str, reason: str,
        caplog: pytest.LogCaptureFixture) -> None:
    server, fake = arxiv
    fake.mode = mode
    engine = open_store(sqlite_url)
    with session_scope(engine) as session:
        _paper(session, arxiv_id="2601.00001", summary_zh="用机器人叠衣服。", category="CV", category_inferred=True)
    clock = Clock(NOW)
    url = "http://127.0.0.1:9/api/query" if mode == "refused" else server.url("/api/query")
    services = _services(engine, server, clock)
    client = ArxivClient(url, interval=0.01, timeout=0.3)
    run = await enrich_papers(services, client)
    assert (run.requests, run.postponed, run.enriched) == (1, 1, 0)
    assert reason in caplog.text
    paper = _papers(engine)["2601.00001"]
    assert (paper.arxiv_checked_at, paper.arxiv_retry_at) == (None, NOW + RETRY_AFTER)
    assert (paper.title_en, paper.category, paper.category_inferred) == (None, "CV", True)

    clock.now = NOW + RETRY_AFTER - timedelta(seconds=1)
    assert (await enrich_papers(services, client)).requests == 0, "not before the hour is up"
    fake.mode, clock.now = "ok", NOW + RETRY_AFTER
    run = await enrich_papers(services, ArxivClient(server.url("/api/query"), interval=0.01, timeout=2))
    assert run.enriched == 1 and _papers(engine)["2601.00001"].title_en == "Learning to Fold: Robots and Laundry"
    engine.dispose()


async def test_client_raises_unavailable_rather_than_hanging(arxiv: tuple[LocalServer, FakeArxiv]) -> None:
    server, fake = arxiv
    fake.mode = "stall"
    with pytest.raises(ArxivUnavailable, match=r"did not answer within 0\.2 s"):
        await ArxivClient(server.url("/api/query"), interval=0.01, timeout=0.2).fetch(["2601.00001"])


def test_two_processes_never_claim_the_same_papers(postgres_url: str) -> None:
    engine, other = open_store(postgres_url), open_store(postgres_url)
    with session_scope(engine) as session:
        for number in range(30):
            _paper(session, arxiv_id=f"2603.{number:05d}", title_en=f"P{number}")
    until = NOW + timedelta(minutes=10)
    with session_scope(engine) as first, session_scope(other) as second:
        mine = claim_papers_for_arxiv(session=first, now=NOW, until=until, limit=20)
        first.commit()
        theirs = claim_papers_for_arxiv(session=second, now=NOW, until=until, limit=20)
    assert len(mine) == 20 and len(theirs) == 10 and not set(mine) & set(theirs)
    with session_scope(engine) as session:
        assert claim_papers_for_arxiv(session=session, now=NOW, until=until, limit=20) == {}
        later = until + timedelta(minutes=10)
        assert len(claim_papers_for_arxiv(session=session, now=until, until=later, limit=50)) == 30, "held until"
        assert count_papers_waiting_for_arxiv(session=session) == 30
    engine.dispose()
    other.dispose()


# --- the bot with and without arXiv ----------------------------------------------------------------------


@pytest.fixture
async def bot_store(tmp_path) -> AsyncIterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    with session_scope(engine) as session:
        _paper(session, arxiv_id="2601.00001", summary_zh="用机器人叠衣服。", category="CV", category_inferred=True,
               rank_date=NOW.date())
    yield url, engine
    engine.dispose()


async def test_the_scheduled_job_enriches_papers_the_bot_then_shows(
        bot_store: tuple[str, Engine], arxiv: tuple[LocalServer, FakeArxiv]) -> None:
    url, engine = bot_store
    server, _fake = arxiv
    async with BotApiEmulator() as emulator:
        emulator.add_private_chat(1, first_name="Ada", language_code="en")
        settings = emulator_settings(emulator, url, tick_seconds=0.05, arxiv_enrichment=True,
                                     arxiv_api_url=server.url("/api/query"), arxiv_request_interval=0.05)
        async with running_bot(settings, engine, emulator=emulator, with_scheduler=True) as bot:
            await emulator.wait_until(lambda: bool(server.requests))
            await emulator.wait_until(lambda: _papers(engine)["2601.00001"].arxiv_checked_at is not None)
            await bot.say(1, 1, "/start")
            await bot.say(1, 1, "/categories RO")
            (digest,) = await bot.say(1, 1, "/today")
    assert "[RO] " in digest.plain_text and "[RO?]" not in digest.plain_text, "arXiv's field, not a guess"
    assert "Learning to Fold: Robots and Laundry" in digest.plain_text
    assert len(server.requests) == 1


async def test_without_network_access_to_arxiv_the_bot_works_fully(bot_store: tuple[str, Engine],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    url, engine = bot_store
    async with BotApiEmulator() as emulator:
        emulator.add_private_chat(1, first_name="Ada", language_code="en")
        settings = emulator_settings(emulator, url, tick_seconds=0.05, arxiv_enrichment=True,
                                     arxiv_api_url="http://127.0.0.1:9/api/query", arxiv_request_interval=0.05)
        async with running_bot(settings, engine, emulator=emulator, with_scheduler=True) as bot:
            await emulator.wait_until(lambda: _papers(engine)["2601.00001"].arxiv_retry_at is not None
                                      and "cannot reach arXiv" in caplog.text)
            await bot.say(1, 1, "/start")
            (digest,) = await bot.say(1, 1, "/today")
    assert "[CV?]" in digest.plain_text and "用机器人叠衣服" in digest.plain_text
    assert _papers(engine)["2601.00001"].arxiv_checked_at is None


async def test_switched_off_nothing_is_asked(bot_store: tuple[str, Engine],
                                            arxiv: tuple[LocalServer, FakeArxiv]) -> None:
    url, engine = bot_store
    server, _fake = arxiv
    async with BotApiEmulator() as emulator:
        settings = emulator_settings(emulator, url, tick_seconds=0.05, arxiv_enrichment=False,
                                     arxiv_api_url=server.url("/api/query"), arxiv_request_interval=0.05)
        async with running_bot(settings, engine, emulator=emulator, with_scheduler=True) as bot:
            assert "arxiv-enrichment" not in {job.name for job in bot.application.job_queue.jobs()}
            await asyncio.sleep(0.3)
    assert server.requests == []
    assert _papers(engine)["2601.00001"].arxiv_checked_at is None
