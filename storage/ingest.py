"""Digest text → stored papers: parse, infer categories, dedupe and merge, one transaction per digest."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, insert, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.classify import CategoryModel, paper_text, seeded_model
from storage.documents import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, DocumentError, load_document
from storage.models import Digest, DigestPaper, Paper, utcnow
from storage.parsing import ET_AL, DigestFormatError, ParsedPaper, parse_digest, title_key

log = logging.getLogger(__name__)
TRAINING_LIMIT = 5000
ABSTRACT_KEY_CHARS = 1000
_NOT_WORD = re.compile(r"[\W_]+")
SAMPLE_DIGESTS_DIR = Path(__file__).parent / "samples"


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

    @property
    def ok(self) -> bool:
        """True when the digest went in (or was already there)."""
        return self.error is None


@dataclass
class Ingestor:
    """Stores digests; keeps one category model across a batch so it is trained once."""

    engine: Engine
    model: CategoryModel | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    _learnt_drafts: set[int] = field(default_factory=set)

    def ingest_sources(self, sources: Iterable[str], *, digest_date: date | None = None) -> list[IngestReport]:
        """Ingest files and URLs one by one; a bad one is reported and the rest still go in."""
        reports = []
        for source in sources:
            try:
                document = load_document(source, max_bytes=self.max_bytes, timeout=self.timeout)
            except DocumentError as error:
                reports.append(IngestReport(source=source, error=str(error)))
                continue
            reports.append(self.ingest_text(document.text, source=source, digest_date=digest_date))
        return reports

    def ingest_text(self, text: str, *, source: str, digest_date: date | None = None) -> IngestReport:
        """Parse and store one digest; nothing is stored unless all of it is."""
        try:
            parsed = parse_digest(text)
        except DigestFormatError as error:
            return IngestReport(source=source, error=str(error))
        content_hash = digest_hash(text)
        try:
            with self.engine.begin() as connection:
                digest_id = _claim_digest(connection, content_hash=content_hash, source=source,
                                          digest_date=digest_date, shape=parsed.shape.value,
                                          paper_count=len(parsed.papers))
                if digest_id is None:
                    existing = connection.execute(
                        select(Digest.id).where(Digest.content_hash == content_hash)).scalar_one()
                    return IngestReport(source=source, found=len(parsed.papers), digest_id=existing,
                                        already_ingested=True, problems=parsed.problems)
                rank = digest_date or utcnow().date()
                new, merged = self._store_papers(connection, digest_id, rank, parsed.papers)
        except Exception as error:  # the transaction rolled back: report, keep the batch going
            log.exception("ingest: storing %s failed", source)
            return IngestReport(source=source, error=f"store: {type(error).__name__}: {error}")
        return IngestReport(source=source, found=len(parsed.papers), new=new, merged=merged,
                            digest_id=digest_id, problems=parsed.problems)

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

    def _store_papers(self, connection: Connection, digest_id: int, rank: date,
                      papers: tuple[ParsedPaper, ...]) -> tuple[int, int]:
        """Create or merge every paper of one digest and link it to the digest, in a few bulk statements."""
        model = self._category_model(connection)
        keyed = [(parsed, paper_keys(parsed)) for parsed in papers]
        found = _existing_papers(connection, keyed)
        stored = {id(paper) for paper in found.values()}
        placed: list[tuple[ParsedPaper, PaperDraft]] = []
        for parsed, keys in keyed:
            paper = _same_paper(parsed, keys, found)
            if paper is None:
                known = dict(keys)
                paper = PaperDraft(minor=parsed.minor, title_key=known.get("title"),
                                   abstract_key=known.get("abstract"))
            merge_into(paper, parsed, rank_date=rank, rank_digest_id=digest_id)
            if paper.category is None or paper.category_inferred:
                guess = model.predict(_text_of(paper))
                paper.category, paper.category_inferred = (guess, True) if guess else (None, False)
            elif model.wants(paper.category) and id(paper) not in self._learnt_drafts:
                model.learn(paper.category, _text_of(paper))
                self._learnt_drafts.add(id(paper))
            for key in keys:
                found[key] = paper
            placed.append((parsed, paper))
        self._learnt_drafts.clear()
        unique = list({id(paper): paper for _parsed, paper in placed}.values())
        fresh = [paper for paper in unique if id(paper) not in stored]
        merged = [paper for paper in unique if id(paper) in stored]
        _insert_papers(connection, fresh)
        if merged:
            connection.execute(_UPDATE_PAPERS, [{"paper_id": paper.id} | _columns_of(paper) for paper in merged])
        links: dict[int, dict[str, object]] = {}
        for parsed, paper in placed:
            links.setdefault(paper.id, {"digest_id": digest_id, "paper_id": paper.id, "position": parsed.position,
                                        "minor": parsed.minor, "highlight": parsed.highlight})
        connection.execute(_INSERT_LINKS, list(links.values()))
        return len(fresh), len(merged)


@dataclass(slots=True)
class PaperDraft:
    """A paper as ingestion handles it: read from the store or new, merged in memory, written in bulk."""

    minor: bool = False
    id: int | None = None
    category: str | None = None
    category_inferred: bool = False
    title_en: str | None = None
    title_zh: str | None = None
    authors: list[str] = field(default_factory=list)
    affiliations: list[str] = field(default_factory=list)
    summary_zh: str | None = None
    abstract_en: str | None = None
    url: str | None = None
    arxiv_id: str | None = None
    code_url: str | None = None
    highlight: bool = False
    title_key: str | None = None
    abstract_key: str | None = None
    rank_date: date | None = None
    rank_digest_id: int | None = None


_DRAFT_COLUMNS = tuple(name for name in PaperDraft.__slots__ if name != "id")


def _text_of(paper: PaperDraft) -> str:
    """What the category model reads of a stored paper."""
    return paper_text(title_en=paper.title_en, title_zh=paper.title_zh, summary_zh=paper.summary_zh,
                      abstract_en=paper.abstract_en)


def digest_hash(text: str) -> str:
    """Hash of the text with whitespace folded, so a re-saved copy of one digest is the same digest."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def abstract_key(parsed: ParsedPaper | PaperDraft) -> str | None:
    """Fingerprint of the abstract (or Chinese summary) for papers that have neither id nor title."""
    body = parsed.abstract_en or parsed.summary_zh
    if not body:
        return None
    folded = _NOT_WORD.sub("", body[:ABSTRACT_KEY_CHARS].casefold())
    return hashlib.sha1(folded.encode("utf-8")).hexdigest() if folded else None


def paper_keys(parsed: ParsedPaper) -> list[tuple[str, str]]:
    """Every identity this paper can be recognised by, strongest first."""
    keys = [("arxiv", parsed.arxiv_id), ("title", title_key(parsed.title_en)), ("abstract", abstract_key(parsed))]
    return [(kind, value) for kind, value in keys if value]


def _existing_papers(connection: Connection,
                     keyed: list[tuple[ParsedPaper, list[tuple[str, str]]]]) -> dict[tuple[str, str], PaperDraft]:
    """Fetch in one statement every stored paper sharing a key with this digest (each branch uses its index)."""
    wanted: dict[str, set[str]] = {"arxiv": set(), "title": set(), "abstract": set()}
    for _parsed, keys in keyed:
        for kind, value in keys:
            wanted[kind].add(value)
    found: dict[tuple[str, str], PaperDraft] = {}
    seen: set[int] = set()
    for row in connection.execute(_SELECT_BY_KEYS, {kind: list(values) for kind, values in wanted.items()}).mappings():
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        paper = PaperDraft(**{**row, "authors": list(row["authors"]), "affiliations": list(row["affiliations"])})
        for kind, value in (("arxiv", paper.arxiv_id), ("title", paper.title_key), ("abstract", paper.abstract_key)):
            if value:
                found.setdefault((kind, value), paper)
    return found


def _claim_digest(connection: Connection, *, content_hash: str, source: str, digest_date: date | None,
                  shape: str, paper_count: int) -> int | None:
    """Insert the digest row unless its content hash is known; None means it was ingested before."""
    values = {"source": source[:2000], "digest_date": digest_date, "content_hash": content_hash, "shape": shape,
              "paper_count": paper_count, "ingested_at": utcnow()}
    return connection.execute(_CLAIM_DIGEST[connection.dialect.name], values).scalar_one_or_none()


def _columns_of(paper: PaperDraft) -> dict[str, object]:
    """The stored columns of a paper, as bind parameters."""
    return {name: getattr(paper, name) for name in _DRAFT_COLUMNS}


def _insert_papers(connection: Connection, papers: list[PaperDraft]) -> None:
    """Insert new papers in one statement and give each its id."""
    if not papers:
        return
    created = utcnow()
    rows = [_columns_of(paper) | {"created_at": created} for paper in papers]
    # Matching ids back by identity keys lets SQLite batch the insert; asking SQLAlchemy for the ids in
    # parameter order would make it insert row by row there. Distinct new papers never share all three keys.
    by_identity = {(paper.arxiv_id, paper.title_key, paper.abstract_key): paper for paper in papers}
    for paper_id, arxiv_id, title, abstract in connection.execute(_INSERT_PAPERS, rows):
        by_identity[(arxiv_id, title, abstract)].id = paper_id
    if len(by_identity) != len(papers) or any(paper.id is None for paper in papers):
        raise RuntimeError("ingest: two new papers of one digest share every identity key")


# Statements built once: building and compiling them per digest costs more than running them.
_SELECT_BY_KEYS = union_all(*(
    select(*(getattr(Paper, name) for name in ("id", *_DRAFT_COLUMNS))).where(
        column.in_(bindparam(kind, expanding=True)))
    for kind, column in (("arxiv", Paper.arxiv_id), ("title", Paper.title_key), ("abstract", Paper.abstract_key))
))
_INSERT_PAPERS = insert(Paper).returning(Paper.id, Paper.arxiv_id, Paper.title_key, Paper.abstract_key)
_UPDATE_PAPERS = update(Paper).where(Paper.id == bindparam("paper_id")).values(
    {name: bindparam(name) for name in _DRAFT_COLUMNS})
_INSERT_LINKS = insert(DigestPaper)
_CLAIM_DIGEST = {
    name: dialect_insert(Digest)
    .values({column: bindparam(column) for column in
             ("source", "digest_date", "content_hash", "shape", "paper_count", "ingested_at")})
    .on_conflict_do_nothing(index_elements=["content_hash"])
    .returning(Digest.id)
    for name, dialect_insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


def _same_paper(parsed: ParsedPaper, keys: list[tuple[str, str]],
                found: dict[tuple[str, str], PaperDraft]) -> PaperDraft | None:
    """Match by arXiv id, else title, else abstract; two papers with different ids or titles stay apart."""
    parsed_title = title_key(parsed.title_en)
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


def _better_authors(current: list[str], offered: tuple[str, ...]) -> list[str]:
    """Prefer a complete author list over one cut short with 'et al.'."""
    if not offered:
        return current
    if not current:
        return list(offered)
    current_cut, offered_cut = current[-1] == ET_AL, offered[-1] == ET_AL
    if current_cut and (not offered_cut or len(offered) > len(current)):
        return list(offered)
    return current


def merge_into(paper: PaperDraft, parsed: ParsedPaper, *, rank_date: date,
               rank_digest_id: int | None) -> None:
    """Fill what the stored paper lacks; a given tag beats an inferred one; main beats minor."""
    for name in ("title_en", "title_zh", "summary_zh", "abstract_en", "url", "arxiv_id", "code_url"):
        if getattr(paper, name) is None and getattr(parsed, name) is not None:
            setattr(paper, name, getattr(parsed, name))
    if paper.url and parsed.arxiv_id and parsed.url and "arxiv.org" not in paper.url:
        paper.url = parsed.url  # an arXiv link outlives a social-media post
    paper.authors = _better_authors(list(paper.authors or []), parsed.authors)
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
