"""Full-text search over papers: query parsing, the shared Chinese-aware term text, ranked lookups, saved searches.

Chinese has no spaces, so neither FTS5's unicode61 tokenizer nor PostgreSQL's parser can find a two-character
word inside a sentence. Both backends therefore index a derived *term text* instead of the raw fields: Latin
words and numbers as they are (lowercased), every run of CJK characters as its overlapping bigrams followed by
its last character ("扩散模型" → "扩散 散模 模型 型"). A query is turned into terms the same way, a CJK run becoming a
phrase of bigrams, so "模型" or "扩散模型" match anywhere in a summary and a single character matches as a prefix.
The term text is computed inside the database (``storage/migrations/versions/0004_search.py``): on SQLite by
``search_terms`` below, registered on every connection, when ``index_pending`` writes the papers that triggers
queued; on PostgreSQL by triggers calling an SQL twin of it that the tests check against this one.
"""

from __future__ import annotations

import enum
import itertools
import json
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, text
from sqlmodel import Session, select

from storage.models import Paper, SavedSearch
from storage.vocabulary import TYPED_QUOTES

MAX_QUERY_LENGTH = 200  # characters; a search box, not a document
MAX_QUERY_TERMS = 12  # words and phrases in one query
MAX_RESULTS = 1000  # matches ranked and paged through: the newest ones
SEARCHES_KEPT_PER_CHAT = 20  # page buttons of older result lists say the search expired
TITLE_WEIGHT, PEOPLE_WEIGHT, BODY_WEIGHT = 20.0, 4.0, 1.0  # FTS5 bm25 column weights: title matches lead

CJK_CHARACTERS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana and Han ideographs
_RUN = re.compile(f"[{CJK_CHARACTERS}]+|[^\\W_{CJK_CHARACTERS}]+")
_ASCII_RUN = re.compile("[a-z0-9]+")
# PostgreSQL's parser keeps "diffusionǂmodel" one word. ASCII terms never hold the joiner, so their pairs are exact;
# elsewhere a clash would only add candidates that the phrase check then drops.
PAIR_JOINER = "ǂ"
_QUOTES = str.maketrans(dict.fromkeys({*TYPED_QUOTES, *TYPED_QUOTES.values()}, '"'))  # every typed quote as "


def _is_cjk(run: str) -> bool:
    """Whether a run (as _RUN splits text) is CJK characters: its first character tells (comparisons beat a regex)."""
    first = run[0]
    return ("\u3040" <= first <= "\u30ff" or "\u3400" <= first <= "\u4dbf" or "\u4e00" <= first <= "\u9fff"
            or "\uf900" <= first <= "\ufaff")


def _bigrams(run: str) -> list[str]:
    """Overlapping two-character pieces of a CJK run."""
    return [run[index:index + 2] for index in range(len(run) - 1)]


def search_terms(*parts: str | None) -> str:
    """The term text indexed for these fields: space-separated Latin words and CJK bigrams (see the module doc)."""
    # SQLite's triggers call this for every paper stored, so plain English skips the Unicode-aware pass.
    terms: list[str] = []
    for part in parts:
        lowered = (part or "").lower()
        if lowered.isascii():
            terms += _ASCII_RUN.findall(lowered)
            continue
        for run in _RUN.findall(lowered):
            if _is_cjk(run):
                terms += map(operator.add, run, run[1:])  # the bigrams
                terms.append(run[-1])
            else:
                terms.append(run)
    return " ".join(terms)


def word_pairs(terms: Sequence[str]) -> list[str]:
    """'diffusionǂmodel' for each two neighbouring non-CJK terms: PostgreSQL's phrase index (see tsquery)."""
    return [f"{first}{PAIR_JOINER}{second}" for first, second in itertools.pairwise(terms)
            if not _is_cjk(first) and not _is_cjk(second)]


class QueryProblem(enum.StrEnum):
    """Why a query cannot be run; handlers turn each into a sentence."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    UNBALANCED_QUOTES = "unbalanced_quotes"
    TOO_MANY_TERMS = "too_many_terms"
    NOTHING_SEARCHABLE = "nothing_searchable"


class QueryError(ValueError):
    """A query the user has to rephrase."""

    def __init__(self, problem: QueryProblem) -> None:
        super().__init__(f"search: {problem.value} query")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Phrase:
    """Terms that must appear next to each other, in order; a last term marked prefix matches any term it starts."""

    terms: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed query: every phrase must match (a lone word is a phrase of one term)."""

    phrases: tuple[Phrase, ...]

    def fts5(self) -> str:
        """The FTS5 MATCH expression: quoted phrases joined by AND (terms hold only letters, digits, CJK)."""
        return " AND ".join(f'"{" ".join(phrase.terms)}"' + ("*" if phrase.prefix else "") for phrase in self.phrases)

    def tsquery(self) -> str:
        """The PostgreSQL to_tsquery expression that finds the same papers.

        A phrase also asks for its word pairs, which the index holds as single lexemes: the GIN index then finds
        the few papers with those pairs instead of re-reading every paper that merely has all the words. A phrase
        of two ASCII words is its pair alone ('graphǂneural' exists only where "graph neural" does), which the
        index answers without re-reading any paper.
        """
        def one(phrase: Phrase) -> str:
            pairs = [f"'{pair}'" for pair in word_pairs(phrase.terms)]
            if len(phrase.terms) == 2 and not phrase.prefix and all(term.isascii() for term in phrase.terms):
                return pairs[0]
            quoted = [f"'{term}'" for term in phrase.terms]
            if phrase.prefix:
                quoted[-1] += ":*"
            return " & ".join(["(" + " <-> ".join(quoted) + ")", *pairs])
        return " & ".join(one(phrase) for phrase in self.phrases)

    def rank_tsquery(self) -> str:
        """Every term of the query, for ts_rank to weigh where in a paper they occur (pairs rank nothing)."""
        terms = [f"'{term}'" + (":*" if phrase.prefix and index == len(phrase.terms) - 1 else "")
                 for phrase in self.phrases for index, term in enumerate(phrase.terms)]
        return " & ".join(terms)


def _phrase(text: str) -> Phrase | None:
    """Terms of one quoted phrase or bare word, tokenized as the index is; None when nothing in it is searchable."""
    runs = _RUN.findall(text.lower())
    terms: list[str] = []
    for index, run in enumerate(runs):
        if not _is_cjk(run):
            terms.append(run)
        elif index + 1 < len(runs):
            terms += [*_bigrams(run), run[-1]]  # the index ends every CJK run with its last character
        elif len(run) > 1:
            terms += _bigrams(run)  # the text may go on after the last character: no run end here
        else:
            return Phrase((*terms, run), prefix=True)  # one character: the start of some bigram, or a run's end
    return Phrase(tuple(terms)) if terms else None


def parse_query(text: str) -> SearchQuery:
    """Words and "quoted phrases" to match all at once; raises QueryError for a query that cannot be run."""
    text = text.translate(_QUOTES).strip()
    if not text:
        raise QueryError(QueryProblem.EMPTY)
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(QueryProblem.TOO_LONG)
    if text.count('"') % 2:
        raise QueryError(QueryProblem.UNBALANCED_QUOTES)
    pieces = [piece for index, chunk in enumerate(text.split('"'))
              for piece in ([chunk] if index % 2 else chunk.split())]
    phrases = [phrase for piece in pieces if (phrase := _phrase(piece))]
    if not phrases:
        raise QueryError(QueryProblem.NOTHING_SEARCHABLE)
    if len(phrases) > MAX_QUERY_TERMS:
        raise QueryError(QueryProblem.TOO_MANY_TERMS)
    return SearchQuery(tuple(dict.fromkeys(phrases)))


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of matches, best first, and how many papers match (at most MAX_RESULTS)."""

    papers: list[Paper]
    total: int


# The newest MAX_RESULTS matches are ranked (bm25 / ts_rank), not every match: a word in most of 100,000 papers
# would otherwise cost 50-800 ms to rank (bench/search.py), and no one pages past a thousand results.
_SQLITE_SEARCH = text(
    f"SELECT rowid, count(*) OVER () FROM ("
    f"SELECT rowid, bm25(paper_fts, {TITLE_WEIGHT}, {PEOPLE_WEIGHT}, {BODY_WEIGHT}) AS score FROM paper_fts "
    f"WHERE paper_fts MATCH :query ORDER BY rowid DESC LIMIT :window) "
    f"ORDER BY score, rowid DESC LIMIT :limit OFFSET :offset")
# ts_rank weights are {D, C, B, A}: word pairs (D) do not count, the body is C, people B, the title A. The newest
# matches are found on the GIN index alone; only those are read back to rank, as reading a paper's tsvector costs
# far more than finding it (bench/search.py).
_POSTGRESQL_SEARCH = text(
    "SELECT ranked.paper_id, count(*) OVER () FROM ("
    "SELECT paper_id FROM paper_search WHERE document @@ to_tsquery('simple', :query) "
    "ORDER BY paper_id DESC LIMIT :window) AS newest JOIN paper_search AS ranked USING (paper_id) "
    "ORDER BY ts_rank('{0, 0.05, 0.2, 1}', ranked.document, to_tsquery('simple', :rank_query)) DESC, "
    "ranked.paper_id DESC LIMIT :limit OFFSET :offset")
_SQLITE_COUNT = text("SELECT count(*) FROM (SELECT rowid FROM paper_fts WHERE paper_fts MATCH :query "
                     "ORDER BY rowid DESC LIMIT :window)")
_POSTGRESQL_COUNT = text("SELECT count(*) FROM (SELECT paper_id FROM paper_search "
                         "WHERE document @@ to_tsquery('simple', :query) "
                         "ORDER BY paper_id DESC LIMIT :window) AS newest")


def _backend_query(session: Session, query: SearchQuery) -> tuple[bool, str]:
    """Whether the store is PostgreSQL, and the query in that backend's syntax."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    return postgresql, query.tsquery() if postgresql else query.fts5()


# SQLite's triggers only queue stored papers (see migration 0004); their entries are written here, in one batch.
INDEX_BATCH = 500  # papers written per statement
_SQLITE_NEXT_BATCH = text("SELECT paper_id FROM search_queue ORDER BY paper_id LIMIT :batch")
_SQLITE_INDEX_BATCH = (  # a queued paper has no entry yet (the triggers delete a changed paper's entry)
    text("INSERT INTO paper_fts (rowid, title, people, body) "
         "SELECT paper.id, search_terms(paper.title_en, paper.title_zh), "
         "search_terms((SELECT group_concat(value, ' ') FROM json_each(paper.authors)), "
         "(SELECT group_concat(value, ' ') FROM json_each(paper.affiliations))), "
         "search_terms(paper.abstract_en, paper.summary_zh) "
         "FROM paper WHERE paper.id IN (SELECT value FROM json_each(:ids))"),
    text("DELETE FROM search_queue WHERE paper_id IN (SELECT value FROM json_each(:ids))"),
)


def index_pending(session: Session) -> None:
    """Write the search entries of papers stored or changed since the last search (SQLite; PostgreSQL's triggers
    index at once)."""
    if session.get_bind().dialect.name == "postgresql":
        return
    connection = session.connection()
    while ids := list(connection.execute(_SQLITE_NEXT_BATCH, {"batch": INDEX_BATCH}).scalars()):
        for statement in _SQLITE_INDEX_BATCH:
            connection.execute(statement, {"ids": json.dumps(ids)})


def search_papers(*, session: Session, query: SearchQuery, offset: int, limit: int) -> SearchResults:
    """Papers matching every word and phrase, best first (title matches lead), among the newest MAX_RESULTS."""
    index_pending(session)
    postgresql, expression = _backend_query(session, query)
    params = {"query": expression, "window": MAX_RESULTS, "limit": limit, "offset": offset}
    if postgresql:
        params["rank_query"] = query.rank_tsquery()
    rows = session.connection().execute(_POSTGRESQL_SEARCH if postgresql else _SQLITE_SEARCH, params).all()
    if not rows:
        return SearchResults([], count_matches(session=session, query=query) if offset else 0)
    ids = [row[0] for row in rows]
    found = {paper.id: paper for paper in session.exec(select(Paper).where(Paper.id.in_(ids)))}
    return SearchResults([found[paper_id] for paper_id in ids if paper_id in found], rows[0][1])


def count_matches(*, session: Session, query: SearchQuery) -> int:
    """How many papers match the query, counting up to MAX_RESULTS."""
    postgresql, expression = _backend_query(session, query)
    statement = _POSTGRESQL_COUNT if postgresql else _SQLITE_COUNT
    return session.connection().execute(statement, {"query": expression, "window": MAX_RESULTS}).scalar_one()


def save_search(*, session: Session, chat_id: int, query: str, now: datetime) -> SavedSearch:
    """Remember a chat's query so page buttons carry only its id; the chat's oldest searches are forgotten."""
    search = SavedSearch(chat_id=chat_id, query=query, created_at=now)
    session.add(search)
    session.flush()
    kept = (select(SavedSearch.id).where(SavedSearch.chat_id == chat_id)
            .order_by(SavedSearch.id.desc()).limit(SEARCHES_KEPT_PER_CHAT))
    session.execute(delete(SavedSearch).where(SavedSearch.chat_id == chat_id, SavedSearch.id.not_in(kept))
                    .execution_options(synchronize_session=False))
    return search


def get_saved_search(*, session: Session, chat_id: int, search_id: int) -> SavedSearch | None:
    """A chat's remembered search; None when it expired or belongs to another chat."""
    search = session.get(SavedSearch, search_id)
    return search if search is not None and search.chat_id == chat_id else None

