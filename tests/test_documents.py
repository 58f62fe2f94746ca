"""Bad and awkward digest documents as users feed them: files of every charset, HTML pages (fetching: test_http)."""

from __future__ import annotations

import codecs
import html
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.documents import (
    DocumentError,
    bytes_to_text,
    decode_bytes,
    expand_sources,
    read_file,
)
from storage.parsing import parse_digest
from tests.conftest import sample_text

MIB = 1024 * 1024
PNG_LIKE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + random.Random(7).randbytes(4096)


def html_page(text: str) -> str:
    """A digest as a web page: every line its own <p>, entities escaped, decoy text in style and script."""
    body = "".join(f"<p>{html.escape(line)}</p>\n" for line in text.splitlines())
    return ("<html><head><title>Digest</title><style>p { margin: 0 } /* 1、[CV] Not A Paper */</style>"
            "<script>var decoy = '2、[LG] Script Title &amp; more';</script></head>"
            f"<body>\n{body}</body></html>")


def papers_of(text: str) -> tuple[object, ...]:
    """What the parser makes of a text: the comparison that matters to a user."""
    return parse_digest(text).papers


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    """A document on disk, as a user would hand it over."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- local files: empty, binary, charsets -------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \n\r\n\t  \n"], ids=["zero-bytes", "whitespace"])
def test_empty_file_is_refused_as_empty(tmp_path: Path, data: bytes) -> None:
    """An empty upload should say so, not surface as a parser error later."""
    with pytest.raises(DocumentError, match="empty"):
        read_file(write(tmp_path, "empty.txt", data))
    with pytest.raises(DocumentError, match="empty"):
        decode_bytes(data)


def test_binary_file_is_refused_as_binary(tmp_path: Path) -> None:
    """An image sent by mistake must be named binary, not decoded into mojibake."""
    with pytest.raises(DocumentError, match="binary"):
        read_file(write(tmp_path, "picture.txt", PNG_LIKE))
    with pytest.raises(DocumentError, match="binary"):
        bytes_to_text(PNG_LIKE)


@pytest.mark.parametrize(
    ("prefix", "encoding"),
    [("001", "gbk"), ("003", "gbk"), ("002", "gb18030"), ("004", "gb18030")],
)
def test_chinese_legacy_encodings_decode_to_the_original(tmp_path: Path, prefix: str, encoding: str) -> None:
    """Digests saved by Chinese Windows tools are GBK/GB18030 and must read as the UTF-8 original."""
    original = sample_text(prefix)
    document = read_file(write(tmp_path, f"{prefix}.txt", original.encode(encoding)))
    assert document.text == original
    assert papers_of(document.text) == papers_of(original)


@pytest.mark.parametrize(
    "data_of",
    [
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        lambda text: text.encode("utf-16-le"),
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    ],
    ids=["utf16-le-bom", "utf16-be-bom", "utf16-le-no-bom", "utf8-bom"],
)
def test_unicode_encodings_decode_to_the_original(tmp_path: Path, data_of: Callable[[str], bytes]) -> None:
    """Notepad-style UTF-16 and BOM-prefixed UTF-8 must give the text back exactly, without a BOM."""
    original = sample_text("003")
    text = read_file(write(tmp_path, "digest.txt", data_of(original))).text
    assert not text.startswith("\ufeff")
    assert text == original


def test_english_utf16_le_without_bom_decodes_right() -> None:
    """An all-English digest in BOM-less UTF-16 is valid UTF-8 byte-wise, yet must not come back with NULs."""
    english = "\n".join(line for line in sample_text("003").splitlines() if line.isascii())
    assert len(english) > 1000
    text = decode_bytes(english.encode("utf-16-le"))
    assert "\x00" not in text
    assert text == english


def test_oversized_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 50 MB file must be refused from its size alone, with a message naming size and limit."""
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(50 * MIB)

    def no_reading(self: Path) -> bytes:
        """Reading the file at all would defeat the cap."""
        raise AssertionError(f"{self} was read despite its size")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(DocumentError) as caught:
        read_file(path)
    message = str(caught.value)
    assert "50.0 MB" in message
    assert "limit is 10.0 MB" in message


def test_missing_file_is_a_document_error(tmp_path: Path) -> None:
    """A typo in a path should read as 'cannot read', not as a traceback."""
    with pytest.raises(DocumentError, match="cannot read"):
        read_file(tmp_path / "nope.txt")


# --- HTML pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data_of",
    [
        lambda page: page.encode("utf-8"),
        lambda page: codecs.BOM_UTF8 + page.encode("utf-8"),
        lambda page: codecs.BOM_UTF16_LE + page.encode("utf-16-le"),
    ],
    ids=["utf8", "utf8-bom", "utf16-bom"],
)
def test_html_file_reduces_to_the_same_papers(tmp_path: Path, data_of: Callable[[str], bytes]) -> None:
    """A saved web page must yield the papers of the plain digest, without script or style text."""
    original = sample_text("003")
    text = read_file(write(tmp_path, "digest.html", data_of(html_page(original)))).text
    assert "<p>" not in text
    assert "decoy" not in text
    assert "Not A Paper" not in text
    assert papers_of(text) == papers_of(original)


def test_html_entities_are_unescaped() -> None:
    """&amp; and friends in a page must come out as the characters they stand for."""
    page = "<html><body><p>1、[LG] Fast &amp; Slow &lt;Models&gt;</p><p>A B&nbsp;C</p></body></html>"
    text = bytes_to_text(page.encode("utf-8"))
    assert text.splitlines()[0] == "1、[LG] Fast & Slow <Models>"
    assert "&amp;" not in text


# --- folders -------------------------------------------------------------------------------------------


def test_folder_expands_to_its_documents_in_name_order(tmp_path: Path) -> None:
    """A folder stands for its digest files, sorted, without hidden files or nested folders."""
    folder = tmp_path / "digests"
    folder.mkdir()
    for name in ("b.txt", "a.md", "c", "d.html", ".hidden.txt", ".DS_Store"):
        (folder / name).write_text("x", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "0.txt").write_text("x", encoding="utf-8")
    single = tmp_path / "single.txt"
    single.write_text("x", encoding="utf-8")
    url = "https://example.org/digest"
    assert expand_sources([str(single), str(folder), url]) == [
        str(single), *(str(folder / name) for name in ("a.md", "b.txt", "c", "d.html")), url,
    ]


def test_sample_folder_expands_to_the_five_samples(samples_dir: Path) -> None:
    """The bundled folder is what `ingest storage/samples` walks."""
    expanded = expand_sources([str(samples_dir)])
    assert [Path(source).name[:3] for source in expanded] == ["000", "001", "002", "003", "004"]
