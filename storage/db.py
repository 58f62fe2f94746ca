"""Engine and sessions built from DATABASE_URL, with Alembic migrations applied at start, one process at a time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from filelock import FileLock
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, create_engine

from storage.search import search_terms

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number: every process that migrates this PostgreSQL database takes the same advisory lock.
MIGRATION_LOCK_KEY = 7_140_012

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The database cannot be reached; the message is the one line shown to the operator."""


def safe_url(url: str | URL) -> str:
    """The database URL as it may be shown in a log line: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def unreachable_reason(error: BaseException) -> str:
    """The driver's first line of why it could not connect, without the traceback around it."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def make_engine(database_url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, search_terms() and its folder, so a checkout just works."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # The search index's triggers call it (storage/migrations/versions/0004_search.py).
        dbapi_conn.create_function("search_terms", -1, search_terms, deterministic=True)

    return engine


def alembic_config(engine: Engine) -> Config:
    """Point Alembic at the packaged migrations and at this engine, without an alembic.ini on disk."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision under a lock; upgrades only add, so stored data survives.

    Whatever process starts first migrates; one starting meanwhile waits, then finds the schema current. The
    whole upgrade is one transaction, so a migration that fails leaves the store as it was.
    """
    if engine.dialect.name != "sqlite":
        _upgrade(engine, None)
        return
    # The lock file waits as long as the migrating process needs; SQLite's busy timeout would give up after 30 s.
    with _sqlite_file_lock(engine):
        _upgrade(engine, "BEGIN EXCLUSIVE")


def _sqlite_file_lock(engine: Engine) -> AbstractContextManager[object]:
    """The lock file beside a SQLite store, taken while a process sets the store up (nothing for other stores)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return nullcontext()
    return FileLock(f"{database}.migrate.lock")


def _upgrade(engine: Engine, begin: str | None) -> None:
    """One transaction: take the lock (SQLite's exclusive BEGIN, or PostgreSQL's advisory lock), then upgrade."""
    with engine.connect() as connection:
        if begin is not None:  # pysqlite would run DDL outside any transaction: open one ourselves
            connection.exec_driver_sql(begin)
        else:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        before = _current_revision(connection)
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = _current_revision(connection)
        connection.commit()
    if before != after:  # an upgrade of stored data is news to the operator; creating a new store is not
        log.log(logging.INFO if before else logging.DEBUG, "store: schema upgraded from %s to %s",
                before or "empty", after)


def _current_revision(connection: Connection) -> str | None:
    """The revision the store is at (None for a new store)."""
    return MigrationContext.configure(connection).get_current_revision()


def open_store(database_url: str) -> Engine:
    """Engine with the schema migrated: what every entry point calls first; StoreUnavailable if unreachable."""
    try:
        engine = make_engine(database_url)
    except OSError as error:  # SQLite's folder cannot be created
        raise StoreUnavailable(f"database: cannot create the folder of {safe_url(database_url)}: "
                               f"{error.strerror}") from None
    try:
        # The first connection turns a new SQLite file to WAL; two processes doing that at once can find each
        # other's lock and fail at once instead of waiting, so they take turns.
        with _sqlite_file_lock(engine), engine.connect():
            pass
    except OperationalError as error:
        engine.dispose()
        raise StoreUnavailable(f"database: cannot reach {safe_url(database_url)}: {unreachable_reason(error)}") \
            from None
    migrate(engine)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error so nothing is half-stored."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
