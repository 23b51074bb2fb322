"""explanations: job.reason, task.deps

Revision ID: 0002_cache
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_cache"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deps", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("deps")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("reason")
