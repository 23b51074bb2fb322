"""staging tables: index-free copies of the record tables, merged in bulk by big runs;
value.size becomes 64-bit (a value may pass 2 GiB)

Revision ID: 0003_staging
Revises: 0002_faults
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_staging"
down_revision = "0002_faults"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("value", schema=None) as batch_op:
        batch_op.alter_column("size", existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=False)
    op.create_table(
        "stage_argument",
        sa.Column("call_hash", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("value_hash", sa.String(length=40), nullable=True),
        sa.Column("upstream_call_hash", sa.String(length=40), nullable=True),
    )
    op.create_table(
        "stage_call_edge",
        sa.Column("parent_call_hash", sa.String(length=40), nullable=True),
        sa.Column("child_call_hash", sa.String(length=40), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
    )
    op.create_table(
        "stage_call_file",
        sa.Column("call_hash", sa.String(length=40), nullable=True),
        sa.Column("value_hash", sa.String(length=40), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=True),
    )
    op.create_table(
        "stage_call_node",
        sa.Column("call_hash", sa.String(length=40), nullable=True),
        sa.Column("task_hash", sa.String(length=40), nullable=True),
        sa.Column("args_hash", sa.String(length=40), nullable=True),
        sa.Column("result_hash", sa.String(length=40), nullable=True),
        sa.Column("timestamp", sa.Float(), nullable=True),
    )
    op.create_table(
        "stage_call_subtree",
        sa.Column("call_hash", sa.String(length=40), nullable=True),
        sa.Column("context_hash", sa.String(length=40), nullable=True),
        sa.Column("task_hashes", sa.Text(), nullable=True),
    )
    op.create_table(
        "stage_evaluation",
        sa.Column("eval_hash", sa.String(length=40), nullable=True),
        sa.Column("task_hash", sa.String(length=40), nullable=True),
        sa.Column("args_hash", sa.String(length=40), nullable=True),
        sa.Column("value_hash", sa.String(length=40), nullable=True),
    )
    op.create_table(
        "stage_file",
        sa.Column("value_hash", sa.String(length=40), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=128), nullable=True),
        sa.Column("first_seen", sa.Float(), nullable=True),
    )
    op.create_table(
        "stage_job",
        sa.Column("id", sa.String(length=36), nullable=True),
        sa.Column("execution_id", sa.String(length=36), nullable=True),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("task_hash", sa.String(length=40), nullable=True),
        sa.Column("eval_hash", sa.String(length=40), nullable=True),
        sa.Column("call_hash", sa.String(length=40), nullable=True),
        sa.Column("executor", sa.String(length=128), nullable=True),
        sa.Column("call", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("cached", sa.Boolean(), nullable=True),
        sa.Column("start_time", sa.Float(), nullable=True),
        sa.Column("end_time", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_table(
        "stage_tag",
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("key", sa.String(length=128), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
    )
    op.create_table(
        "stage_task",
        sa.Column("hash", sa.String(length=40), nullable=True),
        sa.Column("fullname", sa.String(length=512), nullable=True),
        sa.Column("namespace", sa.String(length=512), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("deps", sa.Text(), nullable=True),
    )
    op.create_table(
        "stage_value",
        sa.Column("hash", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=256), nullable=True),
        sa.Column("preview", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("storage", sa.String(length=16), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("data_hash", sa.String(length=40), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("value", schema=None) as batch_op:
        batch_op.alter_column("size", existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False)
    op.drop_table("stage_argument")
    op.drop_table("stage_call_edge")
    op.drop_table("stage_call_file")
    op.drop_table("stage_call_node")
    op.drop_table("stage_call_subtree")
    op.drop_table("stage_evaluation")
    op.drop_table("stage_file")
    op.drop_table("stage_job")
    op.drop_table("stage_tag")
    op.drop_table("stage_task")
    op.drop_table("stage_value")
