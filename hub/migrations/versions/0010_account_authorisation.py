"""accounts.auth_*: authorisation health; authorizations (扫码授权 attempts); platform_secrets

Existing accounts are "secret" mode (their own credentials) and "authorized".

Revision ID: 0010_account_authorisation
Revises: 0009_user_sponsor
Create Date: 2026-12-03 13:13:24.306820
"""

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0010_account_authorisation'
down_revision = '0009_user_sponsor'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('platform_secrets',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_platform_secrets'))
    )
    op.create_table('authorizations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=True),
    sa.Column('started_by', sa.String(length=40), nullable=True),
    sa.Column('correlation_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('identity', sa.String(length=200), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_authorizations_account_id_accounts')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_authorizations_org_id_orgs')),
    sa.ForeignKeyConstraint(['started_by'], ['users.id'], name=op.f('fk_authorizations_started_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authorizations')),
    sa.UniqueConstraint('correlation_key', name=op.f('uq_authorizations_correlation_key'))
    )
    with op.batch_alter_table('authorizations', schema=None) as batch_op:
        batch_op.create_index('ix_authorizations_org_status', ['org_id', 'status'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_mode', sa.String(length=16), server_default='secret', nullable=False))
        batch_op.add_column(sa.Column('auth_state', sa.String(length=16), server_default='authorized', nullable=False))
        batch_op.add_column(sa.Column('auth_expires_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auth_token_expires_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auth_refreshed_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auth_renewals', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('auth_scopes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('auth_missing', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('auth_error', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('auth_changed_at', hub.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_accounts_auth_expires_at', ['auth_expires_at'], unique=False)
        batch_op.create_index('ix_accounts_auth_state', ['auth_state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_auth_state')
        batch_op.drop_index('ix_accounts_auth_expires_at')
        batch_op.drop_column('auth_changed_at')
        batch_op.drop_column('auth_error')
        batch_op.drop_column('auth_missing')
        batch_op.drop_column('auth_scopes')
        batch_op.drop_column('auth_renewals')
        batch_op.drop_column('auth_refreshed_at')
        batch_op.drop_column('auth_token_expires_at')
        batch_op.drop_column('auth_expires_at')
        batch_op.drop_column('auth_state')
        batch_op.drop_column('auth_mode')

    with op.batch_alter_table('authorizations', schema=None) as batch_op:
        batch_op.drop_index('ix_authorizations_org_status')

    op.drop_table('authorizations')
    op.drop_table('platform_secrets')
