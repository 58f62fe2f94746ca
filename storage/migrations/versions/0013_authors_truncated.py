"""Authors cut short: a flag instead of an 'et al.' (…, 等) entry in the author list

Revision ID: 0013_authors_truncated
Revises: 0012_channels
Create Date: 2026-12-03 07:30:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_authors_truncated"
down_revision: str | None = "0012_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CUT_MARKS = ("et al.", "et al", "…", "...", "等", "等人")
ET_AL = "et al."
_PAPERS = sa.table("paper", sa.column("id", sa.Integer), sa.column("authors", sa.JSON),
                   sa.column("authors_truncated", sa.Boolean))


def _cut(authors: list[str]) -> tuple[list[str], bool]:
    """The names without a cut-short mark, whether written as its own entry or glued to the last name."""
    names = [name for name in authors if name.strip() not in CUT_MARKS]
    cut = len(names) != len(authors)
    if names:
        last = names[-1].rstrip()
        for mark in CUT_MARKS:
            if last.endswith(mark) and last != mark:
                names[-1], cut = last[: -len(mark)].rstrip(" ,"), True
                break
    return [name for name in names if name], cut


def upgrade() -> None:
    """Add the flag; move every stored et al./…/等 out of the author lists into it."""
    op.add_column("paper", sa.Column("authors_truncated", sa.Boolean(), nullable=False, server_default=sa.false()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_PAPERS.c.id, _PAPERS.c.authors)).all()
    for paper_id, authors in rows:
        stored = json.loads(authors) if isinstance(authors, str) else list(authors or [])
        names, cut = _cut(stored)
        if cut:
            connection.execute(_PAPERS.update().where(_PAPERS.c.id == paper_id)
                               .values(authors=names, authors_truncated=True))


def downgrade() -> None:
    """Write the flag back as a trailing 'et al.' entry, then drop it."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_PAPERS.c.id, _PAPERS.c.authors)
                              .where(_PAPERS.c.authors_truncated.is_(True))).all()
    for paper_id, authors in rows:
        stored = json.loads(authors) if isinstance(authors, str) else list(authors or [])
        connection.execute(_PAPERS.update().where(_PAPERS.c.id == paper_id).values(authors=[*stored, ET_AL]))
    op.drop_column("paper", "authors_truncated")  # in place: a batch copy would drop the search triggers
