"""deliveries.transient, .transient_since: transient errors retried by time, not by count

Revision ID: 0011_transient_retry
Revises: 0010_account_authorisation
Create Date: 2026-12-03 13:40:00
"""

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = "0011_transient_retry"
down_revision = "0010_account_authorisation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transient", sa.Integer(), server_default="0",
                                      nullable=False))
        batch_op.add_column(sa.Column("transient_since", hub.models.base.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("transient_since")
        batch_op.drop_column("transient")
