"""audit chain head: last entry id/hash and count, so deleting the newest entries is detected

Revision ID: 0002_audit_head
Revises: 0001
Create Date: 2026-11-22 07:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_audit_head"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    # An existing log gets its current end as the head.
    op.execute(
        "INSERT INTO audit_chain_head (id, last_id, last_hash, entries) "
        "SELECT 1, a.id, a.hash, (SELECT count(*) FROM audit_log) FROM audit_log a "
        "WHERE a.id = (SELECT max(id) FROM audit_log)"
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
