"""Two processes started at the same moment on one store: both come up, each migration runs once, nothing is lost.

The processes are real `python -m bot ingest` commands, as an operator (or two instances of a deployment) starts
them; each ingests its own sample digest, so a lost write would show as a missing digest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from storage.db import alembic_config, make_engine, migrate, open_store, session_scope
from storage.models import Digest
from tests.conftest import ingest_samples, sample_text

ROOT = Path(__file__).resolve().parent.parent
UPGRADE_LINE = "store: schema upgraded from"


def _head() -> str:
    """The newest migration's id."""
    return ScriptDirectory(str(ROOT / "storage" / "migrations")).get_current_head() or ""


def _start_ingest(database_url: str, sample: Path) -> subprocess.Popen[str]:
    """`python -m bot ingest FILE` with its own output captured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TELEGRAM_"))}
    env |= {"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "DEBUG"}  # new stores log at DEBUG
    return subprocess.Popen([sys.executable, "-m", "bot", "ingest", str(sample), "--date", "2022-09-01"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _run_two_at_once(database_url: str, tmp_path: Path) -> list[str]:
    """Start two ingests at the same moment, each with its own digest; both must succeed. Their outputs."""
    samples = []
    for name in ("a", "b"):
        path = tmp_path / f"digest-{name}.txt"
        path.write_text(sample_text("001" if name == "a" else "002") + f"\n\n{name}\n", encoding="utf-8")
        samples.append(path)
    processes = [_start_ingest(database_url, sample) for sample in samples]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "Traceback" not in output, output
    return outputs


def _digest_count(database_url: str) -> int:
    """How many digests the store holds."""
    engine = open_store(database_url)
    try:
        with session_scope(engine) as session:
            return session.exec(select(func.count()).select_from(Digest)).one()[0]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_starting_on_a_new_store_migrate_it_once(backend: str, request: pytest.FixtureRequest,
                                                               tmp_path: Path) -> None:
    database_url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    outputs = _run_two_at_once(database_url, tmp_path)
    upgrades = [line for output in outputs for line in output.splitlines() if UPGRADE_LINE in line]
    assert len(upgrades) == 1, outputs
    assert upgrades[0].endswith(f"from empty to {_head()}")
    assert _digest_count(database_url) == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_starting_on_a_store_one_migration_behind_upgrade_it_once_and_keep_its_data(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    database_url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    engine = open_store(database_url)
    ingest_samples(engine)
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    engine.dispose()
    outputs = _run_two_at_once(database_url, tmp_path)
    upgrades = [line for output in outputs for line in output.splitlines() if UPGRADE_LINE in line]
    assert len(upgrades) == 1, outputs
    previous = ScriptDirectory(str(ROOT / "storage" / "migrations")).get_revision(_head()).down_revision
    assert upgrades[0].endswith(f"from {previous} to {_head()}")
    assert _digest_count(database_url) == 5 + 2, "the five stored digests and the two new ones"


def test_a_failing_migration_leaves_the_store_as_it_was(database_url: str) -> None:
    """Two migrations to apply, the second fails: the first is rolled back with it and no data is touched."""
    engine = open_store(database_url)
    ingest_samples(engine)
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "-2")
        connection.execute(text("CREATE TABLE process (owner VARCHAR(80) PRIMARY KEY)"))  # in the way of the last
    before = inspect(engine).get_table_names()
    with pytest.raises(DBAPIError):
        migrate(engine)
    engine.dispose()
    engine = make_engine(database_url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory(str(ROOT / "storage" / "migrations"))
    assert revision == head.get_revision(head.get_revision(_head()).down_revision).down_revision
    assert inspect(engine).get_table_names() == before, "the migration before the failing one was rolled back"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM digest")).scalar_one() == 5, "stored data untouched"
    engine.dispose()
