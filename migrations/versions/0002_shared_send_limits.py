"""shared send limits: channel_throttle and chat_throttle

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_throttle",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_throttle")),
    )
    op.create_table(
        "chat_throttle",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("ready_unix", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "address", name=op.f("pk_chat_throttle")),
    )
    op.create_index(
        op.f("ix_chat_throttle_ready_unix"), "chat_throttle", ["ready_unix"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_throttle_ready_unix"), table_name="chat_throttle")
    op.drop_table("chat_throttle")
    op.drop_table("channel_throttle")
