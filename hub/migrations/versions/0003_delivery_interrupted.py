"""deliveries.interrupted: claims lost with their worker, counted apart from attempts

Revision ID: 0003_interrupted
Revises: 0002_audit_head
Create Date: 2026-12-01 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_interrupted"
down_revision = "0002_audit_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interrupted", sa.Integer(), server_default="0",
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("interrupted")
