"""verified values: the hash of each value's serialized bytes

Revision ID: 0002_store
Revises: 0002_cache
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_store"
down_revision = "0002_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("value", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_hash", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("value", schema=None) as batch_op:
        batch_op.drop_column("data_hash")
