"""The source table on SQLite and PostgreSQL: registering, claiming checks, failure flags; migration 0005 keeps data."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import select

from storage.db import alembic_config, make_engine, migrate, session_scope
from storage.models import Source, SourceStatus
from storage.sources import (
    add_source,
    claim_due_sources,
    count_sources,
    list_sources,
    merge_configured_sources,
    record_source_failure,
    record_source_success,
    remove_source,
)

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_add_list_remove(engine: Engine) -> None:
    with session_scope(engine) as session:
        first, created = add_source(session=session, url="https://a.example.org/d", added_by=7)
        assert created and first.id is not None
        same, created = add_source(session=session, url="https://a.example.org/d", added_by=8)
        assert not created and same.id == first.id and same.added_by == 7
        add_source(session=session, url="https://b.example.org/d", added_by=None)
    with session_scope(engine) as session:
        assert [source.url for source in list_sources(session=session)] == ["https://a.example.org/d",
                                                                           "https://b.example.org/d"]
        assert remove_source(session=session, source_id=first.id).url == "https://a.example.org/d"
        assert remove_source(session=session, source_id=first.id) is None
        assert remove_source(session=session, source_id=10**9) is None
    with session_scope(engine) as session:
        assert count_sources(session=session) == 1
        assert merge_configured_sources(session=session, urls=["https://b.example.org/d"]) == []


def test_a_claimed_source_is_due_again_one_interval_later(engine: Engine) -> None:
    with session_scope(engine) as session:
        for name in "abc":
            add_source(session=session, url=f"https://{name}.example.org/", added_by=None)
    with session_scope(engine) as session:
        claimed = claim_due_sources(session=session, now=NOW, interval=HOUR, limit=2)
    assert [source.url for source in claimed] == ["https://a.example.org/", "https://b.example.org/"]
    assert all(source.next_check_at == NOW + HOUR for source in claimed)
    with session_scope(engine) as session:
        assert [s.url for s in claim_due_sources(session=session, now=NOW, interval=HOUR, limit=10)] == [
            "https://c.example.org/"]
        assert claim_due_sources(session=session, now=NOW + HOUR / 2, interval=HOUR, limit=10) == []
        assert len(claim_due_sources(session=session, now=NOW + HOUR, interval=HOUR, limit=10)) == 3


def test_failure_is_flagged_once_and_recovery_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        source, _created = add_source(session=session, url="https://a.example.org/", added_by=None)
    flags = []
    for hour in range(3):
        with session_scope(engine) as session:
            flags.append(record_source_failure(session=session, source_id=source.id, now=NOW + hour * HOUR,
                                               error="x" * 5000))
    assert flags == [True, False, False]
    with session_scope(engine) as session:
        stored = session.get(Source, source.id)
        assert (stored.failing_since, stored.last_checked_at, len(stored.last_error)) == (NOW, NOW + 2 * HOUR, 1000)
        assert record_source_success(session=session, source_id=source.id, now=NOW + 3 * HOUR,
                                     status=SourceStatus.INGESTED, etag='"e"', last_modified=None)
    with session_scope(engine) as session:
        assert not record_source_success(session=session, source_id=source.id, now=NOW + 4 * HOUR,
                                         status=SourceStatus.UNCHANGED, etag=None, last_modified=None)
        stored = session.get(Source, source.id)
        assert (stored.etag, stored.last_status, stored.failing_since, stored.last_error) == (
            '"e"', "unchanged", None, None), "a 304 without validators keeps the ones we had"
        assert not record_source_failure(session=session, source_id=10**9, now=NOW, error="gone")


def test_two_processes_racing_for_due_sources_split_them(postgres_url: str) -> None:
    """Claims from two engines at once, many rounds: every source goes to exactly one of them."""
    engines = [make_engine(postgres_url) for _ in range(2)]
    migrate(engines[0])
    with session_scope(engines[0]) as session:
        for number in range(40):
            add_source(session=session, url=f"https://s{number}.example.org/", added_by=None)
    got: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def claim(index: int) -> None:
        barrier.wait()
        for _ in range(10):
            with session_scope(engines[index]) as session:
                got[index].extend(s.id for s in claim_due_sources(session=session, now=NOW, interval=HOUR, limit=8))

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(got[0] + got[1]) == list(range(1, 41)), "each source claimed once, none lost"
    for engine in engines:
        engine.dispose()


def test_migration_0005_keeps_papers_and_chats_and_goes_back(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(text("INSERT INTO paper (category, category_inferred, title_en, authors, affiliations, "
                                "arxiv_id, highlight, minor, created_at) VALUES ('CV', false, 'Kept', '[]', '[]', "
                                "'2601.00001', false, false, CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO chat (id, kind, language, ui_language, categories, digest_time, "
                                "timezone, active, created_at) VALUES (42, 'private', 'both', 'en', 'CV', '09:00', "
                                "'Asia/Shanghai', true, CURRENT_TIMESTAMP)"))
    migrate(engine)
    with engine.connect() as connection:
        heads = ScriptDirectory.from_config(config).get_heads()
        assert len(heads) == 1 and MigrationContext.configure(connection).get_current_revision() == heads[0]
        assert connection.execute(text("SELECT title_en, arxiv_checked_at FROM paper")).one() == ("Kept", None)
        assert connection.execute(text("SELECT id FROM chat")).scalar_one() == 42
    with session_scope(engine) as session:
        add_source(session=session, url="https://a.example.org/", added_by=42)
        assert [s.url for s in session.exec(select(Source)).all()] == ["https://a.example.org/"]
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    tables = inspect(engine)
    assert "source" not in tables.get_table_names()
    assert "arxiv_checked_at" not in {column["name"] for column in tables.get_columns("paper")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title_en FROM paper")).scalar_one() == "Kept"
    engine.dispose()


@pytest.mark.parametrize("url", ["https://a.example.org/x", "http://127.0.0.1:8080/digest.html"])
def test_configured_urls_merge_without_duplicates(engine: Engine, url: str) -> None:
    with session_scope(engine) as session:
        assert len(merge_configured_sources(session=session, urls=[url, url])) == 1
        assert len(merge_configured_sources(session=session, urls=[url])) == 0
        (stored,) = list_sources(session=session)
        assert (stored.url, stored.added_by, stored.last_status) == (url, None, "new")
