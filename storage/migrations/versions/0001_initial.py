"""initial schema: digests, papers, chats, deliveries, favourites

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 04:46:15.982129
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """initial schema: digests, papers, chats, deliveries, favourites"""
    op.create_table('chat',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('ui_language', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('categories', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('digest_time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('next_due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_digest_on', sa.Date(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('chat', schema=None) as batch_op:
        batch_op.create_index('ix_chat_due', ['active', 'next_due_at'], unique=False)

    op.create_table('digest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('digest_date', sa.Date(), nullable=True),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('shape', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('paper_count', sa.Integer(), nullable=False),
    sa.Column('ingested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('content_hash')
    )
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_digest_date'), ['digest_date'], unique=False)

    op.create_table('paper',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('category_inferred', sa.Boolean(), nullable=False),
    sa.Column('title_en', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('title_zh', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('authors', sa.JSON(), nullable=False),
    sa.Column('affiliations', sa.JSON(), nullable=False),
    sa.Column('summary_zh', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('abstract_en', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('arxiv_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('code_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('highlight', sa.Boolean(), nullable=False),
    sa.Column('minor', sa.Boolean(), nullable=False),
    sa.Column('title_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('abstract_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('rank_date', sa.Date(), nullable=True),
    sa.Column('rank_digest_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('arxiv_id')
    )
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_abstract_key'), ['abstract_key'], unique=False)
        batch_op.create_index('ix_paper_category_pick', ['category', 'rank_date', 'rank_digest_id', 'highlight', 'minor', 'id'], unique=False)
        batch_op.create_index('ix_paper_pick', ['rank_date', 'rank_digest_id', 'highlight', 'minor', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_title_key'), ['title_key'], unique=False)

    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['paper.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'paper_id', name='uq_delivery_chat_paper')
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_paper_id'), ['paper_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_sent_at'), ['sent_at'], unique=False)

    op.create_table('digestpaper',
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('minor', sa.Boolean(), nullable=False),
    sa.Column('highlight', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['digest.id'], ),
    sa.ForeignKeyConstraint(['paper_id'], ['paper.id'], ),
    sa.PrimaryKeyConstraint('digest_id', 'paper_id')
    )
    with op.batch_alter_table('digestpaper', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digestpaper_paper_id'), ['paper_id'], unique=False)

    op.create_table('favourite',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['paper.id'], ),
    sa.PrimaryKeyConstraint('chat_id', 'paper_id')
    )


def downgrade() -> None:
    """Undo: initial schema: digests, papers, chats, deliveries, favourites"""
    op.drop_table('favourite')
    with op.batch_alter_table('digestpaper', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digestpaper_paper_id'))

    op.drop_table('digestpaper')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_sent_at'))
        batch_op.drop_index(batch_op.f('ix_delivery_paper_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_chat_id'))

    op.drop_table('delivery')
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_title_key'))
        batch_op.drop_index('ix_paper_pick')
        batch_op.drop_index('ix_paper_category_pick')
        batch_op.drop_index(batch_op.f('ix_paper_abstract_key'))

    op.drop_table('paper')
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_digest_date'))

    op.drop_table('digest')
    with op.batch_alter_table('chat', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_due')

    op.drop_table('chat')
