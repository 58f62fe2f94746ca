"""Digest text → stored papers: parse, infer categories, dedupe and merge, one transaction per digest."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Engine, select

from storage.classify import CategoryModel, paper_text, paper_tokens, seeded_model
from storage.documents import DEFAULT_MAX_BYTES, Document, DocumentError, read_file
from storage.ingest_sql import PAPER_COLUMNS, IngestStatements, statements_for
from storage.models import STORED_FIELDS, Digest, Paper, plain_copy, utcnow
from storage.parsing import ET_AL, DigestFormatError, ParsedPaper, title_key
from storage.reader.assemble import Reading, read_document
from storage.vectors import refresh_paper_vectors

log = logging.getLogger(__name__)
TRAINING_LIMIT = 5000
ABSTRACT_KEY_CHARS = 1000
_NOT_WORD = re.compile(r"[\W_]+")
_ASCII_NOT_WORD = bytes(byte for byte in range(128) if not chr(byte).isalnum())
SAMPLE_DIGESTS_DIR = Path(__file__).parent / "samples"
BATCH_DIGESTS = 64  # digests stored per transaction by ingest_sources: one commit for many
BATCH_CHARS = 8_000_000  # and no more text than this loaded ahead of its transaction


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one digest did to the store, or why it was refused."""

    source: str
    found: int = 0
    new: int = 0
    merged: int = 0
    digest_id: int | None = None
    already_ingested: bool = False
    problems: tuple[str, ...] = ()
    error: str | None = None
    not_papers: int = 0  # items the reader skipped as not papers (videos, blog posts, adverts, …)

    @property
    def ok(self) -> bool:
        """True when the digest went in (or was already there)."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class DigestText:
    """One digest as loaded, before it is read: its text, where it came from, and its markup when it was a page."""

    text: str
    source: str
    markup: str | None = None


@dataclass
class Ingestor:
    """Stores digests; keeps one category model across a batch so it is trained once."""

    engine: Engine
    model: CategoryModel | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    _vectors_due: list[int] = field(default_factory=list)  # papers stored or changed since write_vectors

    def ingest_sources(self, sources: Iterable[str], *, digest_date: date | None = None,
                       load: Callable[[str], Document] | None = None) -> list[IngestReport]:
        """Ingest sources in order; a bad one is reported and the rest still go in.

        Sources are files unless `load` reads them otherwise (the bot's loader also fetches URLs). They are stored
        BATCH_DIGESTS at a time, loaded before their transaction opens so no fetch holds the store's write lock.
        """
        reports: list[IngestReport] = []
        waiting: list[DigestText] = []
        chars = 0
        for source in sources:
            try:
                document = load(source) if load else read_file(Path(source), max_bytes=self.max_bytes)
            except DocumentError as error:
                reports += self.ingest_many(waiting, digest_date=digest_date)
                reports.append(IngestReport(source=source, error=str(error)))
                waiting, chars = [], 0
                continue
            waiting.append(DigestText(document.text, source=source, markup=document.markup))
            chars += len(document.text)
            if len(waiting) >= BATCH_DIGESTS or chars >= BATCH_CHARS:
                reports += self.ingest_many(waiting, digest_date=digest_date)
                waiting, chars = [], 0
        reports += self.ingest_many(waiting, digest_date=digest_date)
        self.write_vectors()
        return reports

    def ingest_text(self, text: str, *, source: str, digest_date: date | None = None,
                    markup: str | None = None) -> IngestReport:
        """Read and store one digest (from its HTML when it was a page); nothing is stored unless all of it is."""
        return self.ingest_many([DigestText(text, source=source, markup=markup)], digest_date=digest_date)[0]

    def ingest_many(self, digests: Sequence[DigestText], *, digest_date: date | None = None) -> list[IngestReport]:
        """Read every digest, then store them in one transaction, each all or nothing under its own savepoint.

        One commit for the lot instead of one a digest (on SQLite each commit rewrites the pages it touched). Should
        the transaction itself fail, no digest of it is stored and each says so.
        """
        read: list[Reading | IngestReport] = []
        for digest in digests:
            try:
                read.append(read_document(digest.text, markup=digest.markup))
            except DigestFormatError as error:
                read.append(IngestReport(source=digest.source, error=str(error)))
        if all(isinstance(item, IngestReport) for item in read):
            return cast(list[IngestReport], read)
        reports: list[IngestReport] = []
        stored: list[int] = []
        try:
            with self.engine.begin() as connection:
                statements = statements_for(connection)
                alone = sum(1 for item in read if not isinstance(item, IngestReport)) == 1
                if not alone:  # a lone digest is all or nothing by its transaction; savepoints cost ~0.3 ms
                    statements.open_transaction(connection)
                for digest, item in zip(digests, read, strict=True):
                    if isinstance(item, IngestReport):
                        reports.append(item)
                        continue
                    try:
                        with nullcontext() if alone else statements.savepoint(connection):
                            report, ids = self._store_digest(connection, statements, digest, item, digest_date)
                    except Exception as error:
                        if alone:
                            raise  # its transaction rolls back below
                        log.exception("ingest: storing %s failed", digest.source)  # its savepoint rolled back
                        report, ids = IngestReport(source=digest.source, error=_store_error(error)), []
                    reports.append(report)
                    stored += ids
        except Exception as error:  # the transaction rolled back: nothing of this batch is stored
            log.exception("ingest: storing %d digests failed", len(digests))
            failed = _store_error(error)
            return [item if isinstance(item, IngestReport) else IngestReport(source=digest.source, error=failed)
                    for digest, item in zip(digests, read, strict=True)]
        self._vectors_due.extend(stored)
        return reports

    def _store_digest(self, connection: Connection, statements: IngestStatements, digest: DigestText,
                      parsed: Reading, digest_date: date | None) -> tuple[IngestReport, list[int]]:
        """Store one read digest in the open transaction; its report, and the papers whose vectors are due."""
        content_hash = digest_hash(digest.text)
        source, papers = digest.source, parsed.papers
        digest_id = statements.claim_digest(connection, content_hash=content_hash, source=source[:2000],
                                            digest_date=digest_date, shape=parsed.shape[:32],
                                            paper_count=len(papers), ingested_at=utcnow())
        if digest_id is None:
            existing = connection.execute(select(Digest.id).where(Digest.content_hash == content_hash)).scalar_one()
            return IngestReport(source=source, found=len(papers), digest_id=existing, already_ingested=True,
                                problems=parsed.problems, not_papers=parsed.not_papers), []
        rank = digest_date or utcnow().date()
        new, merged, stored = self._store_papers(connection, statements, digest_id, rank, papers)
        return IngestReport(source=source, found=len(papers), new=new, merged=merged, digest_id=digest_id,
                            problems=parsed.problems, not_papers=parsed.not_papers), stored

    def write_vectors(self) -> int:
        """Compute and store the vectors of every paper stored or changed since the last call, in large batches
        (callers call it once their digests are in); how many were written."""
        due, self._vectors_due = self._vectors_due, []
        if not due:
            return 0
        with self.engine.begin() as connection:
            return refresh_paper_vectors(connection, due)

    def _category_model(self, connection: Connection) -> CategoryModel:
        """Train on the newest tagged papers in the store, once per Ingestor."""
        if self.model is None:
            rows = connection.execute(
                select(Paper.category, Paper.title_en, Paper.title_zh, Paper.summary_zh, Paper.abstract_en)
                .where(Paper.category.is_not(None), Paper.category_inferred.is_(False))
                .order_by(Paper.id.desc())
                .limit(TRAINING_LIMIT)
            ).all()
            self.model = seeded_model(
                (row[0], paper_text(title_en=row[1], title_zh=row[2], summary_zh=row[3], abstract_en=row[4]))
                for row in rows
            )
        return self.model

    def _store_papers(self, connection: Connection, statements: IngestStatements, digest_id: int, rank: date,
                      papers: tuple[ParsedPaper, ...]) -> tuple[int, int, list[int]]:
        """Key, look up, merge, classify and write one digest's papers, each step once for all of them (a few bulk
        statements); how many are new and merged, and the ids of both (their vectors are due)."""
        keyed = [(parsed, paper_keys(parsed)) for parsed in papers]
        found = _existing_papers(connection, statements, keyed)
        stored = {id(paper) for paper in found.values()}
        placed = _place(keyed, found, rank_date=rank, rank_digest_id=digest_id)
        unique = list({id(paper): paper for _parsed, paper in placed}.values())
        classify_papers(self._category_model(connection), unique)
        fresh = [paper for paper in unique if id(paper) not in stored]
        merged = [paper for paper in unique if id(paper) in stored]
        _insert_papers(connection, statements, fresh)
        if merged:
            statements.update_papers(connection, [(paper.id, _columns_of(paper)) for paper in merged])
            statements.forget_vectors(connection, [paper.id for paper in merged])  # stale until write_vectors
        links: dict[int, tuple[int, int, int, bool, bool]] = {}
        for parsed, paper in placed:
            links.setdefault(paper.id, (digest_id, paper.id, parsed.position, parsed.minor, parsed.highlight))
        statements.link_papers(connection, list(links.values()))
        return len(fresh), len(merged), [paper.id for paper in unique]


def _place(keyed: list[tuple[ParsedPaper, list[tuple[str, str]]]], found: dict[tuple[str, str], PaperDraft], *,
           rank_date: date, rank_digest_id: int) -> list[tuple[ParsedPaper, PaperDraft]]:
    """Each parsed paper with the draft it goes into: a stored paper or an earlier one of the digest it is the same
    paper as (merged in), else a new one."""
    placed = []
    for parsed, keys in keyed:
        paper = _same_paper(parsed, keys, found)
        if paper is None:
            paper = new_draft(parsed, dict(keys), rank_date=rank_date, rank_digest_id=rank_digest_id)
        else:
            merge_into(paper, parsed, rank_date=rank_date, rank_digest_id=rank_digest_id)
        for key in keys:
            found[key] = paper
        placed.append((parsed, paper))
    return placed


def classify_papers(model: CategoryModel, papers: Iterable[PaperDraft]) -> None:
    """Infer the category of each paper no digest tagged; learn from the tagged ones (once a digest, as merged)."""
    for paper in papers:
        if paper.category is None or paper.category_inferred:
            guess = model.predict_tokens(_tokens_of(paper))
            paper.category, paper.category_inferred = (guess, True) if guess else (None, False)
        elif model.wants(paper.category):
            model.learn_tokens(paper.category, _tokens_of(paper))


PaperDraft = plain_copy(
    "PaperDraft", STORED_FIELDS, leading=(("id", int | None, None),), frozen=False,
    doc="A paper as ingestion handles it: read from the store or new, merged in memory, written in bulk.")


_columns_of = attrgetter(*PAPER_COLUMNS)  # a draft's stored columns as one row tuple, in PAPER_COLUMNS order


def _tokens_of(paper: PaperDraft) -> list[str]:
    """What the category model reads of a stored paper."""
    return paper_tokens(title_en=paper.title_en, title_zh=paper.title_zh, summary_zh=paper.summary_zh,
                        abstract_en=paper.abstract_en)


def _store_error(error: Exception) -> str:
    """How a digest that could not be stored is reported."""
    return f"store: {type(error).__name__}: {error}"


def digest_hash(text: str) -> str:
    """Hash of the text with whitespace folded, so a re-saved copy of one digest is the same digest."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def abstract_key(parsed: ParsedPaper | PaperDraft) -> str | None:
    """Fingerprint of the abstract (or Chinese summary) for papers that have neither id nor title."""
    body = parsed.abstract_en or parsed.summary_zh
    if not body:
        return None
    head = body[:ABSTRACT_KEY_CHARS]
    if head.isascii():  # most abstracts: the same letters and digits, kept by a byte table instead of a regex
        folded = head.lower().encode("ascii").translate(None, _ASCII_NOT_WORD)
    else:
        folded = _NOT_WORD.sub("", head.casefold()).encode("utf-8")
    return hashlib.sha1(folded).hexdigest() if folded else None


def paper_keys(parsed: ParsedPaper) -> list[tuple[str, str]]:
    """Every identity this paper can be recognised by, strongest first."""
    keys = [("arxiv", parsed.arxiv_id), ("title", title_key(parsed.title_en)), ("abstract", abstract_key(parsed))]
    return [(kind, value) for kind, value in keys if value]


def _existing_papers(connection: Connection, statements: IngestStatements,
                     keyed: list[tuple[ParsedPaper, list[tuple[str, str]]]]) -> dict[tuple[str, str], PaperDraft]:
    """Fetch in one statement every stored paper sharing a key with this digest (each branch uses its index)."""
    wanted: dict[str, set[str]] = {"arxiv": set(), "title": set(), "abstract": set()}
    for _parsed, keys in keyed:
        for kind, value in keys:
            wanted[kind].add(value)
    found: dict[tuple[str, str], PaperDraft] = {}
    seen: set[int] = set()
    for row in statements.papers_by_keys(connection, arxiv=sorted(wanted["arxiv"]), title=sorted(wanted["title"]),
                                         abstract=sorted(wanted["abstract"])):
        if row[0] in seen:
            continue
        seen.add(row[0])
        paper = PaperDraft(id=row[0], **dict(zip(PAPER_COLUMNS, row[1:], strict=True)))
        paper.authors, paper.affiliations = list(paper.authors), list(paper.affiliations)
        for kind, value in (("arxiv", paper.arxiv_id), ("title", paper.title_key), ("abstract", paper.abstract_key)):
            if value:
                found.setdefault((kind, value), paper)
    return found


def _insert_papers(connection: Connection, statements: IngestStatements, papers: list[PaperDraft]) -> None:
    """Insert new papers in one statement and give each its id."""
    if not papers:
        return
    # Matching ids back by identity keys keeps this one multi-row INSERT: RETURNING's row order is not
    # guaranteed on SQLite. Distinct new papers never share all three keys.
    by_identity = {(paper.arxiv_id, paper.title_key, paper.abstract_key): paper for paper in papers}
    returned = statements.insert_papers(connection, [_columns_of(paper) for paper in papers], created_at=utcnow())
    for paper_id, arxiv_id, title, abstract in returned:
        by_identity[(arxiv_id, title, abstract)].id = paper_id
    if len(by_identity) != len(papers) or any(paper.id is None for paper in papers):
        raise RuntimeError("ingest: two new papers of one digest share every identity key")


def _same_paper(parsed: ParsedPaper, keys: list[tuple[str, str]],
                found: dict[tuple[str, str], PaperDraft]) -> PaperDraft | None:
    """Match by arXiv id, else title, else abstract; two papers with different ids or titles stay apart."""
    parsed_title = next((value for kind, value in keys if kind == "title"), None)
    for key in keys:
        paper = found.get(key)
        if paper is None:
            continue
        if parsed.arxiv_id and paper.arxiv_id and parsed.arxiv_id != paper.arxiv_id:
            continue
        if key[0] == "abstract" and parsed_title and paper.title_key and parsed_title != paper.title_key:
            continue  # one blog commentary can cover two papers: same text, different titles
        return paper
    return None


def better_authors(current: list[str], current_cut: bool, offered: tuple[str, ...],
                   offered_cut: bool) -> tuple[list[str], bool]:
    """Prefer a complete author list over one cut short (by the flag, or a stored trailing 'et al.'); with its flag."""
    if not offered:
        return current, current_cut
    if not current:
        return list(offered), offered_cut
    current_cut = current_cut or current[-1] == ET_AL
    offered_cut = offered_cut or offered[-1] == ET_AL
    if current_cut and (not offered_cut or len(offered) > len(current)):
        return list(offered), offered_cut
    return current, current_cut


def new_draft(parsed: ParsedPaper, keys: dict[str, str], *, rank_date: date,
              rank_digest_id: int | None) -> PaperDraft:
    """A paper first seen in this digest, as the digest gives it: what merge_into makes of an empty draft,
    built directly because most papers of a digest are new (merging field by field cost 5 µs a paper)."""
    return PaperDraft(minor=parsed.minor, category=parsed.category or None, title_en=parsed.title_en,
                      title_zh=parsed.title_zh, authors=list(parsed.authors), affiliations=list(parsed.affiliations),
                      summary_zh=parsed.summary_zh, abstract_en=parsed.abstract_en, url=parsed.url,
                      arxiv_id=parsed.arxiv_id, code_url=parsed.code_url, highlight=parsed.highlight,
                      title_key=keys.get("title"), abstract_key=keys.get("abstract"), rank_date=rank_date,
                      rank_digest_id=rank_digest_id, authors_truncated=parsed.authors_truncated)


def merge_into(paper: PaperDraft, parsed: ParsedPaper, *, rank_date: date,
               rank_digest_id: int | None) -> None:
    """Fill what the stored paper lacks; a given tag beats an inferred one; main beats minor."""
    for name in ("title_en", "title_zh", "summary_zh", "abstract_en", "url", "arxiv_id", "code_url"):
        if getattr(paper, name) is None and getattr(parsed, name) is not None:
            setattr(paper, name, getattr(parsed, name))
    if paper.url and parsed.arxiv_id and parsed.url and "arxiv.org" not in paper.url:
        paper.url = parsed.url  # an arXiv link outlives a social-media post
    paper.authors, paper.authors_truncated = better_authors(list(paper.authors or []), paper.authors_truncated,
                                                            parsed.authors, parsed.authors_truncated)
    if not paper.affiliations and parsed.affiliations:
        paper.affiliations = list(parsed.affiliations)
    if parsed.category and (paper.category is None or paper.category_inferred):
        paper.category, paper.category_inferred = parsed.category, False
    paper.highlight = paper.highlight or parsed.highlight
    paper.minor = paper.minor and parsed.minor
    paper.title_key = paper.title_key or title_key(paper.title_en)
    paper.abstract_key = paper.abstract_key or abstract_key(paper)
    if paper.rank_date is None or rank_date >= paper.rank_date:
        paper.rank_date, paper.rank_digest_id = rank_date, rank_digest_id
