"""full-text search: a term index of every paper kept by triggers, and saved searches

Revision ID: 0004_search
Revises: 0007_delivery
Create Date: 2026-11-22 07:40:00

The index holds each paper's *term text* (storage/search.py explains it): on SQLite an FTS5 table written from a
queue that triggers fill, with the ``search_terms`` function every connection registers; on PostgreSQL a tsvector
table with a GIN index filled by triggers calling an SQL ``search_terms`` that splits text the same way. Columns are
weighted title > authors and affiliations > summary and abstract. Existing papers are indexed here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_search"
down_revision: str | None = "0007_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana and Han ideographs, as storage/search.py
WATCHED = "title_en, title_zh, authors, affiliations, abstract_en, summary_zh"

_SQLITE_COLUMNS = (
    "search_terms({row}.title_en, {row}.title_zh)",
    "search_terms((SELECT group_concat(value, ' ') FROM json_each({row}.authors)),"
    " (SELECT group_concat(value, ' ') FROM json_each({row}.affiliations)))",
    "search_terms({row}.abstract_en, {row}.summary_zh)",
)


def _sqlite_values(row: str) -> str:
    """The three indexed columns of a paper row ('new', 'old' or 'paper')."""
    return ", ".join(column.format(row=row) for column in _SQLITE_COLUMNS)


# About 0.15 ms for a paper's abstract and summary; the GIN index update costs more than this.
_POSTGRESQL_TERMS = f"""
CREATE FUNCTION search_terms(VARIADIC parts text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(
               CASE WHEN run ~ '^[{CJK}]'
                    THEN concat_ws(' ', (SELECT string_agg(substr(run, i, 2), ' ' ORDER BY i)
                                         FROM generate_series(1, length(run) - 1) AS i), right(run, 1))
                    ELSE run END,
               ' ' ORDER BY position), '')
    FROM regexp_matches(regexp_replace(lower(array_to_string(parts, ' ')), '([{CJK}]+)', ' \\1 ', 'g'),
                        '[{CJK}]+|[[:alnum:]]+', 'g') WITH ORDINALITY AS found(piece, position),
         LATERAL (SELECT found.piece[1] AS run) AS runs
$$;
"""

# Neighbouring non-CJK terms joined by 'ǂ' ("diffusionǂmodel"), as storage.search.word_pairs: lexemes that let a
# phrase query find its few candidates in the GIN index instead of re-reading every paper holding its words.
_POSTGRESQL_PAIRS = f"""
CREATE FUNCTION search_pairs(terms text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(previous || 'ǂ' || term, ' ' ORDER BY position), '')
    FROM (SELECT term, position, lag(term) OVER (ORDER BY position) AS previous
          FROM unnest(string_to_array(terms, ' ')) WITH ORDINALITY AS split(term, position)) AS neighbours
    WHERE previous IS NOT NULL AND term !~ '^[{CJK}]' AND previous !~ '^[{CJK}]'
$$;
"""

# Title A, authors and affiliations B, summary and abstract C, word pairs D (they rank nothing).
_POSTGRESQL_DOCUMENT = """
CREATE FUNCTION paper_search_document(title_en text, title_zh text, authors json, affiliations json,
                                      abstract_en text, summary_zh text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', terms.title), 'A')
        || setweight(to_tsvector('simple', terms.people), 'B')
        || setweight(to_tsvector('simple', terms.body), 'C')
        || to_tsvector('simple', search_pairs(concat_ws(' ', terms.title, terms.people, terms.body)))
    FROM (SELECT search_terms(title_en, title_zh) AS title,
                 search_terms((SELECT string_agg(value, ' ') FROM json_array_elements_text(authors)),
                              (SELECT string_agg(value, ' ') FROM json_array_elements_text(affiliations))) AS people,
                 search_terms(abstract_en, summary_zh) AS body) AS terms
$$;
"""

_POSTGRESQL_SYNC = f"""
CREATE FUNCTION paper_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO paper_search (paper_id, document)
    VALUES (NEW.id, paper_search_document({", ".join(f"NEW.{name}" for name in WATCHED.split(", "))}))
    ON CONFLICT (paper_id) DO UPDATE SET document = EXCLUDED.document;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    """The search index on each backend, filled for the papers already stored, and the saved_search table."""
    op.create_table(
        "saved_search",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("query", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_saved_search_chat_id", "saved_search", ["chat_id"])
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


_SQLITE_DELETE_INDEXED = ("INSERT INTO paper_fts (paper_fts, rowid, title, people, body) "
                          "SELECT 'delete', old.id, {values} "
                          "WHERE NOT EXISTS (SELECT 1 FROM search_queue WHERE paper_id = old.id);")


def _upgrade_sqlite() -> None:
    """A contentless FTS5 table filled here for the papers already stored, and a queue for later ones.

    Writing an entry costs about as much as storing the paper, so storing one only queues it, and
    storage.search.index_pending writes the queued entries in batches before a search reads the index. A queued
    paper has no entry; changing or deleting an indexed paper removes its entry at once (FTS5 needs the text it
    was given, which the paper still holds at that moment).
    """
    op.execute("CREATE VIRTUAL TABLE paper_fts USING fts5(title, people, body, content='', "
               "tokenize='unicode61 remove_diacritics 2')")
    op.execute("CREATE TABLE search_queue (paper_id INTEGER PRIMARY KEY)")
    delete_indexed = _SQLITE_DELETE_INDEXED.format(values=_sqlite_values("old"))
    op.execute("CREATE TRIGGER paper_fts_insert AFTER INSERT ON paper BEGIN "
               "INSERT OR IGNORE INTO search_queue (paper_id) VALUES (new.id); END")
    op.execute(f"CREATE TRIGGER paper_fts_update AFTER UPDATE OF {WATCHED} ON paper BEGIN {delete_indexed} "
               f"INSERT OR IGNORE INTO search_queue (paper_id) VALUES (new.id); END")
    op.execute(f"CREATE TRIGGER paper_fts_delete AFTER DELETE ON paper BEGIN {delete_indexed} "
               f"DELETE FROM search_queue WHERE paper_id = old.id; END")
    op.execute(f"INSERT INTO paper_fts (rowid, title, people, body) SELECT paper.id, {_sqlite_values('paper')} "
               f"FROM paper")


def _upgrade_postgresql() -> None:
    """A tsvector per paper with a GIN index, kept by one trigger; deleting a paper deletes its row."""
    op.execute("LOCK TABLE paper IN SHARE ROW EXCLUSIVE MODE")  # no paper may arrive between the fill and the trigger
    op.execute(_POSTGRESQL_TERMS)
    op.execute(_POSTGRESQL_PAIRS)
    op.execute(_POSTGRESQL_DOCUMENT)
    op.create_table(
        "paper_search",
        sa.Column("paper_id", sa.Integer(), sa.ForeignKey("paper.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("document", sa.dialects.postgresql.TSVECTOR(), nullable=False),
    )
    op.execute(f"INSERT INTO paper_search (paper_id, document) SELECT id, paper_search_document({WATCHED}) "
               f"FROM paper")
    op.execute("CREATE INDEX ix_paper_search_document ON paper_search USING gin (document)")  # faster after the fill
    op.execute(_POSTGRESQL_SYNC)
    op.execute(f"CREATE TRIGGER paper_search_sync AFTER INSERT OR UPDATE OF {WATCHED} ON paper "
               f"FOR EACH ROW EXECUTE FUNCTION paper_search_sync()")


def downgrade() -> None:
    """Undo: drop the index, its triggers and functions, and the saved searches."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER paper_search_sync ON paper")
        op.execute("DROP FUNCTION paper_search_sync()")
        op.drop_table("paper_search")
        op.execute("DROP FUNCTION paper_search_document(text, text, json, json, text, text)")
        op.execute("DROP FUNCTION search_pairs(text)")
        op.execute("DROP FUNCTION search_terms(text[])")
    else:
        for trigger in ("paper_fts_insert", "paper_fts_update", "paper_fts_delete"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE paper_fts")
        op.execute("DROP TABLE search_queue")
    op.drop_index("ix_saved_search_chat_id", table_name="saved_search")
    op.drop_table("saved_search")
