"""deliveries: find a post in platform review by its platform id (publish events); tasks: by item

Revision ID: 0005_pending_remote
Revises: 0004_delivery_indexes
Create Date: 2026-12-02 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_pending_remote"
down_revision = "0004_delivery_indexes"
branch_labels = None
depends_on = None

PENDING = "state = 'pending_review'"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_pending_remote", ["remote_id"],
                              postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_item_state", ["item_id", "state"])


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_item_state")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_pending_remote")
