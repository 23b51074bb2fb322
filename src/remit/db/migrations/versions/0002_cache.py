"""explanations: job.reason, task.deps, an index on call_node.args_hash

Revision ID: 0002_cache
Revises: 0002_lang2
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_cache"
down_revision = "0002_lang2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deps", sa.Text(), nullable=True))
    with op.batch_alter_table("call_node", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_node_args_hash"), ["args_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_node", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_node_args_hash"))
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("deps")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("reason")
