"""interaction (回应): conversations, interaction_messages, replies, reply_templates,
interaction_settings (per org), comment_cursors (where comment intake stands per post)

Revision ID: 0013_interaction
Revises: 0012_reach (the lead re-points it after 0012 at merge)
Create Date: 2026-12-03 18:00:11.104419
"""

import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = '0013_interaction'
down_revision = '0012_reach'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('interaction_settings',
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('replies_need_approval', sa.Boolean(), nullable=False),
    sa.Column('deadline_working_days', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=40), nullable=True),
    sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_interaction_settings_org_id_orgs')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_interaction_settings_updated_by_users')),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_interaction_settings'))
    )
    op.create_table('reply_templates',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_reply_templates_created_by_users')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_reply_templates_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates'))
    )
    with op.batch_alter_table('reply_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reply_templates_org_id'), ['org_id'], unique=False)

    op.create_table('comment_cursors',
    sa.Column('delivery_id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('post_key', sa.String(length=300), nullable=True),
    sa.Column('cursor', sa.String(length=300), nullable=True),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('polled_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_poll_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_comment_cursors_account_id_accounts')),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_comment_cursors_delivery_id_deliveries')),
    sa.PrimaryKeyConstraint('delivery_id', name=op.f('pk_comment_cursors'))
    )
    with op.batch_alter_table('comment_cursors', schema=None) as batch_op:
        batch_op.create_index('ix_comment_cursors_next_poll', ['next_poll_at'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('delivery_id', sa.String(length=40), nullable=True),
    sa.Column('item_id', sa.String(length=40), nullable=True),
    sa.Column('thread_key', sa.String(length=300), nullable=False),
    sa.Column('remote_post_id', sa.String(length=200), nullable=True),
    sa.Column('remote_comment_id', sa.String(length=200), nullable=True),
    sa.Column('remote_user_id', sa.String(length=200), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('assignee_id', sa.String(length=40), nullable=True),
    sa.Column('deadline_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_inbound_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_reply_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_inbound_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_outbound_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unread', sa.Boolean(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('elected', sa.Boolean(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_conversations_account_id_accounts')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_conversations_assignee_id_users')),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_conversations_delivery_id_deliveries')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_conversations_item_id_items')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_conversations_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('account_id', 'kind', 'thread_key', name=op.f('uq_conversations_account_id_kind_thread_key'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_account_state', ['account_id', 'state'], unique=False)
        batch_op.create_index('ix_conversations_assignee_state', ['assignee_id', 'state'], unique=False, postgresql_where=sa.text('assignee_id IS NOT NULL'), sqlite_where=sa.text('assignee_id IS NOT NULL'))
        batch_op.create_index('ix_conversations_delivery', ['delivery_id'], unique=False, postgresql_where=sa.text('delivery_id IS NOT NULL'), sqlite_where=sa.text('delivery_id IS NOT NULL'))
        batch_op.create_index('ix_conversations_open_deadline', ['org_id', 'deadline_at'], unique=False, postgresql_where=sa.text("state IN ('new', 'assigned')"), sqlite_where=sa.text("state IN ('new', 'assigned')"))
        batch_op.create_index('ix_conversations_org_state_last', ['org_id', 'state', 'last_inbound_at'], unique=False)

    op.create_table('replies',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('conversation_id', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('screening', sa.JSON(), nullable=True),
    sa.Column('reviewer_id', sa.String(length=40), nullable=True),
    sa.Column('reviewed_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.String(length=1000), nullable=True),
    sa.Column('sent_at', hub.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('remote_reply_id', sa.String(length=300), nullable=True),
    sa.Column('error', sa.String(length=1000), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_replies_author_id_users')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_replies_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_replies_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replies'))
    )
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.create_index('ix_replies_conversation_state', ['conversation_id', 'state'], unique=False)

    op.create_table('interaction_messages',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('conversation_id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('remote_id', sa.String(length=300), nullable=False),
    sa.Column('msg_type', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=True),
    sa.Column('reply_id', sa.String(length=40), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('screening', sa.JSON(), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_interaction_messages_account_id_accounts')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_interaction_messages_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['reply_id'], ['replies.id'], name=op.f('fk_interaction_messages_reply_id_replies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_messages')),
    sa.UniqueConstraint('account_id', 'platform', 'remote_id', name=op.f('uq_interaction_messages_account_id_platform_remote_id'))
    )
    with op.batch_alter_table('interaction_messages', schema=None) as batch_op:
        batch_op.create_index('ix_interaction_messages_conversation', ['conversation_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('interaction_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_interaction_messages_conversation')

    op.drop_table('interaction_messages')
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.drop_index('ix_replies_conversation_state')

    op.drop_table('replies')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_org_state_last')
        batch_op.drop_index('ix_conversations_open_deadline', postgresql_where=sa.text("state IN ('new', 'assigned')"), sqlite_where=sa.text("state IN ('new', 'assigned')"))
        batch_op.drop_index('ix_conversations_delivery', postgresql_where=sa.text('delivery_id IS NOT NULL'), sqlite_where=sa.text('delivery_id IS NOT NULL'))
        batch_op.drop_index('ix_conversations_assignee_state', postgresql_where=sa.text('assignee_id IS NOT NULL'), sqlite_where=sa.text('assignee_id IS NOT NULL'))
        batch_op.drop_index('ix_conversations_account_state')

    op.drop_table('conversations')
    with op.batch_alter_table('comment_cursors', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_cursors_next_poll')

    op.drop_table('comment_cursors')
    with op.batch_alter_table('reply_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reply_templates_org_id'))

    op.drop_table('reply_templates')
    op.drop_table('interaction_settings')
