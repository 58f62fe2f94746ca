"""Prometheus metrics of one running bot: deliveries, failures, 429s, tick duration, ingestion.

Each application has its own registry (not prometheus_client's global one), so several bots in one process,
as in the tests, count separately. Webhook mode serves it at GET /metrics (bot.webhook).
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from storage.ingest import IngestReport

# A tick is milliseconds when nothing is due and minutes for a big morning broadcast.
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
EXPOSITION_CONTENT_TYPE = CONTENT_TYPE_LATEST


class FailureKind(StrEnum):
    """Why a message did not reach its chat."""

    REJECTED = "rejected"  # Telegram refused the message itself (400): skipped, the rest of the digest goes on
    BLOCKED = "blocked"  # 403: blocked, kicked or deactivated; the chat is marked inactive
    GONE = "gone"  # chat not found or deactivated group; the chat is marked inactive
    NETWORK = "network"  # 5xx or network errors after every retry; the digest stays pending
    RATE_LIMITED = "rate_limited"  # 429s after every retry; the digest stays pending
    TOPIC_CLOSED = "topic_closed"  # the forum topic is closed: the day's digest there is skipped
    TOPIC_GONE = "topic_gone"  # the forum topic was deleted; that topic is marked inactive


class BotMetrics:
    """The counters and histograms the bot updates as it works."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "papers_digest_deliveries", "Digests handled, by why they were sent and how they ended.",
            ["kind", "status"], registry=self.registry)
        self.messages_sent = Counter(
            "papers_digest_messages_sent", "Digest messages Telegram accepted.", ["kind"], registry=self.registry)
        self.failures = Counter(
            "papers_digest_delivery_failures", "Digest messages that did not go out, by kind of failure.",
            ["failure"], registry=self.registry)
        self.too_many_requests = Counter(
            "papers_digest_telegram_429", "429 Too Many Requests answers from Telegram (each is waited out).",
            registry=self.registry)
        self.tick_seconds = Histogram(
            "papers_digest_tick_duration_seconds", "Wall time of one scheduler tick (claim, lease and deliver).",
            buckets=TICK_BUCKETS, registry=self.registry)
        self.ingested_digests = Counter(
            "papers_digest_ingested_digests", "Digests the bot was given to ingest, by outcome.", ["outcome"],
            registry=self.registry)
        self.ingested_papers = Counter(
            "papers_digest_ingested_papers", "Papers in ingested digests: new to the store or merged into one.",
            ["outcome"], registry=self.registry)

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)

    def count_ingestion(self, report: IngestReport) -> None:
        """One digest the bot ingested: its outcome, and its papers new to the store or merged."""
        if report.error is not None:
            self.ingested_digests.labels("refused").inc()
        elif report.already_ingested:
            self.ingested_digests.labels("already_ingested").inc()
        else:
            self.ingested_digests.labels("stored").inc()
            self.ingested_papers.labels("new").inc(report.new)
            self.ingested_papers.labels("merged").inc(report.merged)
