"""A real HTTP server on 127.0.0.1 that tests script route by route, recording every request it gets."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """What the server received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


@dataclass
class Response:
    """What a route answers; `stall` seconds of silence first (a server that does not answer in time)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0


Route = Callable[[Request], Response]


class LocalServer(ThreadingHTTPServer):
    """Routes by path; a route is a function of the request, so it can count, answer 304 or fail."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.release = threading.Event()  # set at shutdown so stalled answers end at once

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        """The full URL of a path on this server."""
        return self.base_url + path

    def hits(self, path: str) -> list[Request]:
        """Requests received for one path."""
        return [request for request in self.requests if request.path == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""

    def do_GET(self) -> None:
        """Record the request, then answer with the route's response."""
        server: LocalServer = self.server  # type: ignore[assignment]
        parts = urlsplit(self.path)
        request = Request(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()},
                          time.monotonic())
        server.requests.append(request)
        route = server.routes.get(parts.path)
        response = route(request) if route else Response(404, b"not here")
        if response.stall:
            server.release.wait(response.stall)
        with contextlib.suppress(OSError):  # the client gave up on purpose (timeout or size cap)
            self.send_response(response.status)
            headers = {"Content-Length": str(len(response.body)), "Connection": "close"} | response.headers
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if response.status != 304:
                self.wfile.write(response.body)


@contextlib.contextmanager
def local_server() -> Iterator[LocalServer]:
    """Start a LocalServer in a thread; shut it down afterwards."""
    server = LocalServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
