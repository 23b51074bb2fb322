"""job.cpu_seconds: CPU time of a task body, for `remit report`

Revision ID: 0002_ui
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_ui"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("cpu_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.drop_column("cpu_seconds")
