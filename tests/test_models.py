"""The paper schema: one list of a paper's fields, which every copy (reader, draft, columns, export, vectors) keeps."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import inspect

from storage.db import make_engine, migrate
from storage.ingest import PaperDraft
from storage.ingest_sql import PAPER_COLUMNS
from storage.models import DIGEST_FIELDS, STORED_FIELDS, Paper, PaperContent, PaperRecord
from storage.papers import EXPORT_KEYS
from storage.parsing import ParsedPaper
from storage.reader.explain import _FIELDS as EXPLAINED_FIELDS
from storage.vectors import PaperFields


def test_the_table_extends_the_record_which_extends_the_content() -> None:
    content, record = tuple(PaperContent.model_fields), tuple(PaperRecord.model_fields)
    table = tuple(Paper.model_fields)
    assert record[:len(content)] == content and table[:len(record)] == record
    assert set(table) - set(record) == {"id", "created_at", "arxiv_checked_at", "arxiv_retry_at", "arxiv_resolution",
                                        "arxiv_resolved_at", "arxiv_resolve_retry_at", "arxiv_resolve_failures"}
    assert set(Paper.__table__.columns.keys()) == set(table)  # type: ignore[attr-defined]


def test_the_paper_table_is_the_one_the_migrations_make(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        migrate(engine)
        stored = {column["name"]: column["nullable"] for column in inspect(engine).get_columns("paper")}
    finally:
        engine.dispose()
    columns = Paper.__table__.columns  # type: ignore[attr-defined]
    assert {name: column.nullable for name, column in columns.items()} == stored


def test_every_copy_of_the_fields_is_the_schemas() -> None:
    assert tuple(ParsedPaper.__slots__) == ("position", *DIGEST_FIELDS)
    assert tuple(PaperDraft.__slots__) == ("id", *STORED_FIELDS)
    assert set(DIGEST_FIELDS) == set(PaperContent.model_fields) - {"category_inferred"}
    assert set(EXPORT_KEYS) - {"id", "digest_ids"} == set(DIGEST_FIELDS) | {"category_inferred"}
    assert set(PAPER_COLUMNS) == set(DIGEST_FIELDS) | {"category_inferred", "title_key", "abstract_key", "rank_date",
                                                       "rank_digest_id"}


def test_hand_written_subsets_name_schema_fields() -> None:
    assert sorted(EXPLAINED_FIELDS) == sorted(DIGEST_FIELDS)  # /explain shows all a digest gives, long ones last
    assert set(PaperFields._fields) <= set(Paper.model_fields)


def test_the_plain_copies_take_types_and_defaults_from_the_schema() -> None:
    parsed, draft = ParsedPaper(position=3), PaperDraft()
    assert (parsed.authors, parsed.title_en, parsed.highlight) == ((), None, False)  # frozen: lists become tuples
    assert (draft.authors, draft.id, draft.category_inferred) == ([], None, False)
    draft.authors.append("A. Author")
    assert PaperDraft().authors == []  # each draft its own list
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.title_en = "changed"  # type: ignore[misc]
    types = {item.name: item.type for item in dataclasses.fields(PaperDraft)}
    assert types["rank_date"] == PaperRecord.model_fields["rank_date"].annotation
