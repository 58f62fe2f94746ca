"""Resolving papers by title against a local arXiv stand-in: what a match fills, what look-alikes, empty answers,
error feeds, 5xx and stalls do, the pace of the requests, and two papers becoming one when arXiv says they are."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from bot.arxiv import ArxivClient
from bot.config import load_settings
from bot.resolution import resolve_papers
from bot.services import Services
from storage.db import alembic_config, make_engine, migrate, open_store, session_scope
from storage.models import Delivery, Digest, DigestPaper, Favourite, Paper, PendingDigest
from storage.resolution import Resolution, backoff, count_titles_to_resolve
from storage.search import parse_query, search_papers
from tests.arxiv_standin import ArxivStandIn, Entry
from tests.local_http import LocalServer, local_server

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
ROBOT = Entry("2601.00001", r"Learning to Fold $\pi$-Shaped \emph{Laundry} with a Robot Arm and Nothing Else",
              (("Ada Lovelace", "Analytical Engines Ltd"), ("Alan Turing", None)), "cs.RO",
              "We fold laundry with a robot arm.")
ENTRIES = [
    ROBOT,
    Entry("2601.00011", "Learning to Fold Pi-Shaped Laundry with a Robot Arm and Nothing Else: Extended Version",
          (("Ada Lovelace", None),), "cs.RO"),
    Entry("2601.00002", "Seeing Twice: Stereo Vision for Everyone", (("Grace Hopper", None),), "cs.CV",
          "Stereo vision for everyone."),
    Entry("2601.00012", "Towards Seeing Twice", (("Grace Hopper", None),), "cs.CV"),
    Entry("2601.00003", "Talking Machines", (("Karen Spärck Jones", "Cambridge"),), "cs.CL", "Language models talk."),
    Entry("2601.00013", "Talking Machines 2", (("Karen Spärck Jones", None),), "cs.CL"),
    Entry("2601.00014", "Listening Machines Talk Back", (("Someone Else", None),), "eess.AS"),
]


@pytest.fixture
def arxiv() -> Iterator[tuple[LocalServer, ArxivStandIn]]:
    standin = ArxivStandIn(list(ENTRIES))
    with local_server() as server:
        server.routes["/api/query"] = standin
        yield server, standin


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _services(engine: Engine, server: LocalServer, clock: Clock) -> Services:
    settings = load_settings(database_url="sqlite://", arxiv_api_url=server.url("/api/query"),
                             arxiv_request_interval=0.01)
    return Services(settings=settings, engine=engine, clock=clock)


def _client(server: LocalServer, *, interval: float = 0.01, timeout: float = 2) -> ArxivClient:
    return ArxivClient(server.url("/api/query"), interval=interval, timeout=timeout)


def _paper(session: Session, **fields: Any) -> Paper:
    paper = Paper(**({"authors": [], "affiliations": [], "rank_date": date(2026, 12, 1)} | fields))
    session.add(paper)
    session.flush()
    return paper


def _by_title(engine: Engine) -> dict[str, Paper]:
    with session_scope(engine) as session:
        return {paper.title_en or paper.title_zh or f"#{paper.id}": paper for paper in session.exec(select(Paper))}


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = open_store(database_url)
    with session_scope(engine) as session:
        # a digest title typed without LaTeX, untagged (the classifier guessed CV): arXiv's field replaces the guess
        _paper(session, title_en="Learning to fold pi-shaped laundry with a robot arm and nothing else",
               title_zh="叠衣服", summary_zh="用机器人叠衣服。", category="CV", category_inferred=True,
               url="https://weibo.com/1/abc")
        # tagged, with its own authors and abstract: those stay; its subtitle left out, an author in common
        _paper(session, title_en="Seeing Twice (StereoNet)", authors=["G Hopper"],
               abstract_en="The digest's own abstract.", category="LG", url="https://t.cn/xyz")
        # only look-alikes on arXiv ("Talking Machines 2", "Listening Machines Talk Back") for this one
        _paper(session, title_en="Listening Machines", category="AS", url="https://example.org/blog")
        # arXiv knows nothing like it: an empty answer
        _paper(session, title_en="A Paper Nobody Uploaded", category="RO", category_inferred=True)
        # Chinese only, and a Chinese "English title": never asked
        _paper(session, title_zh="只有中文标题", category="CL")
        _paper(session, title_en="中文写成的标题", category="CL")
        # has an arXiv id already: enrichment's business, not resolution's
        _paper(session, title_en="Talking Machines", arxiv_id="2601.00003", category="CL")
    yield engine
    engine.dispose()


async def test_a_run_matches_the_same_paper_and_nothing_else(store: Engine,
                                                            arxiv: tuple[LocalServer, ArxivStandIn]) -> None:
    server, _standin = arxiv
    run = await resolve_papers(_services(store, server, Clock(NOW)), _client(server))
    assert (run.asked, run.matched, run.unmatched, run.skipped, run.postponed) == (4, 2, 2, 1, 0)
    queries = sorted(request.query["search_query"][0] for request in server.requests)
    assert queries == ['ti:"a paper nobody uploaded"', 'ti:"learning to fold pi shaped laundry with a robot arm '
                       'and nothing else"', 'ti:"listening machines"', 'ti:"seeing twice"']
    papers = _by_title(store)
    robot = papers["Learning to fold pi-shaped laundry with a robot arm and nothing else"]
    assert robot.arxiv_id == "2601.00001", "not the extended version, though it is found too"
    assert (robot.category, robot.category_inferred) == ("RO", False)
    assert robot.authors == ["Ada Lovelace", "Alan Turing"] and robot.affiliations == ["Analytical Engines Ltd"]
    assert robot.abstract_en == "We fold laundry with a robot arm."
    assert (robot.title_zh, robot.summary_zh, robot.url) == ("叠衣服", "用机器人叠衣服。", "https://weibo.com/1/abc")
    assert (robot.arxiv_resolution, robot.arxiv_resolved_at, robot.arxiv_checked_at) == ("matched", NOW, NOW)
    seeing = papers["Seeing Twice (StereoNet)"]
    assert seeing.arxiv_id == "2601.00002", "its subtitle left out, with an author in common; not 'Towards …'"
    assert (seeing.title_en, seeing.authors, seeing.abstract_en, seeing.category, seeing.url) == (
        "Seeing Twice (StereoNet)", ["G Hopper"], "The digest's own abstract.", "LG",
        "https://t.cn/xyz"), "digest text and a digest's tag are never overwritten"
    listening = papers["Listening Machines"]
    assert (listening.arxiv_id, listening.url, listening.arxiv_resolution) == (
        None, "https://example.org/blog", "unmatched"), "no look-alike's id; its own link kept"
    nobody = papers["A Paper Nobody Uploaded"]
    assert (nobody.arxiv_id, nobody.category_inferred, nobody.arxiv_resolution) == (None, True, "unmatched")
    assert papers["中文写成的标题"].arxiv_resolution == Resolution.SKIPPED.value
    assert papers["只有中文标题"].arxiv_resolved_at is None, "no English title: not a candidate at all"
    with session_scope(store) as session:
        assert count_titles_to_resolve(session=session) == 0

    again = await resolve_papers(_services(store, server, Clock(NOW + timedelta(days=30))), _client(server))
    assert again.done == 0 and len(server.requests) == 4, "each paper is asked once"


async def test_requests_keep_the_interval(sqlite_url: str, arxiv: tuple[LocalServer, ArxivStandIn]) -> None:
    server, _standin = arxiv
    engine = open_store(sqlite_url)
    with session_scope(engine) as session:
        for number in range(5):
            _paper(session, title_en=f"Unknown Paper Number {number}")
    run = await resolve_papers(_services(engine, server, Clock(NOW)), _client(server, interval=0.2))
    assert run.asked == 5 and len(server.requests) == 5
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(server.requests)]
    assert all(gap >= 0.2 for gap in gaps), gaps
    engine.dispose()


async def test_a_scheduled_run_asks_at_most_its_share(sqlite_url: str,
                                                      arxiv: tuple[LocalServer, ArxivStandIn]) -> None:
    server, _standin = arxiv
    engine = open_store(sqlite_url)
    with session_scope(engine) as session:
        for number in range(25):
            _paper(session, title_en=f"Unknown Paper Number {number}")
    services = _services(engine, server, Clock(NOW))
    assert (await resolve_papers(services, _client(server))).asked == 10
    assert (await resolve_papers(services, _client(server), max_papers=None)).asked == 15
    engine.dispose()


@pytest.mark.parametrize(("mode", "reason"), [("5xx", "HTTP 503"), ("stall", "did not answer within 0.3 s"),
                                              ("refused", "cannot reach arXiv")])
async def test_a_failure_backs_the_paper_off_longer_each_time(
        sqlite_url: str, arxiv: tuple[LocalServer, ArxivStandIn], mode: str, reason: str,
        caplog: pytest.LogCaptureFixture) -> None:
    server, standin = arxiv
    standin.mode, standin.stall = mode, 2
    engine = open_store(sqlite_url)
    with session_scope(engine) as session:
        _paper(session, title_en="Another Unknown Paper")
        _paper(session, title_en="Seeing Twice: Stereo Vision for Everyone")
    clock = Clock(NOW)
    services = _services(engine, server, clock)
    url = "http://127.0.0.1:9/api/query" if mode == "refused" else server.url("/api/query")
    client = ArxivClient(url, interval=0.01, timeout=0.3)
    run = await resolve_papers(services, client)
    assert (run.asked, run.postponed, run.matched) == (1, 1, 0), "the run stops at the first failure"
    assert reason in (run.failure or "") and reason in caplog.text
    seeing = _by_title(engine)["Seeing Twice: Stereo Vision for Everyone"]
    assert (seeing.arxiv_resolve_failures, seeing.arxiv_resolve_retry_at) == (1, NOW + timedelta(hours=1))
    assert seeing.arxiv_resolved_at is None and seeing.arxiv_id is None

    clock.now = NOW + timedelta(minutes=59)
    second = await resolve_papers(services, client)
    assert second.asked == 1, "the other paper (released, not held) is asked; the failed one waits"
    clock.now = NOW + timedelta(hours=3)
    await resolve_papers(services, client)
    seeing = _by_title(engine)["Seeing Twice: Stereo Vision for Everyone"]
    assert (seeing.arxiv_resolve_failures, seeing.arxiv_resolve_retry_at) == (2, clock.now + timedelta(hours=2))

    standin.mode, clock.now = "ok", clock.now + timedelta(hours=2)
    run = await resolve_papers(services, _client(server), max_papers=None)
    assert run.matched == 1 and _by_title(engine)["Seeing Twice: Stereo Vision for Everyone"].arxiv_id == "2601.00002"
    engine.dispose()


def test_backoff_doubles_up_to_a_day() -> None:
    assert [backoff(n) for n in (1, 2, 3, 6, 20)] == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4),
                                                       timedelta(days=1), timedelta(days=1)]


async def test_an_error_feed_is_an_answer_not_a_failure(sqlite_url: str,
                                                        arxiv: tuple[LocalServer, ArxivStandIn]) -> None:
    server, _standin = arxiv
    engine = open_store(sqlite_url)
    with session_scope(engine) as session:
        _paper(session, title_en="Error")  # the stand-in refuses this one with HTTP 400 and an Atom "Error" entry
    server.routes["/api/query"] = lambda request: ArxivStandIn._error(400, "malformed", "unable to parse query")
    run = await resolve_papers(_services(engine, server, Clock(NOW)), _client(server))
    assert (run.asked, run.unmatched, run.postponed) == (1, 1, 0)
    paper = _by_title(engine)["Error"]
    assert (paper.arxiv_id, paper.arxiv_resolution) == (None, "unmatched"), "the error entry is not a paper"
    engine.dispose()


async def test_a_paper_arxiv_names_by_an_id_already_stored_becomes_one_paper(
        database_url: str, arxiv: tuple[LocalServer, ArxivStandIn]) -> None:
    server, _standin = arxiv
    engine = open_store(database_url)
    with session_scope(engine) as session:
        first = Digest(source="weibo", content_hash="a" * 64, shape="weibo", digest_date=date(2026, 11, 30))
        second = Digest(source="arxiv list", content_hash="b" * 64, shape="weibo", digest_date=date(2026, 12, 1))
        session.add_all([first, second])
        session.flush()
        # came with its arXiv link, a shorter digest title and a tag
        held = _paper(session, title_en="Talking Machines (digest title)", arxiv_id="2601.00003", category="CL",
                      url="https://arxiv.org/abs/2601.00003", rank_date=date(2026, 11, 30), rank_digest_id=first.id)
        # came again from a weibo post, with a Chinese summary and highlighted, no id
        loose = _paper(session, title_en="Talking Machines", summary_zh="会说话的机器。", highlight=True,
                       authors=["K Spärck Jones"], url="https://weibo.com/2/def", category="LG",
                       category_inferred=True, rank_date=date(2026, 12, 1), rank_digest_id=second.id)
        other = _paper(session, title_en="Something Else Entirely", arxiv_id="2601.00099", category="LG")
        session.add_all([DigestPaper(digest_id=first.id, paper_id=held.id, position=1),
                         DigestPaper(digest_id=second.id, paper_id=loose.id, position=3),
                         Delivery(chat_id=1, paper_id=loose.id), Delivery(chat_id=2, paper_id=loose.id),
                         Delivery(chat_id=2, paper_id=held.id), Delivery(chat_id=2, thread_id=7, paper_id=loose.id),
                         Favourite(chat_id=1, paper_id=loose.id), Favourite(chat_id=2, paper_id=loose.id),
                         Favourite(chat_id=2, paper_id=held.id),
                         PendingDigest(chat_id=3, due_at=NOW, paper_ids=[loose.id, other.id])])
        held_id, loose_id, other_id = held.id, loose.id, other.id
        first_id, second_id = first.id, second.id
    with session_scope(engine) as session:  # searchable before, under its own id
        assert [paper.id for paper in search_papers(session=session, query=parse_query("会说话"), offset=0,
                                                    limit=5).papers] == [loose_id]

    run = await resolve_papers(_services(engine, server, Clock(NOW)), _client(server))
    assert (run.matched, run.merged) == (1, 1)
    with session_scope(engine) as session:
        assert session.get(Paper, loose_id) is None
        paper = session.get(Paper, held_id)
        assert paper.title_en == "Talking Machines (digest title)" and paper.summary_zh == "会说话的机器。"
        assert paper.url == "https://arxiv.org/abs/2601.00003" and paper.highlight
        assert (paper.category, paper.category_inferred) == ("CL", False)
        assert paper.authors == ["K Spärck Jones"], "the digest's authors, arXiv's only fill an empty list"
        assert paper.affiliations == ["Cambridge"] and paper.abstract_en == "Language models talk."
        assert (paper.rank_date, paper.rank_digest_id) == (date(2026, 12, 1), second_id), "ranked by its newest digest"
        assert paper.arxiv_checked_at == NOW, "seen marks re-read it"
        links = session.exec(select(DigestPaper.digest_id, DigestPaper.paper_id, DigestPaper.position)
                             .order_by(DigestPaper.digest_id)).all()
        assert [tuple(link) for link in links] == [(first_id, held_id, 1), (second_id, held_id, 3)]
        deliveries = session.exec(select(Delivery.chat_id, Delivery.thread_id, Delivery.paper_id)
                                  .order_by(Delivery.chat_id, Delivery.thread_id)).all()
        assert [tuple(row) for row in deliveries] == [(1, 0, held_id), (2, 0, held_id), (2, 7, held_id)]
        favourites = session.exec(select(Favourite.chat_id, Favourite.paper_id).order_by(Favourite.chat_id)).all()
        assert [tuple(row) for row in favourites] == [(1, held_id), (2, held_id)]
        assert session.get(PendingDigest, (3, 0)).paper_ids == [held_id, other_id]
        found = search_papers(session=session, query=parse_query("会说话"), offset=0, limit=5).papers
        assert [found_paper.id for found_paper in found] == [held_id], "the search entry follows the paper"
    engine.dispose()


def test_migration_0010_keeps_papers_waits_for_them_and_goes_back(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0008_partial_arxiv_index")
        for title, arxiv_id in (("Kept Without Id", None), ("Kept With Id", "2601.00001")):
            connection.execute(text(
                "INSERT INTO paper (category_inferred, title_en, authors, affiliations, arxiv_id, highlight, minor, "
                "created_at) VALUES (false, :title, '[]', '[]', :arxiv_id, false, false, CURRENT_TIMESTAMP)"),
                {"title": title, "arxiv_id": arxiv_id})
    migrate(engine)
    with session_scope(engine) as session:
        assert count_titles_to_resolve(session=session) == 1
        waiting = session.exec(select(Paper).where(Paper.title_en == "Kept Without Id")).one()
        assert (waiting.arxiv_resolution, waiting.arxiv_resolve_failures) == (None, 0)
        assert [paper.id for paper in search_papers(session=session, query=parse_query("kept"), offset=0,
                                                    limit=5).papers] == [2, 1], "the search index survived"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008_partial_arxiv_index")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM paper").scalar_one() == 2
    migrate(engine)
    engine.dispose()


def test_two_processes_never_claim_the_same_titles(postgres_url: str) -> None:
    from storage.resolution import claim_titles_to_resolve

    engine, other = open_store(postgres_url), open_store(postgres_url)
    with session_scope(engine) as session:
        for number in range(30):
            _paper(session, title_en=f"Paper Number {number}")
    until = NOW + timedelta(minutes=10)
    with session_scope(engine) as first, session_scope(other) as second:
        mine = claim_titles_to_resolve(session=first, now=NOW, until=until, limit=20)
        first.commit()
        theirs = claim_titles_to_resolve(session=second, now=NOW, until=until, limit=20)
    assert len(mine) == 20 and len(theirs) == 10
    assert not {item.paper_id for item in mine} & {item.paper_id for item in theirs}
    assert [item.paper_id for item in mine] == sorted((item.paper_id for item in mine), reverse=True), "newest first"
    with session_scope(engine) as session:
        assert claim_titles_to_resolve(session=session, now=NOW, until=until, limit=20) == []
        assert len(claim_titles_to_resolve(session=session, now=until, until=until + timedelta(minutes=10),
                                           limit=50)) == 30, "held until"
    engine.dispose()
    other.dispose()

