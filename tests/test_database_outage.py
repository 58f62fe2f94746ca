"""The database as an operator meets its failures: a malformed URL, one unreachable at start, one that goes away
while the bot runs. Each ends in one clear line; /healthz says so; delivery resumes when it is back, nothing lost.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.emulator import BotApiEmulator, EmulatorThread, RateLimits
from tests.conftest import sample_text
from tests.test_broadcast import make_due_store
from tests.test_crash import (
    CONCURRENCY,
    _add_destinations,
    _assert_each_chat_once,
    _digests,
    _free_port,
    _start_bot,
    _wait,
)

ROOT = Path(__file__).resolve().parent.parent
CHATS = 150


def _run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot …` with this DATABASE_URL, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TELEGRAM_"))}
    env |= {"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "1:x"}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("url", ["not a url", "postgresql+psycopg://bot:s3cret@db:notaport/papers",
                                 "oracle+nosuchdriver://bot:s3cret@db/papers", "mysql://bot:s3cret@db/papers"])
def test_a_malformed_database_url_is_one_line_that_keeps_the_password_out(url: str) -> None:
    result = _run_cli(url, "export")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: settings: DATABASE_URL: ")
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize("command", ["export", "ingest", "run"])
def test_a_database_unreachable_at_start_is_one_line(command: str, tmp_path: Path) -> None:
    url = f"postgresql+psycopg://bot:s3cret@127.0.0.1:{_free_port()}/papers"
    digest = tmp_path / "digest.txt"
    digest.write_text(sample_text("001"), encoding="utf-8")
    result = _run_cli(url, command, *([str(digest)] if command == "ingest" else []))
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: database: cannot reach postgresql+psycopg://bot:***@127.0.0.1:"), \
        result.stderr
    assert "Connection refused" in result.stderr and "s3cret" not in result.stderr


def test_a_sqlite_file_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _run_cli(f"sqlite:///{blocker / 'store.db'}", "export")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: database: cannot create the folder of sqlite:///{blocker}"
                                                  "/store.db: File exists"]


class TcpProxy:
    """A TCP relay on 127.0.0.1 to the database, which the test cuts (every connection dropped, new ones closed at
    once) and restores: a database that goes away and comes back, as the bot sees it over the network."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        """Relay each connection while up; refuse (accept and close) while cut."""
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy bytes one way until either side closes."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with self._lock:
                    self._open.discard(end)
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def cut(self) -> None:
        """The database goes away: live connections drop, new ones are closed at once."""
        self.up = False
        with self._lock:
            for end in list(self._open):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        """The database is back."""
        self.up = True

    def close(self) -> None:
        """Stop relaying."""
        self.cut()
        self.listener.close()


@contextmanager
def proxied(database_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A relay to this PostgreSQL database, and the URL that goes through it."""
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()


def _health(port: int) -> tuple[int, dict[str, object]]:
    """GET /healthz of the bot's webhook server."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_database_going_away_mid_broadcast_then_back_resumes_delivery_and_loses_nothing(
        tmp_path: Path, postgres_url: str) -> None:
    world = make_due_store(tmp_path, private=CHATS, url=postgres_url)
    world.engine.dispose()
    log = tmp_path / "bot.log"
    port = _free_port()
    with EmulatorThread(BotApiEmulator(rate_limits=RateLimits())) as server, proxied(postgres_url) as (proxy, url):
        _add_destinations(server, world.chat_ids)
        bot = _start_bot(server, url, log, "--webhook-url", f"http://127.0.0.1:{port}/telegram", "--port", str(port),
                         WEBHOOK_SECRET_TOKEN="s3cr3t")
        try:
            _wait(lambda: len(_digests(server)) >= CHATS // 3, timeout=60)
            proxy.cut()
            at_cut = len(_digests(server))
            _wait(lambda: _health(port)[0] == 503, timeout=20)
            down = _health(port)
            time.sleep(2.0)  # several ticks find the database gone
            during = len(_digests(server))
            proxy.restore()
            _wait(lambda: len(_digests(server)) == len(world.chat_ids), timeout=90)
            time.sleep(1.0)  # a digest sent twice would show up now
            back = _health(port)
        finally:
            bot.terminate()
            bot.wait(timeout=30)
        digests = _digests(server)
    text = log.read_text()
    assert at_cut < len(world.chat_ids), "the database went away mid-broadcast"
    assert during - at_cut <= CONCURRENCY, "only messages already in flight went out while the database was away"
    assert down == (503, {"status": "unavailable", "reason": "database: unreachable"})
    assert back[0] == 200 and back[1]["database"] == "ok"
    assert text.count("tick: database unreachable") == 1, text[-3000:]
    assert "tick: database reachable again; delivery resumes" in text
    assert "Traceback" not in text, text[-3000:]
    _assert_each_chat_once(digests, world.chat_ids, CONCURRENCY, log)
