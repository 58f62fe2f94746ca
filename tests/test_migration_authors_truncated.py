"""Migration 0013: stored 'et al.' / … / 等 leave the author lists and become the authors-cut-short flag."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from storage.db import alembic_config, make_engine, migrate

ROWS = {
    "2601.00001": ["A One", "B Two", "et al."],
    "2601.00002": ["C Three", "D Four…"],
    "2601.00003": ["张三", "李四", "等"],
    "2601.00004": ["E Five", "F Six"],
}


def _authors(connection) -> dict[str, tuple[list[str], bool]]:
    rows = connection.exec_driver_sql("SELECT arxiv_id, authors, authors_truncated FROM paper").all()
    return {row[0]: (json.loads(row[1]) if isinstance(row[1], str) else row[1], bool(row[2])) for row in rows}


def test_cut_marks_become_the_flag_and_come_back_on_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0012_channels")
        for arxiv_id, authors in ROWS.items():
            connection.execute(text(
                "INSERT INTO paper (category_inferred, title_en, authors, affiliations, arxiv_id, highlight, minor, "
                "created_at) VALUES (false, 'T', :authors, '[]', :arxiv_id, false, false, CURRENT_TIMESTAMP)"),
                {"arxiv_id": arxiv_id, "authors": json.dumps(authors, ensure_ascii=False)})
    migrate(engine)
    with engine.connect() as connection:
        assert _authors(connection) == {
            "2601.00001": (["A One", "B Two"], True),
            "2601.00002": (["C Three", "D Four"], True),
            "2601.00003": (["张三", "李四"], True),
            "2601.00004": (["E Five", "F Six"], False),
        }
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0012_channels")
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT arxiv_id, authors FROM paper ORDER BY arxiv_id").all()
        back = {row[0]: json.loads(row[1]) if isinstance(row[1], str) else row[1] for row in rows}
    assert back["2601.00001"] == ["A One", "B Two", "et al."]
    assert back["2601.00004"] == ["E Five", "F Six"]
    engine.dispose()
