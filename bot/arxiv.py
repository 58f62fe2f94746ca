"""arXiv enrichment: the API's Atom feed parsed (pure), a client that keeps arXiv's pace, and the scheduled job.

Papers whose digest gave an arXiv link get their missing title, authors and abstract from arXiv's API, and
arXiv's primary category replaces a field the classifier only guessed. The bot never depends on it: when arXiv
is unreachable the papers are simply asked about again an hour later.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from bot.config import Settings
from bot.context import BotApplication, DigestContext
from bot.http import NoAnswer, TooLarge, Unreachable, download
from bot.services import Services
from storage.documents import human_size
from storage.enrichment import (
    ArxivRecord,
    apply_arxiv_records,
    claim_papers_for_arxiv,
    mark_arxiv_checked,
    postpone_arxiv_check,
)
from storage.vocabulary import CATEGORY_OF_ARXIV_CLASS

log = logging.getLogger(__name__)
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
MAX_RESPONSE_BYTES = 8 * 1024 * 1024  # 100 entries are well under 1 MB
RETRY_AFTER = timedelta(hours=1)  # arXiv failed: ask about these papers again after this
HOLD = timedelta(minutes=10)  # a batch claimed by a process that died is free again after this
BATCHES_PER_RUN = 10  # one job run asks at most this many batches (30 s at arXiv's pace), then yields
SEARCH_RESULTS = 10  # candidates a title search reads: the paper and its look-alikes, best first
_ABS_ID = re.compile(r"arxiv\.org/abs/(.+?)(?:v\d+)?$")
_REJECTED_ID = re.compile(r"incorrect id format for (\S+)", re.IGNORECASE)


class ArxivFeedError(ValueError):
    """The answer is not an arXiv Atom feed."""


class ArxivUnavailable(Exception):
    """arXiv did not answer usefully (timeout, refused connection, HTTP error, oversized body)."""


@dataclass(frozen=True, slots=True)
class ArxivFeed:
    """One API answer: the papers arXiv knows, the ids it refused, and errors that name no id."""

    records: tuple[ArxivRecord, ...] = ()
    rejected_ids: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def _text(element: ElementTree.Element | None) -> str | None:
    """An element's text with whitespace folded (arXiv wraps titles and abstracts), None when empty."""
    if element is None or element.text is None:
        return None
    folded = " ".join(element.text.split())
    return folded or None


def bare_id(entry_id: str) -> str | None:
    """'http://arxiv.org/abs/2101.00001v2' → '2101.00001' (old-style ids like 'cs/0112017' too)."""
    match = _ABS_ID.search(entry_id.strip())
    return match.group(1) if match else None


def parse_feed(data: bytes | str) -> ArxivFeed:
    """Read the API's Atom feed: records for known papers, refused ids, other errors."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise ArxivFeedError(f"arXiv: the answer is not XML ({error})") from error
    if root.tag != f"{ATOM}feed":
        raise ArxivFeedError(f"arXiv: expected an Atom feed, got <{root.tag}>")
    records, rejected, errors = [], [], []
    for entry in root.iter(f"{ATOM}entry"):
        entry_id = _text(entry.find(f"{ATOM}id")) or ""
        title = _text(entry.find(f"{ATOM}title"))
        if "/api/errors" in entry_id or title == "Error":
            summary = _text(entry.find(f"{ATOM}summary")) or entry_id
            named = _REJECTED_ID.search(summary)
            if named:
                rejected.append(named.group(1))
            else:
                errors.append(summary)
            continue
        arxiv_id = bare_id(entry_id)
        if arxiv_id is None or title is None:
            continue  # an empty entry: arXiv does not know this id
        authors, affiliations = [], []
        for author in entry.findall(f"{ATOM}author"):
            name = _text(author.find(f"{ATOM}name"))
            if name:
                authors.append(name)
            affiliations.extend(text for text in (_text(a) for a in author.findall(f"{ARXIV}affiliation")) if text)
        primary = entry.find(f"{ARXIV}primary_category")
        primary_category = primary.get("term") if primary is not None else None
        records.append(ArxivRecord(arxiv_id=arxiv_id, title=title, authors=tuple(authors),
                                   affiliations=tuple(dict.fromkeys(affiliations)),
                                   abstract=_text(entry.find(f"{ATOM}summary")), primary_category=primary_category,
                                   category=CATEGORY_OF_ARXIV_CLASS.get(primary_category or "")))
    return ArxivFeed(tuple(records), tuple(rejected), tuple(errors))


class ArxivClient:
    """Asks the arXiv API about batches of ids, one request at a time, at least `interval` seconds apart."""

    def __init__(self, api_url: str, *, interval: float, timeout: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.api_url, self.interval, self.timeout = api_url, interval, timeout
        self._clock, self._sleep = clock, sleep
        self._lock = asyncio.Lock()
        self._next_allowed = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> ArxivClient:
        """The client as configured by ARXIV_API_URL and ARXIV_REQUEST_INTERVAL."""
        return cls(settings.arxiv_api_url, interval=settings.arxiv_request_interval, timeout=settings.fetch_timeout)

    async def fetch(self, ids: Sequence[str]) -> ArxivFeed:
        """One request for up to 100 ids; waits until `interval` has passed since the previous one ended."""
        return await self._ask({"id_list": ",".join(ids), "max_results": str(len(ids))})

    async def search(self, query: str, *, max_results: int = SEARCH_RESULTS) -> ArxivFeed:
        """One search_query request (e.g. ti:"…"), best matches first, paced like `fetch`."""
        return await self._ask({"search_query": query, "start": "0", "max_results": str(max_results),
                                "sortBy": "relevance", "sortOrder": "descending"})

    async def _ask(self, params: dict[str, str]) -> ArxivFeed:
        """One request, at least `interval` after the previous one ended; the answer parsed."""
        async with self._lock:
            wait = self._next_allowed - self._clock()
            if wait > 0:
                await self._sleep(wait)
            try:
                return parse_feed(await self._get(params))
            except ArxivFeedError as error:
                raise ArxivUnavailable(str(error)) from error
            finally:
                self._next_allowed = self._clock() + self.interval

    async def _get(self, params: dict[str, str]) -> bytes:
        """The raw answer, refused above MAX_RESPONSE_BYTES; a 400 that is an Atom error feed is an answer too."""
        try:
            answer = await download(self.api_url, params=params, max_bytes=MAX_RESPONSE_BYTES, timeout=self.timeout,
                                    wanted=(200, 400))
        except TooLarge as error:
            raise ArxivUnavailable(f"arXiv's answer is larger than {human_size(MAX_RESPONSE_BYTES)}") from error
        except NoAnswer as error:
            raise ArxivUnavailable(f"arXiv did not answer within {self.timeout:g} s") from error
        except Unreachable as error:
            raise ArxivUnavailable(f"cannot reach arXiv: {error}") from error
        if answer.status not in (200, 400):
            raise ArxivUnavailable(f"arXiv answered HTTP {answer.status}")
        if answer.status == 400 and not _is_error_feed(answer.body):
            raise ArxivUnavailable("arXiv answered HTTP 400")
        return answer.body


def _is_error_feed(body: bytes) -> bool:
    """arXiv refuses a malformed query with HTTP 400 and an Atom feed holding one `Error` entry."""
    try:
        feed = parse_feed(body)
    except ArxivFeedError:
        return False
    return bool(feed.errors or feed.rejected_ids)


@dataclass
class EnrichmentRun:
    """What one run did, for the log and for tests."""

    asked: int = 0
    enriched: int = 0  # papers arXiv filled or re-categorised
    unknown: int = 0  # ids arXiv does not know or refused: not asked again
    postponed: int = 0  # arXiv failed: asked again after RETRY_AFTER
    requests: int = 0


async def enrich_papers(services: Services, client: ArxivClient, *,
                        max_batches: int = BATCHES_PER_RUN) -> EnrichmentRun:
    """Ask arXiv about unchecked papers, batch by batch, until none are left or the run's batches are used."""
    settings, run = services.settings, EnrichmentRun()
    for _ in range(max_batches):
        now = services.clock()
        claimed = await services.db(lambda session, now=now: claim_papers_for_arxiv(
            session=session, now=now, until=now + HOLD, limit=settings.arxiv_batch_size))
        if not claimed:
            break
        run.asked += len(claimed)
        run.requests += 1
        try:
            feed = await client.fetch(sorted(claimed))
        except ArxivUnavailable as error:
            held, until = list(claimed.values()), services.clock() + RETRY_AFTER
            await services.db(lambda session, held=held, until=until: postpone_arxiv_check(
                session=session, paper_ids=held, until=until))
            run.postponed += len(claimed)
            log.warning("arxiv: %d papers postponed for %s: %s", len(claimed), RETRY_AFTER, error)
            break
        ask_again = await _record_answer(services, claimed, feed, run)
        if len(claimed) < settings.arxiv_batch_size and not ask_again:
            break
    if run.requests:
        log.info("arxiv: asked %d, enriched %d, unknown %d, postponed %d in %d requests", run.asked, run.enriched,
                 run.unknown, run.postponed, run.requests)
    return run


async def _record_answer(services: Services, claimed: dict[str, int], feed: ArxivFeed, run: EnrichmentRun) -> bool:
    """Store what arXiv said; decide what becomes of the ids it did not describe. True: ask the rest again now.

    arXiv answers a batch holding one malformed id with nothing but that error: the refused id is not asked
    again, the rest of the batch is asked again at once. An error naming no id postpones the rest.
    """
    now = services.clock()
    records = [record for record in feed.records if record.arxiv_id in claimed]
    described = {record.arxiv_id for record in records}
    refused = [claimed[arxiv_id] for arxiv_id in feed.rejected_ids if arxiv_id in claimed]
    rest = [paper_id for arxiv_id, paper_id in claimed.items()
            if arxiv_id not in described and paper_id not in refused]
    errored = bool(feed.errors or feed.rejected_ids)
    unknown = refused + ([] if errored else rest)
    later = None if refused else now + RETRY_AFTER  # without the refused id the batch can go again at once

    def store(session: Session) -> int:
        enriched = apply_arxiv_records(session=session, records=records, now=now)
        mark_arxiv_checked(session=session, paper_ids=unknown, now=now)
        if errored:
            postpone_arxiv_check(session=session, paper_ids=rest, until=later)
        return sum(1 for paper in enriched if paper.filled)

    run.enriched += await services.db(store)
    run.unknown += len(unknown)
    if errored:
        run.postponed += len(rest) if later else 0
        log.warning("arxiv: refused %s; errors %s", ", ".join(feed.rejected_ids) or "-", "; ".join(feed.errors) or "-")
    return bool(errored and refused and rest)


async def enrich_papers_job(context: DigestContext) -> None:
    """The scheduled job: one run with the process's client (which remembers when it last asked arXiv)."""
    await enrich_papers(context.services, shared_client(context.application))


def shared_client(application: BotApplication) -> ArxivClient:
    """The process's one client, made on first use: enrichment and resolution keep one pace towards arXiv."""
    data = application.bot_data
    if data.arxiv_client is None:
        data.arxiv_client = ArxivClient.from_settings(data.services.settings)
    return data.arxiv_client


def schedule_arxiv_enrichment(application: BotApplication) -> None:
    """Ask arXiv about new papers every TICK_SECONDS (or every request interval if longer); off when disabled."""
    settings = application.bot_data.services.settings
    if not settings.arxiv_enrichment:
        log.info("arxiv: enrichment is off (ARXIV_ENRICHMENT=false)")
        return
    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    interval = max(settings.tick_seconds, settings.arxiv_request_interval)
    application.job_queue.run_repeating(enrich_papers_job, interval=interval, first=interval, name="arxiv-enrichment",
                                        job_kwargs={"max_instances": 1, "coalesce": True})
