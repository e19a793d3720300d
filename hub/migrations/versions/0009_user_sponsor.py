"""users.sponsor_id: who could act as a user (creator, reviewer appointer, password setter)

Revision ID: 0009_user_sponsor
Revises: 0008_account_identity
Create Date: 2026-12-02 18:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_user_sponsor"
down_revision = "0008_account_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sponsor_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("sponsor_id")
