"""call_subtree: task hashes below shallow-checked calls

Revision ID: 0002_lang2
Revises: 0002_ui
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_lang2"
down_revision = "0002_ui"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_subtree",
        sa.Column("call_hash", sa.String(length=40), nullable=False),
        sa.Column("context_hash", sa.String(length=40), nullable=False),
        sa.Column("task_hashes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("call_hash", "context_hash"),
    )


def downgrade() -> None:
    op.drop_table("call_subtree")
