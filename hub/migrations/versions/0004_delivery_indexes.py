"""deliveries: fewer index entries per state change (partial indexes, no account index)

Revision ID: 0004_delivery_indexes
Revises: 0003_interrupted
Create Date: 2026-12-01 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_delivery_indexes"
down_revision = "0003_interrupted"
branch_labels = None
depends_on = None

IN_MOTION = ("state IN ('scheduled', 'queued', 'sending', 'retry', 'unknown', 'pending_review', "
             "'withdraw_queued', 'withdrawing', 'withdraw_retry', 'manual')")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_account")
        batch_op.drop_index("ix_deliveries_withdrawal_state")
        batch_op.drop_index("ix_deliveries_state_due")
        batch_op.create_index("ix_deliveries_withdrawal_state", ["withdrawal_id", "state"],
                              postgresql_where=sa.text("withdrawal_id IS NOT NULL"),
                              sqlite_where=sa.text("withdrawal_id IS NOT NULL"))
        batch_op.create_index("ix_deliveries_state_due", ["state", "next_attempt_at"],
                              postgresql_where=sa.text(IN_MOTION),
                              sqlite_where=sa.text(IN_MOTION))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_state_due")
        batch_op.drop_index("ix_deliveries_withdrawal_state")
        batch_op.create_index("ix_deliveries_state_due", ["state", "next_attempt_at"])
        batch_op.create_index("ix_deliveries_withdrawal_state", ["withdrawal_id", "state"])
        batch_op.create_index("ix_deliveries_account", ["account_id"])
