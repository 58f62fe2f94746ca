"""`python -m bot …` as an operator runs it: real subprocesses, exit codes, printed lines, exported JSON."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.conftest import sample_text

REPO = Path(__file__).resolve().parents[1]
SAMPLES = "storage/samples"
SAMPLE_COUNTS = [7, 10, 9, 9, 11]
CLI_TIMEOUT = 60.0
EXPORT_KEYS = frozenset({
    "id", "category", "category_inferred", "title_en", "title_zh", "authors", "authors_truncated", "affiliations",
    "summary_zh",
    "abstract_en", "url", "arxiv_id", "code_url", "highlight", "minor", "digest_ids",
})
INGEST_LINE = re.compile(
    r"^(?P<source>.+): (?P<found>\d+) papers found, (?P<new>\d+) new, (?P<merged>\d+) merged"
    r" \(digest (?P<digest>\d+)\)$"
)
# Anything in the caller's environment that the bot reads must not leak into the runs under test.
SCRUBBED = frozenset(name.upper() for name in Settings.model_fields) | {
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
}


@dataclass(frozen=True)
class Run:
    """One finished CLI call: what the operator sees."""

    code: int
    out: bytes
    err: str

    @property
    def lines(self) -> list[str]:
        """Standard output as text lines."""
        return self.out.decode("utf-8").splitlines()

    @property
    def err_lines(self) -> list[str]:
        """Standard error as non-blank text lines."""
        return [line for line in self.err.splitlines() if line.strip()]

    def rows(self) -> list[dict[str, Any]]:
        """Standard output of `export` as parsed JSON lines."""
        return [json.loads(line) for line in self.lines]


def run_cli(*args: str, database_url: str, **settings: str) -> Run:
    """Run `python -m bot` from the repository with a clean environment pointing at one store."""
    env = {name: value for name, value in os.environ.items() if name.upper() not in SCRUBBED}
    env["DATABASE_URL"] = database_url
    env.update(settings)
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, env=env, capture_output=True,
                          timeout=CLI_TIMEOUT, check=False)
    return Run(code=done.returncode, out=done.stdout, err=done.stderr.decode("utf-8", errors="replace"))


def ingest_counts(run: Run) -> list[tuple[int, int, int]]:
    """(found, new, merged) of every stored-digest line, in order."""
    matches = [INGEST_LINE.match(line) for line in run.lines]
    assert all(matches), run.lines
    return [(int(m["found"]), int(m["new"]), int(m["merged"])) for m in matches if m]


def sample_path(prefix: str) -> str:
    """Repository-relative path of one bundled sample, as typed at the shell."""
    (path,) = (REPO / SAMPLES).glob(f"{prefix}_*.txt")
    return str(path.relative_to(REPO))


@dataclass(frozen=True)
class Store:
    """A SQLite store filled once with the five samples, with what ingest and export printed."""

    path: Path
    ingest: Run
    export: Run

    @property
    def url(self) -> str:
        """DATABASE_URL of the store."""
        return f"sqlite:///{self.path}"


@pytest.fixture(scope="module")
def samples_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Ingest the sample folder once for the module; tests that write copy the file first."""
    path = tmp_path_factory.mktemp("store") / "store.db"
    url = f"sqlite:///{path}"
    ingest = run_cli("ingest", SAMPLES, database_url=url)
    return Store(path=path, ingest=ingest, export=run_cli("export", database_url=url))


# --- ingest --------------------------------------------------------------------------------------------


def test_ingest_sample_folder_prints_one_line_per_digest(samples_store: Store) -> None:
    """Each digest gets a line with papers found / new / merged; nothing overlaps across samples."""
    run = samples_store.ingest
    assert run.code == 0, run.err
    assert ingest_counts(run) == [(count, count, 0) for count in SAMPLE_COUNTS]
    assert [line.split(":")[0] for line in run.lines] == [sample_path(p) for p in ("000", "001", "002", "003", "004")]
    assert "error" not in run.err


def test_ingesting_again_changes_nothing(samples_store: Store, tmp_path: Path) -> None:
    """A re-run says 'already ingested' for every digest and the export stays byte-identical."""
    copy = tmp_path / "store.db"
    shutil.copyfile(samples_store.path, copy)
    url = f"sqlite:///{copy}"
    again = run_cli("ingest", SAMPLES, database_url=url)
    assert again.code == 0, again.err
    assert len(again.lines) == 5
    assert all("already ingested" in line for line in again.lines), again.lines
    after = run_cli("export", database_url=url)
    assert after.code == 0, after.err
    assert after.out == samples_store.export.out


def test_ingest_with_a_date(tmp_path: Path) -> None:
    """--date YYYY-MM-DD is accepted for a single file."""
    run = run_cli("ingest", "--date", "2026-11-01", sample_path("000"), database_url=f"sqlite:///{tmp_path}/s.db")
    assert run.code == 0, run.err
    assert ingest_counts(run) == [(7, 7, 0)]


def test_ingest_with_an_impossible_date_names_the_form(tmp_path: Path) -> None:
    """Month 13 is refused up front with the expected date form in the message."""
    run = run_cli("ingest", "--date", "2026-13-01", sample_path("000"), database_url=f"sqlite:///{tmp_path}/s.db")
    assert run.code != 0
    assert "2026-13-01" in run.err
    assert "YYYY-MM-DD" in run.err
    assert "Traceback" not in run.err
    assert run.out == b""


def test_bad_files_in_a_batch_are_reported_and_the_good_ones_stored(tmp_path: Path) -> None:
    """Empty, binary and non-digest files each get an error line; the digests around them still go in."""
    folder = tmp_path / "batch"
    folder.mkdir()
    bad = {
        "empty.txt": (b"", "empty"),
        "image.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "binary"),
        "hello.txt": (b"hello world\n", "no recognisable paper entry"),
    }
    for name, (data, _) in bad.items():
        (folder / name).write_bytes(data)
    good = {prefix: folder / f"good_{prefix}.txt" for prefix in ("000", "002", "004")}
    for prefix, path in good.items():
        path.write_text(sample_text(prefix), encoding="utf-8")
    order = [good["000"], folder / "empty.txt", good["002"], folder / "image.txt", folder / "hello.txt",
             good["004"]]
    url = f"sqlite:///{tmp_path}/s.db"
    run = run_cli("ingest", *map(str, order), database_url=url)
    assert run.code != 0
    assert ingest_counts(run) == [(7, 7, 0), (9, 9, 0), (11, 11, 0)]
    errors = run.err_lines
    assert len(errors) == 3, run.err
    for line, (name, (_, reason)) in zip(errors, bad.items(), strict=True):
        assert line.startswith(f"{folder / name}: error: "), line
        assert reason in line
    assert "Traceback" not in run.err
    export = run_cli("export", database_url=url)
    assert export.code == 0, export.err
    assert len(export.rows()) == 7 + 9 + 11


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    """A mistyped path gets one error line naming it and a non-zero exit, no traceback."""
    missing = tmp_path / "no-such-digest.txt"
    run = run_cli("ingest", str(missing), database_url=f"sqlite:///{tmp_path}/s.db")
    assert run.code != 0
    assert run.err_lines == [f"{missing}: error: cannot read {missing}: No such file or directory"]
    assert run.out == b""


class _SampleHandler(BaseHTTPRequestHandler):
    """Serves sample 002 at /digest.txt, 404 elsewhere."""

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""

    def do_GET(self) -> None:
        """The one route."""
        found = self.path == "/digest.txt"
        body = sample_text("002").encode("utf-8") if found else b"not found"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def digest_server() -> Iterator[str]:
    """A local HTTP server holding one digest; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SampleHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_ingest_from_a_url(digest_server: str, tmp_path: Path) -> None:
    """A digest URL goes in like a file and shows up in the export."""
    url = f"sqlite:///{tmp_path}/s.db"
    source = f"{digest_server}/digest.txt"
    run = run_cli("ingest", source, database_url=url)
    assert run.code == 0, run.err
    assert run.lines == [f"{source}: 9 papers found, 9 new, 0 merged (digest 1)"]
    rows = run_cli("export", database_url=url).rows()
    assert len(rows) == 9
    assert all(row["digest_ids"] == [1] for row in rows)


def test_dead_url_is_a_clear_error(digest_server: str, tmp_path: Path) -> None:
    """A 404 link gets an error line naming the status."""
    source = f"{digest_server}/gone.txt"
    run = run_cli("ingest", source, database_url=f"sqlite:///{tmp_path}/s.db")
    assert run.code != 0
    assert run.err_lines == [f"{source}: error: {source} answered HTTP 404"]


# --- export --------------------------------------------------------------------------------------------


def test_export_rows_have_exactly_the_documented_keys(samples_store: Store) -> None:
    """Every line is one JSON object with the documented keys and types, nulls where unknown."""
    assert samples_store.export.code == 0, samples_store.export.err
    rows = samples_store.export.rows()
    assert len(rows) == sum(SAMPLE_COUNTS)
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert set(row) == EXPORT_KEYS, row
        assert isinstance(row["id"], int)
        assert row["digest_ids"], row
        assert all(type(digest_id) is int for digest_id in row["digest_ids"])
        for flag in ("category_inferred", "authors_truncated", "highlight", "minor"):
            assert isinstance(row[flag], bool)
        for name in ("authors", "affiliations"):
            assert row[name] is None or (row[name] and all(isinstance(item, str) for item in row[name]))
        assert all(value != "" for value in row.values()), row  # unknown is null, not ""
    # A list cut short ("et al." in the digest) says so in the flag, never as an author.
    assert any(row["authors_truncated"] for row in rows)
    assert not any("et al" in author for row in rows for author in row["authors"] or [])


def test_export_nulls_for_a_digest_without_english_titles(samples_store: Store) -> None:
    """Sample 001 is bare translated abstracts: no titles or authors, which export as null."""
    line = INGEST_LINE.match(samples_store.ingest.lines[1])
    assert line is not None
    digest_001 = int(line["digest"])
    rows = [row for row in samples_store.export.rows() if row["digest_ids"] == [digest_001]]
    assert len(rows) == 10
    assert all(row["title_en"] is None and row["authors"] is None for row in rows)
    assert all(row["summary_zh"] or row["abstract_en"] for row in rows)


def test_export_to_a_file_matches_standard_output(samples_store: Store, tmp_path: Path) -> None:
    """-o FILE writes exactly what standard output would show."""
    target = tmp_path / "papers.jsonl"
    run = run_cli("export", "-o", str(target), database_url=samples_store.url)
    assert run.code == 0, run.err
    assert run.out == b""
    assert target.read_bytes() == samples_store.export.out


# --- settings and demo ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DIGEST_SIZE", "abc"), ("ADMIN_IDS", "1,x"), ("FETCH_TIMEOUT", "-1"), ("HEARTBEAT_TIMEOUT_SECONDS", "6")],
)
def test_malformed_setting_stops_with_one_line(tmp_path: Path, variable: str, value: str) -> None:
    """A bad variable is named in one stderr line, exit code 2, and the store is left alone."""
    store = tmp_path / "s.db"
    run = run_cli("ingest", sample_path("000"), database_url=f"sqlite:///{store}", **{variable: value})
    assert run.code == 2
    assert len(run.err_lines) == 1, run.err
    assert variable in run.err_lines[0]
    assert "Traceback" not in run.err
    assert run.out == b""
    assert not store.exists()


def test_demo_plays_a_subscriber_against_the_local_emulator(tmp_path: Path) -> None:
    """The offline demo stores every sample paper and shows /start, /categories, /today and a saved star."""
    database = tmp_path / "demo.db"
    run = run_cli("demo", "--database", str(database), database_url=f"sqlite:///{tmp_path}/unused.db")
    assert run.code == 0, run.err
    assert f"Ingested {sum(SAMPLE_COUNTS)} papers from 5 sample digests into {database}." in run.lines
    for step in ("👤 Lin: /start", "👤 Lin: /categories", "👤 Lin: /today", "👤 Lin: /favorites"):
        assert step in run.lines
    assert any(line.strip().startswith("[⭐ 1]") for line in run.lines), "a digest with star buttons"
    assert any(line.strip().startswith("[✅ 1]") for line in run.lines), "the tapped star shows as saved"


# --- PostgreSQL ----------------------------------------------------------------------------------------


def test_ingest_and_export_on_postgresql(postgres_url: str) -> None:
    """The same operator workflow works against a PostgreSQL DATABASE_URL."""
    ingest = run_cli("ingest", SAMPLES, database_url=postgres_url)
    assert ingest.code == 0, ingest.err
    assert ingest_counts(ingest) == [(count, count, 0) for count in SAMPLE_COUNTS]
    export = run_cli("export", database_url=postgres_url)
    assert export.code == 0, export.err
    rows = export.rows()
    assert len(rows) == sum(SAMPLE_COUNTS)
    assert all(set(row) == EXPORT_KEYS for row in rows)


def test_ingest_leaves_every_paper_searchable(samples_store: Store) -> None:
    """The batch writes its search entries itself: nothing is left queued for the first /search to write."""
    with sqlite3.connect(samples_store.path) as store:
        queued = store.execute("SELECT count(*) FROM search_queue").fetchone()[0]
        indexed = store.execute("SELECT count(*) FROM paper_fts WHERE paper_fts MATCH 'diffusion'").fetchone()[0]
        papers = store.execute("SELECT count(*) FROM paper WHERE lower(title_en) LIKE '%diffusion%'").fetchone()[0]
    assert queued == 0
    assert papers > 0
    assert indexed >= papers


# --- ingest --resolve ------------------------------------------------------------------------------------


def test_ingest_then_resolve_on_arxiv_asks_each_paper_once(tmp_path: Path) -> None:
    from tests.arxiv_standin import ArxivStandIn
    from tests.local_http import local_server
    from tests.test_resolution_e2e import KNOWN, LOOK_ALIKES

    url = f"sqlite:///{tmp_path / 'store.db'}"
    with local_server() as arxiv:
        arxiv.routes["/api/query"] = ArxivStandIn(KNOWN + LOOK_ALIKES)
        settings = {"ARXIV_ENRICHMENT": "true", "ARXIV_API_URL": arxiv.url("/api/query"),
                    "ARXIV_REQUEST_INTERVAL": "0.01"}
        run = run_cli("ingest", SAMPLES, "--resolve", database_url=url, **settings)
        assert run.code == 0, run.err
        # AdaMatch's id is known (its digest left nothing to fill), the other 7 ids are not; 14 of the 28 titles are
        assert run.lines[-1] == ("arXiv: 8 papers asked by id (0 enriched, 7 unknown, 0 postponed); 28 asked by "
                                 "title (14 matched, 0 merged into a stored paper, 14 unmatched, 0 skipped, "
                                 "0 postponed); 29 requests")
        assert len(arxiv.requests) == 29
        again = run_cli("ingest", "--resolve", database_url=url, **settings)
        assert again.code == 0 and "28 asked by title" not in again.lines[-1] and len(arxiv.requests) == 29
        rows = run_cli("export", database_url=url).rows()
    ids = {row["arxiv_id"] for row in rows}
    assert {entry.arxiv_id for entry in KNOWN} <= ids and not {entry.arxiv_id for entry in LOOK_ALIKES} & ids


def test_resolve_gives_up_when_arxiv_keeps_failing_and_is_refused_when_switched_off(tmp_path: Path) -> None:
    from tests.arxiv_standin import ArxivStandIn
    from tests.local_http import local_server

    url = f"sqlite:///{tmp_path / 'store.db'}"
    with local_server() as arxiv:
        arxiv.routes["/api/query"] = ArxivStandIn([], mode="5xx")
        run = run_cli("ingest", sample_path("000"), "--resolve", database_url=url, ARXIV_ENRICHMENT="true",
                      ARXIV_API_URL=arxiv.url("/api/query"), ARXIV_REQUEST_INTERVAL="0.01")
        assert run.code == 1 and "error: arXiv failed (arXiv answered HTTP 503)" in run.err
        assert len(arxiv.requests) == 3, "three failures in a row, then it stops"
    off = run_cli("ingest", "--resolve", database_url=url, ARXIV_ENRICHMENT="false")
    assert off.code == 2 and "ARXIV_ENRICHMENT=false" in off.err
    nothing = run_cli("ingest", database_url=url)
    assert nothing.code == 2 and "give digest files" in nothing.err


def test_resolve_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios
    import time

    from tests.arxiv_standin import ArxivStandIn
    from tests.local_http import local_server

    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert run_cli("ingest", SAMPLES, database_url=url).code == 0
    env = {name: value for name, value in os.environ.items() if name.upper() not in SCRUBBED}
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    with local_server() as arxiv:
        arxiv.routes["/api/query"] = ArxivStandIn([])
        env |= {"DATABASE_URL": url, "ARXIV_ENRICHMENT": "true", "ARXIV_API_URL": arxiv.url("/api/query"),
                "ARXIV_REQUEST_INTERVAL": "0.01", "LOG_LEVEL": "WARNING"}
        process = subprocess.Popen([sys.executable, "-m", "bot", "ingest", "--resolve"], cwd=REPO, env=env,
                                   stdout=terminal, stderr=terminal)
        os.set_blocking(master, False)
        shown, deadline = b"", time.monotonic() + CLI_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            with contextlib.suppress(BlockingIOError):
                shown += os.read(master, 65536)
        os.close(terminal)
        with contextlib.suppress(OSError):
            shown += os.read(master, 65536)
        os.close(master)
    text = shown.decode("utf-8", errors="replace")
    assert process.returncode == 0, text
    assert "arXiv by title: 100%" in text and "28/28" in text
