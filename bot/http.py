"""The bot's HTTP: one User-Agent, one size-capped download, one retry with backoff, and digest pages fetched.

Digest URLs (scheduled sources, /ingest, the CLI) and arXiv's API both go through `download`; the bytes it
returns are decoded by storage.documents, which never touches the network.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Container, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from storage.documents import (
    DEFAULT_MAX_BYTES,
    Document,
    DocumentError,
    bytes_to_document,
    is_url,
    read_file,
    too_large,
)

log = logging.getLogger(__name__)
USER_AGENT = "papers-digest/0.1"
DEFAULT_TIMEOUT = 20.0
T = TypeVar("T")


class DownloadError(Exception):
    """The download itself failed: no answer in time, no connection, or a body over the cap."""


class NoAnswer(DownloadError):
    """The server did not answer within the timeout."""


class Unreachable(DownloadError):
    """No connection, or the exchange broke off (the reason is httpx's)."""


class TooLarge(DownloadError):
    """The body is over the cap: `size` when the server declared it, None when the stream ran past the cap."""

    def __init__(self, limit: int, size: int | None) -> None:
        super().__init__(f"over the {limit}-byte cap" if size is None else f"{size} bytes, over the {limit}-byte cap")
        self.limit, self.size = limit, size


@dataclass(frozen=True, slots=True)
class Download:
    """One answer: its status and headers; the body only when the status was one the caller wanted."""

    status: int
    headers: httpx.Headers
    body: bytes = b""

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, which carries the charset the server declares."""
        return self.headers.get("content-type")


async def download(url: str, *, max_bytes: int, timeout: float, params: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None,
                   wanted: Container[int] = range(200, 300)) -> Download:
    """GET with redirects followed; the body of a `wanted` status is read up to `max_bytes`, others come back empty.

    A Content-Length over the cap is refused from the header alone; a stream is cut off as soon as it passes it.
    """
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True,
                                     headers={"User-Agent": USER_AGENT}) as http, \
                http.stream("GET", url, params=params, headers=headers) as response:
            if response.status_code not in wanted:
                return Download(response.status_code, response.headers)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(max_bytes, int(declared))
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise TooLarge(max_bytes, None)
            return Download(response.status_code, response.headers, bytes(body))
    except httpx.TimeoutException as error:
        raise NoAnswer(f"no answer within {timeout:g} s") from error
    except httpx.HTTPError as error:
        raise Unreachable(str(error)) from error


async def retry_with_backoff(attempt: Callable[[], Awaitable[T]], *, retryable: Callable[[Exception], bool],
                             retries: int, backoff: float, jitter: tuple[float, float] = (1.0, 1.5),
                             name: str = "request") -> T:
    """Await `attempt()`; after an error `retryable` accepts, pause backoff·2ⁿ⁻¹·jitter and try again, `retries` times.

    The last error, or any other, is raised as it came.
    """
    retry = 0
    while True:
        try:
            return await attempt()
        except Exception as error:
            if retry == retries or not retryable(error):
                raise
            retry += 1
            pause = backoff * 2 ** (retry - 1) * random.uniform(*jitter)
            log.info("%s: %s; retry %d in %.1f s", name, error, retry, pause)
            await asyncio.sleep(pause)


# --- digest pages ---------------------------------------------------------------------------------------


class TransientFetchError(DocumentError):
    """The server timed out, was unreachable or answered 5xx/429: trying again later may work."""


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """One answer to a (conditional) GET: the digest, or None when the server said 304 Not Modified."""

    document: Document | None
    etag: str | None = None
    last_modified: str | None = None


async def fetch_page(url: str, *, etag: str | None = None, last_modified: str | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT) -> FetchedPage:
    """GET a digest page, conditionally when validators are given: redirects followed, body cut off at the cap."""
    conditions = {name: value for name, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified))
                  if value}
    try:
        answer = await download(url, headers=conditions, max_bytes=max_bytes, timeout=timeout)
    except TooLarge as error:
        raise too_large(url, max_bytes, error.size) from error
    except NoAnswer as error:
        raise TransientFetchError(f"{url} did not answer within {timeout:g} s") from error
    except Unreachable as error:
        raise TransientFetchError(f"cannot fetch {url}: {error}") from error
    validators = answer.headers.get("etag"), answer.headers.get("last-modified")
    if answer.status == 304 and conditions:
        return FetchedPage(None, validators[0] or etag, validators[1] or last_modified)
    if answer.status >= 500 or answer.status == 429:
        raise TransientFetchError(f"{url} answered HTTP {answer.status}")
    if answer.status >= 300:
        raise DocumentError(f"{url} answered HTTP {answer.status}")
    # Decoding and reducing a page of up to MAX_DIGEST_BYTES takes long enough to stall the bot: off the loop.
    document = await asyncio.to_thread(bytes_to_document, answer.body, url, answer.content_type)
    return FetchedPage(document, *validators)


async def fetch_document(url: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                         timeout: float = DEFAULT_TIMEOUT) -> Document:
    """Download one digest page (unconditionally, so the answer always carries the digest)."""
    page = await fetch_page(url, max_bytes=max_bytes, timeout=timeout)
    assert page.document is not None, "a 304 only answers a conditional request"
    return page.document


def fetch_url(url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT) -> Document:
    """`fetch_document` for code outside the event loop (the CLI)."""
    return asyncio.run(fetch_document(url, max_bytes=max_bytes, timeout=timeout))


def load_document(source: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT) -> Document:
    """A URL is fetched, anything else is read as a file (for the CLI, outside the event loop)."""
    if is_url(source):
        return fetch_url(source, max_bytes=max_bytes, timeout=timeout)
    return read_file(Path(source), max_bytes=max_bytes)
