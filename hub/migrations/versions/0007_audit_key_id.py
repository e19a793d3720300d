"""audit_log.key_id: entries are MACed with a key kept outside the database

Rows already present keep key_id NULL: a plain SHA-256 prefix that the hub seals at its next
start with a keyed ``audit.keyed`` entry covering the prefix's last hash.

Revision ID: 0007_audit_key_id
Revises: 0006_repushed
Create Date: 2026-12-02 17:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_audit_key_id"
down_revision = "0006_repushed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("key_id")
