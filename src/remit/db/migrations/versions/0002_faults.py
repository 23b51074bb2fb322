"""execution liveness: heartbeat, pid and host of the scheduler running it

Revision ID: 0002_faults
Revises: 0002_store
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_faults"
down_revision = "0002_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("execution", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("execution", schema=None) as batch_op:
        batch_op.drop_column("host")
        batch_op.drop_column("pid")
        batch_op.drop_column("heartbeat")
