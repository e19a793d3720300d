"""withdrawals.scope_path, .queued_at: the click queues removals of posts at rest in slices

Revision ID: 0014_withdrawal_slices
Revises: 0013_interaction
Create Date: 2026-12-03 18:20:00
"""

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = "0014_withdrawal_slices"
down_revision = "0013_interaction"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("withdrawals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope_path", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("queued_at", hub.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
    # Withdrawals written before slicing queued everything in their one transaction.
    op.execute("UPDATE withdrawals SET queued_at = created_at")
    op.create_index("ix_withdrawals_unqueued", "withdrawals", ["created_at"],
                    postgresql_where=sa.text("queued_at IS NULL"),
                    sqlite_where=sa.text("queued_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_withdrawals_unqueued", table_name="withdrawals")
    with op.batch_alter_table("withdrawals", schema=None) as batch_op:
        batch_op.drop_column("queued_at")
        batch_op.drop_column("scope_path")
