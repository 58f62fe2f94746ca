"""Digest pages over real HTTP (a local server): declared charsets, redirects, status codes, size caps, timeouts."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import pytest

from bot.http import fetch_url
from storage.documents import DocumentError
from tests.conftest import sample_text
from tests.test_documents import MIB, html_page, papers_of

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment must not swallow requests meant for the local test server."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class _Server(ThreadingHTTPServer):
    """Test server with an event that lets a stalled handler go at teardown."""

    daemon_threads = True
    release: threading.Event


class _DigestHandler(BaseHTTPRequestHandler):
    """One route per way a digest URL can behave."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""

    def _send(self, status: int, body: bytes, content_type: str, length: int | None = None) -> None:
        """Answer with a body and an honest (or deliberately false) Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """Route on the path."""
        with contextlib.suppress(OSError):  # the client gave up on purpose (cap or timeout)
            self._route()

    def _route(self) -> None:
        """The behaviours under test."""
        if self.path == "/gbk":
            self._send(200, sample_text("003").encode("gbk"), "text/plain; charset=gbk")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/gbk")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/page":
            self._send(200, html_page(sample_text("003")).encode("utf-8"), "text/html; charset=utf-8")
        elif self.path == "/declared-huge":
            self._send(200, b"1\xe3\x80\x81[LG] x\n", "text/plain", length=50 * MIB)
        elif self.path == "/chunked-huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"a" * 65536
            for _ in range(40):  # 2.5 MB, above the 1 MB cap used in the test
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/slow":
            cast(_Server, self.server).release.wait(5)
            self._send(200, sample_text("003").encode("utf-8"), "text/plain; charset=utf-8")
        else:
            self._send(404, b"not here", "text/plain")


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 for this module; yields its base URL, shuts down at the end."""
    server = _Server(("127.0.0.1", 0), _DigestHandler)
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_fetch_uses_the_declared_charset(http_base: str) -> None:
    """A GBK page served with charset=gbk reads as the original text."""
    document = fetch_url(f"{http_base}/gbk")
    assert document.text == sample_text("003")
    assert document.source == f"{http_base}/gbk"


def test_fetch_follows_redirects(http_base: str) -> None:
    """Short links and moved pages answer 302; the digest behind them is what counts."""
    assert fetch_url(f"{http_base}/redirect").text == sample_text("003")


def test_fetch_404_names_the_status(http_base: str) -> None:
    """A dead link must say 404 rather than parse the error page."""
    with pytest.raises(DocumentError, match="404"):
        fetch_url(f"{http_base}/gone")


def test_fetch_refuses_a_declared_oversize_body(http_base: str) -> None:
    """A Content-Length above the cap is refused from the header alone, naming size and limit."""
    with pytest.raises(DocumentError) as caught:
        fetch_url(f"{http_base}/declared-huge", max_bytes=MIB)
    message = str(caught.value)
    assert "50.0 MB" in message
    assert "limit is 1.0 MB" in message


def test_fetch_cuts_off_a_chunked_body_over_the_cap(http_base: str) -> None:
    """Without Content-Length the stream itself must be cut at the cap."""
    with pytest.raises(DocumentError, match=r"larger than the 1\.0 MB limit"):
        fetch_url(f"{http_base}/chunked-huge", max_bytes=MIB)


def test_fetch_times_out(http_base: str) -> None:
    """A server that never answers must not hang the ingest."""
    with pytest.raises(DocumentError, match=r"did not answer within 0\.5 s"):
        fetch_url(f"{http_base}/slow", timeout=0.5)


def test_fetch_reduces_html_to_text(http_base: str) -> None:
    """A digest web page fetched by URL parses like the plain digest."""
    text = fetch_url(f"{http_base}/page").text
    assert "<p>" not in text
    assert "decoy" not in text
    assert papers_of(text) == papers_of(sample_text("003"))


def test_fetch_connection_refused_is_a_document_error() -> None:
    """Nothing listening is a plain 'cannot fetch', not a traceback."""
    with pytest.raises(DocumentError, match="cannot fetch"):
        fetch_url("http://127.0.0.1:9/digest", timeout=2)
