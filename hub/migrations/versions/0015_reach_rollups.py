"""reach rollups: a ranking period's per-account, per-item and hot-post totals

hub/models/reach_rollup.py says why: at 10,000 accounts a period's ranking grouped straight
from reach_post_days takes seconds; from these tables it takes milliseconds.

Revision ID: 0015_reach_rollups
Revises: 0014_withdrawal_slices
Create Date: 2026-12-03 18:45:00
"""

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = "0015_reach_rollups"
down_revision = "0014_withdrawal_slices"
branch_labels = None
depends_on = None

FIGURES = ("reads", "likes", "shares", "comments", "plays")


def _ints(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in names]


def _period() -> list[sa.Column]:
    return [sa.Column("kind", sa.String(length=8), nullable=False),
            sa.Column("start", sa.Date(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "reach_rollup_periods",
        *_period(),
        sa.Column("refreshed_at", hub.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "start", name=op.f("pk_reach_rollup_periods")),
    )
    op.create_table(
        "reach_period_accounts",
        *_period(),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        *_ints("posts", *FIGURES, *(f"max_{f}" for f in FIGURES)),
        sa.PrimaryKeyConstraint("kind", "start", "account_id",
                                name=op.f("pk_reach_period_accounts")),
    )
    op.create_index("ix_reach_period_accounts_platform_org", "reach_period_accounts",
                    ["kind", "start", "platform", "org_id"])
    op.create_table(
        "reach_period_items",
        *_period(),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        *_ints("accounts", *FIGURES),
        sa.PrimaryKeyConstraint("kind", "start", "item_id", "org_id", "platform",
                                name=op.f("pk_reach_period_items")),
    )
    op.create_index("ix_reach_period_items_org", "reach_period_items",
                    ["kind", "start", "org_id"])
    op.create_table(
        "reach_period_hot",
        *_period(),
        sa.Column("post_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=True),
        sa.Column("external_post_id", sa.String(length=40), nullable=True),
        sa.Column("delivery_id", sa.String(length=40), nullable=True),
        *_ints(*FIGURES),
        sa.PrimaryKeyConstraint("kind", "start", "post_id", name=op.f("pk_reach_period_hot")),
    )
    op.create_index("ix_reach_period_hot_org", "reach_period_hot", ["kind", "start", "org_id"])


def downgrade() -> None:
    op.drop_index("ix_reach_period_hot_org", table_name="reach_period_hot")
    op.drop_table("reach_period_hot")
    op.drop_index("ix_reach_period_items_org", table_name="reach_period_items")
    op.drop_table("reach_period_items")
    op.drop_index("ix_reach_period_accounts_platform_org", table_name="reach_period_accounts")
    op.drop_table("reach_period_accounts")
    op.drop_table("reach_rollup_periods")
