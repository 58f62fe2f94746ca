"""Shared fixtures: stores on SQLite and on the local PostgreSQL, sample digests as data."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.emulator import SentMessage
from storage.db import open_store
from storage.ingest import SAMPLE_DIGESTS_DIR, Ingestor

# python-telegram-bot 22 reports retry_after as a timedelta when asked to (the bot reads both forms).
os.environ.setdefault("PTB_TIMEDELTA", "1")
# Nothing in the tests reaches the internet: bots started here (also as subprocesses) never ask the real arXiv.
os.environ["ARXIV_ENRICHMENT"] = "false"
os.environ.pop("DIGEST_SOURCES", None)
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
# Real documents and recorded arXiv answers live beside the repository, never copied into it.
SHARED_DIR = Path(os.environ.get("PAPERS_DIGEST_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REQUIRE_SHARED = os.environ.get("REQUIRE_SHARED") == "1"


# The day each sample digest was published, so their papers rank as they did.
SAMPLE_DATES = {"000": date(2021, 1, 21), "001": date(2022, 9, 1), "002": date(2022, 8, 12),
                "003": date(2021, 6, 16), "004": date(2022, 4, 20)}
# Users in end-to-end tests type faster than Telegram's per-chat limits allow; pacing has its own tests.
UNTHROTTLED_USERS = {"private_chat_per_second": 1000, "private_burst": 100, "group_per_minute": 60_000}
CARD_TAG = re.compile(r"\[(LG|CV|CL|AS|RO)\??\]")


class FakeClock:
    """The bot's clock, moved by the test instead of by sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ingest_samples(engine: Engine) -> None:
    """Store the five sample digests, each under its publication date."""
    ingestor = Ingestor(engine)
    for prefix, day in SAMPLE_DATES.items():
        assert ingestor.ingest_text(sample_text(prefix), source=prefix, digest_date=day).ok
    ingestor.write_vectors()


def card_tags(messages: list[SentMessage]) -> list[str]:
    """The category tags of every card in these messages."""
    return [match.group(1) for message in messages for match in CARD_TAG.finditer(message.plain_text)]


def sample_text(prefix: str) -> str:
    """The text of the bundled sample digest whose file name starts with prefix."""
    (path,) = SAMPLE_DIGESTS_DIR.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def shared_folder(name: str) -> Path:
    """A folder of ../shared/; skips where it is absent, fails in CI (REQUIRE_SHARED=1)."""
    folder = SHARED_DIR / name
    if not folder.is_dir():
        problem = f"{folder} is absent: the real documents live beside the repository, in ../shared/"
        if REQUIRE_SHARED:
            pytest.fail(f"REQUIRE_SHARED=1 but {problem}")
        pytest.skip(problem)
    return folder


@pytest.fixture(scope="session")
def real_digests_dir() -> Path:
    """../shared/real-digests/: real documents published by others, each with an .expected.json annotation."""
    return shared_folder("real-digests")


@pytest.fixture(scope="session")
def arxiv_responses_dir() -> Path:
    """../shared/arxiv-responses/: answers recorded from arXiv's API."""
    return shared_folder("arxiv-responses")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """Folder of the five bundled sample digests."""
    return SAMPLE_DIGESTS_DIR


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means "absent" here
        return f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} unreachable: {error}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Admin URL of the local PostgreSQL; skips on a laptop without it, fails in CI (REQUIRE_POSTGRES=1)."""
    problem = _postgres_reachable()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"REQUIRE_POSTGRES=1 but {problem}")
        pytest.skip(problem)
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"papers_digest_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run a store test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated store on each backend."""
    store = open_store(database_url)
    yield store
    store.dispose()
