"""dispatches.repushed: rows a later push took over, so a dispatch's counts still add up

Revision ID: 0006_repushed
Revises: 0005_pending_remote
Create Date: 2026-12-02 04:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_repushed"
down_revision = "0005_pending_remote"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repushed", sa.Integer(), server_default="0",
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.drop_column("repushed")
