"""reach: daily figures per post and per account, posts made outside yunchu

reach_post_days is RANGE-partitioned by month on PostgreSQL (hub/models/reach.py says why);
this migration creates the partitions from 13 months back to 3 months ahead, and the
collector adds later months as they arrive.

Revision ID: 0012_reach
Revises: 0011_transient_retry
Create Date: 2026-12-03 18:20:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import hub.models.base
from hub.models.reach import month_start, next_month, partition_ddl, previous_month

revision = "0012_reach"
down_revision = "0011_transient_retry"
branch_labels = None
depends_on = None

MONTHS_BACK = 13
MONTHS_AHEAD = 3


def _figures() -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name in ("reads", "likes", "shares", "comments", "plays")]


def _tail() -> list[sa.Column]:
    return [sa.Column("final", sa.Boolean(), server_default=sa.text("true"), nullable=False),
            sa.Column("collected_at", hub.models.base.UTCDateTime(timezone=True),
                      nullable=False)]


def _months() -> list:
    month = month_start(datetime.now(UTC).date())
    for _ in range(MONTHS_BACK):
        month = previous_month(month)
    months = []
    for _ in range(MONTHS_BACK + 1 + MONTHS_AHEAD):
        months.append(month)
        month = next_month(month)
    return months


def upgrade() -> None:
    op.create_table(
        "reach_external_posts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("remote_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("published_at", hub.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", hub.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_reach_external_posts_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reach_external_posts")),
        sa.UniqueConstraint("account_id", "remote_id",
                            name=op.f("uq_reach_external_posts_account_id_remote_id")),
    )
    with op.batch_alter_table("reach_external_posts", schema=None) as batch_op:
        batch_op.create_index("ix_reach_external_posts_account_published",
                              ["account_id", "published_at"])
        batch_op.create_index("ix_reach_external_posts_org_published",
                              ["org_id", "published_at"])

    op.create_table(
        "reach_post_days",
        sa.Column("post_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=True),
        sa.Column("external_post_id", sa.String(length=40), nullable=True),
        sa.Column("item_id", sa.String(length=40), nullable=True),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        *_figures(),
        *_tail(),
        sa.PrimaryKeyConstraint("post_id", "day", name=op.f("pk_reach_post_days")),
        postgresql_partition_by="RANGE (day)",
    )
    # Created on the parent: PostgreSQL gives every partition, present and future, its own.
    op.create_index("ix_reach_post_days_org_day", "reach_post_days",
                    ["org_id", "day", "platform"])
    op.create_index("ix_reach_post_days_account_day", "reach_post_days", ["account_id", "day"])
    op.create_index("ix_reach_post_days_item_day", "reach_post_days", ["item_id", "day"],
                    postgresql_where=sa.text("item_id IS NOT NULL"),
                    sqlite_where=sa.text("item_id IS NOT NULL"))
    if op.get_bind().dialect.name == "postgresql":
        for month in _months():
            op.execute(partition_ddl(month))

    op.create_table(
        "reach_account_days",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("followers_gained", sa.Integer(), server_default="0", nullable=False),
        sa.Column("followers_lost", sa.Integer(), server_default="0", nullable=False),
        sa.Column("posts", sa.Integer(), server_default="0", nullable=False),
        *_figures(),
        *_tail(),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_reach_account_days_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_reach_account_days")),
    )
    op.create_index("ix_reach_account_days_org_day", "reach_account_days",
                    ["org_id", "day", "platform"])


def downgrade() -> None:
    op.drop_index("ix_reach_account_days_org_day", table_name="reach_account_days")
    op.drop_table("reach_account_days")
    # Dropping the parent drops its partitions with it.
    op.drop_index("ix_reach_post_days_item_day", table_name="reach_post_days")
    op.drop_index("ix_reach_post_days_account_day", table_name="reach_post_days")
    op.drop_index("ix_reach_post_days_org_day", table_name="reach_post_days")
    op.drop_table("reach_post_days")
    with op.batch_alter_table("reach_external_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_reach_external_posts_org_published")
        batch_op.drop_index("ix_reach_external_posts_account_published")
    op.drop_table("reach_external_posts")
