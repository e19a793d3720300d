"""accounts.identity_key: a platform identity (appid, uid, open_id, app) held by one account

Existing rows get their keys at the next start (``yunchu up`` or ``yunchu db upgrade``): the
key is an HMAC under YUNCHU_SECRET_KEY, which the migration does not see.

Revision ID: 0008_account_identity
Revises: 0007_audit_key_id
Create Date: 2026-12-02 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_account_identity"
down_revision = "0007_audit_key_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_accounts_identity_key"),
                                          ["identity_key"])


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_accounts_identity_key"), type_="unique")
        batch_op.drop_column("identity_key")
