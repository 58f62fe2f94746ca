"""Resolving papers by title: ask arXiv's search for each stored paper without an arXiv id, take the one candidate
that is the same paper (storage.title_match), and store the match (storage.resolution).

One request per paper, through the process's one paced ArxivClient (shared with id enrichment), so arXiv is never
asked more often than ARXIV_REQUEST_INTERVAL. The bot never depends on it: a failure backs that paper off and the
run stops until the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.arxiv import ArxivClient, ArxivUnavailable, shared_client
from bot.context import BotApplication, DigestContext
from bot.services import Services
from storage.resolution import (
    Resolution,
    TitleToResolve,
    claim_titles_to_resolve,
    postpone_resolution,
    record_match,
    record_no_match,
    release_titles,
)
from storage.search import index_pending
from storage.title_match import is_english_title, pick_match, title_query

log = logging.getLogger(__name__)
HOLD = timedelta(minutes=10)  # papers claimed by a process that died are free again after this
PAPERS_PER_RUN = 10  # one scheduled run asks at most this many titles (30 s at arXiv's pace), then yields
CLAIM_BATCH = 10  # papers held at once by a run


@dataclass
class ResolutionRun:
    """What one run did, for the log, the command line and tests."""

    asked: int = 0  # titles arXiv was asked about (one request each)
    matched: int = 0
    merged: int = 0  # matches whose id another stored paper already had: the two are one paper now
    unmatched: int = 0
    skipped: int = 0  # titles that are not English: not asked
    postponed: int = 0  # arXiv failed: asked again after a backoff
    failure: str | None = None  # why the run stopped early

    @property
    def done(self) -> int:
        """Papers handled (asked, skipped or postponed)."""
        return self.matched + self.unmatched + self.skipped + self.postponed


Progress = Callable[[ResolutionRun], None]


async def resolve_papers(services: Services, client: ArxivClient, *, max_papers: int | None = PAPERS_PER_RUN,
                         max_failures: int = 1, progress: Progress | None = None) -> ResolutionRun:
    """Ask arXiv about stored papers without an id, newest first, until none are left or `max_papers` were handled.

    Stops after `max_failures` failures in a row (arXiv down or unreachable); each failed paper backs off.
    """
    run, failures_in_a_row = ResolutionRun(), 0
    while max_papers is None or run.done < max_papers:
        now = services.clock()
        limit = CLAIM_BATCH if max_papers is None else min(CLAIM_BATCH, max_papers - run.done)
        claimed = await services.db(lambda session, now=now, limit=limit: claim_titles_to_resolve(
            session=session, now=now, until=now + HOLD, limit=limit))
        if not claimed:
            break
        for index, paper in enumerate(claimed):
            ok = await _resolve_one(services, client, paper, run)
            failures_in_a_row = 0 if ok else failures_in_a_row + 1
            if progress:
                progress(run)
            if failures_in_a_row >= max_failures:
                rest = [item.paper_id for item in claimed[index + 1:]]
                await services.db(lambda session, rest=rest: release_titles(session=session, paper_ids=rest))
                break
        if failures_in_a_row >= max_failures:
            break
    if run.matched:
        await services.db(index_pending)  # the ids and filled text searchable at once
    if run.done:
        log.info("arxiv: resolved by title %d asked, %d matched (%d merged), %d unmatched, %d skipped, %d postponed",
                 run.asked, run.matched, run.merged, run.unmatched, run.skipped, run.postponed)
    return run


async def _resolve_one(services: Services, client: ArxivClient, paper: TitleToResolve, run: ResolutionRun) -> bool:
    """Ask about one paper and store the outcome; False when arXiv failed (the paper backs off)."""
    if not is_english_title(paper.title):
        await services.db(lambda session: record_no_match(session=session, paper_id=paper.paper_id,
                                                          now=services.clock(), outcome=Resolution.SKIPPED))
        run.skipped += 1
        return True
    run.asked += 1
    try:
        feed = await client.search(title_query(paper.title))
    except ArxivUnavailable as error:
        return await _postpone(services, paper, run, str(error))
    if feed.errors or feed.rejected_ids:
        log.warning("arxiv: paper=%d title search refused: %s", paper.paper_id,
                    "; ".join((*feed.errors, *feed.rejected_ids)))
    match = pick_match(paper.title, paper.authors, feed.records)
    now = services.clock()
    if match is None:
        await services.db(lambda session: record_no_match(session=session, paper_id=paper.paper_id, now=now,
                                                          outcome=Resolution.UNMATCHED))
        run.unmatched += 1
        return True
    try:
        resolved = await services.db(lambda session: record_match(session=session, paper_id=paper.paper_id,
                                                                  record=match, now=now))
    except IntegrityError as error:  # a digest stored the same id meanwhile: ask again shortly, it merges then
        return await _postpone(services, paper, run, f"store: {error.orig}")
    run.matched += 1
    if resolved is not None and resolved.merged_from is not None:
        run.merged += 1
        log.info("arxiv: paper=%d is arXiv:%s, already stored as paper=%d: merged", paper.paper_id,
                 match.arxiv_id, resolved.paper_id)
    else:
        log.info("arxiv: paper=%d is arXiv:%s", paper.paper_id, match.arxiv_id)
    return True


async def _postpone(services: Services, paper: TitleToResolve, run: ResolutionRun, reason: str) -> bool:
    """Back the paper off after a failure; the run learns why."""
    failures = paper.failures + 1
    until = await services.db(lambda session: postpone_resolution(
        session=session, paper_id=paper.paper_id, failures=failures, now=services.clock()))
    run.postponed += 1
    run.failure = reason
    log.warning("arxiv: paper=%d title search failed (%d in a row), asked again at %s: %s", paper.paper_id,
                failures, until.isoformat(timespec="minutes"), reason)
    return False


async def resolve_papers_job(context: DigestContext) -> None:
    """The scheduled job: one run with the process's client (which remembers when it last asked arXiv)."""
    await resolve_papers(context.services, shared_client(context.application))


def schedule_arxiv_resolution(application: BotApplication) -> None:
    """Look papers up by title every TICK_SECONDS (or every request interval if longer); off when disabled."""
    settings = application.bot_data.services.settings
    if not settings.arxiv_enrichment:
        return
    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    interval = max(settings.tick_seconds, settings.arxiv_request_interval)
    application.job_queue.run_repeating(resolve_papers_job, interval=interval, first=interval, name="arxiv-resolution",
                                        job_kwargs={"max_instances": 1, "coalesce": True})
