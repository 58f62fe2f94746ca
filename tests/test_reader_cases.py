"""Walk tests/reader_cases/: each tiny document carries its expected papers in its header."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from storage.documents import decode_bytes
from storage.parsing import DigestFormatError
from storage.reader.assemble import read_document

CASES = Path(__file__).parent / "reader_cases"
SEPARATOR = b"---8<---\n"


def load_case(path: Path) -> tuple[dict, str]:
    """The expectation header and the document (decoded as the bot decodes a file: BOM, UTF-16, GBK)."""
    raw = path.read_bytes()
    head, _sep, body = raw.partition(SEPARATOR)
    return yaml.safe_load(head.decode("utf-8")), decode_bytes(body)


def _field(paper: object, name: str) -> object:
    """A paper's field in the header's form (lists for tuples)."""
    value = getattr(paper, name)
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("path", sorted(p for p in CASES.iterdir() if p.name != "README.md"), ids=lambda p: p.name)
def test_reader_case(path: Path) -> None:
    expected, document = load_case(path)
    if not expected["papers"]:
        with pytest.raises(DigestFormatError, match="no recognisable paper entry"):
            read_document(document)
        return
    reading = read_document(document)
    titles = [paper.title_en for paper in reading.papers]
    assert titles == [paper["title_en"] for paper in expected["papers"]], expected["description"]
    for paper, want in zip(reading.papers, expected["papers"], strict=True):
        got = {name: _field(paper, name) for name in want}
        assert got == want, f"{path.name}: {paper.title_en}"
    if "not_papers" in expected:
        assert reading.not_papers == expected["not_papers"], [s for s in reading.skipped if s.not_paper]
