"""reach rollups carry each account's 传播力 index (with its formula version), and per-item totals


A province ranking (10,000 accounts, this period and the previous one) computed ~20,000
indices in Python per request; the rollup build computes them once (hub/services/reach/
rollup.py) and a ranking reads them. Rows without an index, or with another version's, are
computed on the fly as before. reach_period_item_totals: each pushed item's reads and plays
per platform over the province, so the province's top items do not group every (item, org,
platform) row of the period.

Revision ID: 0016_reach_rollup_rank
Revises: 0015_reach_rollups
Create Date: 2026-12-04 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_reach_rollup_rank"
down_revision = "0015_reach_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reach_period_accounts") as batch_op:
        batch_op.add_column(sa.Column("reach_index", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("index_version", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("index_formula", sa.String(length=40), nullable=True))
    op.create_table(
        "reach_period_item_totals",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("reads", sa.Integer(), server_default="0", nullable=False),
        sa.Column("plays", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "kind", "start", "item_id", "platform", name=op.f("pk_reach_period_item_totals")
        ),
    )


def downgrade() -> None:
    op.drop_table("reach_period_item_totals")
    with op.batch_alter_table("reach_period_accounts") as batch_op:
        batch_op.drop_column("index_formula")
        batch_op.drop_column("index_version")
        batch_op.drop_column("reach_index")
